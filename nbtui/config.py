"""Settings: defaults < TOML file in the user config dir < environment < command-line flags.

The file may hold `[profiles.NAME]` tables for users with more than one token or base URL;
the selected profile's values override the top-level ones. Validation errors name the bad
key and value so a typo in the file is easy to find.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

__all__ = [
    "APP_NAME",
    "DEFAULT_BASE_URL",
    "ConfigError",
    "InvalidSettings",
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
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def config_file_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG]).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


# -- validation: each setting's field names the one rule that checks and coerces it ---------


class Problem(NamedTuple):
    """One invalid value: where (the key, then any path inside it), what, and why."""

    loc: tuple[str, ...]
    value: Any
    message: str


class InvalidSettings(ValueError):
    """Some settings are invalid; `problems` lists every one (not just the first)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(_describe(problems, {}))


#: `_Bad.found` entries: the path inside the value, the bad part (`_WHOLE`: the value itself)
#: and what is wrong with it.
_Found = tuple[tuple[str, ...], Any, str]
_WHOLE: Any = object()


class _Bad(Exception):
    """Raised by a rule: what is wrong with the value (one message, or several `found`)."""

    def __init__(self, message: str = "", *, found: list[_Found] | None = None) -> None:
        super().__init__(message)
        self.found = found if found is not None else [((), _WHOLE, message)]


#: A rule takes a value as read from the file, environment or flags and returns it coerced
#: to the setting's type, or raises `_Bad`.
Rule = Callable[[Any], Any]
_RULE = "rule"


def _rule(rule: Rule) -> dict[str, Rule]:
    """Field metadata naming the field's rule."""
    return {_RULE: rule}


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad("Input should be a valid string")
    return value


def _check_base_url(value: Any) -> str:
    """Reject here, with the key and its source named, what the HTTP client would choke on."""
    from urllib.parse import urlsplit

    text = _text(value).strip().rstrip("/")
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise _Bad("must start with http:// or https://")
    url = f"{scheme.lower()}://{rest}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError when out of range)
    except ValueError as exc:
        raise _Bad(f"is not a valid URL ({exc})") from None
    if not parts.hostname or any(ch.isspace() for ch in url):
        raise _Bad("must name a host, e.g. https://api.acedata.cloud")
    if parts.username is not None or parts.password is not None:
        raise _Bad("must not contain a user name or password")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise _Bad("must not contain a query (?...) or fragment (#...)")
    return url


def _within(
    number: float, *, ge: float | None = None, gt: float | None = None, le: float | None = None
) -> None:
    if ge is not None and not number >= ge:
        raise _Bad(f"Input should be greater than or equal to {ge:g}")
    if gt is not None and not number > gt:
        raise _Bad(f"Input should be greater than {gt:g}")
    if le is not None and not number <= le:
        raise _Bad(f"Input should be less than or equal to {le:g}")


def _integer(*, ge: int, le: int) -> Rule:
    """A whole number in [ge, le]: an int, an integral float, or text that reads as one."""

    def rule(value: Any) -> int:
        if isinstance(value, str):
            text = value.strip()
            try:
                number = int(text)
            except ValueError:
                try:
                    as_float = float(text)
                except ValueError:
                    as_float = math.nan
                if not as_float.is_integer():
                    raise _Bad(
                        "Input should be a valid integer, unable to parse string as an integer"
                    ) from None
                number = int(as_float)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise _Bad("Input should be a finite number")
            if not value.is_integer():
                raise _Bad("Input should be a valid integer, got a number with a fractional part")
            number = int(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            raise _Bad("Input should be a valid integer")
        _within(number, ge=ge, le=le)
        return number

    return rule


def _number(*, ge: float | None = None, gt: float | None = None, le: float) -> Rule:
    """A finite number within the bounds: an int, a float, or text that reads as one."""

    def rule(value: Any) -> float:
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise _Bad(
                    "Input should be a valid number, unable to parse string as a number"
                ) from None
        elif isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        else:
            raise _Bad("Input should be a valid number")
        if not math.isfinite(number):
            raise _Bad("Input should be a finite number")
        _within(number, ge=ge, gt=gt, le=le)
        return number

    return rule


_TRUE = frozenset({"true", "1", "yes", "y", "on", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "off", "f"})


def _flag(value: Any) -> bool:
    """A boolean: true/false, 1/0, or the words yes/no, on/off, t/f, y/n."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise _Bad("Input should be a valid boolean (true or false)")


def _path(value: Any) -> Path:
    """A folder: text or a path, `~` expanded."""
    if not isinstance(value, str | os.PathLike):
        raise _Bad("Input is not a valid path")
    return Path(value).expanduser()


def _optional_path(value: Any) -> Path | None:
    return None if value is None else _path(value)


def _keymap(value: Any) -> dict[str, str]:
    """Binding id -> keys, both text."""
    if not isinstance(value, Mapping):
        raise _Bad("Input should be a valid dictionary")
    found: list[_Found] = []
    for key, keys in value.items():
        if not isinstance(key, str):
            found.append(((str(key), "[key]"), key, "Input should be a valid string"))
        elif not isinstance(keys, str):
            found.append(((key,), keys, "Input should be a valid string"))
    if found:
        raise _Bad(found=found)
    return dict(value)


#: The task list's columns, in their default order (the list draws them; narrow lists drop
#: some, least important first). The `columns` setting picks from these names.
LIST_COLUMNS = ("state", "id", "prompt", "model", "img", "age", "time", "updated")


def _columns(value: Any) -> tuple[str, ...] | None:
    """Names from `LIST_COLUMNS` (a list, or text separated by commas), each once, in order."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple) or not all(isinstance(name, str) for name in value):
        raise _Bad('should be a list of column names, e.g. ["state", "prompt", "age"]')
    names = [name.strip().lower() for name in value if name.strip()]
    known = ", ".join(LIST_COLUMNS)
    unknown = [name for name in names if name not in LIST_COLUMNS]
    if unknown:
        raise _Bad(f"has no column named {', '.join(map(repr, unknown))}; the columns are {known}")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise _Bad(f"names {', '.join(map(repr, twice))} more than once")
    if not names:
        raise _Bad(f"should name at least one column (the columns are {known})")
    return tuple(names)


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


def _unknown_key_message(key: str, known: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, sorted(known), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"Extra inputs are not permitted{hint}"


def _describe(problems: list[Problem], sources: Mapping[str, str]) -> str:
    """One line per problem: the key, the value, where it came from, what is wrong."""
    lines = ["Invalid settings:"]
    for problem in problems:
        key = ".".join(problem.loc) or "(top level)"
        value = problem.value
        if isinstance(value, str):
            value = _hide_userinfo(value)
        source = sources.get(problem.loc[0]) if problem.loc else None
        origin = f" (from {source})" if source else ""
        lines.append(f"  {key} = {value!r}{origin}: {problem.message}")
    return "\n".join(lines)


_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")


def _hide_userinfo(text: str) -> str:
    """`http://user:pw@host` -> `http://***@host`: an error message must not echo a password."""
    return _USERINFO.sub("***@", text)


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
