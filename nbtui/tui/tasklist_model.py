"""The task list's row model: display fields, sorting and filtering in plain Python.

Kept apart from the widget (and free of Textual) so that the widget only draws what this
model says is visible, and could be swapped for another. Built for tens of thousands of rows:
rows come from the store's list columns (never a record), hold only what is drawn, sorted or
filtered by, and applying a batch of changes re-sorts only when the order can change.
"""

from __future__ import annotations

import enum
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from nbtui.api.state import TaskState
from nbtui.textsafe import one_line
from nbtui.tracking.store import Store, TrackedTask

__all__ = [
    "STATE_ORDER",
    "PreparedRows",
    "SortKey",
    "TaskListModel",
    "TaskRow",
    "read_rows",
    "row_from_listing",
    "row_from_tracked",
    "search_key",
]


#: Unfinished first, so the tasks still moving come to the top when sorting by state.
STATE_ORDER: dict[TaskState, int] = {
    TaskState.RUNNING: 0,
    TaskState.PENDING: 1,
    TaskState.FAILED: 2,
    TaskState.NOT_FOUND: 3,
    TaskState.SUCCEEDED: 4,
}


class SortKey(enum.StrEnum):
    """The columns the list can be sorted by, in the order `s` cycles through them."""

    CREATED = "created"
    STATE = "state"
    ID = "id"
    PROMPT = "prompt"
    MODEL = "model"
    IMAGES = "images"
    DURATION = "duration"
    REFRESHED = "refreshed"


#: Sort keys whose natural reading is "biggest/newest first".
_DESCENDING_BY_DEFAULT = frozenset(
    {SortKey.CREATED, SortKey.IMAGES, SortKey.DURATION, SortKey.REFRESHED}
)


@dataclass(slots=True)
class TaskRow:
    """One task as the list shows it; `prompt` and `model` are already safe for the terminal
    (the detail pane makes `label` and `last_error` safe when it shows them).

    Tens of thousands of these stay in memory, so a row holds only what the list draws, sorts
    and filters by, and the detail pane's bookkeeping fields: no record, no stored object,
    no search key (built only while a filter is set). About 0.5 KB each.
    """

    id: str
    state: TaskState
    prompt: str
    model: str
    image_count: int
    created_at: float
    started_at: float | None
    finished_at: float | None
    last_refreshed: float | None
    first_seen: float
    label: str | None
    last_error: str | None

    def duration(self, now: float) -> float | None:
        """Seconds from start (or creation) to finish, or to `now` while unfinished."""
        start = self.started_at if self.started_at is not None else self.created_at
        if self.finished_at is not None:
            return max(0.0, self.finished_at - start)
        if self.state.is_finished:
            return None
        return max(0.0, now - start)


def row_from_listing(
    id: str,
    state: TaskState,
    prompt: str | None,
    model: str | None,
    image_count: int,
    created_at: float | None,
    started_at: float | None,
    finished_at: float | None,
    last_refreshed: float | None,
    first_seen: float,
    label: str | None,
    last_error: str | None,
) -> TaskRow:
    """A row from the store's list columns (`Store.listing` calls this once per task).

    The model name is interned: a handful of names repeat across every row.
    """
    shown = one_line(prompt) if prompt else ""
    if not shown and label:
        shown = one_line(label)
    return TaskRow(
        id,
        state,
        shown,
        sys.intern(one_line(model)) if model else "",
        image_count,
        created_at if created_at is not None else first_seen,
        started_at,
        finished_at,
        last_refreshed,
        first_seen,
        label,
        last_error,
    )


def row_from_tracked(task: TrackedTask) -> TaskRow:
    """The display fields of one stored task, from the store's list columns (no JSON)."""
    return row_from_listing(
        task.id,
        task.state,
        task.prompt,
        task.model,
        task.image_count,
        task.created_at,
        task.started_at,
        task.finished_at,
        task.last_refreshed,
        task.first_seen,
        task.label,
        task.last_error,
    )


def read_rows(store: Store) -> list[TaskRow]:
    """Every stored task as a row, read straight from the store's columns (blocking)."""
    return store.listing(row_from_listing)


def search_key(row: TaskRow) -> str:
    """What the filter's words are looked for in: id, prompt, state and model."""
    return f"{row.id}\n{row.prompt.lower()}\n{row.state.label}\n{row.model.lower()}"


def _sort_value(key: SortKey, now: float) -> Callable[[TaskRow], Any]:
    if key is SortKey.CREATED:
        return lambda row: row.created_at
    if key is SortKey.STATE:
        return lambda row: STATE_ORDER[row.state]
    if key is SortKey.ID:
        return lambda row: row.id
    if key is SortKey.PROMPT:
        return lambda row: row.prompt.lower()
    if key is SortKey.MODEL:
        return lambda row: row.model.lower()
    if key is SortKey.IMAGES:
        return lambda row: row.image_count
    if key is SortKey.DURATION:
        return lambda row: row.duration(now) or 0.0
    return lambda row: row.last_refreshed or 0.0


def _matches(text: str, terms: Sequence[str]) -> bool:
    return all(term in text for term in terms)


def _ordered(
    rows: Iterable[TaskRow],
    key: SortKey,
    descending: bool,
    terms: Sequence[str],
    now: float,
    keys: Callable[[TaskRow], str] = search_key,
) -> list[str]:
    """The ids of `rows` that match every filter term, in sort order."""
    if terms:
        rows = [row for row in rows if _matches(keys(row), terms)]
    # Ties are broken by id so the order never depends on dict history (`Store.newest`
    # relies on this: newest created first, then id ascending).
    keyed = sorted(rows, key=lambda row: row.id)
    keyed.sort(key=_sort_value(key, now), reverse=descending)
    return [row.id for row in keyed]


@dataclass(frozen=True, slots=True)
class PreparedRows:
    """A full load built off the UI thread by `TaskListModel.prepare`."""

    rows: dict[str, TaskRow]
    order: list[str]
    sort_key: SortKey
    descending: bool
    terms: tuple[str, ...]


class TaskListModel:
    """All tracked rows, and the ids visible under the current filter, in sort order."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.rows: dict[str, TaskRow] = {}
        self.order: list[str] = []
        self.sort_key = SortKey.CREATED
        self.descending = True
        self.filter_text = ""
        self._terms: list[str] = []
        #: Search keys by id, kept only while a filter is set (typing re-filters often).
        self._search_keys: dict[str, str] = {}
        #: False until the whole stored list is in (a first page may be shown before).
        self.complete = False
        #: Changes made while a full load is being prepared in a worker thread (None: the
        #: row was removed); `install` applies them on top of what was prepared.
        self._since_prepare: dict[str, TaskRow | None] | None = None

    # -- loading and changes -------------------------------------------------------------

    def load(self, tasks: Iterable[TrackedTask], *, complete: bool = True) -> None:
        """Replace every row (the stored list, or with `complete=False` its first page)."""
        self.rows = {task.id: row_from_tracked(task) for task in tasks}
        self.complete = complete
        self._rebuild()

    def begin_prepare(self) -> None:
        """A full load is about to be prepared off the UI thread: remember changes from now."""
        self._since_prepare = {}

    def prepare(self, rows: Iterable[TaskRow]) -> PreparedRows:
        """`rows` (see `read_rows`) and their order under the current sort and filter.

        Pure (touches no model state), so the app runs it in a worker thread: at 50,000 tasks
        this is a few hundred milliseconds the UI thread does not spend.
        """
        key, descending, terms = self.sort_key, self.descending, list(self._terms)
        by_id = {row.id: row for row in rows}
        order = _ordered(by_id.values(), key, descending, terms, self._clock())
        return PreparedRows(by_id, order, key, descending, tuple(terms))

    def install(self, prepared: PreparedRows) -> None:
        """Swap in a prepared full load (on the UI thread: a few dict operations)."""
        rows = prepared.rows
        changed = self._since_prepare or {}
        self._since_prepare = None
        for task_id, row in changed.items():
            if row is None:
                rows.pop(task_id, None)
            else:
                rows[task_id] = row
        self.rows = rows
        self.complete = True
        self._search_keys.clear()
        same_view = (prepared.sort_key, prepared.descending, prepared.terms) == (
            self.sort_key,
            self.descending,
            tuple(self._terms),
        )
        if same_view and not changed:
            self.order = prepared.order
        else:
            self._rebuild()

    def upsert(self, tasks: Iterable[TrackedTask]) -> bool:
        """Add or update rows; return True when the visible order changed."""
        added = False
        affects_order = False
        pending = self._since_prepare
        for task in tasks:
            row = row_from_tracked(task)
            old = self.rows.get(task.id)
            self.rows[task.id] = row
            self._search_keys.pop(task.id, None)
            if pending is not None:
                pending[task.id] = row
            if old is None:
                added = True
            elif not affects_order and self._order_changes(old, row):
                affects_order = True
        if added or affects_order:
            before = self.order
            self._rebuild()
            return self.order != before
        return False

    def mark_refreshed(self, ids: Iterable[str], when: float) -> None:
        """Rows the service answered without any change still were refreshed at `when`."""
        for task_id in ids:
            row = self.rows.get(task_id)
            if row is not None and (row.last_refreshed is None or row.last_refreshed < when):
                row.last_refreshed = when
        if self.sort_key is SortKey.REFRESHED:
            self._rebuild()

    def remove(self, ids: Iterable[str]) -> None:
        removed = False
        pending = self._since_prepare
        for task_id in ids:
            if pending is not None:
                pending[task_id] = None
            self._search_keys.pop(task_id, None)
            if self.rows.pop(task_id, None) is not None:
                removed = True
        if removed:
            self._rebuild()

    def _order_changes(self, old: TaskRow, new: TaskRow) -> bool:
        """Could replacing `old` by `new` move the row or change whether the filter keeps it?"""
        if self._terms and search_key(old) != search_key(new):
            return True
        key = self.sort_key
        if key is SortKey.CREATED:
            return old.created_at != new.created_at
        if key is SortKey.STATE:
            return old.state is not new.state
        if key is SortKey.ID:
            return False
        if key is SortKey.PROMPT:
            return old.prompt != new.prompt
        if key is SortKey.MODEL:
            return old.model != new.model
        if key is SortKey.IMAGES:
            return old.image_count != new.image_count
        if key is SortKey.DURATION:
            return (old.started_at, old.finished_at, old.state) != (
                new.started_at,
                new.finished_at,
                new.state,
            )
        return old.last_refreshed != new.last_refreshed

    # -- sorting and filtering -----------------------------------------------------------

    def set_sort(self, key: SortKey, descending: bool | None = None) -> None:
        """Sort by `key`; the same key again flips the direction unless one is given."""
        if descending is None:
            descending = (
                not self.descending if key is self.sort_key else key in _DESCENDING_BY_DEFAULT
            )
        self.sort_key = key
        self.descending = descending
        self._rebuild()

    def cycle_sort(self) -> SortKey:
        """Move to the next sort column (what `s` does)."""
        keys = list(SortKey)
        self.set_sort(keys[(keys.index(self.sort_key) + 1) % len(keys)], descending=None)
        if self.sort_key not in _DESCENDING_BY_DEFAULT:
            self.descending = False
            self._rebuild()
        return self.sort_key

    def set_filter(self, text: str) -> None:
        """Keep rows whose id, prompt, state or model contain every word of `text`."""
        self.filter_text = text
        self._terms = [term for term in text.lower().split() if term]
        if not self._terms:
            self._search_keys = {}  # give the memory back once the filter is cleared
        self._rebuild()

    def _search_key(self, row: TaskRow) -> str:
        text = self._search_keys.get(row.id)
        if text is None:
            text = self._search_keys[row.id] = search_key(row)
        return text

    def _rebuild(self) -> None:
        self.order = _ordered(
            self.rows.values(),
            self.sort_key,
            self.descending,
            self._terms,
            self._clock(),
            self._search_key,
        )

    # -- queries -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.order)

    def row_at(self, index: int) -> TaskRow | None:
        if 0 <= index < len(self.order):
            return self.rows[self.order[index]]
        return None

    def position(self, task_id: str | None) -> int | None:
        """Where `task_id` is shown (None: filtered out or unknown).

        A scan rather than an index: under a millisecond at 50,000 rows, called once per
        change, and an index would cost about 100 bytes a row for as long as the app runs.
        """
        if task_id is None or task_id not in self.rows:
            return None
        try:
            return self.order.index(task_id)
        except ValueError:
            return None

    def counts(self) -> Counter[TaskState]:
        """Tasks per state over everything tracked, filter or not."""
        return Counter(row.state for row in self.rows.values())
