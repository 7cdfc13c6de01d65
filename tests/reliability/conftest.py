"""Fixtures of the reliability tests: a fake clock and a monitor rig; shared helpers are in
tests/helpers.py."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from nbtui.api.client import NanoBananaClient
from nbtui.sim import SimConfig, SimServer, create_app
from nbtui.sim.state import SimState
from nbtui.tracking.monitor import CycleReport, Monitor, MonitorProblem, TaskUpdate
from nbtui.tracking.store import Store
from tests.helpers import TOKEN, CliRunner

START = 1_700_000_000.0


class FakeTime:
    """A clock and a sleep that moves it: sleeping is instant and recorded."""

    def __init__(self, now: float = START) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        self.now += delay
        await asyncio.sleep(0)


class MonitorRig:
    """The TUI's refresh machinery (Monitor + NanoBananaClient + Store) over the simulator.

    In-process through ASGI by default; `base_url` (loopback) for faults that need sockets.
    Time is fake and shared by the simulator's task clock, the client's retry sleeps and the
    monitor's schedule, so spacing is read from `time.sleeps` and never waited for.
    """

    def __init__(self, tmp_path: Path, *, base_url: str | None = None, **client: Any) -> None:
        self.time = FakeTime()
        config = SimConfig(
            token=TOKEN, clock=self.time.clock, failure_ratio=0.0, moderation_ratio=0.0
        )
        self.sim = SimState(config, base_url="http://sim.test")
        self.app = create_app(state=self.sim)
        self.base_url = base_url
        self.store = Store.open(tmp_path / "data")
        self.updates: list[TaskUpdate] = []
        self.reports: list[CycleReport] = []
        self.problems: list[MonitorProblem | None] = []
        options: dict[str, Any] = {
            "max_attempts": 2,
            "batch_size": 50,
            "max_concurrency": 4,
            "timeout": 0.3,
        }
        options.update(client)
        self.client = NanoBananaClient(
            base_url or "http://sim.test",
            TOKEN,
            transport=None if base_url else httpx.ASGITransport(app=self.app),
            sleep=self.time.sleep,
            clock=self.time.clock,
            rng=random.Random(3),
            **options,
        )
        self.stop_after: int | None = None
        self.monitor = Monitor(
            self.client,
            self.store,
            interval=5.0,
            clock=self.time.clock,
            sleep=self.time.sleep,
            on_update=self.updates.extend,
            on_cycle=self._on_cycle,
            on_problem=self.problems.append,
            rng=random.Random(5),
            store_check_every=None,
        )

    def _on_cycle(self, report: CycleReport) -> None:
        self.reports.append(report)
        if self.stop_after is not None and len(self.reports) >= self.stop_after:
            self.monitor.stop()

    async def run_cycles(self, count: int) -> None:
        """Let the monitor's own loop run until `count` more cycles ended (no call in between:
        this is how "resumes by itself" is shown)."""
        self.stop_after = len(self.reports) + count
        await asyncio.wait_for(self.monitor.run(), 60)

    def api_requests(self) -> list[Any]:
        return self.sim.api_requests()

    async def close(self) -> None:
        await self.client.aclose()
        self.store.close()


@pytest.fixture(scope="module")
def loop_sim() -> Iterator[SimServer]:
    """One loopback simulator for a whole module; each test resets it (`fresh_sim`)."""
    with SimServer(SimConfig(token=TOKEN, failure_ratio=0.0, moderation_ratio=0.0)) as server:
        yield server


@pytest.fixture
def fresh_sim(loop_sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> SimServer:
    """The module's simulator, emptied, with nbtui pointed at it and holding its token."""
    loop_sim.state.reset()
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", TOKEN)
    monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", loop_sim.base_url)
    return loop_sim


@pytest.fixture
def fast_config(isolated_environment: Path) -> Path:
    """Two attempts per request and a short timeout, so failing paths end quickly."""
    path = Path(os.environ["NBTUI_CONFIG"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("max_attempts = 2\ntimeout = 0.5\n", encoding="utf-8")
    return path


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRunner:
    """`main([...])` in-process with stdout and stderr captured (as in tests/cli)."""
    return CliRunner(capsys)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 300 KB tmpfs (root only); skipped where it cannot be mounted."""
    mount = tmp_path / "mnt"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)
