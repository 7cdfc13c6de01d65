"""Marks end to end in a real terminal (tmux): mark three tasks, untrack them, start nbtui
again on the same data dir, and they are gone (the other two stay)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from nbtui.tracking.store import Store
from tests.helpers import free_port

from .tmux_harness import nbtui_in_tmux

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def test_mark_untrack_restart_gone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ids = [str(uuid.uuid4()) for _ in range(5)]
    with Store.open(data) as store:
        for n, task_id in enumerate(ids):
            store.add([task_id], now=1_700_000_000.0 + n)  # the last one is the newest
    env = {
        "NBTUI_DATA_DIR": str(data),
        "ACEDATACLOUD_API_TOKEN": "sim-token-unused",
        # Nothing listens there: refreshing fails (said in the status bar), the list stays.
        "ACEDATACLOUD_API_BASE_URL": f"http://127.0.0.1:{free_port()}",
    }
    newest_first = list(reversed(ids))
    first = tmp_path / "first"
    first.mkdir()
    with nbtui_in_tmux(first, **env) as terminal:
        terminal.wait_for(lambda s: all(i[:8] in s for i in ids), "the five tracked tasks")
        terminal.keys("Space")
        terminal.wait_text("1 marked")
        terminal.keys("Space", "Space")
        terminal.wait_text("3 marked")
        terminal.keys("d")
        terminal.wait_text("Untrack 3 tasks?")
        terminal.keys("y")
        terminal.wait_for(
            lambda s: not any(i[:8] in s for i in newest_first[:3]), "the marked tasks gone"
        )
        terminal.keys("q")
        assert terminal.exit_status() == "0"
    second = tmp_path / "second"
    second.mkdir()
    with nbtui_in_tmux(second, **env) as terminal:
        screen = terminal.wait_for(
            lambda s: all(i[:8] in s for i in newest_first[3:]), "the two tasks left"
        )
        assert not any(i[:8] in screen for i in newest_first[:3])
        terminal.keys("q")
        assert terminal.exit_status() == "0"
    with Store.open(data) as store:
        assert sorted(store.ids()) == sorted(newest_first[3:])
