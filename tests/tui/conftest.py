"""Fixtures for the TUI: a simulator on ASGI transport, a temporary store, a controllable clock
(the helpers they build are in tests/helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nbtui.config import Settings
from nbtui.sim import SimConfig
from nbtui.sim.app import in_process
from nbtui.tracking.store import Store
from tests.helpers import SIM_TOKEN, FakeClock, Harness


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
