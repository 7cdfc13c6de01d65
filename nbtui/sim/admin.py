"""The simulator's admin routes (`/_sim/...`): for tests in other processes; no token, never
faulted. They make tasks, queue faults, change settings and show the request log."""

from __future__ import annotations

from typing import Any, get_args

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nbtui.sim.answers import JSON, dumps
from nbtui.sim.config import SHAPES, Outcome
from nbtui.sim.state import SimState
from nbtui.sim.validation import parse_body

__all__ = ["admin_routes"]


def _state(request: Request) -> SimState:
    state = request.app.state.sim
    assert isinstance(state, SimState)
    return state


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _admin_json(payload: Any, status: int = 200) -> Response:
    return Response(dumps(payload), status, media_type=JSON)


async def _admin_body(request: Request) -> dict[str, Any] | None:
    raw = await request.body()
    if not raw.strip():
        return {}
    body = parse_body(raw)
    return body if isinstance(body, dict) else None


_TARGET_TYPES: dict[str, type] = {
    "endpoint": str,
    "task_id": str,
    "status": int,
    "message": str,
    "success_key": bool,
}


def _fault_target(body: dict[str, Any]) -> dict[str, Any]:
    """The optional `endpoint`, `task_id`, `status`, `message` and `success_key` of a fault."""
    target: dict[str, Any] = {}
    for key, kind in _TARGET_TYPES.items():
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TypeError(f"{key} must be {kind.__name__}")
        target[key] = value
    if target.get("endpoint") not in (None, "tasks", "images"):
        raise ValueError("endpoint must be tasks or images")
    return target


async def _admin_faults(request: Request) -> Response:
    state = _state(request)
    body = await _admin_body(request)
    if body is None:
        return _admin_json({"ok": False, "error": "body must be a JSON object"}, 400)
    try:
        kind = str(body["kind"])
        times = int(body.get("times", 1))
        if times > 100_000:
            raise ValueError("times must be at most 100000")
        retry_after = body.get("retry_after")
        if retry_after is not None and not isinstance(retry_after, str):
            retry_after = float(retry_after)
        delay = float(body.get("delay", 0))
        target = _fault_target(body)
        after = body.get("after_requests")
        if after is None:
            state.inject_fault(kind, times=times, retry_after=retry_after, delay=delay, **target)
        else:
            state.schedule_fault(
                kind,
                after_requests=int(after),
                times=times,
                retry_after=retry_after,
                delay=delay,
                **target,
            )
    except (KeyError, TypeError, ValueError) as exc:
        return _admin_json({"ok": False, "error": f"bad fault: {exc}"}, 400)
    return _admin_json({"ok": True, "pending": state.pending_fault_count})


async def _admin_clear_faults(request: Request) -> Response:
    _state(request).clear_faults()
    return _admin_json({"ok": True})


_SPEC_KEYS = frozenset(
    {
        "prompt",
        "outcome",
        "pending_seconds",
        "running_seconds",
        "created_at",
        "task_id",
        "count",
        "delivered",
        "error_code",
        "error_message",
        "action",
        "model",
        "aspect_ratio",
        "resolution",
        "image_urls",
        "shape",
        "word_key",
    }
)


async def _admin_tasks(request: Request) -> Response:
    """`{"count": n}` seeds n mixed tasks; `{"demo": true}` the demo set; `{"spec": {...}}` or
    `{"specs": [...]}` makes tasks with `add_task` keywords; `{"raw": {...}}` stores a record."""
    state = _state(request)
    body = await _admin_body(request)
    if body is None:
        return _admin_json({"ok": False, "error": "body must be a JSON object"}, 400)
    ids: list[str] = []
    try:
        if body.get("demo"):
            after = body.get("rate_limit_after", 6)
            if after is not None and (isinstance(after, bool) or not isinstance(after, int)):
                raise TypeError("rate_limit_after must be an integer or null")
            ids += state.seed_demo(rate_limit_after=after)
        if "count" in body:
            ids += state.seed(int(body["count"]))
        specs = body.get("specs", [])
        if "spec" in body:
            specs = [body["spec"], *specs]
        if not isinstance(specs, list):
            raise TypeError("specs must be a list")
        for spec in specs:
            if not isinstance(spec, dict) or not set(spec) <= _SPEC_KEYS:
                raise ValueError(f"a spec may hold only {sorted(_SPEC_KEYS)}")
            outcome = spec.get("outcome")
            if outcome is not None and outcome not in get_args(Outcome):
                raise ValueError(f"unknown outcome {outcome!r}")
            shape = spec.get("shape")
            if shape is not None and shape not in SHAPES:
                raise ValueError(f"unknown shape {shape!r}")
            ids.append(state.add_task(**spec))
        raw = body.get("raw")
        if raw is not None:
            if not isinstance(raw, dict):
                raise TypeError("raw must be an object")
            state.add_raw(raw)
            if isinstance(raw.get("id"), str):
                ids.append(raw["id"])
    except (TypeError, ValueError) as exc:
        return _admin_json({"ok": False, "error": str(exc)}, 400)
    return _admin_json({"ok": True, "ids": ids})


async def _admin_task(request: Request) -> Response:
    state = _state(request)
    record = state.record(request.path_params["task_id"], base_url=_origin(request))
    if record is None:
        return _admin_json({"ok": False, "error": "no such task"}, 404)
    return _admin_json(record)


async def _admin_requests(request: Request) -> Response:
    state = _state(request)
    summary = state.request_summary()
    summary["requests"] = [
        {
            "at": r.at,
            "method": r.method,
            "path": r.path,
            "had_auth": r.had_auth,
            "auth_ok": r.auth_ok,
            "host": r.host,
        }
        for r in state.requests[-500:]
    ]
    return _admin_json(summary)


async def _admin_reset(request: Request) -> Response:
    _state(request).reset()
    return _admin_json({"ok": True})


_CONFIG_KEYS: dict[str, type] = {
    "token": str,
    "allow_listing": bool,
    "listing_refusal_status": int,
    "latency": float,
    "fault_rate": float,
    "pending_seconds": float,
    "running_seconds": float,
    "failure_ratio": float,
    "moderation_ratio": float,
    "sync_wait_cap": float,
}


async def _admin_config(request: Request) -> Response:
    """Change a few settings of a running simulator (e.g. refuse listing, add latency)."""
    state = _state(request)
    body = await _admin_body(request)
    if body is None or not set(body) <= set(_CONFIG_KEYS):
        return _admin_json({"ok": False, "error": f"settable: {sorted(_CONFIG_KEYS)}"}, 400)
    for key, value in body.items():
        kind = _CONFIG_KEYS[key]
        if value is None and key == "token":
            state.config.token = None
            continue
        if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            return _admin_json({"ok": False, "error": f"{key} must be {kind.__name__}"}, 400)
        setattr(state.config, key, value)
    return _admin_json({"ok": True})


def admin_routes() -> list[Route]:
    return [
        Route("/_sim/faults", _admin_faults, methods=["POST"]),
        Route("/_sim/faults/clear", _admin_clear_faults, methods=["POST"]),
        Route("/_sim/tasks", _admin_tasks, methods=["POST"]),
        Route("/_sim/tasks/{task_id}", _admin_task, methods=["GET"]),
        Route("/_sim/requests", _admin_requests, methods=["GET"]),
        Route("/_sim/reset", _admin_reset, methods=["POST"]),
        Route("/_sim/config", _admin_config, methods=["POST"]),
    ]
