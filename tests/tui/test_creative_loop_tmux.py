"""The creative loop in the real `nbtui --demo`, in tmux, with the keyboard only: a task
fails, is re-run with a changed prompt, and the new one succeeds, knowing where it came from.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .tmux_harness import Terminal, nbtui_in_tmux

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


@pytest.fixture
def demo_terminal(tmp_path: Path) -> Iterator[Terminal]:
    with nbtui_in_tmux(tmp_path, "--demo") as term:
        yield term


def task_line(screen: str, words: str) -> str:
    return next((line for line in screen.splitlines() if words in line), "")


def test_a_failed_task_rerun_with_a_changed_prompt_succeeds(demo_terminal: Terminal) -> None:
    terminal = demo_terminal
    terminal.wait_text("succeeded")

    # A task that fails (the demo's simulator fails a prompt with sim:fail in it).
    terminal.keys("n")
    terminal.wait_text("New image task")
    terminal.type("sim:fail a tmux kite")
    terminal.wait_text("sim:fail a tmux kite")
    terminal.keys("Tab")
    terminal.wait_text("enter creates the task")
    terminal.keys("Enter")
    screen = terminal.wait_for(
        lambda s: "failed" in task_line(s, "sim:fail a tmux kite"), "the first task failing"
    )
    found = re.search(r"([0-9a-f]{8}) ?sim:fail a tmux kite", task_line(screen, "sim:fail"))
    assert found is not None, screen
    parent = found.group(1)

    # x: the form, filled in from the failed task; the prompt changed, then created.
    terminal.keys("x")
    terminal.wait_text(f"Re-run {parent}")
    terminal.keys(*["Delete"] * len("sim:fail"))
    terminal.type("sim:succeed")
    terminal.wait_text("sim:succeed a tmux kite")
    terminal.keys("Tab")
    terminal.wait_text("enter creates the task")
    terminal.keys("Enter")
    terminal.wait_for(lambda s: f"Re-run {parent}" not in s, "the form closing")

    # The new task succeeds, and its detail names the task it came from.
    terminal.wait_for(
        lambda s: "succeeded" in task_line(s, "sim:succeed a tmux kite"), "the re-run succeeding"
    )
    terminal.wait_for(lambda s: re.search(rf"From +{parent}", s) is not None, "From <parent>")

    # u goes back to the task it came from.
    terminal.keys("u")
    terminal.wait_for(
        lambda s: re.search(r"Prompt +sim:fail a tmux kite", s) is not None, "the parent's detail"
    )

    terminal.keys("q")
    assert terminal.exit_status() == "0"
