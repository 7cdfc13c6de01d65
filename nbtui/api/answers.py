"""Reading the API's answers: JSON as RFC 8259 has it, and the elements of a batch's `items`
one by one, so that one record nbtui cannot read does not cost the rest of the batch.

Pure functions over bytes (no I/O): the client reads the answer, these say what it holds.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx

__all__ = [
    "MAX_RECORD_DEPTH",
    "Answer",
    "NotJson",
    "Unreadable",
    "checked_item",
    "item_id",
    "json_kind",
    "json_or_none",
    "loads",
    "parse_json",
    "read_item",
    "split_items",
    "too_deep",
]


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer, fully read (within the size cap), with the request it answers: every
    error made from it names that request's method and URL."""

    status: int
    headers: httpx.Headers
    content: bytes
    url: str
    #: Whether the request was a create (Images API): its errors read differently.
    creating: bool = False
    method: str = "POST"


class NotJson(Exception):
    """The body is not JSON; `kind` says what it is instead (empty, html, invalid)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind)
        self.kind = kind
        self.detail = detail


def parse_json(content: bytes, headers: httpx.Headers) -> Any:
    text = content.strip()
    if not text:
        raise NotJson("empty")
    content_type = headers.get("content-type", "").lower()
    if "html" in content_type or text[:1] == b"<":
        raise NotJson("html")
    try:
        return loads(text)
    except UnicodeDecodeError:
        raise NotJson("invalid", "it is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise NotJson("invalid", f"{exc.msg} at character {exc.pos}") from None
    except RecursionError:
        raise NotJson("invalid", "it is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise NotJson("invalid", str(exc)) from None


def _finite_float(text: str) -> float | None:
    number = float(text)
    return number if math.isfinite(number) else None


def loads(text: bytes | str) -> Any:
    """JSON as RFC 8259 has it: `NaN`, `Infinity` and numbers too big for a float (`1e400`)
    are not numbers, so they are read as null. Stored as floats they would crash formatting,
    make a record never equal to itself (NaN != NaN) and be written back as invalid JSON."""
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)


def _no_constant(_name: str) -> None:
    return None


#: Records nested deeper than this are not read: real ones are a few levels deep, and every
#: consumer (store, JSON viewer, `--json` output) would otherwise need unbounded recursion.
MAX_RECORD_DEPTH: Final = 100

# A JSON string (escapes included) or one structural character: enough to find where the
# elements of `items` begin and end without parsing them.
_JSON_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}:,]', re.DOTALL)
_QUOTE, _COLON, _COMMA = ord('"'), ord(":"), ord(",")
_OPEN_LIST, _OPEN_OBJECT = ord("["), ord("{")
_CLOSING = {ord("]"): _OPEN_LIST, ord("}"): _OPEN_OBJECT}


def split_items(content: bytes) -> list[bytes] | None:
    """The elements of the top-level `items` array as raw bytes, or None when the body is not
    an object holding such an array. Scans strings and brackets only (no recursion), so one
    element Python's parser cannot read (nested 5,000 levels deep, a bad number) is isolated
    from the rest of the batch."""
    if not content.lstrip().startswith(b"{"):
        return None
    stack: list[int] = []
    items: list[bytes] | None = None
    previous = 0  # the last structural character seen at depth 1 (a key follows `{` or `,`)
    key = b""
    in_items = False
    start = 0
    for match in _JSON_TOKEN.finditer(content):
        token = match.group()
        first = token[0]
        depth = len(stack)
        if first == _QUOTE:
            if depth == 1 and previous in (_OPEN_OBJECT, _COMMA):
                key = token
            continue
        if first in _CLOSING:
            if not stack or stack[-1] != _CLOSING[first]:
                return None
            stack.pop()
            if in_items and len(stack) == 1:
                in_items = False
                last = content[start : match.start()]
                if items is not None and (last.strip() or items):
                    items.append(last)
            if not stack:
                return items if not content[match.end() :].strip() else None
        elif first in (_OPEN_LIST, _OPEN_OBJECT):
            if depth == 1 and first == _OPEN_LIST and previous == _COLON and key == b'"items"':
                in_items, start, items = True, match.end(), []
            stack.append(first)
        elif first == _COMMA and in_items and depth == 2 and items is not None:
            items.append(content[start : match.start()])
            start = match.end()
        if len(stack) == 1:
            previous = first
    return None


def item_id(content: bytes) -> str | None:
    """The `id` of one raw record that could not be parsed, read from its first level."""
    depth = 0
    after_key = 0  # 1: saw "id" as a key, 2: and its colon
    for match in _JSON_TOKEN.finditer(content):
        token = match.group()
        first = token[0]
        if first in (_OPEN_LIST, _OPEN_OBJECT):
            depth += 1
        elif first in _CLOSING:
            depth -= 1
        elif depth == 1 and first == _QUOTE:
            if after_key == 2:
                try:
                    value = json.loads(token)
                except ValueError:
                    return None
                return value if isinstance(value, str) and value.strip() else None
            after_key = 1 if token == b'"id"' else 0
            continue
        elif depth == 1 and first == _COLON and after_key == 1:
            after_key = 2
            continue
        after_key = 0
    return None


def too_deep(value: Any, limit: int = MAX_RECORD_DEPTH) -> bool:
    """Whether `value` nests lists/objects more than `limit` levels (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        children = current.values() if isinstance(current, dict) else current
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


@dataclass(frozen=True, slots=True)
class Unreadable:
    """One element of `items` that could not be read; `task_id` when its id could be found."""

    task_id: str | None
    reason: str


def read_item(content: bytes) -> Any:
    """One raw element of `items`: its value, or `Unreadable` saying why not."""
    try:
        value = loads(content)
    except RecursionError:
        return Unreadable(item_id(content), "it is nested too deeply to read")
    except ValueError as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        return Unreadable(item_id(content), f"it is not valid JSON ({detail})")
    return checked_item(value)


def checked_item(value: Any) -> Any:
    """`value`, or `Unreadable` when it nests deeper than any consumer may safely follow."""
    if isinstance(value, dict | list) and too_deep(value):
        task_id = value.get("id") if isinstance(value, dict) else None
        return Unreadable(
            task_id if isinstance(task_id, str) and task_id.strip() else None,
            f"it is nested more than {MAX_RECORD_DEPTH} levels deep",
        )
    return value


def json_or_none(content: bytes) -> Any:
    try:
        return loads(content)
    except (ValueError, RecursionError):
        return None


def json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__
