"""Fixtures for the TUI: a simulator on ASGI transport, a temporary store, a controllable clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from nbtui.api.client import NanoBananaClient
from nbtui.config import Settings
from nbtui.sim import SimConfig, SimState
from nbtui.sim.app import InProcessSim, in_process
from nbtui.tracking.store import Store
from nbtui.tui.app import NbtuiApp, make_app

#: 2025-11-14 22:13:20 UTC: every snapshot is drawn at this instant.
T0 = 1_763_158_400.0
SIM_TOKEN = "sim-token-0123456789abcd"


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


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def harness(tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    monkeypatch.setenv("TZ", "UTC")
    import time

    time.tzset()
    sim = in_process(SimConfig(token=SIM_TOKEN, clock=clock, seed=7))
    store = Store.open(tmp_path / "data")
    settings = Settings(
        base_url=sim.base_url,
        data_dir=tmp_path / "data",
        cache_dir=tmp_path / "cache",
        poll_interval=5,
    )
    harness = Harness(clock, sim, store, settings)
    opened = harness.opened

    def fake_open(url: str, new: int = 0, autoraise: bool = True) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr("webbrowser.open", fake_open)
    yield harness
    store.close()


async def settle(pilot: Any, condition: Callable[[], bool], *, rounds: int = 400) -> None:
    """Let the app run until `condition` holds (bounded by rounds, never by wall time)."""
    for _ in range(rounds):
        if condition():
            await pilot.pause()  # let whatever the condition saw finish mounting
            return
        await pilot.pause(0.01)
    raise AssertionError("the app never reached the expected state")


def notes(app: NbtuiApp) -> str:
    """Every notification shown so far, as one string."""
    return "\n".join(f"{n.title}: {n.message}" for n in app._notifications)
