"""Fixtures for the simulator's own tests: a clock the test moves, and in-process simulators."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from nbtui.sim import InProcessSim, SimConfig, in_process

T0 = 1_757_183_036.0
TOKEN = "sim-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}


@dataclass
class FakeClock:
    """Time that moves only when the test says so."""

    now: float = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_sim(clock: FakeClock) -> Callable[..., InProcessSim]:
    """`make_sim(**config)`: an in-process simulator on the fake clock (token "sim-token")."""

    def make(**overrides: Any) -> InProcessSim:
        overrides.setdefault("clock", clock)
        return in_process(SimConfig(**overrides))

    return make


@pytest.fixture
def sim(make_sim: Callable[..., InProcessSim]) -> InProcessSim:
    return make_sim()


@pytest.fixture
async def client(sim: InProcessSim) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on `sim` that sends the right token."""
    async with sim.client(TOKEN) as http:
        yield http
