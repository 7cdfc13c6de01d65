"""What the app is connected to: settings, store, client factory, clock, token, demo or not.

The App owns the one `Session` and changes it in place (a token found or saved, the switch to
the demo); the main screen and the commands hold the same object, so none of them keeps a
stale copy and none of them reaches into the App for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nbtui.config import Settings

if TYPE_CHECKING:
    from nbtui.api.client import NanoBananaClient
    from nbtui.api.platform import PlatformClient
    from nbtui.tracking.store import Store

__all__ = ["ClientFactory", "PlatformFactory", "Session"]

#: Builds a client for a token (None: no token). Whoever gets a client closes it.
ClientFactory = Callable[[str | None], "NanoBananaClient"]
#: Builds a client for the platform host the user opted in to (docs/platform.md).
PlatformFactory = Callable[[], "PlatformClient"]


@dataclass
class Session:
    """The app's connection to its data and its service (see the module docstring)."""

    settings: Settings
    store: Store
    client_factory: ClientFactory
    clock: Callable[[], float]
    #: The demo's simulated service and throwaway store are in use.
    demo: bool = False
    #: The token the monitor and the commands use (None: not known, or the demo).
    token: str | None = None
    #: Where `token` came from, in words with no character of it (None: not known here).
    credential_origin: str | None = None
    #: Untracked ids the add dialog offers (the demo's spare tasks).
    suggested_ids: list[str] = field(default_factory=list)
    #: The balance and prices: None unless `[platform] host` is set (or the demo's simulator).
    platform_factory: PlatformFactory | None = None
    #: The config file saved views and the theme are written to (None: `config_file_path()`).
    config_path: Path | None = None

    @property
    def can_call_service(self) -> bool:
        """A create or an import can be sent: the demo, or a token is known."""
        return self.demo or self.token is not None
