"""Records to rows: the list columns taken from a record, and the shapes rows are read in.

Kept apart from the queries (`store.py`) and the schema (`schema.py`) because both need
them: a refresh and a rules re-derive fill the same columns by the same rules. Every row
the store reads comes back as a named tuple of its SELECT (`StoredRow`, `TaskRow`), so no
caller reads a column by position.

- `ListColumns`: what a record gives the list (prompt snippet, model, action, image count,
  times, progress), from `nbtui.api.summary.summarize`, without pydantic.
- `StoredRow`: one `tasks` row as `SELECT {COLUMNS}` reads it (the record still as text).
- `TrackedTask`: a stored task for the monitor, the CLI and the detail pane; its record is
  parsed on first access.
- `TaskRow`: one task as the task list shows it (terminal-safe prompt and model), read a
  window at a time by the list model; the same row whether read from the store or made
  from a `TrackedTask` a refresh just wrote.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any, NamedTuple

from nbtui import jsonsafe
from nbtui.api.state import ErrorInfo, Task, TaskState, extract_error
from nbtui.api.summary import summarize
from nbtui.textsafe import one_line

__all__ = [
    "COLUMNS",
    "LISTING_COLUMNS",
    "PROMPT_SNIPPET",
    "ListColumns",
    "StoredRow",
    "TaskRow",
    "TrackedTask",
    "dump",
    "list_columns",
    "listed_row",
    "same_record",
    "state_of",
    "task_from_row",
    "task_row",
]

#: Longest prompt kept in the `prompt` column (the full one stays in the raw record).
PROMPT_SNIPPET = 500

_MISSING: Any = object()
_STATES = {member.value: member for member in TaskState}


def state_of(value: Any) -> TaskState:
    """The state a column holds (a value this nbtui does not know reads as pending)."""
    return _STATES.get(value, TaskState.PENDING)


class ListColumns(NamedTuple):
    """The list columns a record gives (`list_columns`), as stored beside it."""

    prompt: str | None
    model: str | None
    action: str | None
    image_count: int
    created_at: float | None
    started_at: float | None
    finished_at: float | None
    progress: int | None

    def sql(self, error: ErrorInfo | None) -> tuple[Any, ...]:
        """The columns in their SQL order: prompt, model, action, image_count, created_at,
        started_at, finished_at, error_code, error_message (shared by writes and migrations)."""
        return (
            self.prompt,
            self.model,
            self.action,
            self.image_count,
            self.created_at,
            self.started_at,
            self.finished_at,
            error.code if error else None,
            error.message if error else None,
        )


def list_columns(raw: Mapping[str, Any] | None) -> ListColumns:
    """The list columns of a record (no pydantic: this runs for every changed row)."""
    summary = summarize(raw)
    return ListColumns(
        summary.prompt[:PROMPT_SNIPPET] if summary.prompt else None,
        summary.model,
        summary.action,
        summary.image_count,
        summary.created_at,
        summary.started_at,
        summary.finished_at,
        summary.progress,
    )


def dump(raw: Mapping[str, Any]) -> str:
    """Compact JSON in the service's own key order, which the JSON viewer shows whether the
    record came from this refresh or from the database; the service keeps its order stable,
    so an unchanged record compares equal as text without parsing."""
    try:
        return json.dumps(
            raw, separators=(",", ":"), ensure_ascii=False, default=str, allow_nan=False
        )
    except (ValueError, RecursionError):
        # NaN/Infinity (not JSON), a 4,300-digit integer, absurd nesting: store what JSON
        # can hold rather than fail the whole refresh on one record.
        return jsonsafe.dumps(raw, indent=None, ensure_ascii=False, compact=True)


def same_record(stored: str | None, raw: Mapping[str, Any]) -> bool:
    """Whether the stored JSON holds the same data as `raw` (read only when the texts differ)."""
    if stored is None:
        return False
    try:
        return bool(json.loads(stored) == raw)
    except ValueError:
        return False


class StoredRow(NamedTuple):
    """One row of `tasks`, as `SELECT {COLUMNS}` reads it (`state` as stored text)."""

    id: str
    label: str | None
    first_seen: float
    last_refreshed: float | None
    state: str
    raw_json: str | None
    last_error: str | None
    last_error_at: float | None
    updated_at: float | None
    seq: int
    prompt: str | None
    model: str | None
    action: str | None
    image_count: int
    created_at: float | None
    started_at: float | None
    finished_at: float | None
    error_code: str | None
    error_message: str | None
    progress: int | None
    #: The task this one was re-run or edited from (None: not made from another task).
    parent_id: str | None

    def list_columns(self) -> ListColumns:
        """The list columns as stored (a refresh that did not change the record keeps them)."""
        return ListColumns(
            self.prompt,
            self.model,
            self.action,
            self.image_count,
            self.created_at,
            self.started_at,
            self.finished_at,
            self.progress,
        )

    def derived_columns(self) -> tuple[Any, ...]:
        """State, the list columns and progress: what a rules re-derive may change."""
        return (
            self.state,
            self.prompt,
            self.model,
            self.action,
            self.image_count,
            self.created_at,
            self.started_at,
            self.finished_at,
            self.error_code,
            self.error_message,
            self.progress,
        )


#: What every read of whole rows selects, in `StoredRow` order.
COLUMNS = ", ".join(StoredRow._fields)


class TrackedTask:
    """One tracked task as stored: immutable; `raw` is parsed from JSON on first access.

    The list columns (`prompt`, `model`, `image_count`, times, `error_code`) come from the
    last good record, so a list of tens of thousands of tasks needs no JSON parsing at all.
    """

    __slots__ = (
        "_raw",
        "_raw_json",
        "action",
        "created_at",
        "error_code",
        "error_message",
        "finished_at",
        "first_seen",
        "id",
        "image_count",
        "label",
        "last_error",
        "last_error_at",
        "last_refreshed",
        "model",
        "parent_id",
        "progress",
        "prompt",
        "seq",
        "started_at",
        "state",
        "updated_at",
    )

    _raw: Any  # the parsed record, or _MISSING until first needed
    _raw_json: str | None
    id: str
    label: str | None
    first_seen: float
    last_refreshed: float | None
    state: TaskState
    last_error: str | None
    last_error_at: float | None
    updated_at: float | None
    prompt: str | None
    model: str | None
    action: str | None
    image_count: int
    created_at: float | None
    started_at: float | None
    finished_at: float | None
    error_code: str | None
    error_message: str | None
    #: The percent done the record reports, or None where it gives no figure.
    progress: int | None
    #: The task this one was re-run or edited from.
    parent_id: str | None
    seq: int

    def __init__(
        self,
        id: str,
        label: str | None,
        first_seen: float,
        last_refreshed: float | None,
        state: TaskState,
        raw: dict[str, Any] | None = _MISSING,
        last_error: str | None = None,
        *,
        raw_json: str | None = None,
        last_error_at: float | None = None,
        updated_at: float | None = None,
        prompt: str | None = None,
        model: str | None = None,
        action: str | None = None,
        image_count: int = 0,
        created_at: float | None = None,
        started_at: float | None = None,
        finished_at: float | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        progress: int | None = None,
        parent_id: str | None = None,
        seq: int = 0,
    ) -> None:
        """Pass either `raw` (a dict, or None for no record) or `raw_json` (parsed lazily)."""
        values: dict[str, Any] = {
            "id": id,
            "label": label,
            "first_seen": first_seen,
            "last_refreshed": last_refreshed,
            "state": TaskState(state),
            "last_error": last_error,
            "last_error_at": last_error_at,
            "updated_at": updated_at,
            "prompt": prompt,
            "model": model,
            "action": action,
            "image_count": image_count,
            "created_at": created_at,
            "started_at": started_at,
            "finished_at": finished_at,
            "error_code": error_code,
            "error_message": error_message,
            "progress": progress,
            "parent_id": parent_id,
            "seq": seq,
            "_raw": None if raw is _MISSING and raw_json is None else raw,
            "_raw_json": raw_json,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @classmethod
    def refreshed(
        cls,
        row: StoredRow,
        state: TaskState,
        raw_json: str | None,
        columns: ListColumns,
        error: ErrorInfo | None,
        now: float,
        seq: int,
    ) -> TrackedTask:
        """The task a refresh just wrote over `row` (its record still as text: a cycle's
        changes travel as ~2 KB of JSON each, not as parsed records several times that)."""
        return cls(
            row.id,
            row.label,
            row.first_seen,
            now,
            state,
            _MISSING,
            None,
            raw_json=raw_json,
            updated_at=now,
            seq=seq,
            prompt=columns.prompt,
            model=columns.model,
            action=columns.action,
            image_count=columns.image_count,
            created_at=columns.created_at,
            started_at=columns.started_at,
            finished_at=columns.finished_at,
            error_code=error.code if error else None,
            error_message=error.message if error else None,
            progress=columns.progress,
            parent_id=row.parent_id,
        )

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"TrackedTask is immutable (tried to set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"TrackedTask is immutable (tried to delete {name!r})")

    @property
    def raw(self) -> dict[str, Any] | None:
        """The last good raw record the service sent, or None if none yet."""
        raw: Any = self._raw
        if raw is _MISSING:
            try:
                parsed = json.loads(self._raw_json) if self._raw_json is not None else None
            except (ValueError, RecursionError):
                parsed = None
            raw = parsed if isinstance(parsed, dict) else None
            object.__setattr__(self, "_raw", raw)
        return raw  # type: ignore[no-any-return]

    @property
    def is_finished(self) -> bool:
        return self.state.is_finished

    def to_task(self) -> Task:
        """The `Task` view of this row (state as stored, even where the record is older)."""
        raw = self.raw
        if raw is None:
            if self.state is TaskState.NOT_FOUND:
                return Task.not_found(self.id)
            return Task(id=self.id, raw=None, state=self.state)
        task = Task.from_raw(raw)
        error = extract_error(None) if self.state is TaskState.NOT_FOUND else task.error
        # The pydantic record stays unparsed until someone reads it (none of the list does).
        return Task(id=self.id, raw=task.raw, state=self.state, images=task.images, error=error)

    def replace(self, **changes: Any) -> TrackedTask:
        """A copy with some fields changed (`dataclasses.replace` for this class)."""
        fields = self._fields()
        if "raw" in changes or "raw_json" in changes:
            fields.pop("raw", None)
            fields.pop("raw_json", None)
        fields.update(changes)
        return _rebuild(fields)

    def _fields(self) -> dict[str, Any]:
        fields = {name: getattr(self, name) for name in self.__slots__ if not name.startswith("_")}
        if self._raw is _MISSING:
            fields["raw_json"] = self._raw_json
        else:
            fields["raw"] = self._raw
        return fields

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle and copy through the constructor (the slots are read-only)."""
        return (_rebuild, (self._fields(),))

    def __copy__(self) -> TrackedTask:
        return self

    def _key(self) -> tuple[Any, ...]:
        return (
            self.id,
            self.label,
            self.first_seen,
            self.last_refreshed,
            self.state,
            self.last_error,
            self.seq,
            self.raw,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TrackedTask):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.id, self.seq, self.state, self.last_refreshed))

    def __repr__(self) -> str:
        stored = self._raw_json is not None if self._raw is _MISSING else self._raw is not None
        return (
            f"TrackedTask(id={self.id!r}, state={self.state.value!r}, label={self.label!r}, "
            f"first_seen={self.first_seen!r}, last_refreshed={self.last_refreshed!r}, "
            f"has_raw={stored}, last_error={self.last_error!r}, seq={self.seq})"
        )


def _rebuild(fields: dict[str, Any]) -> TrackedTask:
    return TrackedTask(**fields)


#: The slot each `StoredRow` field lands in (raw_json goes to `_raw_json`).
_ROW_SETTERS = tuple(
    TrackedTask.__dict__["_raw_json" if name == "raw_json" else name].__set__
    for name in StoredRow._fields
)
_SET_RAW = TrackedTask.__dict__["_raw"].__set__
_SET_STATE = TrackedTask.__dict__["state"].__set__


def task_from_row(row: tuple[Any, ...]) -> TrackedTask:
    """The task of one `SELECT {COLUMNS}` row (a `StoredRow`, or the cursor's plain tuple).

    Built without `__init__`: `all()` does this tens of thousands of times, and slot setters
    are several times faster than keyword arguments.
    """
    task = object.__new__(TrackedTask)
    for setter, value in zip(_ROW_SETTERS, row, strict=True):
        setter(task, value)
    _SET_STATE(task, state_of(task.state))
    _SET_RAW(task, _MISSING)
    return task


class TaskRow(NamedTuple):
    """One task as the list shows it; `prompt` and `model` are already safe for the terminal
    (the detail pane makes `label` and `last_error` safe when it shows them).

    What `Store.listing` returns, and what the list model caches a window of."""

    rowid: int
    id: str
    state: TaskState
    prompt: str
    model: str
    image_count: int
    #: When the service created it, or (before any answer) when it was first tracked.
    created_at: float
    started_at: float | None
    finished_at: float | None
    last_refreshed: float | None
    first_seen: float
    label: str | None
    last_error: str | None
    #: The percent done the record reports (None: no figure, or none read yet).
    progress: int | None = None
    #: The task this one was re-run or edited from (the detail pane links to it).
    parent_id: str | None = None
    #: When nbtui last saw the task's entry change (its record, state or label).
    updated_at: float | None = None

    def changed_at(self) -> float:
        """When the task last changed (the UPDATED column): a finished task's finish time as
        the service gives it, else when nbtui last saw its record change (a new state, new
        progress), else when it was first tracked. Not when it was last polled: that is the
        same instant for every task."""
        if self.state.is_finished and self.finished_at is not None:
            return self.finished_at
        return self.updated_at if self.updated_at is not None else self.first_seen

    def duration(self, now: float) -> float | None:
        """Seconds from start (or creation) to finish, or to `now` while unfinished."""
        start = self.started_at if self.started_at is not None else self.created_at
        if self.finished_at is not None:
            return max(0.0, self.finished_at - start)
        if self.state.is_finished:
            return None
        return max(0.0, now - start)


#: What `Store.listing` selects, in `TaskRow` order.
LISTING_COLUMNS = ", ".join(TaskRow._fields)


def listed_row(
    rowid: int,
    id: str,
    state: Any,
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
    progress: int | None,
    parent_id: str | None = None,
    updated_at: float | None = None,
    /,
) -> TaskRow:
    """The row of the list columns as stored (a `SELECT {LISTING_COLUMNS}` row, unpacked):
    the prompt on one line (the label where there is none), the model on one line and
    interned (a few distinct values over thousands of rows), creation time or first seen."""
    shown = one_line(prompt) if prompt else ""
    if not shown and label:
        shown = one_line(label)
    return TaskRow(
        rowid,
        id,
        state_of(state),
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
        progress,
        parent_id,
        updated_at,
    )


def task_row(task: TrackedTask, rowid: int) -> TaskRow:
    """The list row of a stored task the monitor (or an action) just wrote."""
    return listed_row(
        rowid,
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
        task.progress,
        task.parent_id,
        task.updated_at,
    )
