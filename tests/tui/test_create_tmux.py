"""From a prompt to a saved image in the real `nbtui --demo`, in tmux, with the keyboard only."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .tmux_harness import PATIENCE, Terminal, nbtui_in_tmux

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


@pytest.fixture
def demo_terminal(tmp_path: Path) -> Iterator[tuple[Terminal, Path]]:
    """The demo in tmux, and the temporary directory it keeps its throwaway data in."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    with nbtui_in_tmux(tmp_path, "--demo", TMPDIR=str(temp)) as term:
        yield term, temp


def task_line(screen: str, words: str) -> str:
    return next((line for line in screen.splitlines() if words in line), "")


def test_create_in_the_demo_watch_it_finish_and_save_it(
    demo_terminal: tuple[Terminal, Path],
) -> None:
    terminal, temp = demo_terminal
    terminal.wait_text("succeeded")

    terminal.keys("n")
    terminal.wait_text("New image task")
    terminal.type("sim:succeed a tmux kite")
    terminal.wait_text("sim:succeed a tmux kite")
    # Tab to the model field, where enter submits.
    terminal.keys("Tab")
    terminal.wait_text("enter creates the task")  # the hint follows the focus
    terminal.keys("Enter")
    terminal.wait_for(lambda s: "New image task" not in s, "the form closing")

    # The new task is at the top at once, and is watched until it succeeds.
    terminal.wait_for(lambda s: "a tmux kite" in task_line(s, "sim:succeed"), "the new task")
    screen = terminal.wait_for(
        lambda s: "succeeded" in task_line(s, "a tmux kite"), "the new task succeeding"
    )
    assert "✔" in task_line(screen, "a tmux kite")

    # Saved without leaving the app: the cursor is still on the new task. The throwaway
    # demo saves into its own temporary directory, never the real Pictures folder.
    terminal.keys("S")
    terminal.wait_text("Saved 1 image")
    deadline = time.monotonic() + PATIENCE
    saved: list[Path] = []
    while time.monotonic() < deadline and not saved:
        saved = list(temp.glob("nbtui-demo-*/saved/*-1.png"))
        time.sleep(0.03)
    assert len(saved) == 1 and saved[0].read_bytes().startswith(b"\x89PNG")
    assert not list(terminal.home.rglob("*.png"))

    terminal.keys("q")
    assert terminal.exit_status() == "0"
