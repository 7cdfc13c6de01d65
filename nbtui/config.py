"""Settings: defaults < TOML file in the user config dir < environment < command-line flags.

The file may hold `[profiles.NAME]` tables for users with more than one token or base URL;
the selected profile's values override the top-level ones. Validation errors name the bad
key and value so a typo in the file is easy to find.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from nbtui.textsafe import one_line

__all__ = [
    "APP_NAME",
    "DEFAULT_BASE_URL",
    "VIEW_SORT_KEYS",
    "ConfigError",
    "InvalidSettings",
    "Placeholder",
    "PlatformSettings",
    "Settings",
    "UserCommand",
    "UserCommands",
    "View",
    "check_view_name",
    "config_file_path",
    "config_warnings",
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


# -- [platform]: the provider's platform host, for the balance and prices (docs/platform.md) --


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


# -- [commands]: the user's own commands -----------------------------------------------


class Placeholder(enum.StrEnum):
    """A value a command template may name, as a whole argument: `{id}`, `{prompt}`..."""

    ID = "id"
    IMAGE_URL = "image_url"
    IMAGE_PATH = "image_path"
    PROMPT = "prompt"
    LABELS = "labels"


#: One argument of a command template: literal text, or a placeholder filled in at run time.
TemplateArg = str | Placeholder

DEFAULT_COMMAND_TIMEOUT = 60.0
_COMMAND_FIELDS = ("key", "argv", "timeout")
_COMMAND_TIMEOUT = _number(gt=0, le=3600)
_BRACES = re.compile(r"\{\{|\}\}|\{[^{}]*\}|[{}]")
_NAMES = ", ".join(f"{{{name}}}" for name in Placeholder)


@dataclass(frozen=True)
class UserCommand:
    """One `[commands.NAME]` table that passed every check: its template already split into
    literal arguments and whole-argument placeholders."""

    name: str
    #: The keys that run it on the main screen (None: from the command palette only).
    key: str | None
    argv: tuple[TemplateArg, ...]
    #: Seconds before a run is killed.
    timeout: float = DEFAULT_COMMAND_TIMEOUT

    @property
    def placeholders(self) -> frozenset[Placeholder]:
        return frozenset(arg for arg in self.argv if isinstance(arg, Placeholder))


@dataclass(frozen=True)
class UserCommands:
    """The `[commands]` table: the commands that may run, and why any others were refused.

    A refused command never stops nbtui: the app says why at start-up and runs the rest.
    """

    commands: tuple[UserCommand, ...] = ()
    problems: tuple[str, ...] = ()


def _template_arg(element: str) -> TemplateArg:
    """One argv element: `{name}` alone is a placeholder; `{{` and `}}` are literal braces.

    Raises `ValueError` saying what is wrong: a placeholder inside other text (the value would
    be parsed by whatever reads that text, a shell for `sh -c`), an unknown name, a lone brace.
    """
    parts = _BRACES.findall(element)
    names = [part[1:-1] for part in parts if part not in ("{{", "}}") and len(part) > 1]
    if any(part in ("{", "}") for part in parts):
        raise ValueError("has a lone { or }: write {{ and }} for literal braces")
    for name in names:
        if name not in Placeholder.__members__.values():
            raise ValueError(f"names an unknown placeholder {{{name}}} (known: {_NAMES})")
    if names and (len(parts) != 1 or element != parts[0]):
        raise ValueError(
            f"puts {{{names[0]}}} inside other text: a placeholder must be a whole argument, "
            "so the value is passed as data and never parsed (by a shell or anything else)"
        )
    if names:
        return Placeholder(names[0])
    return element.replace("{{", "{").replace("}}", "}")


def _user_command(name: str, table: Any) -> UserCommand:
    """Check one `[commands.NAME]` table; `ValueError` says why it is refused."""
    if not name.strip() or not name.isprintable() or len(name) > 40:
        raise ValueError("its name must be 1 to 40 printable characters")
    if not isinstance(table, Mapping):
        raise ValueError('must be a table with key and argv, e.g. argv = ["echo", "{id}"]')
    unknown = [str(field) for field in table if field not in _COMMAND_FIELDS]
    if unknown:
        raise ValueError(
            f"has an unknown setting {unknown[0]!r} (known: {', '.join(_COMMAND_FIELDS)})"
        )
    key = table.get("key")
    if key is not None and (not isinstance(key, str) or not key.strip()):
        raise ValueError('key must be text naming a key, e.g. key = "ctrl+u"')
    argv = table.get("argv")
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise ValueError('argv must be a list of text, the program first: argv = ["echo", "{id}"]')
    args: list[TemplateArg] = []
    for index, element in enumerate(argv):
        try:
            args.append(_template_arg(element))
        except ValueError as exc:
            raise ValueError(f"argv element {index + 1} {element!r} {exc}") from None
    if isinstance(args[0], Placeholder) or not args[0].strip():
        raise ValueError(
            "the program (the first argv element) must be written out, not a placeholder"
        )
    try:
        timeout = _COMMAND_TIMEOUT(table.get("timeout", DEFAULT_COMMAND_TIMEOUT))
    except _Bad as bad:
        raise ValueError(f"timeout {table.get('timeout')!r}: {bad}") from None
    keys = ",".join(part.strip() for part in key.split(",")) if key is not None else None
    return UserCommand(name, keys, tuple(args), timeout)


def _commands(value: Any) -> UserCommands:
    """`[commands]`: every valid command kept, every other one refused with its reason."""
    if isinstance(value, UserCommands):
        return value
    if not isinstance(value, Mapping):
        return UserCommands(problems=("[commands] must be a table of [commands.NAME] tables",))
    commands: list[UserCommand] = []
    problems: list[str] = []
    for name, table in value.items():
        try:
            commands.append(_user_command(str(name), table))
        except ValueError as exc:
            problems.append(f"Command {one_line(name)!r} refused: {one_line(exc)}")
    return UserCommands(tuple(commands), tuple(problems))


# -- saved views ([views]) -----------------------------------------------------------------

#: The list's sort columns a view may name (the values of the TUI's `SortKey`).
VIEW_SORT_KEYS = ("created", "state", "id", "prompt", "model", "images", "duration", "updated")
#: The keys of a view's table form.
_VIEW_FIELDS = ("filter", "sort", "descending")
#: Longest view name: it is shown in the header next to the host, even at 80 columns.
MAX_VIEW_NAME = 30


@dataclass(frozen=True)
class View:
    """A saved view: a name, the filter text, and optionally the list's sort.

    `descending` None: the sort column's usual direction (newest or biggest first).
    """

    name: str
    query: str = ""
    sort: str | None = None
    descending: bool | None = None


def _one_line(text: str) -> bool:
    """No newline, tab or control character (what an `Input` and a one-line header hold)."""
    return all(ch.isprintable() for ch in text)


def check_view_name(name: str) -> str | None:
    """Why `name` cannot name a view (None: it can); the save dialog asks the same."""
    if not name.strip():
        return "a view needs a name"
    if not _one_line(name):
        return "a view's name must be one line of printable text"
    if name != name.strip():
        return "a view's name must not start or end with a space"
    if len(name) > MAX_VIEW_NAME:
        return f"a view's name has at most {MAX_VIEW_NAME} characters"
    return None


def _view(name: str, value: Any) -> tuple[View | None, list[_Found]]:
    """One `[views]` entry: `name = "query"` or `name = { filter = ..., sort = ..., ... }`."""
    problem = check_view_name(name)
    if problem is not None:
        return None, [((name,), name, problem[0].upper() + problem[1:])]
    if isinstance(value, View):
        return value, []
    if isinstance(value, str):
        value = {"filter": value}
    if not isinstance(value, Mapping):
        message = 'Input should be a filter text or a table like { filter = "...", sort = "..." }'
        return None, [((name,), value, message)]
    found: list[_Found] = []
    for key in value:
        if key not in _VIEW_FIELDS:
            found.append(
                ((name, str(key)), value[key], _unknown_key_message(str(key), set(_VIEW_FIELDS)))
            )
    query = value.get("filter", "")
    if not isinstance(query, str):
        found.append(((name, "filter"), query, "Input should be a valid string"))
    elif not _one_line(query):
        found.append(((name, "filter"), query, "A filter is one line of text"))
    sort = value.get("sort")
    if sort is not None and sort not in VIEW_SORT_KEYS:
        found.append(((name, "sort"), sort, f"Input should be one of: {', '.join(VIEW_SORT_KEYS)}"))
    descending = value.get("descending")
    if descending is not None:
        try:
            descending = _flag(descending)
        except _Bad as bad:
            found.append(((name, "descending"), descending, str(bad)))
        else:
            if sort is None:
                found.append(
                    ((name, "descending"), descending, "Give a sort for descending to apply to")
                )
    if found:
        return None, found
    return View(name, query, sort, descending), []


def _views(value: Any) -> tuple[View, ...]:
    """`[views]`, in file order; a sequence of `View` (already checked) is kept."""
    if isinstance(value, tuple | list) and all(isinstance(view, View) for view in value):
        return tuple(value)
    if not isinstance(value, Mapping):
        raise _Bad("Input should be a table of name = filter (see the README)")
    views: list[View] = []
    found: list[_Found] = []
    for name, entry in value.items():
        view, problems = _view(str(name), entry)
        found.extend(problems)
        if view is not None:
            views.append(view)
    if found:
        raise _Bad(found=found)
    return tuple(views)


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


#: The task list's columns, in their default order (the list draws them; narrow lists drop
#: some, least important first). The `columns` setting picks from these names.
LIST_COLUMNS = ("state", "id", "prompt", "model", "img", "age", "time", "updated", "labels")


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
