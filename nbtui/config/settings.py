"""`Settings` and how they are loaded: defaults < file < profile < environment < flags."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbtui.config.commands import UserCommands, _commands
from nbtui.config.paths import (
    ENV_BASE_URL,
    ENV_CONFIG,
    ENV_DATA_DIR,
    ENV_POLL_INTERVAL,
    ENV_PROFILE,
    config_file_path,
    default_cache_dir,
    default_data_dir,
)
from nbtui.config.platform import PlatformSettings, _platform
from nbtui.config.rules import (
    _RULE,
    _WHOLE,
    ConfigError,
    InvalidSettings,
    Problem,
    _Bad,
    _check_base_url,
    _describe,
    _flag,
    _hide_userinfo,
    _integer,
    _keymap,
    _number,
    _optional_path,
    _optional_text,
    _path,
    _rule,
    _text,
    _unknown_key_message,
)
from nbtui.config.views import View, _columns, _views

DEFAULT_BASE_URL = "https://api.acedata.cloud"
MIN_POLL_INTERVAL = 1.0


@dataclass(frozen=True)
class Settings:
    """Everything nbtui can be configured with. Immutable once loaded.

    Every field carries its rule, and `__post_init__` applies them all, so `Settings(...)`,
    `dataclasses.replace(settings, ...)` and `load_settings` validate and coerce the same way
    (raising `InvalidSettings`, which lists every bad value).
    """

    base_url: str = field(default=DEFAULT_BASE_URL, metadata=_rule(_check_base_url))
    profile: str = field(default="default", metadata=_rule(_text))
    #: Seconds between refresh cycles (floor 1 s).
    poll_interval: float = field(
        default=5.0, metadata=_rule(_number(ge=MIN_POLL_INTERVAL, le=3600))
    )
    #: Ids per `retrieve_batch` request.
    batch_size: int = field(default=50, metadata=_rule(_integer(ge=1, le=1000)))
    #: `retrieve_batch` requests in flight at once.
    max_concurrency: int = field(default=4, metadata=_rule(_integer(ge=1, le=32)))
    #: Seconds before one HTTP request times out.
    timeout: float = field(default=30.0, metadata=_rule(_number(gt=0, le=600)))
    #: Attempts for a read (first try included) on 429/5xx/timeouts.
    max_attempts: int = field(default=4, metadata=_rule(_integer(ge=1, le=10)))
    data_dir: Path = field(default_factory=default_data_dir, metadata=_rule(_path))
    cache_dir: Path = field(default_factory=default_cache_dir, metadata=_rule(_path))
    #: Key remapping: binding id -> keys, as Textual's `App.set_keymap` takes it.
    keymap: dict[str, str] = field(default_factory=dict, metadata=_rule(_keymap))
    #: Terminal notification (OSC 9/777) and bell when a watched task finishes.
    notify_terminal: bool = field(default=False, metadata=_rule(_flag))
    notify_bell: bool = field(default=False, metadata=_rule(_flag))
    #: Folder where `S` saves images; empty means the user's pictures dir.
    save_dir: Path | None = field(default=None, metadata=_rule(_optional_path))
    #: `[platform] host`: opt in to reading the balance and prices there (off when None).
    platform: PlatformSettings | None = field(default=None, metadata=_rule(_platform))
    #: The user's own commands (`[commands.NAME]`); refused ones are reported, never fatal.
    commands: UserCommands = field(default_factory=UserCommands, metadata=_rule(_commands))
    #: Saved views, in file order (`[views]`; keys 1-9 switch to the first nine).
    views: tuple[View, ...] = field(default=(), metadata=_rule(_views))
    #: The Textual theme (None: Textual's default); an unknown name is warned about at start.
    theme: str | None = field(default=None, metadata=_rule(_optional_text))
    #: The task list's columns (names from `LIST_COLUMNS`, in the order shown); None: all.
    columns: tuple[str, ...] | None = field(default=None, metadata=_rule(_columns))

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        for setting in dataclasses.fields(self):
            value = getattr(self, setting.name)
            try:
                checked = setting.metadata[_RULE](value)
            except _Bad as bad:
                problems.extend(
                    Problem((setting.name, *loc), value if part is _WHOLE else part, message)
                    for loc, part, message in bad.found
                )
            else:
                object.__setattr__(self, setting.name, checked)
        if problems:
            raise InvalidSettings(problems)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Settings:
        """Settings from a mapping of names to raw values; unknown names are problems too."""
        known = {setting.name for setting in dataclasses.fields(cls)}
        problems = [
            Problem((str(key),), value, _unknown_key_message(str(key), known))
            for key, value in data.items()
            if key not in known
        ]
        try:
            settings = cls(**{key: value for key, value in data.items() if key in known})
        except InvalidSettings as exc:
            problems[:0] = exc.problems
        if problems:
            raise InvalidSettings(problems)
        return settings

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


class _FrozenError(AttributeError, ValueError):
    """Assigning to a setting (a ValueError too, as with the pydantic model Settings was)."""


def _refuse_change(self: Settings, name: str, value: Any = None) -> None:
    raise _FrozenError(f"Settings are frozen: cannot change {name}")


# A frozen dataclass's own refusal (FrozenInstanceError) is not a ValueError; __init__ and
# __post_init__ set fields with object.__setattr__, so they are unaffected.
setattr(Settings, "__setattr__", _refuse_change)  # noqa: B010
setattr(Settings, "__delattr__", _refuse_change)  # noqa: B010


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    import tomllib

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


def config_warnings(
    overrides: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> list[str]:
    """What the user asked for that nbtui cannot find, said once and then carried on from:
    an `NBTUI_CONFIG` naming a missing file, a `--profile` the config file does not have.

    Not errors: a profile may exist only as a keyring entry (its token), and `nbtui token
    set --profile new` is how a new one starts."""
    env = os.environ if env is None else env
    path = config_path or config_file_path(env)
    warnings: list[str] = []
    named = env.get(ENV_CONFIG)
    if named and config_path is None and not path.exists():
        warnings.append(
            f"{ENV_CONFIG} names {_hide_userinfo(str(path))}, which does not exist: "
            "using the default settings."
        )
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    profile = str(flags.get("profile") or env.get(ENV_PROFILE) or "")
    if profile and profile != "default":
        try:
            profiles = _read_toml(path).get("profiles", {})
        except ConfigError:
            return warnings  # load_settings says what is wrong with the file
        if not isinstance(profiles, dict) or profile not in profiles:
            where = f"the config file {path}" if path.exists() else "any config file"
            warnings.append(
                f'The profile "{profile}" is not in {where}: its token (if one is stored) '
                "is used with the default settings."
            )
    return warnings


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
        return Settings.from_mapping(merged)
    except InvalidSettings as exc:
        raise ConfigError(_describe(exc.problems, sources)) from exc
