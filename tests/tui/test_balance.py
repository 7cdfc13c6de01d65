"""The balance in the header and the estimate in the create form (docs/platform.md): off by
default and silent, on against the simulator's platform host, never with the API token."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from textual.widgets import Static, TextArea

from nbtui.api.platform import ENV_PLATFORM_TOKEN, PlatformClient
from nbtui.config import PlatformSettings, Settings
from nbtui.runtime import DEMO_PLATFORM_URL, build_demo, user_platform_factory
from nbtui.sim.platform import PlatformSim, platform_app
from nbtui.tui.app import NbtuiApp, make_app
from nbtui.tui.commands.balance import OFF_HINT
from nbtui.tui.screens.create import CreateTaskScreen
from tests.helpers import Harness, notes, settle

PLATFORM_HOST = "platform.sim.test"
ACCOUNT_TOKEN = "platform-v1-account-0123456789"


def topbar(app: NbtuiApp) -> str:
    return str(app.main.query_one("#topbar-info", Static).render())


def platform_for(harness: Harness, sim: PlatformSim) -> Callable[[], PlatformClient]:
    asgi = platform_app(sim)

    def factory() -> PlatformClient:
        return PlatformClient(
            f"http://{PLATFORM_HOST}", sim.token, transport=httpx.ASGITransport(app=asgi)
        )

    return factory


async def open_form(pilot: Any, app: NbtuiApp) -> CreateTaskScreen:
    await pilot.press("n")
    await settle(pilot, lambda: isinstance(app.screen, CreateTaskScreen))
    screen = app.screen
    assert isinstance(screen, CreateTaskScreen)
    return screen


def title(screen: CreateTaskScreen) -> str:
    return str(screen.query_one("#create-title", Static).render())


async def test_off_by_default_nothing_goes_to_a_platform_and_the_key_says_how(
    harness: Harness,
) -> None:
    app = harness.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot, lambda: app.main.cycles >= 1)
        assert "balance" not in topbar(app)
        await pilot.press("dollar_sign")
        await pilot.pause()
        assert "[platform] host" in notes(app) and OFF_HINT in notes(app)
        screen = await open_form(pilot, app)
        assert "estimated" not in title(screen)
        assert screen.estimate() is None
    assert not [r for r in harness.state.requests if r.path.startswith("/api/v1/")]
    assert app.main.balance.reads == 0


async def test_opted_in_the_header_shows_the_balance_and_only_the_account_token_goes_there(
    harness: Harness,
) -> None:
    sim = PlatformSim(harness.state, token=ACCOUNT_TOKEN, initial_balance=12.34)
    app = harness.app(platform_factory=platform_for(harness, sim))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot, lambda: app.main.balance.balance is not None)
        assert "balance 12.34 credits" in topbar(app)
        screen = await open_form(pilot, app)
        screen.query_one("#create-prompt", TextArea).text = "a red kite"
        await settle(pilot, lambda: "estimated cost 0.05 credits" in title(screen))
        reads = app.main.balance.reads
        screen.action_submit()
        await settle(pilot, lambda: app.main.balance.reads > reads and app.screen is app.main)
        await settle(pilot, lambda: "balance 12.29 credits" in topbar(app))
    platform = [r for r in harness.state.requests if r.host == PLATFORM_HOST]
    api = [r for r in harness.state.requests if r.host != PLATFORM_HOST]
    assert platform and all(r.path.startswith("/api/v1/") for r in platform)
    assert api and not any(r.path.startswith("/api/v1/") for r in api)
    # The catalog read carries no token; the balance read carries the account token only.
    assert all(not r.had_auth for r in platform if r.path == "/api/v1/services/")
    assert all(r.auth_ok for r in platform if r.path == "/api/v1/applications/")


async def test_a_refused_account_token_shows_a_question_mark_and_says_why_once(
    harness: Harness,
) -> None:
    sim = PlatformSim(harness.state, token=ACCOUNT_TOKEN)
    factory = platform_for(harness, sim)

    def wrong() -> PlatformClient:
        client = factory()
        client._token = "platform-v1-wrong-987654"
        return client

    app = harness.app(platform_factory=wrong)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot, lambda: app.main.balance.reads >= 1)
        assert "balance ?" in topbar(app)
        assert "Balance not read" in notes(app) and "refused the account token" in notes(app)
        assert "platform-v1-wrong-987654" not in notes(app)
        app.main.balance.refresh()
        await settle(pilot, lambda: app.main.balance.reads >= 2)
        assert notes(app).count("Balance not read") == 1
        assert app.is_running


async def test_the_demo_opts_in_to_its_simulator_and_the_balance_falls_as_tasks_are_made(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    env = build_demo(settings, serve_images=False)
    try:
        assert env.settings.platform == PlatformSettings(DEMO_PLATFORM_URL)
        app = make_app(
            env.settings,
            store=env.store,
            client_factory=env.client_factory,
            demo=True,
            platform_factory=env.platform_factory,
        )
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(pilot, lambda: app.main.balance.balance is not None)
            assert "balance 100.00 credits" in topbar(app)
            screen = await open_form(pilot, app)
            screen.query_one("#create-prompt", TextArea).text = "a paper crane"
            await settle(pilot, lambda: "estimated cost 0.05 credits" in title(screen))
            screen.action_submit()
            await settle(pilot, lambda: "balance 99.95 credits" in topbar(app), rounds=800)
    finally:
        env.close()


async def test_user_platform_factory_is_none_unless_the_host_is_named(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, cache_dir=tmp_path)
    assert user_platform_factory(settings, {ENV_PLATFORM_TOKEN: ACCOUNT_TOKEN}) is None
    opted = replace(settings, platform=PlatformSettings("https://platform.example.test"))
    factory = user_platform_factory(opted, {ENV_PLATFORM_TOKEN: ACCOUNT_TOKEN})
    assert factory is not None
    client = factory()
    assert client.base_url == "https://platform.example.test" and client.has_token
    assert ACCOUNT_TOKEN not in repr(client)
    await client.aclose()
    without = user_platform_factory(opted, {"ACEDATACLOUD_API_TOKEN": "api-token-123456"})
    assert without is not None
    async with without() as client:
        assert not client.has_token
