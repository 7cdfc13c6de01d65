"""A keyring that never answers (a locked one waiting on an unlock prompt) or that quotes the
password in its errors: the app paints, says what it waits for, stays quittable, offers a
token for this session, and never shows the token."""

from __future__ import annotations

import keyring
import pytest
from textual.widgets import Input

from nbtui.tui.screens.token import TokenScreen
from tests.helpers import SIM_TOKEN, SIZE, Harness, notes, screen_text, settle
from tests.keyrings.hostile_keyring import LeakyKeyring, blocking_keyring


def status_text(harness_app: object) -> str:
    from nbtui.tui.app import NbtuiApp

    assert isinstance(harness_app, NbtuiApp)
    return str(harness_app.main.status.render())


@pytest.mark.timeout(60)
async def test_a_blocked_keyring_leaves_the_app_painted_and_quittable(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBTUI_KEYRING_TIMEOUT", "600")  # longer than the test: still waiting
    ids = [harness.state.add_task(prompt="a lighthouse", outcome="succeeded")]
    harness.track(ids)
    with blocking_keyring() as backend:
        app = harness.app(token=None)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, lambda: app.main.status.waiting_for == "the keyring")
            assert backend.entered.wait(30)  # the app really is inside the backend's call
            await settle(pilot, lambda: app.main.loaded and len(app.main.model) == 1)
            assert "waiting for the keyring (0 s)" in status_text(app)
            harness.clock.advance(7)
            app.main.status.refresh()
            await pilot.pause()
            assert "waiting for the keyring (7 s)" in status_text(app)
            assert not isinstance(app.screen, TokenScreen)
            await pilot.press("q")
            await pilot.pause()
        assert app.return_code == 0
        assert not backend.release.is_set()  # it quit while the keyring call was stuck


@pytest.mark.timeout(60)
async def test_after_the_keyring_timeout_a_token_for_this_session(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBTUI_KEYRING_TIMEOUT", "0.2")
    with blocking_keyring():
        app = harness.app(token=None)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, lambda: isinstance(app.screen, TokenScreen))
            screen = app.screen
            # Said once, where the screen says a typed token lasts for this session only.
            assert "did not answer within 0.2 s" in screen_text(app)
            assert "lasts for this session only" in screen_text(app)
            assert screen.query("#token-demo")  # the demo is offered too
            assert app.main.status.waiting_for is None
            screen.query_one(Input).value = SIM_TOKEN
            await pilot.press("enter")
            await settle(pilot, lambda: app.main.cycles >= 1)
            assert "used for this session only" in notes(app)
            assert "did not answer" in notes(app)
            assert SIM_TOKEN not in notes(app)


async def test_a_keyring_quoting_the_password_never_shows_it(harness: Harness) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(LeakyKeyring())
    try:
        app = harness.app(token=None)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, lambda: isinstance(app.screen, TokenScreen))
            app.screen.query_one(Input).value = SIM_TOKEN
            await pilot.press("enter")
            await settle(pilot, lambda: app.main.cycles >= 1)
            shown = notes(app)
            assert "refused to store password" in shown  # the backend's words...
            assert SIM_TOKEN not in shown and SIM_TOKEN[4:-4] not in shown  # ...scrubbed
    finally:
        keyring.set_keyring(previous)


async def test_a_silent_service_is_named_while_the_request_waits(harness: Harness) -> None:
    """A server that accepts and does not answer: after a few seconds the status bar says
    "waiting for the service (N s)" instead of "next in now" until the client gives up."""
    task = harness.state.add_task(prompt="slow", outcome="never", pending_seconds=0)
    harness.track([task])
    harness.state.inject_fault("slow", times=1, delay=600)
    app = harness.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.main.monitor is not None)
        monitor = app.main.monitor
        assert monitor is not None
        await settle(pilot, lambda: monitor.request_started is not None)
        harness.clock.advance(1)
        app.main.tick()
        assert "waiting for the service" not in status_text(app)  # a moment is normal
        harness.clock.advance(6)
        app.main.tick()
        await pilot.pause()
        assert "waiting for the service (7 s)" in status_text(app)
        assert "next in" not in status_text(app) and "refreshing now" not in status_text(app)
