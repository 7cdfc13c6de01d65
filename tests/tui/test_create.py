"""The new-task form (`n`): validation, one request per submit, a lost answer said plainly."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from textual.widgets import Button, Input, Select, Static, TextArea

from nbtui.api.models import TaskState
from nbtui.create import MAX_SOURCE_BYTES
from nbtui.tui.app import NbtuiApp
from nbtui.tui.screens.create import CreateTaskScreen
from tests.helpers import Harness, settle

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)


def creates(harness: Harness) -> list[Any]:
    return [r for r in harness.state.requests if r.path == "/nano-banana/images"]


async def open_form(pilot: Any, app: NbtuiApp) -> CreateTaskScreen:
    await settle(pilot, lambda: app.main.cycles >= 1)
    await pilot.press("n")
    await settle(pilot, lambda: isinstance(app.screen, CreateTaskScreen))
    screen = app.screen
    assert isinstance(screen, CreateTaskScreen)
    return screen


def error_text(screen: CreateTaskScreen, name: str) -> str:
    widget = screen.query_one(f"#create-{name}-error", Static)
    return str(widget.render()) if widget.has_class("-shown") else ""


async def test_empty_prompt_is_refused_inline_and_nothing_is_sent(harness: Harness) -> None:
    app = harness.app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_form(pilot, app)
        await pilot.click("#create-ok")
        await pilot.pause()
        assert "Write a prompt" in error_text(screen, "prompt")
        assert isinstance(app.screen, CreateTaskScreen)
        assert creates(harness) == [] and screen.submissions == 0


async def test_edit_needs_a_usable_source(harness: Harness, tmp_path: Path) -> None:
    app = harness.app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_form(pilot, app)
        screen.query_one("#create-prompt", TextArea).text = "make it night"
        screen.query_one("#create-action", Select).value = "edit"
        await pilot.pause()
        assert screen.query_one("#create-sources", TextArea).display
        screen.action_submit()
        await pilot.pause()
        assert "at least one source image" in error_text(screen, "sources")
        screen.query_one("#create-sources", TextArea).text = "ftp://example.com/cat.png"
        screen.action_submit()
        await pilot.pause()
        assert "use an http(s) URL or the path" in error_text(screen, "sources")
        # A missing file is found by the worker (the disk is never read on the UI thread).
        screen.query_one("#create-sources", TextArea).text = str(tmp_path / "missing.png")
        screen.action_submit()
        await settle(pilot, lambda: not screen.in_flight)
        assert "no such file" in error_text(screen, "sources")
        big = tmp_path / "big.png"
        big.write_bytes(PNG + b"\0" * MAX_SOURCE_BYTES)
        screen.query_one("#create-sources", TextArea).text = str(big)
        screen.action_submit()
        await settle(pilot, lambda: not screen.in_flight)
        assert "up to 10.0 MB" in error_text(screen, "sources")
        assert creates(harness) == []


async def test_create_tracks_the_new_task_at_the_top(harness: Harness) -> None:
    app = harness.app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_form(pilot, app)
        await pilot.press(*"a red kite over the sea")
        screen.query_one("#create-count", Select).value = 2
        screen.query_one("#create-aspect", Select).value = "16:9"
        screen.query_one("#create-model", Input).value = "nano-banana-2"
        screen.query_one("#create-model", Input).focus()  # enter in a one-line field submits
        await pilot.press("enter")
        await settle(pilot, lambda: not isinstance(app.screen, CreateTaskScreen))
        [request] = creates(harness)
        assert request.body == {
            "action": "generate",
            "prompt": "a red kite over the sea",
            "async": True,
            "model": "nano-banana-2",
            "count": 2,
            "aspect_ratio": "16:9",
        }
        task_id = app.main.task_list.cursor_id
        assert task_id is not None and harness.state.record(task_id) is not None
        assert task_id in harness.store.ids()
        assert app.main.model.position(task_id) == 0  # at the top, selected
        # Tracked like any other: refreshed at once, the prompt shows.
        await settle(
            pilot, lambda: app.main.model.rows[task_id].prompt == "a red kite over the sea"
        )
        assert app.main.model.rows[task_id].state in (TaskState.PENDING, TaskState.RUNNING)


async def test_a_double_submit_sends_one_request(harness: Harness) -> None:
    app = harness.app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_form(pilot, app)
        screen.query_one("#create-prompt", TextArea).text = "one cat only"
        screen.action_submit()
        screen.action_submit()  # the same key twice before any answer
        assert screen.query_one("#create-ok", Button).disabled
        await settle(pilot, lambda: not isinstance(app.screen, CreateTaskScreen))
        await settle(pilot, lambda: not app.main.creator.creating)
        assert len(creates(harness)) == 1
        assert screen.submissions == 1 and app.main.creator.requests == 1


async def test_a_lost_answer_says_the_task_may_exist_and_is_not_resent(
    harness: Harness,
) -> None:
    app = harness.app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_form(pilot, app)
        screen.query_one("#create-prompt", TextArea).text = "a lighthouse"
        harness.state.inject_fault("reset")
        screen.action_submit()
        await settle(pilot, lambda: not screen.in_flight)
        status = str(screen.query_one("#create-status", Static).render())
        assert "may or may not" in status and "import" in status.lower()
        assert len(creates(harness)) == 1  # never retried
        button = screen.query_one("#create-ok", Button)
        assert str(button.label) == "Create anyway"
        # The next submit only asks for confirmation; the one after sends.
        screen.action_submit()
        await pilot.pause()
        assert "may have created the task already" in str(
            screen.query_one("#create-status", Static).render()
        )
        assert len(creates(harness)) == 1
        screen.action_submit()
        await settle(pilot, lambda: not isinstance(app.screen, CreateTaskScreen))
        assert len(creates(harness)) == 2


async def test_a_local_file_is_sent_as_a_data_url(harness: Harness, tmp_path: Path) -> None:
    source = tmp_path / "photo.png"
    source.write_bytes(PNG)
    app = harness.app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_form(pilot, app)
        screen.query_one("#create-prompt", TextArea).text = "add a hat"
        screen.query_one("#create-action", Select).value = "edit"
        await pilot.pause()
        screen.query_one(
            "#create-sources", TextArea
        ).text = f"https://example.com/a.png\n{source}\n"
        screen.action_submit()
        await settle(pilot, lambda: not isinstance(app.screen, CreateTaskScreen))
        [request] = creates(harness)
        assert request.body["action"] == "edit"
        assert request.body["image_urls"] == [
            "https://example.com/a.png",
            "data:image/png;base64," + base64.b64encode(PNG).decode(),
        ]


async def test_escape_cancels_without_sending(harness: Harness) -> None:
    app = harness.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_form(pilot, app)
        await pilot.press(*"never mind", "escape")
        await settle(pilot, lambda: not isinstance(app.screen, CreateTaskScreen))
        assert creates(harness) == []


async def test_work_finishing_under_a_dialog_then_quitting_is_clean(harness: Harness) -> None:
    # A create (or a download) can finish while another dialog is on top, and the app can
    # close before the delayed pane redraw runs: that redraw must neither be lost nor
    # reach for widgets that are being unmounted (it used to raise NoMatches at exit).
    task_id = harness.state.add_task(prompt="made elsewhere", outcome="succeeded")
    app = harness.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: app.main.loaded)
        await pilot.press("a")  # the add dialog is now the active screen
        harness.store.add([task_id], now=harness.clock())
        row = harness.store.get(task_id)
        assert row is not None
        app.main.model.upsert([row])
        app.main.reorder(select=task_id)
        app.main.images.show(row.to_task())
        await pilot.pause()
        assert app.main.task_list.cursor_id == task_id
