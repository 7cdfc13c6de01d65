"""The rules that check and coerce each setting, and the errors their findings add up to."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple


class ConfigError(Exception):
    """The configuration file or an override is invalid; the message says where and why."""


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


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


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
