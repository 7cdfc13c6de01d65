"""Re-run (`x`), edit from a result (`E`) and the task a new one came from (`u`)."""

from __future__ import annotations

import re
import sqlite3
import uuid
from dataclasses import replace
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Select, Static, TextArea

from nbtui.api.models import Task
from nbtui.tui.app import NbtuiApp
from nbtui.tui.screens.choose_url import ChooseUrlScreen
from nbtui.tui.screens.create import CreateTaskScreen
from tests.helpers import (
    Harness,
    fetcher_for,
    notes,
    screen_text,
    select_when_done,
    settle,
    started,
)

#: A simulated task that finishes at its first refresh.
AT_ONCE: dict[str, Any] = {"pending_seconds": 0, "running_seconds": 0}


def app_for(harness: Harness, **kw: Any) -> NbtuiApp:
    """The app with result images fetched from the simulator (never the network)."""
    return harness.app(fetcher_factory=fetcher_for(harness, harness.settings.cache_dir), **kw)


def creates(harness: Harness) -> list[Any]:
    return [r for r in harness.state.requests if r.path == "/nano-banana/images"]


async def select(pilot: Pilot[Any], app: NbtuiApp, task_id: str) -> None:
    await settle(pilot, lambda: app.main.task_list.select_id(task_id))
    await settle(pilot, lambda: app.main.panes_settled())


async def form_after(pilot: Pilot[Any], app: NbtuiApp, *keys: str) -> CreateTaskScreen:
    await pilot.press(*keys)
    await settle(pilot, lambda: isinstance(app.screen, CreateTaskScreen))
    screen = app.screen
    assert isinstance(screen, CreateTaskScreen)
    return screen


def form_values(screen: CreateTaskScreen) -> dict[str, Any]:
    return {
        "action": screen.query_one("#create-action", Select).value,
        "prompt": screen.query_one("#create-prompt", TextArea).text,
        "sources": screen.query_one("#create-sources", TextArea).text,
        "sources shown": screen.query_one("#create-sources", TextArea).display,
        "model": screen.query_one("#create-model", Input).value,
        "count": screen.query_one("#create-count", Select).value,
        "aspect": screen.query_one("#create-aspect", Select).value,
        "resolution": screen.query_one("#create-resolution", Select).value,
    }


def form_notes(screen: CreateTaskScreen) -> str:
    found = screen.query("#create-notes")
    return str(found.first(Static).render()) if found else ""


def store_raw(harness: Harness, task_id: str, raw_json: str) -> None:
    """Put `raw_json` in the task's record column as it is (a record no check has seen)."""
    harness.store.apply([Task.from_raw({"id": task_id, "status": "succeeded"})], {}, 0.0)
    with sqlite3.connect(harness.settings.data_dir / "tasks.db") as conn:
        conn.execute("UPDATE tasks SET raw_json = ? WHERE id = ?", (raw_json, task_id))


async def test_rerun_fills_in_every_field_and_the_new_task_records_its_parent(
    harness: Harness,
) -> None:
    parent = harness.state.add_task(
        prompt="a red kite over the sea",
        outcome="failed",
        **AT_ONCE,
        action="edit",
        count=2,
        model="nano-banana-2",
        aspect_ratio="16:9",
        resolution="2K",
        image_urls=["https://example.com/a.png", "https://example.com/b.png"],
    )
    harness.track([parent])
    app = app_for(harness)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, parent)
        screen = await form_after(pilot, app, "x")
        assert form_values(screen) == {
            "action": "edit",
            "prompt": "a red kite over the sea",
            "sources": "https://example.com/a.png\nhttps://example.com/b.png",
            "sources shown": True,
            "model": "nano-banana-2",
            "count": 2,
            "aspect": "16:9",
            "resolution": "2K",
        }
        assert form_notes(screen) == ""
        assert f"Re-run {parent[:8]}" in screen_text(app)
        # The user changes what they want, and creates.
        screen.query_one("#create-prompt", TextArea).text = "a blue kite over the sea"
        screen.action_submit()
        await settle(pilot, lambda: not isinstance(app.screen, CreateTaskScreen))
        [request] = creates(harness)
        assert request.body == {
            "action": "edit",
            "prompt": "a blue kite over the sea",
            "async": True,
            "model": "nano-banana-2",
            "image_urls": ["https://example.com/a.png", "https://example.com/b.png"],
            "count": 2,
            "aspect_ratio": "16:9",
            "resolution": "2K",
        }
        child = app.main.task_list.cursor_id
        assert child is not None and child != parent
        stored = harness.store.get(child)
        assert stored is not None and stored.parent_id == parent
        # The detail pane says where it came from, and u goes there.
        await settle(pilot, app.main.panes_settled)
        shown = re.compile(rf"│ From +{parent[:8]}  \(u goes there\)")
        await settle(pilot, lambda: shown.search(screen_text(app)))
        await pilot.press("u")
        await settle(pilot, lambda: app.main.task_list.cursor_id == parent)
        await settle(pilot, app.main.panes_settled)
        task = app.main.detail.shown_task
        assert task is not None and task.id == parent
        # The parent itself came from nothing: u says so.
        await pilot.press("u")
        await settle(pilot, lambda: "was not made from another one" in notes(app))
        assert app.main.task_list.cursor_id == parent


async def test_a_generate_rerun_keeps_the_defaults_it_was_made_with(harness: Harness) -> None:
    parent = harness.state.add_task(prompt="just a cat", outcome="succeeded", **AT_ONCE)
    harness.track([parent])
    app = app_for(harness)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, parent)
        screen = await form_after(pilot, app, "x")
        values = form_values(screen)
        assert values["action"] == "generate" and values["prompt"] == "just a cat"
        assert values["sources shown"] is False and values["model"] == ""
        assert values["count"] == 1
        assert values["aspect"] == Select.NULL and values["resolution"] == Select.NULL
        screen.action_submit()
        await settle(pilot, lambda: not isinstance(app.screen, CreateTaskScreen))
        [request] = creates(harness)
        body = {"action": "generate", "prompt": "just a cat", "async": True, "count": 1}
        assert request.body == body


HOSTILE_REQUEST = (
    '{{"id": "{id}", "status": "failed", "request": {{'
    '"action": "[bold]upscale[/bold]", '
    '"prompt": "a cat \\u001b[31mred\\u001b[0m [link=file:///etc]click[/link]", '
    '"model": "nano banana\\u001b]0;pwned\\u0007", "count": 9, '
    '"aspect_ratio": "21:9", "resolution": ["4K"], '
    '"image_urls": ["https://example.com/ok.png", "data:image/png;base64,AAAA", 5, '
    '"javascript:alert(1)"]}}}}'
)


async def test_odd_request_fields_fall_back_with_notes_shown_as_text(harness: Harness) -> None:
    hostile = str(uuid.uuid4())
    harness.track([hostile])
    store_raw(harness, hostile, HOSTILE_REQUEST.format(id=hostile))
    app = app_for(harness)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: app.main.loaded)
        await select(pilot, app, hostile)
        screen = await form_after(pilot, app, "x")
        values = form_values(screen)
        # The one http(s) source makes it an edit; nothing else of the odd values is kept.
        assert values == {
            "action": "edit",
            "prompt": "a cat red [link=file:///etc]click[/link]",
            "sources": "https://example.com/ok.png",
            "sources shown": True,
            "model": "",
            "count": 1,
            "aspect": Select.NULL,
            "resolution": Select.NULL,
        }
        said = form_notes(screen)
        for words in (
            "action ([bold]upscale[/bold]) is unknown; edit is used",
            "model (nano banana) is not a model name",
            "count (9) is not 1 to 4",
            "aspect ratio (21:9) is not one the form offers",
            "resolution (['4K']) is not one the form offers",
            "1 source image was sent as an embedded file",
            "2 sources are not an http(s) URL",
        ):
            assert words in said, words
        assert "\x1b" not in said and "\x07" not in said
        # Markup in the record is shown as written, never run.
        assert "[link=file:///etc]click[/link]" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, CreateTaskScreen))
        assert app.is_running and creates(harness) == []


async def test_nothing_to_rerun_is_said_in_words(harness: Harness) -> None:
    no_record = str(uuid.uuid4())
    no_request = str(uuid.uuid4())
    harness.track([no_record, no_request])
    store_raw(harness, no_request, f'{{"id": "{no_request}", "request": ["a", "list"]}}')
    app = app_for(harness)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: app.main.loaded)
        await select(pilot, app, no_record)
        await pilot.press("x")
        await settle(pilot, lambda: "Nothing to re-run yet" in notes(app))
        await select(pilot, app, no_request)
        await pilot.press("x")
        await settle(pilot, lambda: "does not say what was asked" in notes(app))
        assert not isinstance(app.screen, CreateTaskScreen)


async def test_the_parent_untracked_or_filtered_out_is_said(harness: Harness) -> None:
    parent = harness.state.add_task(prompt="the first try", outcome="succeeded", **AT_ONCE)
    child = harness.state.add_task(prompt="the second try", outcome="succeeded", **AT_ONCE)
    gone = harness.state.add_task(prompt="an orphan", outcome="succeeded", **AT_ONCE)
    harness.track([parent])
    harness.store.add([child], now=harness.clock(), parent_id=parent)
    harness.store.add([gone], now=harness.clock(), parent_id=str(uuid.uuid4()))
    app = app_for(harness)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, gone)
        await pilot.press("u")
        await settle(pilot, lambda: "is no longer tracked" in notes(app))
        assert app.main.task_list.cursor_id == gone
        await pilot.press("slash", *"second", "enter")
        await settle(pilot, lambda: app.main.task_list.cursor_id == child)
        await settle(pilot, app.main.panes_settled)
        await pilot.press("u")
        await settle(pilot, lambda: "hidden by the filter" in notes(app))


async def test_edit_from_a_single_result(harness: Harness) -> None:
    task_id = harness.state.add_task(
        prompt="a lighthouse",
        outcome="succeeded",
        model="nano-banana-pro",
        aspect_ratio="3:4",
        **AT_ONCE,
    )
    harness.track([task_id])
    app = app_for(harness)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_when_done(pilot, app, task_id)
        task = app.main.selected_task()
        assert task is not None and len(task.image_urls) == 1
        screen = await form_after(pilot, app, "E")
        assert form_values(screen) == {
            "action": "edit",
            "prompt": "a lighthouse",
            "sources": task.image_urls[0],
            "sources shown": True,
            "model": "nano-banana-pro",
            "count": 1,
            "aspect": "3:4",
            "resolution": Select.NULL,
        }
        assert f"Edit a result of {task_id[:8]}" in screen_text(app)
        screen.query_one("#create-prompt", TextArea).text = "the lighthouse at night"
        screen.action_submit()
        await settle(pilot, lambda: not isinstance(app.screen, CreateTaskScreen))
        [request] = creates(harness)
        assert request.body["action"] == "edit"
        assert request.body["image_urls"] == [task.image_urls[0]]
        assert request.body["prompt"] == "the lighthouse at night"
        child = app.main.task_list.cursor_id
        assert child is not None
        stored = harness.store.get(child)
        assert stored is not None and stored.parent_id == task_id


async def test_edit_from_one_of_several_results_asks_which(harness: Harness) -> None:
    task_id = harness.state.add_task(prompt="three owls", outcome="succeeded", count=3, **AT_ONCE)
    harness.track([task_id])
    app = app_for(harness)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_when_done(pilot, app, task_id)
        task = app.main.selected_task()
        assert task is not None and len(task.image_urls) == 3
        await pilot.press("E")
        await settle(pilot, lambda: isinstance(app.screen, ChooseUrlScreen))
        assert "Edit which image?" in screen_text(app)
        options = app.screen.query_one(OptionList)
        await settle(pilot, lambda: options.has_focus)
        await pilot.press("down", "enter")
        await settle(pilot, lambda: isinstance(app.screen, CreateTaskScreen))
        screen = app.screen
        assert isinstance(screen, CreateTaskScreen)
        assert form_values(screen)["sources"] == task.image_urls[1]
        assert form_values(screen)["count"] == 1  # an edit of one image makes one
        # Escape in the chooser opens nothing.
        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, CreateTaskScreen))
        await pilot.press("E")
        await settle(pilot, lambda: isinstance(app.screen, ChooseUrlScreen))
        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, ChooseUrlScreen))
        assert not isinstance(app.screen, CreateTaskScreen) and creates(harness) == []


async def test_edit_without_a_result_image_says_why(harness: Harness) -> None:
    running = harness.state.add_task(prompt="still going", outcome="never")
    failed = harness.state.add_task(prompt="sim:fail", outcome="failed", **AT_ONCE)
    harness.track([running, failed])
    app = app_for(harness)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, running)
        await pilot.press("E")
        await settle(pilot, lambda: "Not finished yet" in notes(app))
        await select(pilot, app, failed)
        await pilot.press("E")
        await settle(pilot, lambda: "This task finished without images" in notes(app))
        assert not isinstance(app.screen, (CreateTaskScreen, ChooseUrlScreen))


async def test_the_from_line_names_the_remapped_key(harness: Harness) -> None:
    parent = harness.state.add_task(prompt="first", outcome="succeeded", **AT_ONCE)
    child = harness.state.add_task(prompt="second", outcome="succeeded", **AT_ONCE)
    harness.track([parent])
    harness.store.add([child], now=harness.clock(), parent_id=parent)
    harness.settings = replace(harness.settings, keymap={"app.parent": "ctrl+o,backspace"})
    app = app_for(harness)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, child)
        shown = re.compile(rf"│ From +{parent[:8]}  \(ctrl\+o goes there\)")
        await settle(pilot, lambda: shown.search(screen_text(app)))
        await pilot.press("ctrl+o")
        await settle(pilot, lambda: app.main.task_list.cursor_id == parent)
