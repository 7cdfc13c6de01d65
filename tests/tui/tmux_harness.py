"""Drive the real `nbtui` in tmux: a private server, an isolated home, the exit status kept."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

WIDTH, HEIGHT = 120, 40
#: How long to wait for the screen to show something before giving up (not a timing check:
#: a healthy run takes a fraction of this).
PATIENCE = 30.0


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.03)
    raise AssertionError(f"never saw {what}")


class Terminal:
    """One tmux session on a private server socket, running nbtui in a temporary home."""

    def __init__(self, socket: str, session: str, home: Path, status_file: Path) -> None:
        self.socket = socket
        self.session = session
        self.home = home
        self.status_file = status_file

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.session, "-l", text)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def wait_for(self, condition: Callable[[str], bool], what: str) -> str:
        deadline = time.monotonic() + PATIENCE
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if condition(screen):
                return screen
            time.sleep(0.03)
        raise AssertionError(f"the screen never showed {what}; last screen:\n{screen}")

    def wait_text(self, text: str) -> str:
        return self.wait_for(lambda screen: text in screen, repr(text))

    def exit_status(self) -> str:
        """Wait for nbtui to end; its exit status as the shell saw it.

        The pane's shell writes it to a file: tmux can take long to reap a finished pane. The
        shell creates the file before it writes the number, so an empty file is not an answer.
        """

        def written() -> bool:
            return self.status_file.exists() and self.status_file.read_text().strip() != ""

        wait_until(written, "nbtui exiting")
        return self.status_file.read_text().strip()


def nbtui_command() -> list[str]:
    """The installed `nbtui` script beside this Python, else `python -m nbtui`."""
    script = Path(sys.executable).with_name("nbtui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "nbtui"]


@contextmanager
def command_in_tmux(
    tmp_path: Path, command: str, status_file: Path, **extra_env: str
) -> Iterator[Terminal]:
    """Run a shell `command` in a fresh private tmux server with an isolated home (no real
    keyring, config or data); kill the server afterwards."""
    home = tmp_path / "home"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        **extra_env,
    }
    socket = f"nbtui-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [
            *("tmux", "-L", socket, "-f", "/dev/null", "new-session", "-d"),
            *("-x", str(WIDTH), "-y", str(HEIGHT), "-s", "main", command),
        ],
        env=env,
        check=True,
    )
    try:
        yield Terminal(socket, "main", home, status_file)
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)


@contextmanager
def nbtui_in_tmux(tmp_path: Path, *args: str, **extra_env: str) -> Iterator[Terminal]:
    """Run `nbtui ARGS` in a fresh tmux server with an isolated home; kill it afterwards."""
    status_file = tmp_path / "exit-status"
    nbtui = " ".join(f"'{part}'" for part in [*nbtui_command(), *args])
    command = f"sh -c \"{nbtui}; echo \\$? > '{status_file}'\""
    with command_in_tmux(tmp_path, command, status_file, **extra_env) as terminal:
        yield terminal
