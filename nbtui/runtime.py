"""The composition root: what the CLI and the app run against, built in one place.

The user's store and HTTP client, or the demo's throwaway store and in-process simulator.
The layers below (tui, tracking, api) are handed what they need and never build it
themselves; that is why the TUI never imports httpx or the simulator. Heavy imports (httpx,
starlette, textual) stay inside the functions, so `nbtui get` loads no Textual and the app's
first paint loads no httpx.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from nbtui.config import PlatformSettings, Settings

if TYPE_CHECKING:
    import httpx

    from nbtui.api.client import NanoBananaClient
    from nbtui.api.platform import PlatformClient
    from nbtui.sim.platform import PlatformSim
    from nbtui.tracking.store import Store

__all__ = [
    "DEMO_BASE_URL",
    "DEMO_PLATFORM_URL",
    "ClientFactory",
    "DemoEnv",
    "PlatformFactory",
    "build_demo",
    "open_user_store",
    "run_app",
    "user_client_factory",
    "user_platform_factory",
]

#: Where the demo's API "lives": never resolved, every request goes to the in-process simulator.
DEMO_BASE_URL = "http://demo.nbtui.invalid"

#: Where the demo's platform host "lives": the in-process platform simulator. The demo opts in
#: to it by itself: no real token is involved, and nothing leaves the process.
DEMO_PLATFORM_URL = "http://platform.demo.nbtui.invalid"

#: Builds a client for a token (None: no token). Whoever asks for one owns and closes it.
ClientFactory = Callable[[str | None], "NanoBananaClient"]
#: Builds a client for the platform host (balance and prices); whoever asks closes it.
PlatformFactory = Callable[[], "PlatformClient"]


@dataclass
class DemoEnv:
    """Everything `--demo` needs: a simulator, a throwaway store, and how to clean up."""

    settings: Settings
    store: Store
    client_factory: ClientFactory
    task_ids: list[str]
    #: Tasks the simulator knows that are not tracked yet, offered by the add dialog so a
    #: first-time user has real ids to try.
    spare_ids: list[str] = field(default_factory=list)
    cleanup: list[Callable[[], None]] = field(default_factory=list)
    #: Reaches the simulator's images in-process (they are on no port without `serve_images`).
    image_transport: httpx.AsyncBaseTransport | None = None
    #: The demo's platform (balance and prices), and the simulator behind it.
    platform_factory: PlatformFactory | None = None
    platform: PlatformSim | None = None

    def close(self) -> None:
        while self.cleanup:
            with contextlib.suppress(Exception):
                self.cleanup.pop()()


def build_demo(
    settings: Settings, *, serve_images: bool = True, label: str | None = None
) -> DemoEnv:
    """An in-process simulator seeded with demo tasks, tracked in a temporary data dir.

    Nothing here touches the user's store, keyring or Pictures folder (`S` saves into the
    temporary directory unless `save_dir` is configured). With `serve_images`, the simulator's
    images are also served on 127.0.0.1 so that `o` opens a real page in the browser.
    """
    import httpx

    from nbtui.api.client import NanoBananaClient
    from nbtui.api.platform import PlatformClient
    from nbtui.sim import SimConfig
    from nbtui.sim.app import create_app
    from nbtui.sim.platform import SIM_PLATFORM_TOKEN, PlatformSim, platform_app
    from nbtui.tracking.store import Store

    cleanup: list[Callable[[], None]] = []
    tmp = tempfile.TemporaryDirectory(prefix="nbtui-demo-")
    cleanup.append(tmp.cleanup)
    config = SimConfig(token=None, image_base_url=DEMO_BASE_URL)
    sim_app = create_app(config)
    state = sim_app.state.sim
    if serve_images:
        try:
            from nbtui.sim.server import SimServer

            server = SimServer(state=state).start()
            config.image_base_url = server.base_url
            cleanup.append(server.stop)
        except Exception:  # no free port, no uvicorn: images keep the demo host
            config.image_base_url = DEMO_BASE_URL
    ids = state.seed_demo()
    spare_ids = [
        state.add_task(prompt="a paper boat on a rain puddle, macro", outcome="succeeded"),
        state.add_task(
            prompt="a neon koi fish in a midnight pond",
            outcome="succeeded",
            running_seconds=12.0,
            count=2,
            model="nano-banana-2",
        ),
        state.add_task(prompt="a city skyline made of books", outcome="failed"),
    ]
    demo_settings = replace(
        settings,
        base_url=DEMO_BASE_URL,
        data_dir=Path(tmp.name),
        cache_dir=Path(tmp.name) / "cache",
        platform=PlatformSettings(DEMO_PLATFORM_URL),
        # Throwaway images stay out of the real Pictures folder, unless the user chose one.
        save_dir=settings.save_dir if settings.save_dir is not None else Path(tmp.name) / "saved",
    )
    store = Store.open(Path(tmp.name))
    cleanup.append(store.close)
    store.add(ids, label=label)

    def client_factory(token: str | None) -> NanoBananaClient:
        return NanoBananaClient.from_settings(
            demo_settings, None, transport=httpx.ASGITransport(app=sim_app)
        )

    platform = PlatformSim(state)
    platform_asgi = platform_app(platform)

    def platform_factory() -> PlatformClient:
        return PlatformClient(
            DEMO_PLATFORM_URL,
            SIM_PLATFORM_TOKEN,
            transport=httpx.ASGITransport(app=platform_asgi),
        )

    return DemoEnv(
        demo_settings,
        store,
        client_factory,
        ids,
        spare_ids,
        cleanup,
        image_transport=httpx.ASGITransport(app=sim_app),
        platform_factory=platform_factory,
        platform=platform,
    )


def user_client_factory(settings: Settings) -> ClientFactory:
    """Clients for the configured API host (httpx is imported only when one is built)."""

    def client_factory(token: str | None) -> NanoBananaClient:
        from nbtui.api.client import NanoBananaClient

        return NanoBananaClient.from_settings(settings, token)

    return client_factory


def user_platform_factory(
    settings: Settings, env: Mapping[str, str] | None = None
) -> PlatformFactory | None:
    """Clients for the platform host, only if the user named it (`[platform] host`); they
    carry the account token (`ACEDATACLOUD_PLATFORM_TOKEN`), never the API token."""
    platform = settings.platform
    if platform is None:
        return None
    from nbtui.api.platform import ENV_PLATFORM_TOKEN

    token = (os.environ if env is None else env).get(ENV_PLATFORM_TOKEN, "").strip() or None

    def platform_factory() -> PlatformClient:
        from nbtui.api.platform import PlatformClient

        return PlatformClient(platform.host, token, timeout=min(settings.timeout, 15.0))

    return platform_factory


def open_user_store(data_dir: Path) -> tuple[Store, list[str]]:
    """Open the user's store for the app, with the warnings to show once it is up.

    A damaged database is kept aside (never overwritten) and a new one started: the app is
    where the user can be told at length, naming both files.
    """
    from nbtui.tracking.store import Store, StoreCorruptError

    try:
        store = Store.open(data_dir)
    except StoreCorruptError:
        store = Store.open(data_dir, recover=True)
    # What was set aside (now, or at a start that died before showing it), until shown.
    notice = store.notice
    return store, notice.splitlines() if notice is not None else []


def run_app(settings: Settings, *, demo: bool, warnings: Sequence[str] = ()) -> int:
    """Run the TUI in this terminal (what `nbtui` and `nbtui --demo` do); returns the exit code.

    `warnings`: what the settings could not find, shown as lasting warnings in the app too."""
    from nbtui.tui.app import make_app, prepare_terminal_graphics

    if demo:
        env = build_demo(settings)
        try:
            app = make_app(
                env.settings,
                store=env.store,
                client_factory=env.client_factory,
                clock=time.time,
                demo=True,
                suggested_ids=env.spare_ids,
                platform_factory=env.platform_factory,
                freeze_after_load=True,
            )
            app.startup_warnings.extend(warnings)
            prepare_terminal_graphics()
            app.run()
            return app.return_code or 0
        finally:
            env.close()

    store, stored_warnings = open_user_store(settings.data_dir)
    try:
        app = make_app(
            settings,
            store=store,
            client_factory=user_client_factory(settings),
            clock=time.time,
            demo=False,
            demo_factory=partial(build_demo, settings),
            platform_factory=user_platform_factory(settings),
            freeze_after_load=True,
        )
        app.startup_warnings.extend([*warnings, *stored_warnings])
        prepare_terminal_graphics()
        app.run()
        return app.return_code or 0
    finally:
        store.close()
