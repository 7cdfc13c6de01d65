"""The task list's model: the visible order in memory, the rows in the store.

Kept apart from the widget (and free of Textual) so that the widget only draws what this
model says is visible. Built for tens of thousands of tasks: rows held in memory cost about
0.5 KB each (25 MB at 50,000), so only the order stays, as the store's rowids (8 bytes a
task), and rows are read a window at a time when drawn (~0.4 ms for 300) into a bounded
cache. Sorting by a plain column is done by SQLite (newest first straight from an index), and
so is the filter (`nbtui.tracking.query`, compiled to a WHERE clause); sorting by prompt,
model or duration reads the list columns of the tasks the filter lets through once, with the
same Python rules the cells are drawn with, and keeps only the resulting order.
"""

from __future__ import annotations

import contextlib
import enum
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from nbtui.api.state import TaskState
from nbtui.tracking.query import Query, compile_query, parse
from nbtui.tracking.rows import task_row as row_from_tracked
from nbtui.tracking.store import ListOrder, Store, StoreError, TaskRow, TrackedTask

__all__ = [
    "STATE_ORDER",
    "ListView",
    "Ordered",
    "SortKey",
    "TaskListModel",
    "TaskRow",
    "compute_order",
    "describe_sort",
    "largest_shown_first",
    "natural_descending",
    "row_from_tracked",
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
    #: When the task last changed (`TaskRow.changed_at`), not when it was last polled.
    UPDATED = "updated"


#: Sort keys whose natural reading is "biggest/newest first".
_DESCENDING_BY_DEFAULT = frozenset(
    {SortKey.CREATED, SortKey.IMAGES, SortKey.DURATION, SortKey.UPDATED}
)


def natural_descending(key: SortKey) -> bool:
    """The direction `key` starts in: newest, biggest and longest first."""
    return key in _DESCENDING_BY_DEFAULT


#: Columns that show how long ago something happened (AGE, UPDATED): the newest moment is the
#: smallest value shown, so "newest first" reads as "smallest first" there.
_SHOWN_AS_AGE = frozenset({SortKey.CREATED, SortKey.UPDATED})


def largest_shown_first(key: SortKey, descending: bool) -> bool:
    """Whether the largest value, as the column shows it, comes first (the header's ▼).

    One arrow means one thing in every column: ▼ puts the biggest number, the longest time,
    the oldest age or the end of the alphabet at the top; ▲ the other end.
    """
    return descending != (key in _SHOWN_AS_AGE)


_SORT_WORDS: dict[SortKey, tuple[str, str]] = {
    # key: (what the list shows when the largest shown value comes first, when the smallest)
    SortKey.CREATED: ("age, oldest first", "age, newest first"),
    SortKey.UPDATED: ("last change, longest ago first", "last change, latest first"),
    SortKey.STATE: ("state, finished first", "state, running first"),
    SortKey.ID: ("id, Z to A", "id, A to Z"),
    SortKey.PROMPT: ("prompt, Z to A", "prompt, A to Z"),
    SortKey.MODEL: ("model, Z to A", "model, A to Z"),
    SortKey.IMAGES: ("images, most first", "images, fewest first"),
    SortKey.DURATION: ("time taken, longest first", "time taken, shortest first"),
}


def describe_sort(key: SortKey, descending: bool) -> str:
    """The order in words, as the header's arrow shows it (`age, newest first`)."""
    largest, smallest = _SORT_WORDS[key]
    return largest if largest_shown_first(key, descending) else smallest


#: Sort keys SQLite orders exactly as `_sort_value` does (no text folding, no clock).
_IN_SQL: dict[SortKey, ListOrder] = {
    SortKey.CREATED: "created",
    SortKey.STATE: "state",
    SortKey.ID: "id",
    SortKey.IMAGES: "images",
    SortKey.UPDATED: "updated",
}

#: Rows read around the one asked for, when it is not cached (a screen or two either way).
_BEHIND, _AHEAD = 100, 200
#: Rows kept at most; past this the cache keeps only the window being drawn.
_CACHE_MAX = 2_000


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
    return lambda row: row.changed_at()


_NO_QUERY = Query()


@dataclass(frozen=True, slots=True)
class ListView:
    """What the order depends on: the sort and the filter."""

    sort_key: SortKey = SortKey.CREATED
    descending: bool = True
    query: Query = _NO_QUERY


@dataclass(frozen=True, slots=True)
class Ordered:
    """An order read from the store (`compute_order`), with the counts of the same moment."""

    view: ListView
    rowids: array[int]
    counts: Mapping[TaskState, int]
    complete: bool = True


def compute_order(store: Store, view: ListView, now: float, limit: int | None = None) -> Ordered:
    """The rowids to show under `view`, in order, ties by id (blocking: reads the store).

    The filter and plain columns run in SQLite; text and duration keys go through the same
    Python rules the cells use, keeping only (key, id, rowid) while sorting.
    """
    counts = store.state_counts()
    where = compile_query(view.query, now) if view.query else None
    by = _IN_SQL.get(view.sort_key)
    if by is not None:
        rowids = store.ordered_rowids(
            by, descending=view.descending, state_rank=STATE_ORDER, limit=limit, where=where
        )
        return Ordered(view, rowids, counts, complete=limit is None or len(rowids) < limit)
    value = _sort_value(view.sort_key, now)

    def keyed(row: TaskRow) -> tuple[Any, str, int]:
        return (value(row), row.id, row.rowid)

    entries = store.scan_listing(keyed, where)
    entries.sort(key=itemgetter(1))
    entries.sort(key=itemgetter(0), reverse=view.descending)
    complete = limit is None or len(entries) < limit
    if limit is not None:
        del entries[limit:]
    return Ordered(view, array("q", (entry[2] for entry in entries)), counts, complete)


class StoredRows(Mapping[str, TaskRow]):
    """Every tracked task's row by id, read through the model's cache."""

    def __init__(self, model: TaskListModel) -> None:
        self._model = model

    def __getitem__(self, task_id: str) -> TaskRow:
        row = self._model.row(task_id)
        if row is None:
            raise KeyError(task_id)
        return row

    def __iter__(self) -> Iterator[str]:
        store = self._model.store
        return iter(store.ids() if store is not None else ())

    def __len__(self) -> int:
        return self._model.total


class TaskListModel:
    """The ids visible under the current sort and filter, and their rows on demand.

    Changing the sort or the filter, or the tasks, changes what the order should be; the
    order itself (and the counts) change only through `install` of an `Ordered` computed for
    the current view (by the app in a worker thread: up to ~0.2 s at 50,000 tasks when the
    sort or filter needs Python) or `refresh` (the same, now). Rows changed by a refresh or
    an action are updated in the cache as they come, so no row is older than the store.
    """

    def __init__(self, clock: Callable[[], float], store: Store | None = None) -> None:
        self._clock = clock
        self.store = store
        self.sort_key = SortKey.CREATED
        self.descending = True
        self.filter_text = ""
        self._query = Query()
        self._order: array[int] = array("q")
        self._counts: dict[TaskState, int] = {}
        self._cache: dict[int, TaskRow] = {}
        self._rowid_of: dict[str, int] = {}
        #: False until the whole order is in (a first page may be shown before).
        self.complete = False
        self.rows = StoredRows(self)

    # -- the order -----------------------------------------------------------------------

    @property
    def view(self) -> ListView:
        return ListView(self.sort_key, self.descending, self._query)

    def compute(self, limit: int | None = None) -> Ordered:
        """The order under the current view, read from the store (blocking: run it in a
        worker thread when the list is large)."""
        if self.store is None:
            return Ordered(self.view, array("q"), {})
        return compute_order(self.store, self.view, self._clock(), limit)

    def install(self, ordered: Ordered) -> bool:
        """Show `ordered` unless the view changed since it was read; True when installed."""
        if ordered.view != self.view:
            return False
        self._order = ordered.rowids
        self._counts = dict(ordered.counts)
        self.complete = ordered.complete
        # Rows are read again as they are drawn (~0.4 ms a window): no cached row can outlive
        # a change made elsewhere, nor stand in for a new task that reuses a deleted rowid.
        self._cache.clear()
        self._rowid_of.clear()
        return True

    def refresh(self) -> None:
        """Read the order again now (after changes that may move rows)."""
        with contextlib.suppress(StoreError):  # the app reports those; the last order stays
            self.install(self.compute())

    def attach(self, store: Store) -> None:
        """Show another store (the demo's): everything is read again."""
        self.store = store
        self._cache.clear()
        self._rowid_of.clear()
        self.refresh()

    # -- changes -------------------------------------------------------------------------

    def upsert(self, tasks: Iterable[TrackedTask]) -> None:
        """Tasks written to the store: update the rows on hand (the order is read again by
        whoever made the change: `refresh`, or `compute` and `install` off the UI thread)."""
        for task in tasks:
            rowid = self._rowid_of.get(task.id)
            if rowid is not None:
                self._cache[rowid] = row_from_tracked(task, rowid)

    def remove(self, ids: Iterable[str]) -> None:
        """Tasks no longer tracked: the rows on hand leave the order at once (the others go
        with the next order read).

        A pass over the rows on hand (at most `_CACHE_MAX`), not over `ids`: untracking
        50,000 tasks runs this on the UI thread, and a pop per id cost tens of ms there."""
        if not self._rowid_of:
            return
        wanted = ids if isinstance(ids, (set, frozenset)) else set(ids)
        gone = {rowid for task_id, rowid in self._rowid_of.items() if task_id in wanted}
        if not gone:
            return
        self._rowid_of = {i: r for i, r in self._rowid_of.items() if r not in gone}
        for rowid in gone:
            self._cache.pop(rowid, None)
        # One pass over the order, however many go.
        self._order = array("q", (rowid for rowid in self._order if rowid not in gone))

    def emptied(self) -> None:
        """Every tracked task is gone (all of them were untracked): show none at once, with
        no pass over the ids or the order."""
        self._order = array("q")
        self._counts = {}
        self._cache.clear()
        self._rowid_of.clear()

    def mark_refreshed(self, ids: Iterable[str], when: float) -> None:
        """Rows the service answered without any change still were refreshed at `when`."""
        for task_id in ids:
            rowid = self._rowid_of.get(task_id)
            row = self._cache.get(rowid) if rowid is not None else None
            if row is None or rowid is None:
                continue
            if row.last_refreshed is None or row.last_refreshed < when:
                self._cache[rowid] = row._replace(last_refreshed=when)

    # -- sorting and filtering -----------------------------------------------------------

    def set_sort(self, key: SortKey, descending: bool | None = None) -> None:
        """Sort by `key`; the same key again flips the direction unless one is given."""
        if descending is None:
            descending = (
                not self.descending if key is self.sort_key else key in _DESCENDING_BY_DEFAULT
            )
        self.sort_key = key
        self.descending = descending

    def cycle_sort(self) -> SortKey:
        """Move to the next sort column (what `s` does)."""
        keys = list(SortKey)
        key = keys[(keys.index(self.sort_key) + 1) % len(keys)]
        self.set_sort(key, descending=key in _DESCENDING_BY_DEFAULT)
        return self.sort_key

    def set_filter(self, text: str) -> None:
        """Keep the rows the query `text` matches (`nbtui.tracking.query`). A malformed query
        raises `QueryError` and changes nothing: the last good filter stays."""
        query = parse(text)
        self.filter_text = text
        self._query = query

    # -- rows ----------------------------------------------------------------------------

    def _read(self, rowids: Sequence[int]) -> None:
        if self.store is None or not rowids:
            return
        try:
            rows = self.store.listing(rowids)
        except StoreError:
            return  # drawn blank; the app reports store problems
        for row in rows:
            self._cache[row.rowid] = row
            self._rowid_of[row.id] = row.rowid

    def row_at(self, index: int) -> TaskRow | None:
        if not 0 <= index < len(self._order):
            return None
        rowid = self._order[index]
        row = self._cache.get(rowid)
        if row is None:
            window = self._order[max(0, index - _BEHIND) : index + _AHEAD]
            if len(self._cache) + len(window) > _CACHE_MAX:
                keep = {r: self._cache[r] for r in window if r in self._cache}
                self._cache = keep
                self._rowid_of = {row.id: r for r, row in keep.items()}
            self._read([r for r in window if r not in self._cache])
            row = self._cache.get(rowid)
        return row

    def _rowid(self, task_id: str) -> int | None:
        """The rowid of a tracked task: on hand if its row is, else one indexed lookup."""
        rowid = self._rowid_of.get(task_id)
        if rowid is None and self.store is not None:
            with contextlib.suppress(StoreError):
                rowid = self.store.rowid_of(task_id)
        return rowid

    def row(self, task_id: str) -> TaskRow | None:
        """Any tracked task's row, shown or not (None: not tracked)."""
        rowid = self._rowid(task_id)
        if rowid is None:
            return None
        if rowid not in self._cache:
            self._read([rowid])
        return self._cache.get(rowid)

    # -- queries -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._order)

    @property
    def shown_rowids(self) -> array[int]:
        """The rowids shown, in list order. The model replaces its order, never edits it, so
        this is a snapshot another thread may read (the gallery collects its images so)."""
        return self._order

    @property
    def total(self) -> int:
        """Tasks tracked, filter or not."""
        return sum(self._counts.values())

    def ids(self) -> list[str]:
        """The visible ids in order (reads every row: for tests and small lists)."""
        rows = (self.row_at(index) for index in range(len(self._order)))
        return [row.id for row in rows if row is not None]

    def position(self, task_id: str | None) -> int | None:
        """Where `task_id` is shown (None: filtered out or unknown); a scan of the order,
        which is a C array of rowids (well under a millisecond at 50,000)."""
        rowid = self._rowid(task_id) if task_id is not None else None
        if rowid is None:
            return None
        try:
            return self._order.index(rowid)
        except ValueError:
            return None

    def counts(self) -> Counter[TaskState]:
        """Tasks per state over everything tracked, filter or not."""
        return Counter(self._counts)

    def forget(self, ids: Iterable[str]) -> None:
        """Rows of these tasks changed in the store (their labels): read them again when
        next drawn."""
        for task_id in ids:
            rowid = self._rowid_of.pop(task_id, None)
            if rowid is not None:
                self._cache.pop(rowid, None)
