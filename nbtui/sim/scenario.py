"""Scenario files: a simulator set up to reproduce what a user saw from the real service.

`nbtui sim --scenario FILE` reads TOML (or JSON, by the `.json` suffix): simulator settings,
tasks by id (a record shape, or literal records in turn) and faults by id or endpoint. The
format is described in docs/simulator.md; docs/scenarios/every-shape.toml plays every shape
and every error code. A bad file is refused as a whole, with a message naming the bad key.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nbtui.sim.config import OUTCOMES, REAL_SHAPE_MIX, SHAPES, WORD_KEYS, SimConfig
from nbtui.sim.faults import ALL_FAULT_KINDS, ENDPOINTS
from nbtui.sim.state import SimState

__all__ = ["Scenario", "ScenarioError", "load_scenario", "parse_scenario"]


class ScenarioError(ValueError):
    """A scenario file that cannot be played; the message names the file and the key."""


_NUMBER = (int, float)

#: `[sim]` keys: the type each takes (float settings take integers too).
_SIM_KEYS: dict[str, tuple[type, ...]] = {
    "token": (str,),
    "seed": (int,),
    "pending_seconds": _NUMBER,
    "running_seconds": _NUMBER,
    "failure_ratio": _NUMBER,
    "moderation_ratio": _NUMBER,
    "latency": _NUMBER,
    "sync_wait_cap": _NUMBER,
    "max_body_bytes": (int,),
    "listing_delay": _NUMBER,
    "allow_listing": (bool,),
    "listing_refusal_status": (int,),
    "error_success_key": (bool,),
    "shapes": (list,),
    "demo": (bool,),
    "seed_tasks": (int,),
}
_TASK_KEYS: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "shape": (str,),
    "word_key": (str,),
    "outcome": (str,),
    "age": _NUMBER,
    "pending_seconds": _NUMBER,
    "running_seconds": _NUMBER,
    "prompt": (str,),
    "action": (str,),
    "count": (int,),
    "delivered": (int,),
    "error_code": (str,),
    "error_message": (str,),
    "model": (str,),
    "aspect_ratio": (str,),
    "resolution": (str,),
    "image_urls": (list,),
    "callback_url": (str,),
    "raw": (dict,),
    "timeline": (list,),
}
_STEP_KEYS: dict[str, tuple[type, ...]] = {"after": _NUMBER, "record": (dict,)}
_FAULT_KEYS: dict[str, tuple[type, ...]] = {
    "kind": (str,),
    "code": (str,),
    "endpoint": (str,),
    "id": (str,),
    "times": (int,),
    "after_requests": (int,),
    "status": (int,),
    "message": (str,),
    "retry_after": (int, float, str),
    "success_key": (bool,),
    "delay": _NUMBER,
}
_TOP_KEYS = ("sim", "tasks", "faults")
_NON_NEGATIVE = frozenset(
    {
        "pending_seconds",
        "running_seconds",
        "latency",
        "sync_wait_cap",
        "listing_delay",
        "age",
        "after",
        "delay",
        "max_body_bytes",
        "seed_tasks",
        "after_requests",
        "delivered",
    }
)


@dataclass
class Scenario:
    """A parsed scenario: settings, then tasks and faults to put into a fresh simulator."""

    settings: dict[str, Any] = field(default_factory=dict)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    demo: bool = False
    seed_tasks: int = 0

    def config(self, base: SimConfig | None = None) -> SimConfig:
        """`base` (default: a config that plays the real service's mix of shapes) with this
        scenario's `[sim]` settings on top."""
        config = base if base is not None else SimConfig(shapes=REAL_SHAPE_MIX)
        settings = dict(self.settings)
        if "token" in settings:
            settings["token"] = settings["token"] or None
        if "shapes" in settings:
            settings["shapes"] = tuple(settings["shapes"])
        for key in ("failure_ratio", "moderation_ratio"):
            if key in settings:
                settings[key] = float(settings[key])
        return replace(config, **settings)

    def apply(self, state: SimState) -> list[str]:
        """Make the scenario's tasks and queue its faults; the ids made, in file order."""
        now = state.now()
        ids: list[str] = []
        if self.demo:
            ids += state.seed_demo(rate_limit_after=None)
        for spec in self.tasks:
            spec = dict(spec)
            created_at = now - float(spec.pop("age", 0.0))
            task_id = spec.pop("id", None)
            if "raw" in spec or "timeline" in spec:
                steps = (
                    [(0.0, spec["raw"])]
                    if "raw" in spec
                    else [
                        (float(step.get("after", 0.0)), step["record"]) for step in spec["timeline"]
                    ]
                )
                key = task_id if task_id is not None else steps[-1][1].get("id")
                state.add_timeline(key, steps, created_at=created_at)
                if isinstance(key, str):
                    ids.append(key)
                continue
            if isinstance(task_id, str):
                task_id = task_id.strip().lower()  # served as the service spells ids
            ids.append(state.add_task(task_id=task_id, created_at=created_at, **spec))
        if self.seed_tasks:
            ids += state.seed(self.seed_tasks)
        for fault in self.faults:
            fault = dict(fault)
            kind = fault.pop("kind", None) or fault.pop("code")
            fault.pop("code", None)
            target = {
                "endpoint": fault.pop("endpoint", None),
                "task_id": fault.pop("id", None),
                "status": fault.pop("status", None),
                "message": fault.pop("message", None),
                "success_key": fault.pop("success_key", None),
            }
            target = {k: v for k, v in target.items() if v is not None}
            after = fault.pop("after_requests", None)
            if after is None:
                state.inject_fault(kind, **fault, **target)
            else:
                state.schedule_fault(kind, after_requests=after, **fault, **target)
        return ids


def load_scenario(path: Path) -> Scenario:
    """Read and check a scenario file; `ScenarioError` says what is wrong, and where."""
    name = str(path)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{name}: cannot read the scenario: {exc.strerror or exc}") from exc
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text, parse_constant=_no_constant)
        else:
            data = tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{name}: not UTF-8 text ({exc.reason})") from exc
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise ScenarioError(f"{name}: not valid {kind}: {exc}") from exc
    return parse_scenario(data, source=name)


def _no_constant(constant: str) -> Any:
    raise ValueError(f"{constant} is not a number JSON allows")


def parse_scenario(data: Any, *, source: str = "scenario") -> Scenario:
    """Check a scenario's data (as read from TOML or JSON) and build it."""

    def fail(where: str, problem: str) -> ScenarioError:
        return ScenarioError(f"{source}: {where}: {problem}")

    if not isinstance(data, Mapping):
        raise ScenarioError(f"{source}: a scenario is a table (an object) at the top level")
    for key in data:
        if key not in _TOP_KEYS:
            raise fail(key, f"unknown section; use {', '.join(_TOP_KEYS)}")
    settings = _table(data.get("sim", {}), "sim", _SIM_KEYS, fail)
    for shape in settings.get("shapes", []):
        if shape not in SHAPES:
            raise fail("sim.shapes", f"{shape!r} is not a shape; use {', '.join(SHAPES)}")
    if settings.get("shapes") == []:
        raise fail("sim.shapes", "name at least one shape")
    for key in ("failure_ratio", "moderation_ratio"):
        if key in settings and not 0 <= settings[key] <= 1:
            raise fail(f"sim.{key}", "must be between 0 and 1")
    if settings.get("failure_ratio", 0) + settings.get("moderation_ratio", 0) > 1:
        raise fail("sim", "failure_ratio + moderation_ratio must be at most 1")
    if settings.get("listing_refusal_status", 400) not in (400, 403):
        raise fail("sim.listing_refusal_status", "must be 400 or 403")
    demo = bool(settings.pop("demo", False))
    seed_tasks = int(settings.pop("seed_tasks", 0))
    tasks = [
        _task(item, f"tasks[{index}]", fail)
        for index, item in enumerate(_list(data.get("tasks", []), "tasks", fail))
    ]
    seen: dict[str, str] = {}
    for index, task in enumerate(tasks):
        task_id = task.get("id")
        if isinstance(task_id, str):
            key = task_id.strip().lower()
            if key in seen:
                raise fail(f"tasks[{index}].id", f"{task_id!r} is already used by {seen[key]}")
            seen[key] = f"tasks[{index}]"
    faults = [
        _fault(item, f"faults[{index}]", fail)
        for index, item in enumerate(_list(data.get("faults", []), "faults", fail))
    ]
    return Scenario(settings, tasks, faults, demo, seed_tasks)


def _list(value: Any, where: str, fail: Any) -> list[Any]:
    if not isinstance(value, list):
        raise fail(where, "must be a list of tables ([[" + where + "]] in TOML)")
    return value


def _table(value: Any, where: str, keys: dict[str, tuple[type, ...]], fail: Any) -> dict[str, Any]:
    """A table whose keys are all known and whose values have their types."""
    if not isinstance(value, Mapping):
        raise fail(where, "must be a table")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key not in keys:
            raise fail(f"{where}.{key}", f"unknown key; use {', '.join(sorted(keys))}")
        types = keys[key]
        if isinstance(item, bool) and bool not in types:
            raise fail(f"{where}.{key}", f"must be {_type_words(types)}, not {item!r}")
        if not isinstance(item, types):
            raise fail(f"{where}.{key}", f"must be {_type_words(types)}, not {item!r}")
        if isinstance(item, float) and not math.isfinite(item):
            raise fail(f"{where}.{key}", "must be a finite number")
        if key in _NON_NEGATIVE and isinstance(item, _NUMBER) and item < 0:
            raise fail(f"{where}.{key}", f"must not be negative, not {item!r}")
        out[key] = item
    return out


def _type_words(types: tuple[type, ...]) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    names |= {list: "a list", dict: "a table"}
    if types == _NUMBER:
        return "a number"
    return " or ".join(names.get(t, t.__name__) for t in types)


def _task(value: Any, where: str, fail: Any) -> dict[str, Any]:
    task = _table(value, where, _TASK_KEYS, fail)
    literal = [key for key in ("raw", "timeline") if key in task]
    if len(literal) == 2:
        raise fail(where, "give either raw or timeline, not both")
    if literal:
        extra = sorted(set(task) - {"id", "age", *literal})
        if extra:
            raise fail(f"{where}.{extra[0]}", f"does not apply to a task with {literal[0]}")
        if "timeline" in task:
            steps = [
                _table(step, f"{where}.timeline[{i}]", _STEP_KEYS, fail)
                for i, step in enumerate(task["timeline"])
            ]
            if not steps:
                raise fail(f"{where}.timeline", "needs at least one step")
            for i, step in enumerate(steps):
                if "record" not in step:
                    raise fail(f"{where}.timeline[{i}]", "needs a record")
            task["timeline"] = steps
        return task
    for key, allowed in (("shape", SHAPES), ("outcome", tuple(sorted(OUTCOMES)))):
        if key in task and task[key] not in allowed:
            raise fail(f"{where}.{key}", f"{task[key]!r} is not one; use {', '.join(allowed)}")
    if "word_key" in task and task["word_key"] not in WORD_KEYS:
        raise fail(f"{where}.word_key", "must be status or state")
    if "count" in task and not 1 <= task["count"] <= 4:
        raise fail(f"{where}.count", "must be from 1 to 4")
    if "image_urls" in task and not all(isinstance(u, str) for u in task["image_urls"]):
        raise fail(f"{where}.image_urls", "must be a list of strings")
    return task


def _fault(value: Any, where: str, fail: Any) -> dict[str, Any]:
    fault = _table(value, where, _FAULT_KEYS, fail)
    kinds = [fault[key] for key in ("kind", "code") if key in fault]
    if len(kinds) != 1:
        raise fail(where, "give the fault's kind (or its error code) once")
    if kinds[0] not in ALL_FAULT_KINDS:
        raise fail(
            f"{where}.{'kind' if 'kind' in fault else 'code'}",
            f"{kinds[0]!r} is not a fault; use one of {', '.join(sorted(ALL_FAULT_KINDS))}",
        )
    if "endpoint" in fault and fault["endpoint"] not in ENDPOINTS:
        raise fail(f"{where}.endpoint", f"use {' or '.join(ENDPOINTS)}")
    if "times" in fault and not 1 <= fault["times"] <= 100_000:
        raise fail(f"{where}.times", "must be from 1 to 100000")
    if "status" in fault and not 400 <= fault["status"] <= 599:
        raise fail(f"{where}.status", "must be an HTTP error status (400-599)")
    return fault
