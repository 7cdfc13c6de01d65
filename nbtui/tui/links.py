"""The one place the TUI hands URLs to a browser: the rules live in `nbtui.media`.

`is_openable` accepts only http(s) links with a host and without a user name or password
(`file:`, `javascript:`, `data:` and credential-carrying URLs are refused); `open_in_browser`
is blocking, so the app calls it from a worker thread. `nbtui.media` (and with it httpx) is
imported on first use, not when the app starts.
"""

from __future__ import annotations

__all__ = ["is_openable", "open_in_browser"]


def is_openable(url: str) -> bool:
    """See `nbtui.media.is_openable_url`."""
    from nbtui.media import is_openable_url

    return is_openable_url(url)


def open_in_browser(url: str) -> bool:
    """See `nbtui.media.open_in_browser`: False when refused or no browser could start."""
    from nbtui import media

    return media.open_in_browser(url)
