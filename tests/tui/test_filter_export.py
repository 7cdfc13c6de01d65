"""Pilot tests of the filter language in the app (each operator, a malformed query) and of
exporting the listed tasks to a file."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from nbtui.tui.app import NbtuiApp
from nbtui.tui.screens.export import ExportScreen
from tests.helpers import SIZE, Harness, settle, started

UNKNOWN = "11111111-2222-4333-8444-555555555555"


def seed(harness: Harness) -> dict[str, str]:
    """Five tasks that differ in every field the language reads."""
    now = harness.clock()
    ids = {
        "fox": harness.state.add_task(
            prompt="a red fox in snow", outcome="succeeded", created_at=now - 7_200
        ),
        "cats": harness.state.add_task(
            prompt="three cats, four images",
            outcome="succeeded",
            count=3,
            created_at=now - 300,
            model="nano-banana-pro",
        ),
        "refused": harness.state.add_task(
            prompt="a moderated prompt", outcome="moderated", created_at=now - 100
        ),
        "running": harness.state.add_task(
            prompt="still going",
            outcome="succeeded",
            created_at=now - 2,
            pending_seconds=0,
            running_seconds=300,
        ),
    }
    harness.track([*ids.values(), UNKNOWN])
    harness.store.set_labels([ids["fox"], ids["cats"]], add=["client-x"])
    return ids


def shown(app: NbtuiApp) -> set[str]:
    return set(app.main.model.ids())


async def type_filter(pilot: object, app: NbtuiApp, text: str) -> None:
    field = app.main.query_one("#filter", Input)
    field.value = text
    await settle(pilot, lambda: app.main.order_settled() and app.main.model.filter_text == text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("fox", {"fox"}),
        ('"red fox"', {"fox"}),
        ('prompt:"four images"', {"cats"}),
        ("state:failed", {"refused"}),
        ("state:run", {"running"}),
        ("state:not-found", {UNKNOWN}),
        ("images:>1", {"cats"}),
        ("images:1", {"fox"}),
        ("age:>1h", {"fox"}),
        ("age:<1m", {"running", UNKNOWN}),  # never answered: tracked a moment ago
        ("label:CLIENT-X", {"fox", "cats"}),
        ("label:client-x -cats", {"fox"}),
        ("action:generate -state:succeeded", {"refused", "running"}),
        ("model:PRO state:succeeded", {"cats"}),
        ("-model:pro -state:failed -state:running", {"fox", UNKNOWN}),
    ],
)
async def test_each_operator_in_the_filter_bar(
    harness: Harness, query: str, names: set[str]
) -> None:
    ids = seed(harness)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await settle(pilot, lambda: app.main.model.rows[ids["fox"]].image_count == 1)
        await pilot.press("slash")
        await type_filter(pilot, app, query)
        assert app.main.filter_error is None
        assert shown(app) == {ids.get(name, name) for name in names}


async def test_a_malformed_filter_says_why_and_keeps_the_last_good_result(
    harness: Harness,
) -> None:
    ids = seed(harness)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("slash", *"fox")
        await settle(pilot, lambda: shown(app) == {ids["fox"]})
        error = app.main.query_one("#filter-error", Static)
        assert not error.has_class("-visible")

        field = app.main.query_one("#filter", Input)
        field.insert_text_at_cursor(" colour:red")  # pasted: "fox" was the last good filter
        await settle(pilot, lambda: app.main.filter_error is not None)
        assert app.main.filter_error is not None
        assert app.main.filter_error.startswith('unknown field "colour" (fields: state,')
        assert error.has_class("-visible") and error.region.height >= 1
        assert 'unknown field "colour"' in str(error.render())
        assert shown(app) == {ids["fox"]}  # the last good result stays
        assert app.main.model.filter_text == "fox"

        await pilot.press("enter")  # a malformed filter is not kept: still editing
        assert app.focused is field

        await pilot.press(*["backspace"] * len(" colour:red"))
        await settle(pilot, lambda: app.main.filter_error is None)
        assert not error.has_class("-visible")
        await pilot.press(*' "red')
        await settle(pilot, lambda: (app.main.filter_error or "").startswith("unclosed quote"))
        await pilot.press("escape")  # clears the filter and its error
        await settle(pilot, lambda: len(shown(app)) == 5)
        assert app.main.filter_error is None and not error.has_class("-visible")


async def test_export_writes_the_listed_tasks_and_shows_the_path(
    harness: Harness, tmp_path: Path
) -> None:
    ids = seed(harness)
    app = harness.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await pilot.press("slash")
        await type_filter(pilot, app, "label:client-x")
        await pilot.press("enter", "X")
        await settle(pilot, lambda: isinstance(app.screen, ExportScreen))
        field = app.screen.query_one("#export-path", Input)
        assert field.value.endswith(".csv") and "nbtui-export-" in field.value
        dialog = app.screen.query_one("#export-dialog").region
        assert dialog.right <= 80 and dialog.bottom <= 24  # fits a 80x24 terminal
        for widget in app.screen.query("#export-dialog *"):
            assert dialog.contains_region(widget.region) or not widget.region

        missing = tmp_path / "nowhere" / "out.csv"
        field.value = str(missing)
        await pilot.press("enter")
        feedback = app.screen.query_one("#export-feedback", Static)
        await settle(pilot, lambda: "does not exist" in str(feedback.render()))
        assert isinstance(app.screen, ExportScreen)  # still open, the path kept to fix

        target = tmp_path / "out.csv"
        field.value = str(target)
        await pilot.press("enter")
        await settle(pilot, lambda: target.exists() and "Wrote 2 tasks" in str(feedback.render()))
        assert str(target) in str(feedback.render())
        rows = list(csv.DictReader(target.open(newline="", encoding="utf-8")))
        assert [row["id"] for row in rows] == app.main.model.ids()
        assert {row["id"] for row in rows} == {ids["fox"], ids["cats"]}
        assert all(row["labels"] == "client-x" for row in rows)
        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, ExportScreen))


async def test_export_as_json_follows_the_format_choice(harness: Harness, tmp_path: Path) -> None:
    import json

    seed(harness)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("X")
        await settle(pilot, lambda: isinstance(app.screen, ExportScreen))
        screen = app.screen
        field = screen.query_one("#export-path", Input)
        field.value = str(tmp_path / "tasks.csv")
        await pilot.press("tab")  # to the formats: right picks the next, JSON
        await pilot.press("right", "enter")
        await settle(pilot, lambda: field.value.endswith("tasks.json"))
        field.focus()
        await pilot.press("enter")
        await settle(pilot, lambda: (tmp_path / "tasks.json").exists())
        data = json.loads((tmp_path / "tasks.json").read_text(encoding="utf-8"))
        assert len(data) == 5 and {"id", "state", "prompt", "images"} <= set(data[0])


async def test_export_takes_the_marked_tasks_even_those_the_filter_hides(
    harness: Harness, tmp_path: Path
) -> None:
    ids = seed(harness)
    app = harness.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        for name in ("fox", "cats"):
            assert app.main.task_list.select_id(ids[name])
            await pilot.press("space")
        await settle(pilot, lambda: len(app.main.marks) == 2)
        await pilot.press("slash")
        await type_filter(pilot, app, "fox")  # the cats task is marked but hidden now
        await pilot.press("enter", "X")
        await settle(pilot, lambda: isinstance(app.screen, ExportScreen))
        target = tmp_path / "marked.csv"
        app.screen.query_one("#export-path", Input).value = str(target)
        await pilot.press("enter")
        await settle(pilot, target.exists)
        rows = list(csv.DictReader(target.open(newline="", encoding="utf-8")))
        assert {row["id"] for row in rows} == {ids["fox"], ids["cats"]}
