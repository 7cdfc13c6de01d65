"""Marks (`space`, `*`, `U`, escape), the bulk actions on them (`d`, `r`, `S`, `o`) and
labels (`L`, the add dialog's label field), against the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, SelectionList, Static

from nbtui.tui.app import NbtuiApp
from nbtui.tui.marks import MARK_GLYPH, Marks
from nbtui.tui.screens.add_tasks import AddTasksScreen
from nbtui.tui.screens.confirm import ConfirmScreen
from nbtui.tui.screens.labels import LabelsScreen
from tests.helpers import SIZE, Harness, app_with, notes, screen_text, settle, started


def seed(harness: Harness, count: int = 4, *, images: int = 1) -> list[str]:
    """`count` finished tasks with distinct prompts, tracked, newest last (shown first)."""
    prompts = ["a red fox", "three cats", "a blue kite", "an old boat", "a tall tree"]
    ids = [
        harness.state.add_task(
            prompt=f"{prompts[n % len(prompts)]} {n}",
            outcome="succeeded",
            count=images,
            created_at=harness.clock() - 100 + n,
            pending_seconds=0,
            running_seconds=0,
        )
        for n in range(count)
    ]
    harness.track(ids)
    return ids


def status(app: NbtuiApp) -> str:
    return app.main.status.render().plain


async def filter_to(pilot: Pilot[Any], app: NbtuiApp, text: str) -> None:
    """Type a filter, keep it (enter), and wait for the list to show its result."""
    await pilot.press("slash", *text, "enter")
    await settle(pilot, app.main.order_settled)


async def test_space_marks_moves_down_and_unmarks(harness: Harness) -> None:
    seed(harness)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        first = app.main.task_list.cursor_id
        await pilot.press("space")
        assert app.main.target_ids() == [first]
        second = app.main.task_list.cursor_id
        assert second != first  # moved down one
        await pilot.press("space")
        assert app.main.target_ids() == [first, second]
        assert "2 marked" in status(app)
        rows = [line for line in screen_text(app).splitlines() if line.startswith("│")]
        assert sum(1 for line in rows if line[1] == MARK_GLYPH) == 2  # a glyph, not a colour
        await pilot.press("k", "space")
        assert app.main.target_ids() == [first]
        assert "1 marked" in status(app)


async def test_target_is_the_cursor_without_marks(harness: Harness) -> None:
    seed(harness)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        assert app.main.target_ids() == [app.main.task_list.cursor_id]
        assert "marked" not in status(app)


async def test_mark_all_shown_and_marks_outlive_filter_sort_and_refresh(
    harness: Harness,
) -> None:
    ids = seed(harness, 5)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await filter_to(pilot, app, "fox")  # tasks 0 and 5... only 0 of 5 here
        await pilot.press("asterisk")
        await settle(pilot, lambda: len(app.main.marks) == 1)
        assert app.main.target_ids() == [ids[0]]
        await pilot.press("escape")  # clears the filter; the mark stays
        await settle(pilot, app.main.order_settled)
        assert len(app.main.model) == 5 and app.main.target_ids() == [ids[0]]
        await filter_to(pilot, app, "cats")
        await settle(pilot, lambda: "hidden" in status(app))
        assert "1 marked (1 hidden by the filter)" in status(app)
        await pilot.press("asterisk")
        await settle(pilot, lambda: len(app.main.marks) == 2)
        assert "2 marked (1 hidden by the filter)" in status(app)
        await pilot.press("s")  # another sort
        await settle(pilot, app.main.order_settled)
        cycles = app.main.cycles
        await pilot.press("R")
        await settle(pilot, lambda: app.main.cycles > cycles)
        assert sorted(app.main.target_ids()) == sorted([ids[0], ids[1]])
        await pilot.press("escape")  # the filter goes first
        await settle(pilot, app.main.order_settled)
        assert "2 marked" in status(app) and "hidden" not in status(app)
        await pilot.press("asterisk")
        await settle(pilot, lambda: len(app.main.marks) == 5)
        assert "Marked 3 tasks (2 already marked)" in notes(app)


async def test_clear_marks_with_U_and_with_escape(harness: Harness) -> None:
    seed(harness)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("space", "space")
        await pilot.press("U")
        assert not app.main.marks and "Cleared 2 marks" in notes(app)
        await pilot.press("space")
        await pilot.press("escape")  # no filter, on the list: escape clears the marks
        assert not app.main.marks
        assert "marked" not in status(app)


async def test_untrack_marked_asks_once_naming_hidden_ones(harness: Harness) -> None:
    ids = seed(harness, 4)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await filter_to(pilot, app, "fox")
        await pilot.press("asterisk")
        await settle(pilot, lambda: len(app.main.marks) == 1)
        await pilot.press("escape")
        await settle(pilot, app.main.order_settled)
        app.main.task_list.select_id(ids[1])
        await pilot.press("space")
        await filter_to(pilot, app, "cats")
        await pilot.press("d")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Untrack 2 tasks (1 hidden by the filter)?" in screen_text(app)
        await pilot.press("y")
        await settle(pilot, lambda: not app.main.marks)
        assert sorted(harness.store.ids()) == sorted(ids[2:])
        await settle(pilot, lambda: ids[1] not in app.main.model.rows)
        assert "Stopped tracking 2 tasks" in notes(app)


async def test_untrack_skips_a_mark_untracked_elsewhere(harness: Harness) -> None:
    ids = seed(harness, 3)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("asterisk")
        await settle(pilot, lambda: len(app.main.marks) == 3)
        harness.store.remove([ids[0]])  # another process untracks one
        await pilot.press("d")
        await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Untrack 2 tasks?" in screen_text(app)
        assert ids[0] not in app.main.marks
        await pilot.press("n")
        assert sorted(harness.store.ids()) == sorted(ids[1:])


async def test_refresh_marked_requests_exactly_the_marked_ids(harness: Harness) -> None:
    ids = seed(harness, 4)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        app.main.task_list.select_id(ids[3])
        await pilot.press("space", "space")
        marked = set(app.main.target_ids())
        assert len(marked) == 2
        before = len(harness.state.api_requests())
        cycles = app.main.cycles
        await pilot.press("r")
        await settle(pilot, lambda: app.main.cycles > cycles)
        sent = harness.state.api_requests()[before:]
        assert len(sent) == 1  # one batched request
        assert set(sent[0].body["ids"]) == marked


async def test_save_marked_saves_every_image_and_says_how_many(
    harness: Harness, tmp_path: Path
) -> None:
    ids = seed(harness, 2, images=2)
    never = harness.state.add_task(prompt="never done", outcome="never")
    harness.track([never])
    folder = tmp_path / "saved"
    app = app_with(harness, tmp_path, save_dir=folder)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("asterisk")
        await settle(pilot, lambda: len(app.main.marks) == 3)
        await pilot.press("S")
        await settle(pilot, lambda: "Saved 4 images" in notes(app))
        assert "Saved 4 images from 2 tasks to" in notes(app)
        assert "1 task has no images" in notes(app)
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            f"{task_id}-{n}.png" for task_id in ids for n in (1, 2)
        )


async def test_open_marked_opens_at_most_five_and_says_how_many_were_left(
    harness: Harness,
) -> None:
    ids = seed(harness, 7)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("asterisk")
        await settle(pilot, lambda: len(app.main.marks) == 7)
        await pilot.press("o")
        await settle(pilot, lambda: "Opened" in notes(app))
        assert len(harness.opened) == 5
        urls = {
            harness.store.get(task_id).to_task().image_urls[0]  # type: ignore[union-attr]
            for task_id in ids
        }
        assert set(harness.opened) <= urls
        assert "2 more not opened" in notes(app)


async def test_labels_dialog_adds_and_removes_on_marked_tasks(harness: Harness) -> None:
    ids = seed(harness, 3)
    harness.store.set_labels(ids[:2], add=["client-x"])
    harness.store.set_labels(ids[:1], add=["draft"])
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        for task_id in ids[:2]:
            app.main.task_list.select_id(task_id)
            await pilot.press("space")
        await pilot.press("L")
        await settle(pilot, lambda: isinstance(app.screen, LabelsScreen))
        text = screen_text(app)
        assert "2 marked tasks" in text
        assert "client-x  (2 of 2)" in text and "draft  (1 of 2)" in text
        # Untick "draft" (the second option), add two labels.
        options = app.screen.query_one(SelectionList)
        options.deselect("draft")
        app.screen.query_one("#labels-add", Input).focus()
        await pilot.press(*"final, v2", "enter")
        await settle(pilot, lambda: harness.store.labels(ids[0]) == ["client-x", "final", "v2"])
        assert harness.store.labels(ids[1]) == ["client-x", "final", "v2"]
        assert harness.store.labels(ids[2]) == []
        await settle(pilot, lambda: "client-x, final, v2" in screen_text(app))  # LABELS


async def test_labels_dialog_says_what_is_wrong_and_writes_nothing(harness: Harness) -> None:
    ids = seed(harness, 1)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("L")
        await settle(pilot, lambda: isinstance(app.screen, LabelsScreen))
        assert "No labels yet." in screen_text(app)
        await pilot.press(*("x" * 70), "enter")
        assert isinstance(app.screen, LabelsScreen)  # stays open
        feedback = str(app.screen.query_one("#labels-feedback", Static).render())
        assert "at most 64 characters" in feedback
        await pilot.press("escape")
        assert harness.store.labels(ids[0]) == []


async def test_detail_pane_shows_the_labels(harness: Harness) -> None:
    ids = seed(harness, 1)
    harness.store.set_labels(ids, add=["client-x", "draft"])
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await settle(pilot, app.main.panes_settled)
        text = screen_text(app)
        assert "Labels" in text and "client-x, draft" in text


async def test_add_dialog_refuses_a_bad_label_in_words(harness: Harness) -> None:
    task_id = harness.state.add_task(prompt="a kite", outcome="succeeded")
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app, cycles=0)
        await pilot.press("a")
        await settle(pilot, lambda: isinstance(app.screen, AddTasksScreen))
        await pilot.press(*task_id, "tab")
        await pilot.press(*"good, a\x07bad")
        app.screen.query_one("#add-label", Input).value = "good, " + "y" * 65
        await pilot.pause()
        feedback = str(app.screen.query_one("#add-feedback", Static).render())
        assert "Label: A label has at most 64 characters" in feedback
        await pilot.press("enter")
        assert isinstance(app.screen, AddTasksScreen)  # nothing added
        assert harness.store.ids() == []
        app.screen.query_one("#add-label", Input).value = "good, fine"
        await pilot.press("enter")
        await settle(pilot, lambda: harness.store.ids() == [task_id])
        assert harness.store.labels(task_id) == ["fine", "good"]


def test_marks_keep_their_order_and_count_only_new_ones() -> None:
    """Marking many at once (`*`) and untracking them all take the quick paths; the marks
    still keep the order they were made in and count what changed."""
    marks = Marks()
    marks.toggle("c", 3)
    assert marks.add([("a", 1), ("c", 3), ("b", 2), ("a", 1)]) == 2
    assert marks.ids() == ["c", "a", "b"]
    assert marks.rowids() == [3, 1, 2]
    assert marks.hidden([1, 2]) == 1
    assert marks.discard(["a", "zz"]) == 1
    assert marks.ids() == ["c", "b"]
    assert marks.discard(["b", "c", "zz"]) == 2
    assert not marks
    assert marks.hidden([1, 2]) == 0
