"""Helpers shared across test directories, in one module so no test imports another test
module or another directory's conftest.

Fixtures stay in the conftest.py files; what they build and what tests call lives here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.app import App
from textual.pilot import Pilot

from nbtui.api.client import NanoBananaClient
from nbtui.cli import main
from nbtui.config import Settings
from nbtui.media import ImageFetcher
from nbtui.sim import SimConfig, SimState
from nbtui.sim.app import InProcessSim, in_process
from nbtui.tracking.store import Store
from nbtui.tui.app import NbtuiApp, make_app

#: `NBTUI_THOROUGH=1`: the expensive hypothesis properties run their full example counts.
THOROUGH = os.environ.get("NBTUI_THOROUGH") == "1"


def examples(usual: int, thorough: int) -> int:
    """How many examples an expensive property runs: `usual` in the everyday suite (kept
    short so contributors run it often), `thorough` under NBTUI_THOROUGH=1 (.ci/run)."""
    return thorough if THOROUGH else usual


#: The simulator's token in the CLI, reliability, client and simulator tests.
TOKEN = "sim-token"
#: The repository's root (subprocesses run here, so `tests` is importable).
ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------------------- the CLI


@dataclass
class Run:
    """One `nbtui` run: exit code and what it printed."""

    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


def run_nbtui(
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 60,
) -> Run:
    """`python -m nbtui ARGS` in a fresh process (cwd: the repo, so `tests` imports)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.pop("COLUMNS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "nbtui", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=full_env,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


class CliRunner:
    """`main([...])` in-process, with its stdout and stderr captured."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *args: str) -> Run:
        self.capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse: --help, usage errors
            code = exc.code if isinstance(exc.code, int) else 1
        captured = self.capsys.readouterr()
        return Run(code, captured.out, captured.err)


def data_store() -> Store:
    """The store of the isolated environment (NBTUI_DATA_DIR), as the CLI opens it."""
    return Store.open(Path(os.environ["NBTUI_DATA_DIR"]))


def free_port() -> int:
    """A loopback port nothing listens on (connection refused until someone binds it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# ---------------------------------------------------------------------------- the TUI

#: 2025-11-14 22:13:20 UTC: every snapshot is drawn at this instant.
T0 = 1_763_158_400.0
#: The token the TUI tests' simulator accepts.
SIM_TOKEN = "sim-token-0123456789abcd"
#: The terminal size of the TUI tests.
SIZE = (120, 36)


class FakeClock:
    """A clock the test moves by hand; the app, the monitor and the simulator share it."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Harness:
    """What a TUI test needs to build the app and poke at the world around it."""

    clock: FakeClock
    sim: InProcessSim
    store: Store
    settings: Settings
    opened: list[str] = field(default_factory=list)

    @property
    def state(self) -> SimState:
        return self.sim.state

    def client_factory(self, token: str | None) -> NanoBananaClient:
        return NanoBananaClient.from_settings(
            self.settings,
            token,
            transport=httpx.ASGITransport(app=self.sim.app),
            max_attempts=1,
        )

    def app(self, *, token: str | None = SIM_TOKEN, **kw: Any) -> NbtuiApp:
        return make_app(
            self.settings,
            store=self.store,
            client_factory=self.client_factory,
            clock=self.clock,
            token=token,
            resolve_token=token is None,
            **kw,
        )

    def track(self, ids: list[str], label: str | None = None) -> None:
        self.store.add(ids, label=label, now=self.clock())


def fetcher_for(harness: Harness, cache: Path) -> Callable[[], ImageFetcher]:
    """An image fetcher factory that downloads from the harness's simulator."""

    def factory() -> ImageFetcher:
        return ImageFetcher(cache, transport=httpx.ASGITransport(app=harness.sim.app))

    return factory


def app_with(harness: Harness, tmp_path: Path, **settings: Any) -> NbtuiApp:
    """The app with changed settings and images fetched from the simulator."""
    harness.settings = replace(harness.settings, **settings)
    return harness.app(fetcher_factory=fetcher_for(harness, tmp_path / "img-cache"))


def app_with_sixty_tasks(tmp_path: Path, clock: FakeClock) -> tuple[NbtuiApp, SimState, Store]:
    """The app over an in-process simulator holding sixty tracked tasks that never finish
    (two batches per refresh), and the simulator's state and the store behind it."""
    sim = in_process(SimConfig(token=SIM_TOKEN, clock=clock, seed=7))
    ids = [sim.state.add_task(outcome="never", pending_seconds=0) for _ in range(60)]
    store = Store.open(tmp_path / "data")
    store.add(ids, now=clock())
    settings = Settings(
        base_url=sim.base_url,
        data_dir=tmp_path / "data",
        cache_dir=tmp_path / "cache",
        poll_interval=5,
    )

    def client_factory(token: str | None) -> NanoBananaClient:
        return NanoBananaClient.from_settings(
            settings,
            token,
            transport=httpx.ASGITransport(app=sim.app),
            max_attempts=1,
            batch_size=30,
        )

    app = make_app(
        settings, store=store, client_factory=client_factory, clock=clock, token=SIM_TOKEN
    )
    return app, sim.state, store


async def settle(pilot: Pilot[Any], condition: Callable[..., object], *, rounds: int = 400) -> None:
    """Let the app run until `condition` holds (bounded by rounds, never by wall time).

    `condition` is called without arguments; it may bind loop values as default arguments
    (`lambda c=cycles: app.cycles > c`), hence `Callable[..., object]`.
    """
    for _ in range(rounds):
        if condition():
            await pilot.pause()  # let whatever the condition saw finish mounting
            return
        await pilot.pause(0.01)
    raise AssertionError("the app never reached the expected state")


def notes(app: App[Any]) -> str:
    """Every notification shown so far, as one string."""
    return "\n".join(f"{n.title}: {n.message}" for n in app._notifications)


def screen_text(app: App[Any]) -> str:
    """What the terminal shows now, as plain text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def started(pilot: Pilot[Any], app: NbtuiApp, cycles: int = 1) -> None:
    """Wait until the app has loaded the store and run `cycles` refresh cycles."""
    await settle(pilot, lambda: app.main.loaded and app.main.cycles >= cycles)
    await pilot.pause()


async def select_when_done(pilot: Pilot[Any], app: NbtuiApp, task_id: str) -> None:
    """Wait until `task_id` has its images, then select it and wait for the detail pane."""
    await settle(
        pilot, lambda: app.main.cycles >= 1 and app.main.model.rows[task_id].image_count > 0
    )
    app.main.task_list.select_id(task_id)

    def selected() -> bool:
        task = app.main.selected_task()
        return task is not None and task.id == task_id

    await settle(pilot, selected)
