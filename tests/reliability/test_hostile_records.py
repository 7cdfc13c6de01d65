"""No value in a record can crash a formatter, a pane or the CLI (issue 11 §2).

Generated *records* (recursive JSON-ish values in every field the code reads, with NaN,
infinities, absurd dates, huge integers, strings where numbers belong, lists where objects
belong, deep nesting) go through every renderer: the list's cells (through a real store), the
detail pane, the JSON viewer's text and tree labels, copies, the CLI's `get`/`list` lines and
`--json` output (which must stay RFC 8259 JSON), and the finish notifications.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from nbtui import jsonsafe
from nbtui.api.state import Task
from nbtui.cli import task_json, task_line, tracked_json
from nbtui.notify import osc9, osc777, task_notification
from nbtui.tracking.store import Store
from nbtui.tui.formatting import absolute, age_cell, ago, compact_duration
from nbtui.tui.tasklist_model import SortKey, TaskListModel, row_from_tracked
from nbtui.tui.widgets.detail import render_detail
from nbtui.tui.widgets.json_view import _label, dump_json, render_text, value_to_copy
from nbtui.tui.widgets.task_list import TaskList
from tests.helpers import examples

NOW = 1_763_158_400.0


def nested(levels: int, leaf: Any = None) -> Any:
    """A value `levels` deep, built without recursion (json.dumps could not write it)."""
    value: Any = leaf
    for level in range(levels):
        value = [value] if level % 2 else {"x": value}
    return value


def _pick(choices: list[Any]) -> st.SearchStrategy[Any]:
    """One of `choices`, by index: hypothesis would repr the values themselves, and the repr
    of a 5,000-digit integer raises."""

    def chosen(index: int) -> Any:
        return choices[index]

    return st.integers(0, len(choices) - 1).map(chosen)


ODD_NUMBERS = [
    math.nan,
    math.inf,
    -math.inf,
    1e300,
    -1e20,
    -0.0,
    10**400,
    -(10**5000),  # str() of it raises in Python 3.11
    2**63,
    "1700000000",
    "",
    "\x1b]52;c;ZXZpbA==\x07",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | _pick(ODD_NUMBERS)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
) | _pick([nested(300), nested(120, math.nan), ["x"] * 3000, "p" * 50_000])

TOP_FIELDS = [
    "status",
    "state",
    "created_at",
    "started_at",
    "finished_at",
    "elapsed",
    "trace_id",
    "error",
    "data",
    "images",
    "image_urls",
    "success",
    "message",
    "code",
    "response",
    "request",
    "progress",
]
REQUEST_FIELDS = ["prompt", "model", "action", "count", "aspect_ratio", "resolution", "image_urls"]
RESPONSE_FIELDS = ["success", "data", "error", "trace_id", "task_id"]


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    record: dict[str, Any] = {"id": str(draw(st.uuids()))}
    for name in draw(st.lists(st.sampled_from(TOP_FIELDS), unique=True, max_size=8)):
        record[name] = draw(values)
    for name, fields in (("request", REQUEST_FIELDS), ("response", RESPONSE_FIELDS)):
        if draw(st.booleans()):
            chosen = draw(st.lists(st.sampled_from(fields), unique=True, max_size=5))
            record[name] = {field: draw(values) for field in chosen}
            if name == "response" and draw(st.booleans()):
                record[name]["data"] = draw(
                    st.lists(
                        st.dictionaries(
                            st.sampled_from(["image_url", "prompt", "url"]), values, max_size=3
                        ),
                        max_size=3,
                    )
                )
    return record


def strict_json(text: str) -> Any:
    """Parse as RFC 8259 does: NaN/Infinity are not JSON."""

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def draw_all(renderable: Any) -> str:
    console = Console(width=70, file=io.StringIO(), color_system=None, legacy_windows=False)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined, no-any-return]


PROPERTY = settings(
    max_examples=examples(30, 120), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY
@given(record=records())
def test_every_tui_renderer_survives_any_record(store: Store, record: dict[str, Any]) -> None:
    task = Task.from_raw(record)
    tracked = _through_store(store, task)
    row = row_from_tracked(tracked, 1)
    assert row.id == task.id
    cells = TaskList(TaskListModel(lambda: NOW), lambda: NOW)
    for key in SortKey:
        assert isinstance(cells._cell_text(key, row, NOW), str)
    shown = draw_all(render_detail(tracked.to_task(), row, NOW))
    assert "Task id" in shown
    draw_all(render_text(task.raw))
    for name, value in (task.raw or {}).items():
        draw_all(_label(name, value))
    strict_json(dump_json(task.raw))
    for value in (task.raw or {}).values():
        copied = value_to_copy(value)
        if not isinstance(value, str):
            strict_json(copied)


@PROPERTY
@given(record=records())
def test_the_cli_and_notifications_survive_any_record(store: Store, record: dict[str, Any]) -> None:
    task = Task.from_raw(record)
    strict_json(jsonsafe.dumps([task_json(task)]))
    assert "\x1b" not in task_line(task) and "\n" not in task_line(task)
    tracked = _through_store(store, task)
    strict_json(jsonsafe.dumps([tracked_json(tracked)]))
    note = task_notification(task)
    if note is not None:
        title, body = note
        for sequence in (osc9(body), osc777(title, body)):
            assert sequence.count("\x07") == 1  # nothing the record held ends it early


@PROPERTY
@given(
    stamp=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.none()),
    now=st.floats(allow_nan=True, allow_infinity=True),
)
def test_time_formatters_accept_any_number(stamp: Any, now: float) -> None:
    for text in (ago(stamp, now), age_cell(stamp, now), compact_duration(stamp), absolute(stamp)):
        assert isinstance(text, str) and text


@pytest.mark.parametrize("stamp", [math.nan, math.inf, -math.inf, 1e300, -1e20, 10**400])
def test_a_non_finite_or_absurd_time_shows_as_unknown(stamp: Any) -> None:
    assert absolute(stamp) == "—"
    assert ago(stamp, NOW) in ("unknown time", "just now") or ago(stamp, NOW).endswith(" ago")
    assert compact_duration(stamp) in ("—", "?", "0s")


def test_jsonsafe_writes_rfc_8259_for_what_json_dumps_cannot() -> None:
    value = {"a": math.nan, "b": [math.inf, -math.inf], "c": 10**5000, 1: "key", "d": nested(500)}
    data = strict_json(jsonsafe.dumps(value))
    assert data["a"] is None and data["b"] == [None, None] and data["c"] is None
    assert data["1"] == "key"
    depth, node = 0, data["d"]
    while isinstance(node, dict | list):
        node = node["x"] if isinstance(node, dict) else node[0]
        depth += 1
    assert node == jsonsafe.TOO_DEEP and depth < jsonsafe.MAX_DEPTH


def _through_store(store: Store, task: Task) -> Any:
    """Write `task` as a refresh would and read it back (the list columns come from here)."""
    store.add([task.id], now=NOW)
    try:
        store.apply([task], {}, NOW)
        rows = store.scan_listing(lambda row: row)
        assert [row.id for row in rows] == [task.id]
        tracked = store.get(task.id)
        assert tracked is not None and tracked._raw_json is not None
        strict_json(tracked._raw_json)  # what the store keeps is JSON too
        return tracked
    finally:
        store.remove([task.id])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with Store.open(tmp_path_factory.mktemp("hostile")) as opened:
        yield opened
