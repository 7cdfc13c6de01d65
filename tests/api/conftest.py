"""Fixtures for the client tests: the simulator (in-process and on loopback), a fake sleep that
records the retry spacing instead of waiting, and a tiny "scripted" ASGI app for answers the
simulator has no reason to produce (every 400 code, echoed tokens, redirects, odd shapes).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nbtui.api.client import NanoBananaClient, RetryEvent
from nbtui.sim import SimConfig, SimServer, SimState, in_process

TOKEN = "sim-token"
SEED = 1234


class FakeSleep:
    """Records every delay the client asks for and returns at once (no real waiting)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


class InFlightTransport(httpx.AsyncBaseTransport):
    """Passes requests to a real transport, counting how many are in flight at once and
    keeping each request's headers (to check what the client really sends)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.in_flight = 0
        self.max_in_flight = 0
        self.headers: list[httpx.Headers] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.headers.append(request.headers.copy())
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            response = await self.inner.handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class SimEnv:
    """One simulator and a way to build clients that talk to it."""

    mode: str
    state: SimState
    base_url: str
    transport_factory: Callable[[], httpx.AsyncBaseTransport | None]
    sleep: FakeSleep = field(default_factory=FakeSleep)
    events: list[RetryEvent] = field(default_factory=list)
    clients: list[NanoBananaClient] = field(default_factory=list)
    inner_transport: Callable[[], httpx.AsyncBaseTransport] | None = None

    def counting(self) -> InFlightTransport:
        """A transport to the simulator that counts requests in flight and keeps headers."""
        assert self.inner_transport is not None
        return InFlightTransport(self.inner_transport())

    def client(self, token: str | None = TOKEN, **kw: Any) -> NanoBananaClient:
        kw.setdefault("transport", self.transport_factory())
        kw.setdefault("sleep", self.sleep)
        kw.setdefault("on_retry", self.events.append)
        kw.setdefault("rng", random.Random(SEED))
        client = NanoBananaClient(kw.pop("base_url", self.base_url), token, **kw)
        self.clients.append(client)
        return client

    def api_requests(self) -> list[Any]:
        return self.state.api_requests()


def sim_config() -> SimConfig:
    return SimConfig(token=TOKEN, seed=0)


@pytest.fixture(scope="module")
def api_sim_server() -> Iterator[SimServer]:
    """One loopback simulator per test module (uvicorn in a thread); reset before each test."""
    with SimServer(sim_config()) as server:
        yield server


async def _close_all(env: SimEnv) -> None:
    for client in env.clients:
        await client.aclose()


@pytest.fixture
async def asgi_env() -> AsyncIterator[SimEnv]:
    """The simulator in-process, through `httpx.ASGITransport`."""
    sim = in_process(sim_config())
    env = SimEnv("asgi", sim.state, sim.base_url, sim.transport)
    env.inner_transport = sim.transport
    yield env
    await _close_all(env)


@pytest.fixture
async def socket_env(api_sim_server: SimServer) -> AsyncIterator[SimEnv]:
    """The simulator over a real loopback socket (a fresh memory and config per test)."""
    api_sim_server.state.config = sim_config()
    api_sim_server.state.reset()
    env = SimEnv("socket", api_sim_server.state, api_sim_server.base_url, lambda: None)
    env.inner_transport = lambda: httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=50))
    yield env
    await _close_all(env)
    api_sim_server.state.clear_faults()


@pytest.fixture(params=["asgi", "socket"])
def env(request: pytest.FixtureRequest) -> SimEnv:
    """Both ways of reaching the simulator, for the tests that must hold over either."""
    return request.getfixturevalue(f"{request.param}_env")  # type: ignore[no-any-return]


# ---------------------------------------------------------------------- the scripted app


@dataclass
class Scripted:
    """Answers queued by a test, served in order (the last one repeats)."""

    answers: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    seen: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        status: int,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Scripted:
        content = raw if raw is not None else json.dumps(body).encode()
        hdrs = {"content-type": "application/json", **(headers or {})}
        if raw is not None and headers is None:
            hdrs = {}
        self.answers.append((status, hdrs, content))
        return self

    def error(self, status: int, code: str, message: str, **extra: Any) -> Scripted:
        body = {"success": False, "error": {"code": code, "message": message}, **extra}
        return self.add(status, body)


def scripted_app(script: Scripted) -> Starlette:
    async def handle(request: Request) -> Response:
        raw = await request.body()
        script.seen.append(
            {
                "path": request.url.path,
                "host": request.headers.get("host", ""),
                "authorization": request.headers.get("authorization"),
                "body": json.loads(raw) if raw else None,
            }
        )
        index = min(len(script.seen), len(script.answers)) - 1
        status, headers, content = script.answers[index]
        content = content.replace(b"{AUTH}", (request.headers.get("authorization") or "").encode())
        return Response(content, status_code=status, headers=headers)

    return Starlette(routes=[Route("/{path:path}", handle, methods=["POST", "GET"])])


@pytest.fixture
def script() -> Scripted:
    return Scripted()


@pytest.fixture
async def scripted_client(script: Scripted) -> AsyncIterator[Callable[..., NanoBananaClient]]:
    """Build clients against the scripted app (fake sleep, seeded jitter)."""
    made: list[NanoBananaClient] = []
    sleep = FakeSleep()

    def build(token: str | None = TOKEN, **kw: Any) -> NanoBananaClient:
        kw.setdefault("transport", httpx.ASGITransport(app=scripted_app(script)))
        kw.setdefault("sleep", sleep)
        kw.setdefault("rng", random.Random(SEED))
        client = NanoBananaClient(kw.pop("base_url", "https://api.example.test"), token, **kw)
        client.fake_sleep = sleep  # type: ignore[attr-defined]
        made.append(client)
        return client

    yield build
    for client in made:
        await client.aclose()
