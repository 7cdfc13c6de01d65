"""Start-up paths a user meets before anything else: a damaged database, plain http, the demo."""

from __future__ import annotations

import gc
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import TextArea

from nbtui.config import Settings
from nbtui.media import ImageFetcher, default_save_dir
from nbtui.runtime import build_demo, open_user_store
from nbtui.tui.app import make_app
from nbtui.tui.screens.add_tasks import AddTasksScreen
from nbtui.tui.widgets.status_bar import StatusBar
from tests.helpers import SIZE, Harness, notes, screen_text, settle, started


def test_damaged_database_is_kept_aside_and_named(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    damaged = data_dir / "tasks.db"
    garbage = b"this is not a database, but somebody's only copy of it" * 50
    damaged.write_bytes(garbage)

    store, warnings = open_user_store(data_dir)
    try:
        kept = [p for p in data_dir.iterdir() if p.name.startswith("tasks.db.corrupt-")]
        assert len(kept) == 1
        assert kept[0].read_bytes() == garbage  # kept byte for byte, never overwritten
        assert store.ids() == []  # a new, empty store took its place
        assert len(warnings) == 1
        assert str(damaged) in warnings[0]
        assert str(kept[0]) in warnings[0]
    finally:
        store.close()


def test_healthy_database_opens_without_warnings(tmp_path: Path) -> None:
    store, warnings = open_user_store(tmp_path / "fresh")
    store.close()
    assert warnings == []


async def test_startup_warnings_are_shown(harness: Harness) -> None:
    app = harness.app()
    app.startup_warnings.append("The task database /x/tasks.db was damaged; it was kept as /y.")
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        assert "kept as /y" in notes(app)


async def test_plain_http_to_a_remote_host_warns(harness: Harness) -> None:
    harness.settings = Settings(
        base_url="http://proxy.example.com:8080",
        data_dir=harness.settings.data_dir,
        cache_dir=harness.settings.cache_dir,
    )
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.main.loaded)
        assert "plain http" in notes(app)


async def test_loopback_http_does_not_warn(harness: Harness) -> None:
    harness.settings = Settings(
        base_url="http://127.0.0.1:8787",
        data_dir=harness.settings.data_dir,
        cache_dir=harness.settings.cache_dir,
    )
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        assert "plain http" not in notes(app)


async def test_demo_add_dialog_offers_untracked_ids(harness: Harness) -> None:
    quick: dict[str, Any] = {"outcome": "succeeded", "pending_seconds": 0, "running_seconds": 0}
    spare = [harness.state.add_task(prompt=f"spare {n}", **quick) for n in range(2)]
    app = harness.app(suggested_ids=spare)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("a")
        assert isinstance(app.screen, AddTasksScreen)
        await pilot.press("ctrl+t")
        assert app.screen.query_one(TextArea).text.split() == spare
        assert app.screen.focused is app.screen.query_one("#add-ok")
        await pilot.press("enter")
        await settle(pilot, lambda: len(app.main.model) == 2)
        assert sorted(harness.store.ids()) == sorted(spare)


async def test_add_dialog_without_suggestions_has_no_demo_button(harness: Harness) -> None:
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("a")
        assert not app.screen.query("#add-suggest")
        await pilot.press("ctrl+t")  # does nothing without suggestions
        assert app.screen.query_one(TextArea).text == ""


async def test_status_bar_never_clips_the_host(harness: Harness) -> None:
    app = harness.app()
    for width in (80, 120, 200):
        async with app.run_test(size=(width, 30)) as pilot:
            await started(pilot, app)
            line = str(app.query_one(StatusBar).render())
            assert len(line) <= width
            host = app.settings.api_host
            # Either the whole host is there or none of it: never a cut "sim.te…".
            assert host in line or not any(host[:n] in line for n in range(4, len(host)))
        app = harness.app()


async def test_a_failed_cycle_does_not_claim_a_refresh(harness: Harness) -> None:
    task_id = harness.state.add_task(prompt="waiting", outcome="never")
    harness.track([task_id])
    harness.state.inject_fault("429", times=5, retry_after=8)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        assert "rate limited" in (app.main.status.problem or "")
        assert app.main.status.last_refresh is None  # nothing was refreshed
        assert "refreshed never" in str(app.main.status.render())
        harness.state.clear_faults()
        app.main.action_refresh_all()
        await settle(pilot, lambda: app.main.status.last_refresh is not None)
        assert app.main.status.problem is None


async def test_the_status_bar_says_the_list_is_loading_while_it_is_read(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until the stored list is read the status bar stays on screen and says so (it is not
    swapped for Textual's "Loading..." indicator, which hid the status and the footer)."""
    from concurrent.futures import Future

    import nbtui.tui.screens.main as main_module

    harness.track(["4d320ead-4af4-4a55-8f3e-f2afebdf4fd0"])
    held: list[tuple[Future[Any], Any]] = []

    def hold(function: Any, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        held.append((future, lambda: function(*args)))
        return future

    monkeypatch.setattr(main_module, "in_thread", hold)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.main.loaded
        status = app.main.status
        assert not status.loading and not app.main.query("LoadingIndicator")
        assert "loading stored tasks…" in str(status.render())
        future, read = held[0]
        future.set_result(read())
        await settle(pilot, lambda: app.main.loaded)
        assert "loading stored tasks" not in str(status.render())


async def test_the_demo_says_demo_and_saves_into_its_own_folder(harness: Harness) -> None:
    """The simulator's made-up host (`demo.nbtui.invalid`) reads like an error: "demo" is
    shown instead; and `S` in the throwaway demo never writes into the real Pictures folder."""
    env = build_demo(harness.settings, serve_images=False)
    try:
        cache = env.settings.cache_dir
        app = make_app(
            env.settings,
            store=env.store,
            client_factory=env.client_factory,
            demo=True,
            fetcher_factory=lambda: ImageFetcher(cache, transport=env.image_transport),
        )
        async with app.run_test(size=(160, 40)) as pilot:
            await started(pilot, app)
            shown = screen_text(app)
            assert "invalid" not in shown
            assert app.query_one(StatusBar).render_line(0).text.rstrip().endswith("│ demo")
            done = next(task_id for task_id, row in app.main.model.rows.items() if row.image_count)
            app.main.task_list.select_id(done)
            await pilot.pause()
            await pilot.press("S")
            await settle(pilot, lambda: "Saved" in notes(app))
            saved = env.settings.data_dir / "saved"
            assert any(saved.iterdir())
            assert str(saved) in notes(app)  # the toast names the full path
    finally:
        env.close()


def test_a_configured_save_dir_is_kept_in_the_demo(harness: Harness, tmp_path: Path) -> None:
    chosen = tmp_path / "my-pictures"
    env = build_demo(replace(harness.settings, save_dir=chosen), serve_images=False)
    try:
        assert default_save_dir(env.settings) == chosen
    finally:
        env.close()


@pytest.mark.parametrize("freeze", [False, True])
async def test_the_nbtui_command_keeps_what_start_up_built_out_of_later_collections(
    harness: Harness, freeze: bool
) -> None:
    """`run_app` asks for it (freeze_after_load); an app made for a test does not, or every
    app a test process starts would stay in memory for good."""
    frozen_before = gc.get_freeze_count()  # the suite's own, after collection (conftest.py)
    app = harness.app(freeze_after_load=freeze)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await started(pilot, app)
            assert (gc.get_freeze_count() > frozen_before) == freeze
    finally:
        if freeze:
            gc.unfreeze()
            gc.collect()
            gc.freeze()  # the suite's own again, without this app
