"""The app on records no formatter expects, and on a record of megabytes (issue 11 §2, §4).

A record an older nbtui stored with `NaN` in `started_at` killed the app as soon as its row
was selected, on every start; a 5 MB prompt froze every key for seconds.
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

import pytest
from textual.widgets import Static

from nbtui.api.models import Task
from nbtui.tui.screens.full_value import FullValueScreen, LongText
from nbtui.tui.widgets.detail import PREVIEW_CHARS
from tests.helpers import SIM_TOKEN, SIZE, Harness, screen_text, settle

HOSTILE_JSON = {
    "nan times (as an older nbtui stored them)": (
        '{{"id": "{id}", "status": "succeeded", "created_at": 1763158000, '
        '"started_at": NaN, "finished_at": Infinity, "elapsed": -Infinity, '
        '"request": {{"prompt": "nan times", "count": NaN}}}}'
    ),
    "absurd dates": (
        '{{"id": "{id}", "created_at": 1e300, "started_at": -1e20, "finished_at": 1e308, '
        '"request": {{"prompt": "absurd dates"}}}}'
    ),
    "wrong types everywhere": (
        '{{"id": "{id}", "created_at": "yesterday", "started_at": [1], "finished_at": {{}}, '
        '"request": ["a", "list"], "response": "text", "error": 5, "trace_id": [1, 2], '
        '"data": {{"image_url": 7}}, "state": {{"x": null}}}}'
    ),
    "huge numbers and odd request": (
        '{{"id": "{id}", "created_at": ' + "9" * 400 + ', "request": {{"prompt": {{"a": [1]}}, '
        '"count": ' + "1" * 500 + ', "image_urls": "not a list", "model": ["m"]}}}}'
    ),
}


def store_raw_json(harness: Harness, task_id: str, text: str) -> None:
    """Put `text` in the task's record column as it is, bypassing every check of today."""
    harness.store.apply([Task.from_raw({"id": task_id, "status": "succeeded"})], {}, 0.0)
    path = harness.settings.data_dir / "tasks.db"
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE tasks SET raw_json = ? WHERE id = ?", (text, task_id))


@pytest.mark.parametrize("name", list(HOSTILE_JSON))
async def test_the_app_starts_on_a_stored_hostile_record_and_selects_it(
    harness: Harness, name: str
) -> None:
    hostile = str(uuid.uuid4())
    other = harness.state.add_task(
        prompt="an ordinary task", outcome="succeeded", created_at=harness.clock() - 50
    )
    harness.track([hostile, other])
    harness.store.apply(
        [Task.from_raw(raw) for raw in harness.state.records([other])], {}, harness.clock()
    )
    store_raw_json(harness, hostile, HOSTILE_JSON[name].format(id=hostile))
    app = harness.app(token=SIM_TOKEN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.main.loaded)
        for task_id in (hostile, other, hostile):
            app.main.task_list.select_id(task_id)
            await settle(pilot, app.main.panes_settled)
            shown = app.main.detail.shown_task
            assert shown is not None and shown.id == task_id
        await pilot.press("v")  # the JSON text view formats the record too
        await settle(pilot, lambda: hostile in json_text(app))
        assert "NaN" not in json_text(app) and "Infinity" not in json_text(app)
        harness.clock.advance(2)
        app.main.tick()  # relative times and durations are drawn again
        await pilot.pause()
        assert app.is_running


def big_task(harness: Harness, size: int) -> tuple[str, str]:
    prompt = ("a white siamese cat on a red cushion, " * (size // 38 + 1))[:size]
    task_id = harness.state.add_task(
        prompt=prompt, outcome="succeeded", created_at=harness.clock() - 10
    )
    harness.track([task_id])
    harness.store.apply(
        [Task.from_raw(raw) for raw in harness.state.records([task_id])], {}, harness.clock()
    )
    return task_id, prompt


def json_text(app: Any) -> str:
    """The JSON text view's text (what it was given; it wraps it to the pane itself)."""
    return str(app.main.json_view.query_one("#json-text", Static).content)


async def test_a_long_prompt_shows_a_bounded_preview_and_the_rest_on_demand(
    harness: Harness,
) -> None:
    size = 2_000_000
    task_id, prompt = big_task(harness, size)
    app = harness.app(token=SIM_TOKEN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.main.loaded)
        app.main.task_list.select_id(task_id)
        await settle(pilot, app.main.panes_settled)
        # The pane holds a preview, never the whole value: a few screens at most.
        assert app.main.detail.virtual_size.height < PREVIEW_CHARS // 20
        app.main.detail.scroll_end(animate=False)
        await pilot.pause()
        notice = f"…{size - PREVIEW_CHARS:,} more characters (f shows it all)"
        await settle(pilot, lambda: notice.split()[0] in screen_text(app))
        await pilot.press("f")
        screen = app.screen
        assert isinstance(screen, FullValueScreen)
        await settle(pilot, lambda: screen.loaded)
        view = screen.query_one(LongText)
        assert "".join(view.lines) == prompt  # every character, in lines
        await pilot.press("end")
        await settle(pilot, lambda: view.scroll_offset.y > 0)  # scrolled after a refresh
        await pilot.press("escape")
        assert not isinstance(app.screen, FullValueScreen)


async def test_f_shows_the_json_string_under_the_tree_cursor(harness: Harness) -> None:
    task_id, _ = big_task(harness, 30_000)
    app = harness.app(token=SIM_TOKEN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.main.loaded)
        app.main.task_list.select_id(task_id)
        await settle(pilot, app.main.panes_settled)
        tree = app.main.json_view.json_tree
        tree.focus()
        line = next(
            n
            for n in range(tree.last_line + 1)
            if (node := tree.get_node_at_line(n)) is not None
            and node.data is not None
            and node.data.path.endswith(".id")
        )
        tree.cursor_line = line
        await pilot.press("f")
        screen = app.screen
        assert isinstance(screen, FullValueScreen)
        await settle(pilot, lambda: screen.loaded)
        assert screen.query_one(LongText).lines == [task_id]


async def test_the_json_text_view_cuts_long_strings(harness: Harness) -> None:
    task_id, _ = big_task(harness, 500_000)
    app = harness.app(token=SIM_TOKEN)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.main.loaded)
        app.main.task_list.select_id(task_id)
        await settle(pilot, app.main.panes_settled)
        await pilot.press("v")
        await settle(pilot, lambda: "more characters" in json_text(app))
        assert len(json_text(app)) < 100_000
        await pilot.press("C")  # the copy keeps every character
        assert len(app.clipboard) > 500_000
