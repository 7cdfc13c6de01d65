"""How the task list is shown: saved views (`[views]`) and the `columns` setting."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nbtui.config.rules import _Bad, _flag, _Found, _unknown_key_message

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
