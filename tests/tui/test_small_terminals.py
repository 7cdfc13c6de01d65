"""Small terminals (80x24, 120x20, 50x15): every dialog fits or scrolls, focus stays in view,
and nothing acts through a widget the user cannot see. Asserted with geometry: a widget is
"shown whole" when the compositor draws all of it, inside the screen and its clip."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.errors import NoWidget
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Footer, Select, TextArea
from textual.widgets._footer import FooterKey
from textual.widgets._toast import Toast

from nbtui.tui.app import NbtuiApp
from nbtui.tui.keys import footer_actions
from nbtui.tui.screens.add_tasks import AddTasksScreen
from nbtui.tui.screens.choose_url import ChooseUrlScreen
from nbtui.tui.screens.confirm import ConfirmScreen
from nbtui.tui.screens.create import CreateTaskScreen
from nbtui.tui.screens.full_value import FullValueScreen
from nbtui.tui.screens.help import HelpScreen
from nbtui.tui.screens.save import SavingScreen
from nbtui.tui.screens.token import TokenScreen
from nbtui.tui.tasklist_model import SortKey
from nbtui.tui.widgets.task_list import TaskList, layout_columns
from tests.helpers import Harness, app_with, settle, started

SIZES = [(80, 24), (120, 20), (50, 15)]
IDS = [f"{n:08x}-4af4-4a55-8f3e-f2afebdf4fd0" for n in range(1, 5)]


def shown_whole(widget: Widget) -> bool:
    """All of `widget` is drawn: inside the screen and not clipped by any container."""
    screen = widget.screen
    try:
        geometry = screen._compositor.find_widget(widget)
    except NoWidget:
        return False
    region = geometry.region
    return (
        region.area > 0
        and screen.region.contains_region(region)
        and geometry.clip.contains_region(region)
    )


def seed(harness: Harness) -> None:
    ids = [
        harness.state.add_task(
            prompt=f"a lighthouse made of sea glass, take {n}",
            outcome="succeeded",
            count=2,
            created_at=harness.clock() - 100 * n,
            pending_seconds=0,
            running_seconds=7 * n,
        )
        for n in range(1, 4)
    ]
    harness.track(ids)


async def open_add(pilot: Any, app: NbtuiApp) -> None:
    await pilot.press("a")
    await settle(pilot, lambda: isinstance(app.screen, AddTasksScreen))


async def open_add_with_suggestions(pilot: Any, app: NbtuiApp) -> None:
    app.push_screen(AddTasksScreen(suggestions=IDS))
    await settle(pilot, lambda: isinstance(app.screen, AddTasksScreen))


async def open_create(pilot: Any, app: NbtuiApp) -> None:
    await pilot.press("n")
    await settle(pilot, lambda: isinstance(app.screen, CreateTaskScreen))


async def open_create_edit(pilot: Any, app: NbtuiApp) -> None:
    await open_create(pilot, app)
    app.screen.query_one("#create-action", Select).value = "edit"
    await settle(pilot, lambda: app.screen.query_one("#create-sources").display)


async def open_token(pilot: Any, app: NbtuiApp) -> None:
    await pilot.press("t")
    await settle(pilot, lambda: isinstance(app.screen, TokenScreen))


async def open_help(pilot: Any, app: NbtuiApp) -> None:
    await pilot.press("question_mark")
    await settle(pilot, lambda: isinstance(app.screen, HelpScreen))


async def open_confirm(pilot: Any, app: NbtuiApp) -> None:
    await pilot.press("d")
    await settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))


async def open_chooser(pilot: Any, app: NbtuiApp) -> None:
    urls = [f"https://cdn.example.com/images/{task_id}-{n}.png" for n, task_id in enumerate(IDS)]
    app.push_screen(ChooseUrlScreen("Open which image?", urls))
    await settle(pilot, lambda: isinstance(app.screen, ChooseUrlScreen))


async def open_save(pilot: Any, app: NbtuiApp) -> None:
    app.push_screen(SavingScreen(IDS[0], 4, "/home/someone/Pictures/nbtui"))
    await settle(pilot, lambda: isinstance(app.screen, SavingScreen))


async def open_full_value(pilot: Any, app: NbtuiApp) -> None:
    screen = FullValueScreen("prompt", "a very long prompt " * 400)
    app.push_screen(screen)
    await settle(pilot, lambda: screen.loaded)


OPENERS: dict[str, Callable[[Any, NbtuiApp], Awaitable[None]]] = {
    "add": open_add,
    "add_demo": open_add_with_suggestions,
    "create": open_create,
    "create_edit": open_create_edit,
    "token": open_token,
    "help": open_help,
    "confirm": open_confirm,
    "chooser": open_chooser,
    "save": open_save,
    "full_value": open_full_value,
}


def dialog_of(screen: Screen[Any]) -> Widget:
    dialogs = screen.query(".dialog")
    return dialogs.first() if dialogs else screen.query_one("FullValueScreen > Vertical")


async def focused_in_view(pilot: Any, screen: Screen[Any], at: str) -> None:
    """The scroll to a newly focused field runs after the next refresh: give it a few, then
    the focused field must be in view, whole."""
    for _ in range(50):
        focused = screen.focused
        assert focused is not None
        if shown_whole(focused):
            return
        await pilot.pause(0.01)
    raise AssertionError(f"focused {screen.focused!r} is not in view {at}")


@pytest.mark.parametrize("name", list(OPENERS))
async def test_every_dialog_fits_and_keeps_the_focus_in_view(harness: Harness, name: str) -> None:
    """The dialog is opened once and the terminal resized under it to each small size, as a
    user's terminal is: each size's layout must come from the resize alone."""
    seed(harness)
    app = harness.app()
    async with app.run_test(size=SIZES[0]) as pilot:
        await started(pilot, app)
        await OPENERS[name](pilot, app)
        screen = app.screen
        for width, height in SIZES:
            at = f"at {width}x{height}"
            await pilot.resize_terminal(width, height)
            await pilot.pause()
            assert screen.region.contains_region(dialog_of(screen).region), f"fits {at}"
            for button in screen.query(Button):
                assert shown_whole(button), f"{button.label} is on screen {at}"
            # Tab through every field and round to the first again (which scrolls back up):
            # the focused one is always in view, whole.
            stops = len(screen.focus_chain)
            for _ in range(stops + 2 if stops else 0):
                await focused_in_view(pilot, screen, at)
                for button in screen.query(Button):
                    assert shown_whole(button), f"{button.label} stays on screen {at}"
                await pilot.press("tab")


async def test_enter_in_the_model_field_presses_a_create_button_in_view(
    harness: Harness,
) -> None:
    """At 80x24 in edit mode the form is taller than the terminal: tab to Model (each field
    scrolls into view), and enter there creates through the Create button the user sees."""
    app = harness.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await open_create_edit(pilot, app)
        screen = app.screen
        assert isinstance(screen, CreateTaskScreen)
        screen.query_one("#create-prompt", TextArea).text = "make it night"
        screen.query_one("#create-sources", TextArea).text = "https://example.com/cat.png"
        fields = screen.query_one("#create-fields")
        assert fields.max_scroll_y > 0, "at 80x24 the edit form scrolls"
        seen: list[str] = []
        while screen.focused is not None and screen.focused.id != "create-model":
            await pilot.press("tab")
            await pilot.pause()
            await pilot.pause()
            focused = screen.focused
            assert focused is not None and shown_whole(focused)
            seen.append(focused.id or "")
            assert len(seen) < 10
        assert shown_whole(screen.query_one("#create-ok", Button))
        await pilot.press("enter")
        await settle(pilot, lambda: screen.submissions == 1)


@pytest.mark.parametrize("width", [120, 80, 50])
async def test_the_footer_shows_whole_keys_most_useful_first(harness: Harness, width: int) -> None:
    """At 80 columns the footer cut `p Pause/resu▏`; now it drops whole keys, least useful
    first, and what it shows is drawn whole beside the palette key."""
    app = harness.app()
    async with app.run_test(size=(width, 24)) as pilot:
        await started(pilot, app)
        keys = list(app.main.query_one(Footer).query(FooterKey))
        palette = [key for key in keys if key.has_class("-command-palette")]
        others = [key for key in keys if key not in palette]
        assert len(palette) == 1 and shown_whole(palette[0])
        shown = [key for key in others if key.display]
        hidden = [key for key in others if not key.display]
        for key in shown:
            assert shown_whole(key), f"{key.key_display} {key.description} is whole"
            assert not key.region.overlaps(palette[0].region)
        rank = {action: n for n, action in enumerate(footer_actions())}
        assert [key.action for key in shown[:2]] == ["quit", "help"]
        if width >= 120:
            assert hidden == []
        else:
            assert hidden, "something had to go"
            assert max(rank[key.action] for key in shown) < min(rank[key.action] for key in hidden)


def header_words(task_list: TaskList) -> list[str]:
    return task_list.render_line(0).text.split()


@pytest.mark.parametrize("width", [120, 80, 50])
async def test_narrow_lists_drop_whole_columns_least_important_first(
    harness: Harness, width: int
) -> None:
    """At 50 columns TIME was cut mid-word; now whole columns go (LABELS, UPDATED, MODEL...)."""
    seed(harness)
    app = harness.app()
    async with app.run_test(size=(width, 15)) as pilot:
        await started(pilot, app)
        task_list = app.main.task_list
        placed = layout_columns(task_list.size.width, task_list.columns)
        assert all(x + w <= task_list.size.width for _, x, w in placed), "every column whole"
        titles = [column.title for column, _, _ in placed]
        assert [word.rstrip("▲▼") for word in header_words(task_list)] == titles
        expected = {
            120: ["STATE", "ID", "PROMPT", "MODEL", "IMG", "AGE", "TIME", "UPDATED", "LABELS"],
            80: ["STATE", "ID", "PROMPT", "IMG", "AGE", "TIME"],
            50: ["STATE", "PROMPT", "AGE", "TIME"],
        }
        assert titles == expected[width]
        row = task_list.render_line(1).text  # the newest task: 7 s from start to finish
        ((x, w),) = [(x, w) for column, x, w in placed if column.title == "TIME"]
        assert row[x : x + w].strip() == "7s", "the TIME cell is drawn whole"


async def test_the_columns_setting_chooses_them(harness: Harness, tmp_path: Path) -> None:
    seed(harness)
    app = app_with(harness, tmp_path, columns=("prompt", "state", "updated", "time"))
    async with app.run_test(size=(120, 15)) as pilot:
        await started(pilot, app)
        assert header_words(app.main.task_list) == ["PROMPT", "STATE", "UPDATED", "TIME"]


async def test_one_sort_arrow_means_one_thing_in_every_column(harness: Harness) -> None:
    """▼: the largest value as shown comes first. AGE▲ (the default) is newest first, as
    TIME▲ is shortest first; and the arrow never pushes a title out (`IM…`, `UPDATE…`)."""
    seed(harness)
    app = harness.app()
    async with app.run_test(size=(120, 15)) as pilot:
        await started(pilot, app)
        main, model = app.main, app.main.model

        async def sorted_by(key: SortKey, descending: bool) -> list[str]:
            main.sort_by(key, descending)
            await settle(pilot, lambda: main.panes_settled() and main.order.idle.is_set())
            return header_words(main.task_list)

        def first_and_last() -> tuple[Any, Any]:
            first, last = model.row_at(0), model.row_at(len(model) - 1)
            assert first is not None and last is not None
            return first, last

        assert "AGE▲" in await sorted_by(SortKey.CREATED, True)
        first, last = first_and_last()
        assert first.created_at > last.created_at  # youngest first: smallest AGE on top
        assert "AGE▼" in await sorted_by(SortKey.CREATED, False)
        first, last = first_and_last()
        assert first.created_at < last.created_at  # oldest first: largest AGE on top
        now = harness.clock()
        assert "TIME▼" in await sorted_by(SortKey.DURATION, True)
        first, last = first_and_last()
        assert first.duration(now) > last.duration(now)  # largest TIME on top
        assert "TIME▲" in await sorted_by(SortKey.DURATION, False)
        assert "IMG▼" in await sorted_by(SortKey.IMAGES, True)
        assert "UPDATED▲" in await sorted_by(SortKey.UPDATED, True)
    legend = HelpScreen([])._legend().plain
    assert "▼ puts the largest value shown first" in legend and "AGE▼: oldest first" in legend


async def test_toasts_stay_above_the_status_bar_and_are_small(harness: Harness) -> None:
    """At 80x24 a toast covered the status bar (`│ refreshed▌`) and half the detail pane."""
    seed(harness)
    app = harness.app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await started(pilot, app)
        await pilot.press("y", "p")
        await settle(pilot, lambda: len(app.screen.query(Toast)) == 2)
        await pilot.pause()
        status = app.main.status.region
        footer = app.main.query_one(Footer).region
        for toast in app.screen.query(Toast):
            assert shown_whole(toast)
            assert not toast.region.overlaps(status), "the status bar stays readable"
            assert not toast.region.overlaps(footer)
            assert toast.region.height == 1, "a routine confirmation is one line"
            assert toast.region.width <= 40
        notifications = list(app._notifications)
        assert [n.timeout for n in notifications] == [2, 2], "routine confirmations are brief"
