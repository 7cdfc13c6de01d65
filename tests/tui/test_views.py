"""Pilot tests: saved views (1-9, 0, the header, the palette, saving one) and the theme
remembered in the config file."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

from nbtui.config import VIEW_SORT_KEYS, View, load_settings
from nbtui.tui.app import NbtuiApp
from nbtui.tui.screens.help import HelpScreen
from nbtui.tui.screens.save_view import SaveViewScreen
from nbtui.tui.tasklist_model import SortKey
from tests.helpers import SIZE, Harness, notes, settle, started

VIEWS = (
    View("failed", "failed"),
    View("cats", "cat", "prompt", False),
)


def seed(harness: Harness) -> None:
    quick: dict[str, Any] = {"pending_seconds": 0, "running_seconds": 0}
    ids = [
        harness.state.add_task(prompt="a red fox", outcome="succeeded", **quick),
        harness.state.add_task(prompt="two cats", outcome="succeeded", **quick),
        harness.state.add_task(prompt="a cat nap", outcome="failed", **quick),
        harness.state.add_task(prompt="an owl", outcome="failed", **quick),
    ]
    harness.track(ids)


def app_with_views(harness: Harness, config: Path, views: tuple[View, ...] = VIEWS) -> NbtuiApp:
    harness.settings = dataclasses.replace(harness.settings, views=views)
    return harness.app(config_path=config)


def header(app: NbtuiApp) -> str:
    return str(app.main.query_one("#topbar-view", Static).render())


def shown_prompts(app: NbtuiApp) -> list[str]:
    return [app.main.model.rows[task_id].prompt for task_id in app.main.model.ids()]


def count_header_updates(app: NbtuiApp) -> list[object]:
    """What the header's view cell is updated with from now on."""
    cell = app.main.query_one("#topbar-view", Static)
    updates: list[object] = []
    update = cell.update

    def counted(content: Any = "", **kwargs: Any) -> None:
        updates.append(content)
        update(content, **kwargs)

    cell.update = counted  # type: ignore[method-assign]
    return updates


async def orders_in(pilot: Pilot[Any], app: NbtuiApp) -> None:
    await settle(pilot, app.main.order_settled)


def test_a_views_sort_names_are_the_lists_sort_keys() -> None:
    assert tuple(key.value for key in SortKey) == VIEW_SORT_KEYS


async def test_number_keys_switch_views_and_the_header_counts(
    harness: Harness, tmp_path: Path
) -> None:
    seed(harness)
    app = app_with_views(harness, tmp_path / "config.toml")
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        assert header(app) == ""
        await pilot.press("1")
        await settle(pilot, lambda: len(app.main.model) == 2)
        await orders_in(pilot, app)
        assert app.main.query_one("#filter", Input).value == "failed"
        assert header(app) == "view failed · 2 tasks"
        # The header is shown again after every order read (each refresh cycle); updating
        # its cell lays out the whole screen again (25 ms at 10,000 tasks), so that happens
        # only when its words change.
        updates = count_header_updates(app)
        for _ in range(3):
            reads = app.main.orders_read
            app.main.reorder()
            await settle(pilot, lambda r=reads: app.main.orders_read > r)
        assert updates == []
        await pilot.press("2")
        await settle(pilot, lambda: header(app) == "view cats · 2 tasks")
        assert updates
        assert shown_prompts(app) == ["a cat nap", "two cats"]  # its sort: prompt, ascending
        # The same key again: all tasks, in the sort from before the first view.
        await pilot.press("2")
        await settle(pilot, lambda: len(app.main.model) == 4)
        assert header(app) == ""
        assert (app.main.model.sort_key, app.main.model.descending) == (SortKey.CREATED, True)
        assert app.main.model.filter_text == ""
        # 0 leaves a view too, and a changed filter is shown as such.
        await pilot.press("1")
        await settle(pilot, lambda: header(app) == "view failed · 2 tasks")
        await pilot.press("slash", "end", *" owl", "enter")
        await settle(pilot, lambda: header(app) == "view failed (changed) · 1 task")
        await pilot.press("0")
        await settle(pilot, lambda: len(app.main.model) == 4 and header(app) == "")


async def test_escape_on_the_filter_leaves_the_view(harness: Harness, tmp_path: Path) -> None:
    seed(harness)
    app = app_with_views(harness, tmp_path / "config.toml")
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("2")
        await settle(pilot, lambda: header(app) == "view cats · 2 tasks")
        await pilot.press("escape")
        await settle(pilot, lambda: len(app.main.model) == 4)
        assert header(app) == ""
        assert app.main.model.sort_key is SortKey.CREATED


async def test_a_key_without_a_view_says_so(harness: Harness, tmp_path: Path) -> None:
    seed(harness)
    config = tmp_path / "config.toml"
    app = app_with_views(harness, config)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("5")
        await settle(pilot, lambda: "No view 5" in notes(app))
        assert "has only 2" in notes(app) and str(config) in notes(app)
        assert len(app.main.model) == 4


async def test_the_palette_lists_the_views(harness: Harness, tmp_path: Path) -> None:
    seed(harness)
    app = app_with_views(harness, tmp_path / "config.toml")
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("ctrl+p", *"view: ca")

        def options() -> OptionList:
            return app.screen.query_one(OptionList)

        await settle(pilot, lambda: "View: cats" in str(options().get_option_at_index(0).prompt))
        await pilot.press("enter")
        await settle(pilot, lambda: header(app) == "view cats · 2 tasks")
        await pilot.press("ctrl+p", *"view: all")
        await settle(pilot, lambda: "all tasks" in str(options().get_option_at_index(0).prompt))
        await pilot.press("enter")
        await settle(pilot, lambda: header(app) == "" and len(app.main.model) == 4)


async def test_saving_a_view_writes_the_config_and_it_is_selectable(
    harness: Harness, tmp_path: Path
) -> None:
    seed(harness)
    config = tmp_path / "conf" / "config.toml"
    config.parent.mkdir()
    config.write_text('# mine\n[views]\nfailed = "failed"  # red\n', encoding="utf-8")
    app = app_with_views(harness, config, VIEWS[:1])
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await pilot.press("slash", *"fox", "enter", "s", "V")
        await settle(pilot, lambda: isinstance(app.screen, SaveViewScreen))
        await pilot.press(*"foxes", "enter")
        await settle(pilot, lambda: "Saved the view foxes (key 2)" in notes(app))
        assert config.read_text(encoding="utf-8") == (
            '# mine\n[views]\nfailed = "failed"  # red\n'
            'foxes = {filter = "fox", sort = "state", descending = false}\n'
        )
        assert header(app) == "view foxes · 1 task"
        await pilot.press("0")
        await settle(pilot, lambda: len(app.main.model) == 4)
        await pilot.press("2")
        await settle(pilot, lambda: header(app) == "view foxes · 1 task")
    assert load_settings(env={}, config_path=config).views[1] == View(
        "foxes", "fox", "state", False
    )


async def test_saving_under_a_used_name_asks_twice(harness: Harness, tmp_path: Path) -> None:
    seed(harness)
    config = tmp_path / "config.toml"
    app = app_with_views(harness, config)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("1", "slash", "end", *" owl", "enter", "V")
        await settle(pilot, lambda: isinstance(app.screen, SaveViewScreen))
        name = app.screen.query_one("#save-view-name", Input)
        assert name.value == "failed"  # the active view's name is offered
        await pilot.press("enter")
        feedback = app.screen.query_one("#save-view-feedback", Static)
        assert "enter again replaces it" in str(feedback.render())
        assert not config.exists()
        await pilot.press("enter")
        await settle(pilot, lambda: config.exists())
        assert app.settings.views[0] == View("failed", "failed owl", "created", True)
        assert header(app) == "view failed · 1 task"


async def test_a_bad_name_is_refused_in_the_dialog(harness: Harness, tmp_path: Path) -> None:
    app = app_with_views(harness, tmp_path / "config.toml")
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("V")
        await settle(pilot, lambda: isinstance(app.screen, SaveViewScreen))
        await pilot.press("enter")
        feedback = app.screen.query_one("#save-view-feedback", Static)
        assert str(feedback.render()) == "A view needs a name."
        await pilot.press("escape")
        assert not isinstance(app.screen, SaveViewScreen)
        assert not (tmp_path / "config.toml").exists()


async def test_a_config_that_no_longer_parses_is_not_overwritten(
    harness: Harness, tmp_path: Path
) -> None:
    seed(harness)
    config = tmp_path / "config.toml"
    app = app_with_views(harness, config)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        config.write_text('[views]\nfailed = "oops\n', encoding="utf-8")  # edited meanwhile
        await pilot.press("V", *"new", "enter")
        await settle(pilot, lambda: "View not saved" in notes(app))
        assert "is not valid TOML" in notes(app) and "left as it is" in notes(app)
        assert config.read_text(encoding="utf-8") == '[views]\nfailed = "oops\n'
        assert [view.name for view in app.settings.views] == ["failed", "cats"]


async def test_the_help_names_the_view_keys(harness: Harness, tmp_path: Path) -> None:
    app = app_with_views(harness, tmp_path / "config.toml")
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = {row.description: (row.group, row.keys) for row in app.screen.rows}
        assert rows["Switch to saved view 1-9 (its key again: all tasks)"] == ("Views", "1-9")
        assert rows["All tasks (leave the view)"] == ("Views", "0")
        assert rows["Save the filter and sort as a view"] == ("Views", "V")
        assert "Saved view 3" not in rows


async def test_a_remapped_view_key_gets_its_own_help_row(harness: Harness, tmp_path: Path) -> None:
    harness.settings = dataclasses.replace(harness.settings, keymap={"app.view_3": "f3"})
    app = app_with_views(harness, tmp_path / "config.toml")
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        rows = {entry.description: entry.keys for entry in app.help_rows()}
        assert rows["Saved view 3"] == "f3" and rows["Saved view 1"] == "1"


# -- the theme -------------------------------------------------------------------------------


async def test_a_chosen_theme_is_remembered_and_used_at_the_next_start(
    harness: Harness, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("# my settings\npoll_interval = 5\n", encoding="utf-8")
    app = harness.app(config_path=config)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        assert app.theme == "textual-dark"
        await pilot.press("ctrl+p", *"theme")

        def options() -> OptionList:
            return app.screen.query_one(OptionList)

        await settle(pilot, lambda: "theme" in str(options().get_option_at_index(0).prompt))
        await pilot.press("enter")  # "Change theme": the theme list
        await pilot.press(*"textual-light")
        await settle(pilot, lambda: "textual-light" in str(options().get_option_at_index(0).prompt))
        await pilot.press("enter")
        await settle(pilot, lambda: "remembered" in notes(app))
        assert app.theme == "textual-light"
    assert config.read_text(encoding="utf-8") == (
        '# my settings\npoll_interval = 5\ntheme = "textual-light"\n'
    )
    harness.settings = load_settings(env={}, config_path=config)
    again = harness.app(config_path=config)
    async with again.run_test(size=SIZE) as pilot:
        await started(pilot, again)
        assert again.theme == "textual-light"
        assert again.screen.has_class("-light-mode") or again.has_class("-light-mode")
    # Starting with the remembered theme wrote nothing more.
    assert config.read_text(encoding="utf-8").count("theme") == 1


async def test_an_unknown_theme_warns_and_falls_back(harness: Harness, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    harness.settings = dataclasses.replace(harness.settings, theme="solarized-neon")
    app = harness.app(config_path=config)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        assert app.theme == "textual-dark"
        assert "Unknown theme 'solarized-neon'" in notes(app) and "textual-light" in notes(app)
    assert not config.exists()
