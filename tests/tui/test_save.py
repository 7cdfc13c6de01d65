"""Saving (`S`), terminal notifications on finish, importing recent tasks (`I`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Harness, app_with, notes, select_when_done, settle

# -- save ---------------------------------------------------------------------------------


async def test_save_writes_every_image_named_by_id_and_index(
    harness: Harness, tmp_path: Path
) -> None:
    task_id = harness.state.add_task(
        prompt="two kites", outcome="succeeded", pending_seconds=0, running_seconds=0, count=2
    )
    harness.track([task_id])
    folder = tmp_path / "saved"
    app = app_with(harness, tmp_path, save_dir=folder)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_when_done(pilot, app, task_id)
        await pilot.press("S")
        await settle(pilot, lambda: "Saved 2 images" in notes(app))
        assert sorted(p.name for p in folder.iterdir()) == [
            f"{task_id}-1.png",
            f"{task_id}-2.png",
        ]
        assert str(folder / f"{task_id}-1.png") in notes(app)
        images = [r for r in harness.state.requests if r.path.startswith("/images/")]
        assert images and not any(r.had_auth for r in images)  # never the token


async def test_save_failure_is_said_clearly(harness: Harness, tmp_path: Path) -> None:
    task_id = harness.state.add_task(
        prompt="a kite", outcome="succeeded", pending_seconds=0, running_seconds=0
    )
    harness.track([task_id])
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    app = app_with(harness, tmp_path, save_dir=blocker)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_when_done(pilot, app, task_id)
        await pilot.press("S")
        await settle(pilot, lambda: "Images not saved" in notes(app))
        assert "not a folder" in notes(app) or "is a file" in notes(app)


async def test_save_without_images_says_why(harness: Harness, tmp_path: Path) -> None:
    task_id = harness.state.add_task(prompt="a kite", outcome="never")
    harness.track([task_id])
    app = app_with(harness, tmp_path, save_dir=tmp_path / "out")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: app.main.cycles >= 1)
        app.main.task_list.select_id(task_id)
        await pilot.pause()
        await pilot.press("S")
        await settle(pilot, lambda: "Nothing to save" in notes(app))
        assert not (tmp_path / "out").exists()


# -- notifications ------------------------------------------------------------------------


async def test_finish_writes_the_osc_sequence_and_bell_through_the_driver(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBTUI_NOTIFY", "osc777")
    monkeypatch.delenv("TMUX", raising=False)
    task_id = harness.state.add_task(
        prompt="a kite; high", outcome="succeeded", pending_seconds=0, running_seconds=30
    )
    harness.track([task_id])
    app = app_with(harness, tmp_path, notify_terminal=True, notify_bell=True)
    written: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        assert app._driver is not None
        monkeypatch.setattr(app._driver, "write", written.append)
        await settle(pilot, lambda: app.main.cycles >= 1)
        harness.clock.advance(60)
        app.main.action_refresh_all()
        await settle(pilot, lambda: "✔" in notes(app))
    expected = f"\x1b]777;notify;nbtui: Image ready;a kite, high [{task_id[:8]}]\x07\x07"
    assert [w for w in written if "777" in w or w == "\x07"] == [expected]


async def test_no_notification_bytes_when_switched_off(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBTUI_NOTIFY", "osc9")
    task_id = harness.state.add_task(
        prompt="a kite", outcome="failed", pending_seconds=0, running_seconds=30
    )
    harness.track([task_id])
    app = app_with(harness, tmp_path)  # notify_terminal and notify_bell default to off
    written: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        assert app._driver is not None
        monkeypatch.setattr(app._driver, "write", written.append)
        await settle(pilot, lambda: app.main.cycles >= 1)
        harness.clock.advance(60)
        app.main.action_refresh_all()
        await settle(pilot, lambda: "✘" in notes(app))
    assert not [w for w in written if "\x1b]9;" in w or "\x07" in w]


# -- import recent tasks ------------------------------------------------------------------


def list_requests(harness: Harness) -> list[Any]:
    return [
        r
        for r in harness.state.requests
        if r.path == "/nano-banana/tasks"
        and isinstance(r.body, dict)
        and "ids" not in r.body
        and "id" not in r.body
    ]


async def test_import_recent_adds_untracked_tasks(harness: Harness, tmp_path: Path) -> None:
    known = harness.state.add_task(prompt="tracked already", outcome="succeeded")
    others = [harness.state.add_task(prompt=f"made elsewhere {n}") for n in range(3)]
    harness.track([known])
    app = app_with(harness, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: app.main.cycles >= 1)
        await pilot.press("I")
        await settle(pilot, lambda: "Imported 3 tasks" in notes(app))
        assert set(harness.store.ids()) == {known, *others}
        assert set(others) <= set(app.main.model.rows)
        assert "1 already tracked" in notes(app)


async def test_import_refused_is_said_once_and_stays_off(harness: Harness, tmp_path: Path) -> None:
    harness.state.config.allow_listing = False
    app = app_with(harness, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda: app.main.cycles >= 1)
        await pilot.press("I")
        await settle(pilot, lambda: app.main.importer.listing_refused is not None)
        assert "does not list recent tasks" in notes(app)
        assert len(list_requests(harness)) == 1
        await pilot.press("I")
        await settle(pilot, lambda: "off for this session" in notes(app))
        assert len(list_requests(harness)) == 1  # not asked again
        assert app.main.monitor is not None  # watching goes on
