"""The one place the TUI hands URLs to a browser: http(s) only, never on the UI thread."""

from __future__ import annotations

import webbrowser
from urllib.parse import urlsplit

__all__ = ["is_openable", "open_in_browser"]


def is_openable(url: str) -> bool:
    """Only plain web links: a record could carry `file:`, `javascript:` or worse."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def open_in_browser(url: str) -> bool:
    """Ask the system browser to open `url` (blocking: call it from a worker thread).

    Returns False when the URL is not http(s) or no browser could be started
    (`webbrowser.open` returns False on a machine without one; it may also raise).
    """
    if not is_openable(url):
        return False
    try:
        return bool(webbrowser.open(url.strip(), new=2))
    except webbrowser.Error:
        return False
