"""`[platform]`: the provider's platform host the user opted in to (docs/platform.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nbtui.config.rules import _WHOLE, _Bad, _check_base_url, _Found


@dataclass(frozen=True, slots=True)
class PlatformSettings:
    """The platform host the user opted in to; nothing is sent there without it."""

    host: str


def _platform(value: Any) -> PlatformSettings | None:
    """`[platform]` with `host`: an https address (plain http only to this machine or a
    reserved test name, since an account token goes there)."""
    if value is None or isinstance(value, PlatformSettings):
        return value
    if not isinstance(value, Mapping):
        raise _Bad('Input should be a table, e.g. host = "https://platform.acedata.cloud"')
    found: list[_Found] = [
        ((str(key),), value[key], "Extra inputs are not permitted (only host)")
        for key in value
        if key != "host"
    ]
    if "host" not in value:
        found.append((("host",), None, 'Field required, e.g. "https://platform.acedata.cloud"'))
    else:
        try:
            host = _check_base_url(value["host"])
            if _is_insecure_remote(host):
                raise _Bad("must use https:// (an account token is sent there)")
        except _Bad as bad:
            found.extend(
                (("host", *loc), value["host"] if part is _WHOLE else part, message)
                for loc, part, message in bad.found
            )
    if found:
        raise _Bad(found=found)
    return PlatformSettings(host)


def _is_insecure_remote(url: str) -> bool:
    """Plain http to anything but loopback or a name reserved by RFC 6761."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    loopback = host in ("localhost", "::1") or host.startswith("127.")
    reserved = host.endswith((".localhost", ".test", ".invalid"))
    return parts.scheme == "http" and not (loopback or reserved)
