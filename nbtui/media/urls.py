"""Which image URLs nbtui may fetch or open, and how they appear in messages."""

from __future__ import annotations

import webbrowser
from urllib.parse import urlsplit

from nbtui.media.kinds import (
    MediaError,
)
from nbtui.textsafe import one_line, truncate


def describe_url(url: str, width: int = 80) -> str:
    """A URL as it may appear in a message: control characters removed, shortened."""
    return truncate(one_line(url), width)


def _url_problem(url: str) -> str | None:
    """Why `url` must not be fetched or opened, or None when it is a plain http(s) link."""
    if not isinstance(url, str) or not url.strip():
        return "it is empty"
    text = url.strip()
    if any(ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in text):
        return "it contains spaces or control characters"
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        return "it is not a valid URL"
    if parts.scheme not in ("http", "https"):
        shown = f"{parts.scheme}:" if parts.scheme else "no scheme"
        return f"only http and https links are allowed, not {truncate(one_line(shown), 20)}"
    if not parts.hostname:
        return "it has no host"
    if parts.username is not None or parts.password is not None:
        return "it carries a user name or password"
    return None


def is_openable_url(url: str) -> bool:
    """True only for http(s) URLs with a host and no embedded credentials.

    `file:`, `javascript:`, `data:` and every other scheme are refused: an API record could
    carry anything, and a browser or viewer would act on it.
    """
    return _url_problem(url) is None


def check_image_url(url: str) -> str:
    """`url` stripped of surrounding whitespace, or a `MediaError` saying why it is refused."""
    problem = _url_problem(url)
    if problem is not None:
        raise MediaError(f"Refusing the URL {describe_url(str(url))!r}: {problem}.")
    return url.strip()


def open_in_browser(url: str) -> bool:
    """Ask the system browser to open `url`; False when refused or no browser is available.

    Blocking (a browser may take a moment to start): call it from a worker thread. The URL is
    handed to `webbrowser`, which starts programs without a shell.
    """
    if not is_openable_url(url):
        return False
    try:
        return bool(webbrowser.open(url.strip(), new=2))
    except (webbrowser.Error, OSError):
        return False
