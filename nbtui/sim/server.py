"""Running the simulator on a real socket with uvicorn: in a thread for tests, or blocking.

We bind the listening socket ourselves, so port 0 gives a free port whose number is known
before the server starts, and the socket already queues connections while uvicorn boots.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from nbtui.sim.app import SIM_RESET_MESSAGE, create_app, image_app
from nbtui.sim.scenario import Scenario
from nbtui.sim.state import SimConfig, SimState

__all__ = ["SimInfo", "SimServer", "run_sim"]


class _QuietInjectedResets(logging.Filter):
    """Uvicorn logs a traceback for every injected `reset`; that is the fault working."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (exc is not None and SIM_RESET_MESSAGE in str(exc))


_QUIET = _QuietInjectedResets()


def _quiet_uvicorn() -> None:
    logger = logging.getLogger("uvicorn.error")
    if _QUIET not in logger.filters:
        logger.addFilter(_QUIET)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _uvicorn_config(app: Starlette, *, log_config: bool) -> uvicorn.Config:
    kwargs: dict[str, object] = {}
    if not log_config:
        kwargs["log_config"] = None
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        ws="none",
        timeout_graceful_shutdown=2,
        **kwargs,  # type: ignore[arg-type]
    )


class _ThreadedUvicorn:
    """One uvicorn server on a pre-bound socket, in a daemon thread."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        self.sock = _bind(host, port)
        self.port: int = self.sock.getsockname()[1]
        self.url = _url(host, self.port)
        self.server = uvicorn.Server(_uvicorn_config(app, log_config=False))
        self.thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": [self.sock]},
            name=f"nbtui-sim-{self.port}",
            daemon=True,
        )

    def start(self, timeout: float = 10.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the simulator's server thread stopped while starting")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the simulator's server did not start in time")
            time.sleep(0.005)

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=10)
        self.sock.close()


class SimServer:
    """The simulator on 127.0.0.1 (a free port by default), served from a background thread.

    Use as a context manager: `with SimServer(SimConfig(...)) as sim: sim.base_url`.
    With `separate_image_host=True` images are served from a second port (and the config's
    `image_base_url` is pointed there unless already set), so tests can tell the API host and
    the image host apart.
    """

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        state: SimState | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        separate_image_host: bool = False,
    ) -> None:
        self.state = state if state is not None else SimState(config)
        self.host = host
        self._port = port
        self._separate_images = separate_image_host
        self._api: _ThreadedUvicorn | None = None
        self._images: _ThreadedUvicorn | None = None

    @property
    def config(self) -> SimConfig:
        return self.state.config

    @property
    def base_url(self) -> str:
        if self._api is None:
            raise RuntimeError("the simulator is not running")
        return self._api.url

    @property
    def port(self) -> int:
        if self._api is None:
            raise RuntimeError("the simulator is not running")
        return self._api.port

    @property
    def image_base_url(self) -> str:
        """Where this simulator's image URLs point."""
        return self.state.config.image_base_url or self.base_url

    def start(self) -> SimServer:
        if self._api is not None:
            return self
        _quiet_uvicorn()
        api = _ThreadedUvicorn(create_app(state=self.state), self.host, self._port)
        self._api = api
        self.state.base_url = api.url
        try:
            if self._separate_images:
                images = _ThreadedUvicorn(image_app(self.state), self.host, 0)
                self._images = images
                if self.state.config.image_base_url is None:
                    self.state.config.image_base_url = images.url
                images.start()
            api.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop serving (idempotent). Requests in flight get a short grace period."""
        for server in (self._api, self._images):
            if server is not None:
                server.stop()
        self._api = None
        self._images = None

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class SimInfo:
    """What `run_sim` tells its caller once it listens (the caller decides what to print)."""

    base_url: str
    token: str | None
    task_ids: list[str]
    state: SimState
    #: Ask the server to shut down gracefully (thread-safe; `run_sim` then returns).
    stop: Callable[[], None]


def run_sim(
    host: str = "127.0.0.1",
    port: int = 8787,
    config: SimConfig | None = None,
    *,
    seed_tasks: int = 0,
    demo: bool = True,
    on_ready: Callable[[SimInfo], None] | None = None,
    scenario: Scenario | None = None,
) -> None:
    """Serve the simulator until interrupted (Ctrl-C stops it gracefully). Prints nothing.

    `demo` adds the demo task set, `seed_tasks` that many more mixed tasks, `scenario` its
    tasks and faults (on top of `config`, which it has already shaped). `on_ready` is
    called once the socket listens (connections made from then on are queued, not refused).
    Raises `OSError` when the address cannot be bound (e.g. the port is taken).
    """
    state = SimState(config)
    ids: list[str] = []
    if demo:
        ids += state.seed_demo()
    if scenario is not None:
        ids += scenario.apply(state)
    if seed_tasks > 0:
        ids += state.seed(seed_tasks)
    sock = _bind(host, port)
    try:
        url = _url(host, sock.getsockname()[1])
        state.base_url = url
        _quiet_uvicorn()
        server = uvicorn.Server(_uvicorn_config(create_app(state=state), log_config=True))

        def stop() -> None:
            server.should_exit = True

        if on_ready is not None:
            on_ready(SimInfo(url, state.config.token, ids, state, stop))
        server.run(sockets=[sock])
    finally:
        sock.close()
