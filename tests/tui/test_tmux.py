"""The real `nbtui --demo` in a real terminal (tmux): what a new user does with the keyboard.

Launch, watch tasks refresh, filter, open an image (the URL must reach `$BROWSER`), read the
help, add the demo's spare tasks, untrack one, quit with status 0.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .tmux_harness import Terminal, nbtui_in_tmux, wait_until

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


@pytest.fixture
def browser_log(tmp_path: Path) -> Path:
    return tmp_path / "browser.log"


@pytest.fixture
def terminal(tmp_path: Path, browser_log: Path) -> Iterator[Terminal]:
    browser = tmp_path / "fake-browser"
    browser.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{browser_log}"\n')
    browser.chmod(0o755)
    with nbtui_in_tmux(tmp_path, "--demo", BROWSER=str(browser)) as term:
        yield term


def test_demo_end_to_end_with_the_keyboard(terminal: Terminal, browser_log: Path) -> None:
    # Launch: the stored demo tasks, live states, the DEMO badge.
    screen = terminal.wait_text("succeeded")
    assert "DEMO" in screen
    assert "running" in screen

    # Filter down to the one task with a single image, and open it: the URL reaches $BROWSER.
    # A burst of keys is forwarded to the focused widget before an app binding on the first
    # of them runs (Textual bubbles keys to app bindings), so wait for the filter field to
    # open before typing into it, as a person would.
    terminal.keys("/")
    terminal.wait_text("filter: words in the id")
    terminal.type("siamese")
    terminal.wait_for(
        lambda s: "siamese" in s and "lighthouse" not in s, "the list filtered to 'siamese'"
    )
    terminal.keys("Enter")  # keep the filter, back to the list
    terminal.wait_text("/ edits it")
    terminal.keys("o")
    wait_until(browser_log.exists, "the URL reaching $BROWSER")
    urls = browser_log.read_text().split()
    assert len(urls) == 1
    assert urls[0].startswith(("http://", "https://"))
    assert urls[0].endswith(".png")
    terminal.keys("Escape")  # clear the filter
    terminal.wait_text("lighthouse")

    # Help explains the keys.
    terminal.keys("?")
    terminal.wait_text("Focus the detail")
    terminal.keys("Escape")
    terminal.wait_for(lambda s: "Focus the detail" not in s, "the help screen closed")

    # Add the demo's spare tasks from the add dialog.
    terminal.keys("a")
    terminal.wait_text("Nothing pasted yet.")  # written once the dialog is mounted and focused
    terminal.keys("C-t")
    terminal.wait_text("3 valid ids")
    terminal.keys("Enter")  # pasting moved the focus to "Add"
    screen = terminal.wait_text("paper boat")
    assert "neon koi" in screen

    # Untrack the selected task (the one just added), after confirming.
    terminal.keys("d")
    terminal.wait_text("Untrack task")
    terminal.keys("y")
    terminal.wait_for(lambda s: "Untrack task" not in s, "the confirmation closed")

    # Quit cleanly.
    terminal.keys("q")
    assert terminal.exit_status() == "0"
