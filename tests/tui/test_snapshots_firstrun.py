"""Snapshots of what a new user meets first on a machine without a keyring: the first-run
token screen, and the token screen once a token typed there is in use. Update with
`-n0 --snapshot-update` (see test_snapshots)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backends import fail
from textual.pilot import Pilot
from textual.widgets import Input

from nbtui.tui.app import NbtuiApp
from nbtui.tui.screens.token import TokenScreen
from tests.helpers import SIM_TOKEN

from .scenes import Scene, make_scene_app, settle


async def session_token_screen(pilot: Pilot[Any]) -> None:
    """No keyring: a token typed on the first-run screen, then `t`: where it comes from."""
    app = pilot.app
    assert isinstance(app, NbtuiApp)
    await settle(pilot, lambda: isinstance(app.screen, TokenScreen))
    app.screen.query_one(Input).value = SIM_TOKEN
    await pilot.press("enter")
    await settle(pilot, lambda: app.main.cycles >= 1 and app.main.panes_settled())
    app.clear_notifications()
    await pilot.press("t")
    await settle(pilot, lambda: isinstance(app.screen, TokenScreen))


async def first_run_without_keyring(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await settle(pilot, lambda: isinstance(app.screen, TokenScreen))


SCENES = {
    scene.name: scene
    for scene in (
        Scene("token_first_run_no_keyring", first_run_without_keyring, token=None),
        Scene("token_session_only", session_token_screen, token=None),
    )
}


@pytest.mark.parametrize("name", list(SCENES))
def test_screen(
    name: str, snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "UTC")
    import time

    time.tzset()
    keyring.set_keyring(fail.Keyring())  # a server over SSH (conftest puts the keyring back)
    scene = SCENES[name]
    app, harness = make_scene_app(scene, tmp_path / "data")
    try:
        assert snap_compare(app, terminal_size=scene.size, run_before=scene.run_before)
    finally:
        harness.store.close()
