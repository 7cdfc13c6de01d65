"""Settings: defaults < TOML file in the user config dir < environment < command-line flags.

The file may hold `[profiles.NAME]` tables for users with more than one token or base URL;
the selected profile's values override the top-level ones. Validation errors name the bad
key and value so a typo in the file is easy to find.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "APP_NAME",
    "DEFAULT_BASE_URL",
    "ConfigError",
    "Settings",
    "config_file_path",
    "default_data_dir",
    "load_settings",
]

APP_NAME = "nbtui"
DEFAULT_BASE_URL = "https://api.acedata.cloud"
MIN_POLL_INTERVAL = 1.0

ENV_TOKEN = "ACEDATACLOUD_API_TOKEN"  # noqa: S105 (a variable name, not a secret)
ENV_BASE_URL = "ACEDATACLOUD_API_BASE_URL"
ENV_DATA_DIR = "NBTUI_DATA_DIR"
ENV_CONFIG = "NBTUI_CONFIG"
ENV_PROFILE = "NBTUI_PROFILE"
ENV_POLL_INTERVAL = "NBTUI_POLL_INTERVAL"


class ConfigError(Exception):
    """The configuration file or an override is invalid; the message says where and why."""


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def config_file_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG]).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


class Settings(BaseModel):
    """Everything nbtui can be configured with. Immutable once loaded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = DEFAULT_BASE_URL
    profile: str = "default"
    #: Seconds between refresh cycles (floor 1 s).
    poll_interval: float = Field(default=5.0, ge=MIN_POLL_INTERVAL, le=3600)
    #: Ids per `retrieve_batch` request.
    batch_size: int = Field(default=50, ge=1, le=1000)
    #: `retrieve_batch` requests in flight at once.
    max_concurrency: int = Field(default=4, ge=1, le=32)
    #: Seconds before one HTTP request times out.
    timeout: float = Field(default=30.0, gt=0, le=600)
    #: Attempts for a read (first try included) on 429/5xx/timeouts.
    max_attempts: int = Field(default=4, ge=1, le=10)
    data_dir: Path = Field(default_factory=default_data_dir)
    cache_dir: Path = Field(default_factory=default_cache_dir)
    #: Key remapping: binding id -> keys, as Textual's `App.set_keymap` takes it.
    keymap: dict[str, str] = Field(default_factory=dict)
    #: Terminal notification (OSC 9/777) and bell when a watched task finishes.
    notify_terminal: bool = False
    notify_bell: bool = False
    #: Folder where `S` saves images; empty means the user's pictures dir.
    save_dir: Path | None = None

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        """Reject here, with the key and its source named, what the HTTP client would choke on."""
        from urllib.parse import urlsplit

        value = value.strip().rstrip("/")
        scheme, sep, rest = value.partition("://")
        if not sep or scheme.lower() not in ("http", "https"):
            raise ValueError("must start with http:// or https://")
        value = f"{scheme.lower()}://{rest}"
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 (raises ValueError when out of range)
        except ValueError as exc:
            raise ValueError(f"is not a valid URL ({exc})") from None
        if not parts.hostname or any(ch.isspace() for ch in value):
            raise ValueError("must name a host, e.g. https://api.acedata.cloud")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not contain a user name or password")
        if parts.query or parts.fragment or value.endswith(("?", "#")):
            raise ValueError("must not contain a query (?...) or fragment (#...)")
        return value

    @field_validator("data_dir", "cache_dir", "save_dir")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return None if value is None else Path(value).expanduser()

    @property
    def api_host(self) -> str:
        """The host the token may be sent to."""
        from urllib.parse import urlsplit

        return urlsplit(self.base_url).netloc

    @property
    def is_insecure_remote(self) -> bool:
        """Plain http to anything but loopback would expose the token on the wire."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.base_url)
        host = (parts.hostname or "").lower()
        loopback = host in ("localhost", "::1") or host.startswith("127.")
        # Names reserved by RFC 6761 never reach the public network (the simulator uses them).
        reserved = host.endswith((".localhost", ".test", ".invalid"))
        return parts.scheme == "http" and not (loopback or reserved)


def _format_validation_error(error: ValidationError, sources: Mapping[str, str]) -> str:
    """One line per problem: the key, the value, where it came from, what is wrong."""
    lines = ["Invalid settings:"]
    for problem in error.errors():
        loc = problem["loc"]
        key = ".".join(str(part) for part in loc) or "(top level)"
        value = problem.get("input")
        if isinstance(value, str):
            value = _hide_userinfo(value)
        source = sources.get(str(loc[0])) if loc else None
        origin = f" (from {source})" if source else ""
        lines.append(f"  {key} = {value!r}{origin}: {problem['msg']}")
    return "\n".join(lines)


_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")


def _hide_userinfo(text: str) -> str:
    """`http://user:pw@host` -> `http://***@host`: an error message must not echo a password."""
    return _USERINFO.sub("***@", text)


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Cannot read the configuration file {path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"Cannot read the configuration file {path}: it is not UTF-8 text (byte {exc.start})"
        ) from exc
    except OSError as exc:
        raise ConfigError(f"Cannot open the configuration file {path}: {exc.strerror}") from exc


#: Settings that environment variables override, and the variable for each.
_ENV_KEYS = {
    "base_url": ENV_BASE_URL,
    "data_dir": ENV_DATA_DIR,
    "profile": ENV_PROFILE,
    "poll_interval": ENV_POLL_INTERVAL,
}


def _env_overrides(env: Mapping[str, str]) -> dict[str, Any]:
    return {key: env[name] for key, name in _ENV_KEYS.items() if env.get(name)}


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> Settings:
    """Build the settings from every source, highest precedence last.

    `overrides` are command-line flags; `None` values in it are ignored so that argparse
    defaults do not shadow the file or the environment.
    """
    env = os.environ if env is None else env
    path = config_path or config_file_path(env)
    file_data = _read_toml(path)
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    env_data = _env_overrides(env)

    profiles = file_data.pop("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(f"Invalid settings in {path}: [profiles] must be a table")
    profile = str(
        flags.get("profile") or env_data.get("profile") or file_data.get("profile") or "default"
    )
    profile_data = profiles.get(profile, {})
    if not isinstance(profile_data, dict):
        raise ConfigError(f"Invalid settings in {path}: [profiles.{profile}] must be a table")
    merged: dict[str, Any] = {**file_data, **profile_data, **env_data, **flags, "profile": profile}
    sources: dict[str, str] = {key: str(path) for key in file_data}
    sources.update({key: f"{path} [profiles.{profile}]" for key in profile_data})
    sources.update({key: f"the environment variable {_ENV_KEYS[key]}" for key in env_data})
    sources.update({key: "the command line" for key in flags})
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, sources)) from exc
