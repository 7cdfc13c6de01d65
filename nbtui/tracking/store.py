"""What the user tracks, kept in SQLite: ids, labels, derived state and the last good record.

One file, `<data_dir>/tasks.db`, in WAL mode so the TUI and a `nbtui add` in another terminal
can both use it at once (readers never block, writers wait up to `BUSY_TIMEOUT` for each
other). Every write is one `BEGIN IMMEDIATE` transaction, so a crash (even `kill -9`) leaves
either all of a refresh or none of it.

Rules the rest of nbtui relies on:
- an error never overwrites the last good raw record (it only sets `last_error`);
- `apply` ignores ids that are not tracked, so a task removed mid-refresh stays removed;
- the fields the task list shows (state, prompt, model, image count, times) live in columns,
  so `all()` never parses JSON; `TrackedTask.raw` is parsed on first access;
- every write that changes what a list shows stamps the rows with a new `seq`, so another
  process's view can ask `changed_since(token)` for just those rows (and the removed ids);
- a damaged file is never replaced behind the user's back: `open` raises `StoreCorruptError`
  unless the caller asks for recovery, which keeps the bad file as `tasks.db.corrupt-<time>`
  (the file itself, judging damage, the open lock and error wording: `dbfile.py`).

Schema history (`PRAGMA user_version`): v1 was the first, minimal table of tracked tasks; v2
adds the list columns, the change sequence and the removal log. `_migrate` upgrades old files
in one transaction.

The rules that derive a task's state and list columns from its record have their own
revision, `RULES_VERSION`, stamped in the `meta` table as `rules` (docs/api.md, "Stored
tasks"). A store stamped older is re-derived at open, in one transaction: every row's state
and list columns are computed again from its raw record, so a task an older nbtui stored as
finished by mistake is unfinished again and back on the schedule. The stamp is not the
schema version, so an older nbtui still opens the file (the `progress` column it adds is
invisible to the older code); rows an older nbtui writes afterwards follow its older rules
until the rules are revised again.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from nbtui import jsonsafe
from nbtui.api.state import (
    RULES_VERSION,
    ErrorInfo,
    Task,
    TaskState,
    derive_state,
    extract_error,
)
from nbtui.api.summary import summarize
from nbtui.tracking.dbfile import (
    DB_NAME,
    OpenLock,
    Recovery,
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    StoreFullError,
    acknowledge_notice,
    corrupt,
    ensure_file,
    keep_aside,
    make_private_dir,
    pending_notice,
    preflight,
    translated,
    truncation,
)

__all__ = [
    "BUSY_TIMEOUT",
    "DB_NAME",
    "SCHEMA_VERSION",
    "Changes",
    "ListOrder",
    "ListingBuilder",
    "Recovery",
    "Store",
    "StoreBusyError",
    "StoreCorruptError",
    "StoreError",
    "StoreFullError",
    "TrackedTask",
]

SCHEMA_VERSION = 2
#: Seconds a write waits for another process's write to finish before giving up.
BUSY_TIMEOUT = 10.0
#: Longest prompt kept in the `prompt` column (the full one stays in the raw record).
PROMPT_SNIPPET = 500
#: SQLite's historical limit on bound parameters is 999; stay well below it.
_CHUNK = 500

_T = TypeVar("_T")
#: The columns `Store.ordered_rowids` can sort by in SQL.
ListOrder = Literal["created", "state", "id", "images", "refreshed"]
_T_co = TypeVar("_T_co", covariant=True)


class ListingBuilder(Protocol[_T_co]):
    """Builds one list row from `Store.listing`'s columns, in this order."""

    def __call__(
        self,
        rowid: int,
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
        progress: int | None,
        /,
    ) -> _T_co: ...


_SCHEMA_V1 = """
CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    label TEXT,
    first_seen REAL NOT NULL,
    last_refreshed REAL,
    state TEXT NOT NULL DEFAULT 'pending',
    raw_json TEXT,
    last_error TEXT
);
"""

#: The list's default order (newest first, ties by id) read from an index, so the order of
#: 50,000 tasks comes in a few ms without reading their rows. Created when missing at open,
#: without a schema change: an nbtui that does not know it still opens the file.
_NEWEST_INDEX = (
    "CREATE INDEX IF NOT EXISTS tasks_newest ON tasks (COALESCE(created_at, first_seen) DESC, id)"
)

#: v1 -> v2: the list columns, the change sequence and the removal log.
_V2_COLUMNS = (
    ("last_error_at", "REAL"),
    ("updated_at", "REAL"),
    ("seq", "INTEGER NOT NULL DEFAULT 0"),
    ("prompt", "TEXT"),
    ("model", "TEXT"),
    ("action", "TEXT"),
    ("image_count", "INTEGER NOT NULL DEFAULT 0"),
    ("created_at", "REAL"),
    ("started_at", "REAL"),
    ("finished_at", "REAL"),
    ("error_code", "TEXT"),
    ("error_message", "TEXT"),
)
_V2_EXTRA = """
CREATE INDEX IF NOT EXISTS tasks_seq ON tasks (seq);
CREATE INDEX IF NOT EXISTS tasks_first_seen ON tasks (first_seen);
CREATE INDEX IF NOT EXISTS tasks_state ON tasks (state);
CREATE TABLE IF NOT EXISTS removed (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    removed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS removed_seq ON removed (seq);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('seq', 0);
"""

_COLUMNS = (
    "id, label, first_seen, last_refreshed, state, raw_json, last_error, last_error_at, "
    "updated_at, seq, prompt, model, action, image_count, created_at, started_at, finished_at, "
    "error_code, error_message, progress"
)
#: What `Store.listing` reads (the `ListingBuilder` arguments).
_LISTING_COLUMNS = (
    "rowid, id, state, prompt, model, image_count, created_at, started_at, finished_at, "
    "last_refreshed, first_seen, label, last_error, progress"
)
#: How `Store.ordered_rowids` sorts by each column (besides "state").
_ORDER_KEYS: dict[str, str] = {
    "created": "COALESCE(created_at, first_seen)",
    "id": "id",
    "images": "image_count",
    "refreshed": "COALESCE(last_refreshed, 0.0)",
}
_UNFINISHED = tuple(state.value for state in TaskState if not state.is_finished)
_MISSING: Any = object()


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
            "seq": seq,
            "_raw": None if raw is _MISSING and raw_json is None else raw,
            "_raw_json": raw_json,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

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
    def has_raw(self) -> bool:
        """Whether a record is stored, without parsing it."""
        if self._raw is _MISSING:
            return self._raw_json is not None
        return self._raw is not None

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
        return (
            f"TrackedTask(id={self.id!r}, state={self.state.value!r}, label={self.label!r}, "
            f"first_seen={self.first_seen!r}, last_refreshed={self.last_refreshed!r}, "
            f"has_raw={self.has_raw}, last_error={self.last_error!r}, seq={self.seq})"
        )


def _rebuild(fields: dict[str, Any]) -> TrackedTask:
    return TrackedTask(**fields)


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed since a token: rows added or changed, ids removed, and the next token."""

    rows: list[TrackedTask]
    removed: list[str]
    token: int

    def __bool__(self) -> bool:
        return bool(self.rows or self.removed)


#: The slot each selected column lands in (`_COLUMNS` order; raw_json goes to `_raw_json`).
_ROW_SLOTS = tuple(
    "_raw_json" if name == "raw_json" else name for name in _COLUMNS.replace(" ", "").split(",")
)
_ROW_SETTERS = tuple(TrackedTask.__dict__[name].__set__ for name in _ROW_SLOTS)
_SET_RAW = TrackedTask.__dict__["_raw"].__set__
_SET_STATE = TrackedTask.__dict__["state"].__set__
_STATES = {member.value: member for member in TaskState}


def _row_to_task(row: Sequence[Any]) -> TrackedTask:
    """Build a row without going through `__init__`: `all()` does this tens of thousands of
    times, and slot setters are several times faster than keyword arguments."""
    task = object.__new__(TrackedTask)
    for setter, value in zip(_ROW_SETTERS, row, strict=True):
        setter(task, value)
    _SET_STATE(task, _state(row[4]))
    _SET_RAW(task, _MISSING)
    return task


def _state(value: Any) -> TaskState:
    return _STATES.get(value, TaskState.PENDING)


def _dump(raw: Mapping[str, Any]) -> str:
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


def _same_record(stored: str | None, raw: Mapping[str, Any]) -> bool:
    """Whether the stored JSON holds the same data as `raw` (read only when the texts differ)."""
    if stored is None:
        return False
    try:
        return bool(json.loads(stored) == raw)
    except ValueError:
        return False


def _list_columns(derived: Mapping[str, Any], error: ErrorInfo | None) -> tuple[Any, ...]:
    """The list columns in their SQL order: prompt, model, action, image_count, created_at,
    started_at, finished_at, error_code, error_message (shared by `apply` and migrations)."""
    return (
        derived["prompt"],
        derived["model"],
        derived["action"],
        derived["image_count"],
        derived["created_at"],
        derived["started_at"],
        derived["finished_at"],
        error.code if error else None,
        error.message if error else None,
    )


def _derived(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """The list columns of a record (no pydantic: this runs for every changed row)."""
    summary = summarize(raw)
    return {
        "prompt": summary.prompt[:PROMPT_SNIPPET] if summary.prompt else None,
        "model": summary.model,
        "action": summary.action,
        "image_count": summary.image_count,
        "created_at": summary.created_at,
        "started_at": summary.started_at,
        "finished_at": summary.finished_at,
        "progress": summary.progress,
    }


def _normalize(task_id: str) -> str:
    return task_id.strip().lower()


def _chunks(items: Sequence[_T], size: int = _CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _unique(ids: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for task_id in ids:
        normalized = _normalize(task_id)
        if normalized:
            seen.setdefault(normalized, None)
    return list(seen)


class Store:
    """The tracked tasks of one data dir. Thread-safe: one connection behind a lock."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        path: Path,
        recovered: Recovery | None = None,
        *,
        lock: OpenLock | None = None,
    ) -> None:
        """Use `Store.open`; this takes an already opened and migrated connection (and the
        shared lock that says this process has the file open, released by `close`)."""
        self._conn: sqlite3.Connection | None = connection
        self._lock = threading.RLock()
        #: A second, read-only connection for whole-list scans (orders, counts): a scan of
        #: 50,000 tasks takes ~0.2 s, and the UI's own reads must not wait behind it.
        self._scan_conn: sqlite3.Connection | None = None
        self._scan_lock = threading.Lock()
        self._open_lock = lock
        self._busy_timeout = connection.execute("PRAGMA busy_timeout").fetchone()[0] / 1000
        self.path = path
        #: Set when `open(..., recover=True)` had to keep a damaged file aside.
        self.recovered = recovered

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        data_dir: Path,
        *,
        recover: bool = False,
        busy_timeout: float = BUSY_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> Store:
        """Open (creating if needed) `<data_dir>/tasks.db` and bring its schema up to date.

        A file SQLite calls damaged (asked again while the file is in motion) raises
        `StoreCorruptError` and is left untouched, unless `recover` is true and no other
        nbtui process has it open: then it is renamed to `tasks.db.corrupt-<time>` (never
        deleted), a notice is left for the next starts (`notice`), and a new store is
        started; `store.recovered` says what happened so the UI can tell the user.
        Anything else that stops the file being used (permissions, a directory in its place,
        a read-only file system, a full disk, a newer schema) raises `StoreError` naming the
        file and the cause, moving nothing.
        """
        data_dir = Path(data_dir).expanduser()
        make_private_dir(data_dir)
        path = data_dir / DB_NAME
        preflight(path)
        lock = OpenLock.shared(path, busy_timeout)
        try:
            return cls(_judged_connect(path, busy_timeout), path, lock=lock)
        except StoreCorruptError as exc:
            if not recover:
                lock.release()
                raise
            try:
                return cls._recover(path, exc, lock, busy_timeout, clock)
            except BaseException:
                lock.release()
                raise
        except BaseException:
            lock.release()
            raise

    @classmethod
    def _recover(
        cls,
        path: Path,
        damage: StoreCorruptError,
        lock: OpenLock,
        busy_timeout: float,
        clock: Callable[[], float],
    ) -> Store:
        """Set the damaged file aside, only if nobody else has it open and SQLite, asked
        again with nobody moving it, still calls it damaged."""
        if not lock.try_exclusive():
            raise StoreCorruptError(
                f"{damage} It was not set aside: another nbtui process has it open. Close "
                "it (and any `nbtui watch`), then start the app again.",
                path=path,
                reason=damage.reason,
            )
        try:
            try:
                # Nobody else has it open, so nothing moves it: one question is enough.
                return cls(_connect(path, busy_timeout), path, lock=lock)
            except StoreCorruptError as again:
                recovery = keep_aside(path, clock(), again.reason)
            return cls(_judged_connect(path, busy_timeout), path, recovered=recovery, lock=lock)
        finally:
            lock.share()

    @property
    def notice(self) -> str | None:
        """What an earlier set-aside left to tell the user, until `acknowledge_notice`."""
        return pending_notice(self.path)

    def acknowledge_notice(self) -> None:
        """The user was shown `notice`: later starts stay quiet about it."""
        acknowledge_notice(self.path)

    # -- reading ---------------------------------------------------------------------------

    def all(self) -> list[TrackedTask]:
        """Every tracked task, newest `first_seen` first (a pasted batch keeps its order)."""
        return self._read_rows(
            f"SELECT {_COLUMNS} FROM tasks ORDER BY first_seen DESC, rowid ASC",  # noqa: S608
            (),
            _row_to_task,
        )

    def listing(
        self,
        build: ListingBuilder[_T],
        *,
        rowids: Sequence[int] | None = None,
    ) -> list[_T]:
        """The list columns of every tracked task (or of those `rowids`, in no particular
        order), each row handed to `build` as it is read.

        No record, no `TrackedTask` and no tuple of every row is held alongside what `build`
        makes, so memory is only what the caller keeps.
        """
        sql = f"SELECT {_LISTING_COLUMNS} FROM tasks"  # noqa: S608

        def one(row: Sequence[Any]) -> _T:
            return build(row[0], row[1], _state(row[2]), *row[3:])

        if rowids is None:
            with self._scanning() as scan:
                return [one(row) for row in scan.execute(sql)]
        built: list[_T] = []
        with self._lock, translated(self.path):
            conn = self._connection()
            for start in range(0, len(rowids), _CHUNK):
                chunk = list(rowids[start : start + _CHUNK])
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(f"{sql} WHERE rowid IN ({marks})", chunk)
                built += [one(row) for row in rows]
        return built

    def ordered_rowids(
        self,
        by: ListOrder,
        *,
        descending: bool,
        state_rank: Mapping[TaskState, int] | None = None,
        limit: int | None = None,
    ) -> array[int]:
        """Every task's rowid in list order: by one column, ties by id ascending.

        Nothing but the rowids (8 bytes each) is built; newest first comes from an index.
        `state_rank` orders the states for `by="state"` (unknown states rank as pending).
        """
        params: list[Any] = []
        if by == "state":
            if not state_rank:
                raise ValueError("sorting by state needs a rank for each state")
            for state, rank in state_rank.items():
                params += [state.value, rank]
            params.append(state_rank.get(TaskState.PENDING, 0))
            key = f"CASE state {' '.join('WHEN ? THEN ?' for _ in state_rank)} ELSE ? END"
        else:
            key = _ORDER_KEYS[by]
        direction = "DESC" if descending else "ASC"
        sql = f"SELECT rowid FROM tasks ORDER BY {key} {direction}, id ASC"  # noqa: S608
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(0, int(limit)))
        with self._scanning() as scan:
            return array("q", (rowid for (rowid,) in scan.execute(sql, params)))

    def rowid_of(self, task_id: str) -> int | None:
        """The rowid the list knows a task by (None: not tracked)."""
        rows = self._read("SELECT rowid FROM tasks WHERE id = ?", (task_id,))
        return int(rows[0][0]) if rows else None

    def state_counts(self) -> dict[TaskState, int]:
        """How many tracked tasks are in each state (from an index, whatever the total)."""
        counts: dict[TaskState, int] = {}
        with self._scanning() as scan:
            rows = scan.execute("SELECT state, count(*) FROM tasks GROUP BY state").fetchall()
        for state, count in rows:
            key = _state(state)
            counts[key] = counts.get(key, 0) + int(count)
        return counts

    def states(self) -> dict[str, TaskState]:
        """Every tracked id and its state (what the monitor needs; no records, no rows)."""
        return {
            task_id: _state(state) for task_id, state in self._read("SELECT id, state FROM tasks")
        }

    def unanswered_ids(self) -> list[str]:
        """Tracked tasks the service never answered (a refresh has not reached them yet)."""
        return [row[0] for row in self._read("SELECT id FROM tasks WHERE last_refreshed IS NULL")]

    def get(self, task_id: str) -> TrackedTask | None:
        rows = self._read(
            f"SELECT {_COLUMNS} FROM tasks WHERE id = ?",  # noqa: S608
            (_normalize(task_id),),
        )
        return _row_to_task(rows[0]) if rows else None

    def ids(self) -> list[str]:
        return [row[0] for row in self._read("SELECT id FROM tasks ORDER BY first_seen, rowid")]

    def tracked_among(self, ids: Iterable[str]) -> set[str]:
        """Which of `ids` are tracked: a refresh asked for by id checks only those, instead
        of reading every id (tens of thousands) each cycle."""
        wanted = list(dict.fromkeys(ids))
        found: set[str] = set()
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._read(f"SELECT id FROM tasks WHERE id IN ({marks})", chunk)  # noqa: S608
            found.update(row[0] for row in rows)
        return found

    def unfinished_ids(self, *, not_found_since: float | None = None) -> list[str]:
        """Ids still pending or running: the only ones polled without being asked.

        With `not_found_since`, tasks reported not found that were tracked at or after that
        time count as unfinished too: a task created or added a moment ago may not be listed
        by the service yet, and must not be given up on after one answer.
        """
        marks = ",".join("?" * len(_UNFINISHED))
        where = f"state IN ({marks})"
        params: tuple[Any, ...] = _UNFINISHED
        if not_found_since is not None:
            where += " OR (state = ? AND first_seen >= ?)"
            params = (*_UNFINISHED, TaskState.NOT_FOUND.value, not_found_since)
        rows = self._read(
            f"SELECT id FROM tasks WHERE {where} ORDER BY first_seen, rowid",  # noqa: S608
            params,
        )
        return [row[0] for row in rows]

    def count(self) -> int:
        return int(self._read("SELECT count(*) FROM tasks")[0][0])

    def __len__(self) -> int:
        return self.count()

    def __contains__(self, task_id: object) -> bool:
        if not isinstance(task_id, str):
            return False
        return bool(self._read("SELECT 1 FROM tasks WHERE id = ?", (_normalize(task_id),)))

    # -- noticing other processes' writes --------------------------------------------------

    def change_token(self) -> int:
        """A number that grows with every write that changes what a list shows (any process)."""
        return int(self._read("SELECT value FROM meta WHERE key = 'seq'")[0][0])

    def data_version(self) -> int:
        """SQLite's `data_version`: changes when another connection commits. Very cheap."""
        return int(self._read("PRAGMA data_version")[0][0])

    def changed_since(self, token: int) -> Changes:
        """Rows added or changed and ids removed after `token` (from `change_token` or here).

        A token from another database (larger than this one's) returns every row, so a view
        that held a token across a recovery resynchronises instead of missing rows.
        """

        def read(conn: sqlite3.Connection) -> Changes:
            current = int(conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0])
            since = token if 0 <= token <= current else -1
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM tasks WHERE seq > ? "  # noqa: S608
                "ORDER BY seq, rowid",
                (since,),
            ).fetchall()
            removed = conn.execute(
                "SELECT id FROM removed WHERE seq > ? ORDER BY seq", (since,)
            ).fetchall()
            return Changes(
                rows=[_row_to_task(row) for row in rows],
                removed=[row[0] for row in removed],
                token=current,
            )

        return self._snapshot(read)

    # -- writing ---------------------------------------------------------------------------

    def add(
        self,
        ids: Iterable[str],
        label: str | None = None,
        now: float | None = None,
        *,
        wait: float | None = None,
    ) -> list[str]:
        """Track these ids; returns those that were not tracked yet (in the given order).

        `label` applies to the newly added ids only; `set_label` changes existing ones.
        `wait` (every write takes it): the longest wait for another process's write, in
        seconds, instead of `BUSY_TIMEOUT` (the UI waits briefly and retries, so its own
        reads never queue behind a long wait).
        """
        wanted = _unique(ids)
        stamp = time.time() if now is None else now

        def write(conn: sqlite3.Connection) -> list[str]:
            existing = self._existing(conn, wanted)
            new = [task_id for task_id in wanted if task_id not in existing]
            if not new:
                return []
            seq = _next_seq(conn)
            conn.executemany(
                "INSERT INTO tasks (id, label, first_seen, state, updated_at, seq) "
                "VALUES (?, ?, ?, 'pending', ?, ?)",
                [(task_id, label, stamp, stamp, seq) for task_id in new],
            )
            conn.executemany("DELETE FROM removed WHERE id = ?", [(i,) for i in new])
            return new

        return self._write(write, wait)

    def remove(
        self, ids: Iterable[str], now: float | None = None, *, wait: float | None = None
    ) -> list[str]:
        """Stop tracking these ids; returns those that were tracked."""
        wanted = _unique(ids)
        stamp = time.time() if now is None else now

        def write(conn: sqlite3.Connection) -> list[str]:
            existing = self._existing(conn, wanted)
            gone = [task_id for task_id in wanted if task_id in existing]
            if not gone:
                return []
            seq = _next_seq(conn)
            conn.executemany("DELETE FROM tasks WHERE id = ?", [(i,) for i in gone])
            conn.executemany(
                "INSERT OR REPLACE INTO removed (id, seq, removed_at) VALUES (?, ?, ?)",
                [(task_id, seq, stamp) for task_id in gone],
            )
            return gone

        return self._write(write, wait)

    def set_label(
        self,
        task_id: str,
        label: str | None,
        now: float | None = None,
        *,
        wait: float | None = None,
    ) -> bool:
        """Set (or clear, with None or "") a task's label; False if the id is not tracked."""
        stamp = time.time() if now is None else now
        value = label if label else None

        def write(conn: sqlite3.Connection) -> bool:
            normalized = _normalize(task_id)
            if not self._existing(conn, [normalized]):
                return False
            conn.execute(
                "UPDATE tasks SET label = ?, updated_at = ?, seq = ? WHERE id = ?",
                (value, stamp, _next_seq(conn), normalized),
            )
            return True

        return self._write(write, wait)

    def apply(
        self,
        tasks: Iterable[Task],
        errors: Mapping[str, str],
        now: float,
        *,
        wait: float | None = None,
    ) -> list[TrackedTask]:
        """Record one refresh in ONE transaction; returns the rows whose state or raw changed.

        A task answered by the service replaces the stored record and clears `last_error`.
        A not-found answer sets the state but keeps the last good record. An id in `errors`
        (its state is unknown: the request failed) only gets `last_error`; its record and
        state stay as they were. Ids that are not tracked (removed meanwhile) are ignored.
        """
        answered: dict[str, Task] = {}
        for task in tasks:
            answered[_normalize(task.id)] = task
        failed = {
            _normalize(task_id): message
            for task_id, message in errors.items()
            if _normalize(task_id) not in answered
        }
        wanted = list(answered) + list(failed)
        if not wanted:
            return []

        def write(conn: sqlite3.Connection) -> list[TrackedTask]:
            current = self._rows(conn, wanted)
            if not current:
                return []
            seq = _peek_seq(conn) + 1
            changed: list[TrackedTask] = []
            full_updates: list[tuple[Any, ...]] = []
            refreshed: list[tuple[Any, ...]] = []
            error_updates: list[tuple[Any, ...]] = []
            bumped = False
            for task_id, task in answered.items():
                row = current.get(task_id)
                if row is None:
                    continue
                old_state, old_json = _state(row[4]), row[5]
                if task.raw is None:
                    new_json = old_json
                    derived = _derived_from_row(row)
                else:
                    new_json = _dump(task.raw)
                    if new_json != old_json and _same_record(old_json, task.raw):
                        new_json = old_json  # only the key order moved: not a change
                    derived = _derived(task.raw) if new_json != old_json else _derived_from_row(row)
                error = task.error if task.state.is_finished else None
                if task.state is TaskState.NOT_FOUND:
                    error = extract_error(None)
                if task.state is not old_state or new_json != old_json:
                    full_updates.append(
                        (
                            task.state.value,
                            new_json,
                            now,
                            now,
                            seq,
                            *_list_columns(derived, error),
                            derived["progress"],
                            task_id,
                        )
                    )
                    changed.append(
                        TrackedTask(
                            task_id,
                            row[1],
                            row[2],
                            now,
                            task.state,
                            # Parsed again only if read: a cycle's changes travel as text
                            # (~2 KB each), not as parsed records (several times that).
                            _MISSING,
                            None,
                            raw_json=new_json,
                            updated_at=now,
                            seq=seq,
                            image_count=derived["image_count"],
                            prompt=derived["prompt"],
                            model=derived["model"],
                            action=derived["action"],
                            created_at=derived["created_at"],
                            started_at=derived["started_at"],
                            finished_at=derived["finished_at"],
                            error_code=error.code if error else None,
                            error_message=error.message if error else None,
                            progress=derived["progress"],
                        )
                    )
                else:
                    # Same answer again: only the refresh time moves (and a cleared error,
                    # which is visible, so it gets the new seq).
                    refreshed.append((now, seq if row[6] is not None else row[9], task_id))
                    bumped = bumped or row[6] is not None
            for task_id, message in failed.items():
                row = current.get(task_id)
                if row is None:
                    continue
                text = str(message) or "refresh failed"
                error_updates.append((text, now, seq if text != row[6] else row[9], task_id))
                bumped = bumped or text != row[6]
            if full_updates:
                conn.executemany(
                    "UPDATE tasks SET state = ?, raw_json = ?, last_refreshed = ?, "
                    "updated_at = ?, seq = ?, prompt = ?, model = ?, action = ?, "
                    "image_count = ?, created_at = ?, started_at = ?, finished_at = ?, "
                    "error_code = ?, error_message = ?, progress = ?, last_error = NULL, "
                    "last_error_at = NULL WHERE id = ?",
                    full_updates,
                )
            if refreshed:
                conn.executemany(
                    "UPDATE tasks SET last_refreshed = ?, seq = ?, last_error = NULL, "
                    "last_error_at = NULL WHERE id = ?",
                    refreshed,
                )
            if error_updates:
                conn.executemany(
                    "UPDATE tasks SET last_error = ?, last_error_at = ?, seq = ? WHERE id = ?",
                    error_updates,
                )
            if bumped or full_updates:
                conn.execute("UPDATE meta SET value = ? WHERE key = 'seq'", (seq,))
            return changed

        return self._write(write, wait)

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                with suppress(sqlite3.Error):
                    conn.close()
        with self._scan_lock:
            if self._scan_conn is not None:
                scan, self._scan_conn = self._scan_conn, None
                with suppress(sqlite3.Error):
                    scan.close()
        if self._open_lock is not None:
            lock, self._open_lock = self._open_lock, None
            lock.release()

    @property
    def closed(self) -> bool:
        return self._conn is None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}{', closed' if self.closed else ''})"

    # -- internals -------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"The task database {self.path} is closed.", path=self.path)
        return self._conn

    @contextmanager
    def _scanning(self) -> Iterator[sqlite3.Connection]:
        """The scan connection (opened on first use), for one whole-list read at a time."""
        with self._scan_lock, translated(self.path):
            self._connection()  # raises once the store is closed
            if self._scan_conn is None:
                scan = sqlite3.connect(
                    self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
                )
                scan.execute("PRAGMA query_only = 1")
                # Scans read each page once: a small page cache (the default is 2 MB).
                scan.execute("PRAGMA cache_size = -256")
                self._scan_conn = scan
            yield self._scan_conn

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock, translated(self.path):
            return self._connection().execute(sql, params).fetchall()

    def _read_rows(
        self,
        sql: str,
        params: Sequence[Any],
        build: Callable[[Sequence[Any]], TrackedTask],
    ) -> list[TrackedTask]:
        """Rows built as they come from the cursor: no list of every tuple (about 10 MB at
        50,000 tasks) alongside the list of tasks."""
        with self._lock, translated(self.path):
            return [build(row) for row in self._connection().execute(sql, params)]

    def _snapshot(self, read: Callable[[sqlite3.Connection], _T]) -> _T:
        """Several reads that must agree with each other: one read transaction."""
        with self._lock, translated(self.path):
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                return read(conn)
            finally:
                conn.execute("COMMIT")

    def _write(self, write: Callable[[sqlite3.Connection], _T], wait: float | None = None) -> _T:
        """One write transaction; `BEGIN IMMEDIATE` so waiting for another writer uses the
        busy timeout (or `wait` seconds) instead of failing on a read-to-write upgrade."""
        with self._lock, translated(self.path):
            conn = self._connection()
            if wait is None:
                conn.execute("BEGIN IMMEDIATE")
            else:
                conn.execute(f"PRAGMA busy_timeout = {max(0, int(wait * 1000))}")
                try:
                    conn.execute("BEGIN IMMEDIATE")
                finally:
                    conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            try:
                result = write(conn)
                # A COMMIT can fail too (a full disk): the transaction is then still open.
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
            return result

    @staticmethod
    def _existing(conn: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            found.update(
                row[0]
                for row in conn.execute(
                    f"SELECT id FROM tasks WHERE id IN ({marks})",  # noqa: S608
                    tuple(chunk),
                )
            )
        return found

    @staticmethod
    def _rows(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, Sequence[Any]]:
        found: dict[str, Sequence[Any]] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(
                f"SELECT {_COLUMNS} FROM tasks WHERE id IN ({marks})",  # noqa: S608
                tuple(chunk),
            ):
                found[row[0]] = row
        return found


def _derived_from_row(row: Sequence[Any]) -> dict[str, Any]:
    return {
        "prompt": row[10],
        "model": row[11],
        "action": row[12],
        "image_count": row[13],
        "created_at": row[14],
        "started_at": row[15],
        "finished_at": row[16],
        "progress": row[19],
    }


def _peek_seq(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0])


def _next_seq(conn: sqlite3.Connection) -> int:
    """Take the next change number (inside the caller's write transaction)."""
    seq = _peek_seq(conn) + 1
    conn.execute("UPDATE meta SET value = ? WHERE key = 'seq'", (seq,))
    return seq


# -- opening, checking, migrating ------------------------------------------------------------


#: How many times SQLite is asked before a file counts as damaged, and the pause before each
#: new question: a verdict that changes between questions came from a file in motion.
_JUDGE_PAUSES = (0.05, 0.15, 0.4)


def _judged_connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """`_connect`, with a damage verdict asked again (a file another process is writing can
    look damaged to one read and be fine the next)."""
    for pause in _JUDGE_PAUSES:
        try:
            return _connect(path, busy_timeout)
        except StoreCorruptError:
            time.sleep(pause)
    try:
        return _connect(path, busy_timeout)
    except StoreCorruptError as exc:
        detail = truncation(path)
        if detail is None:
            raise
        raise corrupt(path, f"{exc.reason}; {detail}") from exc


def _check(path: Path, busy_timeout: float) -> None:
    """SQLite's own verdict, before anything writes: `quick_check` walks every b-tree page
    (through the WAL, in one read transaction), so a truncated or scribbled file fails here
    rather than in the middle of a refresh. The connection is read-only: closing it never
    checkpoints into, or deletes the WAL of, a file that may be damaged."""
    uri = Path(os.path.abspath(path)).as_uri() + "?mode=ro"
    judge = sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None)
    try:
        problems = [row[0] for row in judge.execute("PRAGMA quick_check(3)")]
    finally:
        judge.close()
    if problems != ["ok"]:
        raise corrupt(path, "; ".join(str(p) for p in problems))


def _connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    ensure_file(path)
    with translated(path):
        _check(path, busy_timeout)
        conn = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            # WAL + FULL: the WAL is synced at every commit, so what a write returned (and
            # `nbtui add` reported) survives a crash, a power cut or a checkpoint that a
            # full disk stopped half-way (the WAL keeps every page until one completes).
            conn.execute("PRAGMA synchronous = FULL")
            _migrate(conn, path)
            _rederive(conn, time.time())
            conn.execute(_NEWEST_INDEX)
        except BaseException:
            conn.close()
            raise
    return conn


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema to SCHEMA_VERSION in one transaction (safe if two processes race)."""
    if int(conn.execute("PRAGMA user_version").fetchone()[0]) == SCHEMA_VERSION:
        return  # the usual case: no write lock needed just to open
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"The task database {path} was written by a newer nbtui (schema "
                f"{version}, this one knows {SCHEMA_VERSION}); upgrade nbtui to use it.",
                path=path,
            )
        initial = version
        if version == 0:
            tables = {
                row[0]
                for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if tables:
                raise StoreError(
                    f"The file {path} is an SQLite database but not nbtui's (it has the "
                    f"tables {', '.join(sorted(tables))}); move it away or choose another "
                    "data dir.",
                    path=path,
                )
            conn.execute(_SCHEMA_V1)
            version = 1
        if version == 1:
            _migrate_v1_to_v2(conn)
            version = 2
        if version != initial:
            conn.execute(f"PRAGMA user_version = {version}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _migrate_v1_to_v2(conn: sqlite3.Connection) -> None:
    """Add the list columns, the change sequence and the removal log; fill them in from
    each stored record, so an upgraded store lists exactly what it did before."""
    for name, decl in _V2_COLUMNS:
        conn.execute(f"ALTER TABLE tasks ADD COLUMN {name} {decl}")
    for statement in _V2_EXTRA.split(";"):
        if statement.strip():
            conn.execute(statement)
    updates: list[tuple[Any, ...]] = []
    for task_id, state, raw_json, last_refreshed, first_seen in conn.execute(
        "SELECT id, state, raw_json, last_refreshed, first_seen FROM tasks"
    ).fetchall():
        raw: Any = None
        if raw_json is not None:
            try:
                raw = json.loads(raw_json)
            except ValueError:
                raw = None
        raw = raw if isinstance(raw, dict) else None
        derived = _derived(raw)
        known = state in {member.value for member in TaskState}
        stored_state = TaskState(state) if known else derive_state(raw)
        error = extract_error(raw) if raw is not None else None
        if stored_state is TaskState.NOT_FOUND:
            error = extract_error(None)
        updates.append(
            (
                stored_state.value,
                last_refreshed if last_refreshed is not None else first_seen,
                *_list_columns(derived, error),
                task_id,
            )
        )
    conn.executemany(
        "UPDATE tasks SET state = ?, updated_at = ?, seq = 1, prompt = ?, model = ?, "
        "action = ?, image_count = ?, created_at = ?, started_at = ?, finished_at = ?, "
        "error_code = ?, error_message = ? WHERE id = ?",
        updates,
    )
    conn.execute("UPDATE meta SET value = 1 WHERE key = 'seq'")


def _rules_stamp(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'rules'").fetchone()
    return int(row[0]) if row is not None else 0


def _rederive(conn: sqlite3.Connection, now: float) -> None:
    """Bring a store stamped with older rules up to `RULES_VERSION` in one transaction.

    Every row with a record gets its state, list columns and error again from that record;
    a "not found" answer is kept (it comes from the batch, not from the record). Rows that
    change get a new `seq`, so another process's list picks them up; a row that becomes
    unfinished is polled again, as `unfinished_ids` reads the state column.
    """
    if _rules_stamp(conn) >= RULES_VERSION:
        return  # the usual case: no write lock needed just to open
    conn.execute("BEGIN IMMEDIATE")
    try:
        if _rules_stamp(conn) < RULES_VERSION:  # else another process did it meanwhile
            columns = {row[1] for row in conn.execute("PRAGMA table_info(tasks)")}
            if "progress" not in columns:
                conn.execute("ALTER TABLE tasks ADD COLUMN progress INTEGER")
            seq = _peek_seq(conn) + 1
            updates: list[tuple[Any, ...]] = []
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM tasks WHERE raw_json IS NOT NULL"  # noqa: S608
            ).fetchall()
            for row in rows:
                try:
                    raw = json.loads(row[5])
                except ValueError:
                    continue
                if not isinstance(raw, dict):
                    continue
                state = _state(row[4])
                if state is TaskState.NOT_FOUND:
                    error = extract_error(None)
                else:
                    state = derive_state(raw)
                    # Only a failed task has an error: one pass over the record for the rest.
                    error = extract_error(raw) if state is TaskState.FAILED else None
                derived = _derived(raw)
                new = (state.value, *_list_columns(derived, error), derived["progress"])
                if new != (row[4], *row[10:20]):
                    updates.append((*new, now, seq, row[0]))
            conn.executemany(
                "UPDATE tasks SET state = ?, prompt = ?, model = ?, action = ?, "
                "image_count = ?, created_at = ?, started_at = ?, finished_at = ?, "
                "error_code = ?, error_message = ?, progress = ?, updated_at = ?, seq = ? "
                "WHERE id = ?",
                updates,
            )
            if updates:
                conn.execute("UPDATE meta SET value = ? WHERE key = 'seq'", (seq,))
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('rules', ?)", (RULES_VERSION,)
            )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
