"""The words a new user meets first (issue 12, "Words and signs"): said as a person would."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import FakeClock, Harness, app_with, notes, screen_text, settle


async def test_opening_a_task_that_finished_without_images_says_so(
    harness: Harness, tmp_path: Path
) -> None:
    empty = harness.state.add_task(
        prompt="a kite",
        outcome="succeeded",
        pending_seconds=0,
        running_seconds=0,
        delivered=0,
    )
    waiting = harness.state.add_task(prompt="a slow kite", outcome="never")
    harness.track([empty, waiting])
    app = app_with(harness, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: app.main.cycles >= 1)
        app.main.task_list.select_id(empty)
        await pilot.pause()
        await pilot.press("o")
        await settle(pilot, lambda: "This task finished without images." in notes(app))
        app.main.task_list.select_id(waiting)
        await pilot.pause()
        await pilot.press("S")
        await settle(pilot, lambda: "Nothing to save: This task has not finished" in notes(app))
        assert "it has no image" not in notes(app)


async def test_copying_the_record_root_names_it_with_a_readable_count(
    harness: Harness, tmp_path: Path
) -> None:
    task = harness.state.add_task(
        prompt="a kite", outcome="succeeded", pending_seconds=0, running_seconds=0
    )
    harness.track([task])
    app = app_with(harness, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: app.main.cycles >= 1)
        app.main.task_list.select_id(task)
        await settle(pilot, app.main.panes_settled)
        await pilot.press("tab", "tab")  # to the JSON pane: its cursor is on the root
        await pilot.press("c")
        await settle(pilot, lambda: "Copied" in notes(app))
        assert "Copied the whole record (" in notes(app)
        assert "Copied $" not in notes(app)


async def test_the_json_pane_without_a_task_says_what_it_will_show(
    harness: Harness, tmp_path: Path
) -> None:
    app = app_with(harness, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: app.main.order_settled())
        await settle(pilot, lambda: "No task selected" in screen_text(app))
        assert "never answered" not in screen_text(app)
        await pilot.press("v")  # the text view says the same
        await settle(pilot, lambda: "No task selected" in screen_text(app))


async def test_a_due_refresh_reads_refreshing_now(
    harness: Harness, tmp_path: Path, clock: FakeClock
) -> None:
    harness.track([harness.state.add_task(prompt="a kite", outcome="never")])
    app = app_with(harness, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: app.main.cycles >= 1)
        clock.advance(3600)
        app.main.tick()
        await settle(pilot, lambda: "refreshing now" in screen_text(app))
        assert "next in now" not in screen_text(app)
