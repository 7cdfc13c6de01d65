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
  unless the caller asks for recovery, which keeps the bad file as `tasks.db.corrupt-<time>`.

This module holds `Store`: the connections, the locking, the transactions, and the queries
and writes of tracking (add, remove, the change feed). The rest lives beside it:
`schema.py` (tables, migrations, the rules re-derive), `dbfile.py` (the file itself: judging
damage, the open lock, keeping a file aside, errors in words), `rows.py` (records to list
columns, and the named rows every read returns), `listing.py` (the list's SQL: filters and
sort orders), `labeling.py` (labels read, counted and changed), `refresh.py` (what one
refresh's answers write) and `removal.py` (untracking, however many at once).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from nbtui.api.state import Task, TaskState
from nbtui.tracking.dbfile import (
    DB_NAME,
    OpenLock,
    Recovery,
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    StoreFullError,
    acknowledge_notice,
    connect,
    judged_connect,
    keep_aside,
    make_private_dir,
    pending_notice,
    preflight,
    scan_connection,
    translated,
)
from nbtui.tracking.labeling import all_labels, change_labels, label_counts, read_labels
from nbtui.tracking.labels import LabelError, display_labels, normalize_label, split_labels
from nbtui.tracking.listing import ListOrder, add_functions, condition, order_sql
from nbtui.tracking.query import Compiled
from nbtui.tracking.refresh import apply_answers
from nbtui.tracking.removal import remove_tracked
from nbtui.tracking.rows import (
    COLUMNS,
    LISTING_COLUMNS,
    TaskRow,
    TrackedTask,
    listed_row,
    state_of,
    task_from_row,
)
from nbtui.tracking.schema import _SCHEMA_V1 as _SCHEMA_V1  # the first schema, for tests
from nbtui.tracking.schema import SCHEMA_VERSION, next_seq, peek_seq, prepare

__all__ = [
    "BUSY_TIMEOUT",
    "DB_NAME",
    "SCHEMA_VERSION",
    "Changes",
    "LabelError",
    "ListOrder",
    "Recovery",
    "Store",
    "StoreBusyError",
    "StoreCorruptError",
    "StoreError",
    "StoreFullError",
    "TaskRow",
    "TrackedTask",
]

#: Seconds a write waits for another process's write to finish before giving up.
BUSY_TIMEOUT = 10.0
#: SQLite's historical limit on bound parameters is 999; stay well below it.
_CHUNK = 500
_COUNT = "SELECT count(*) FROM tasks"

_T = TypeVar("_T")
_UNFINISHED = tuple(state.value for state in TaskState if not state.is_finished)


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed since a token: rows added or changed, ids removed, and the next token."""

    rows: list[TrackedTask]
    removed: list[str]
    token: int

    def __bool__(self) -> bool:
        return bool(self.rows or self.removed)


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
            return cls(judged_connect(path, busy_timeout, prepare), path, lock=lock)
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
                return cls(connect(path, busy_timeout, prepare), path, lock=lock)
            except StoreCorruptError as again:
                recovery = keep_aside(path, clock(), again.reason)
            return cls(
                judged_connect(path, busy_timeout, prepare), path, recovered=recovery, lock=lock
            )
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

    def all(self, where: Compiled | None = None) -> list[TrackedTask]:
        """Every tracked task (or those a filter lets through: `query.compile_query`),
        newest `first_seen` first (a pasted batch keeps its order)."""
        matching, params = condition(where)
        return self._read_tasks(
            f"SELECT {COLUMNS} FROM tasks WHERE {matching} "  # noqa: S608
            "ORDER BY first_seen DESC, rowid ASC",
            params,
            where,
        )

    def listing(self, rowids: Sequence[int]) -> list[TaskRow]:
        """The list rows of these `rowids` (in no particular order; unknown ones left out):
        the window of the list about to be drawn."""
        sql = f"SELECT {LISTING_COLUMNS} FROM tasks"  # noqa: S608
        rows: list[TaskRow] = []
        with self._lock, translated(self.path):
            conn = self._connection()
            for chunk in _chunks(list(rowids)):
                marks = ",".join("?" * len(chunk))
                found = conn.execute(f"{sql} WHERE rowid IN ({marks})", tuple(chunk))
                rows += [listed_row(*row) for row in found]
        return rows

    def scan_listing(
        self, pick: Callable[[TaskRow], _T | None], where: Compiled | None = None
    ) -> list[_T]:
        """What `pick` makes of every task's list row (of those `where` lets through),
        leaving out None, read in one pass on the scan connection (a sort SQL cannot do).

        Each row is handed to `pick` as it is read and then dropped: memory is only what
        `pick` keeps (a sort key and a rowid, not 50,000 rows).
        """
        matching, params = condition(where)
        sql = f"SELECT {LISTING_COLUMNS} FROM tasks WHERE {matching}"  # noqa: S608
        with self._scanning(where) as scan:
            picked = (pick(listed_row(*row)) for row in scan.execute(sql, params))
            return [value for value in picked if value is not None]

    def ordered_rowids(
        self,
        by: ListOrder,
        *,
        descending: bool,
        state_rank: Mapping[TaskState, int] | None = None,
        limit: int | None = None,
        where: Compiled | None = None,
    ) -> array[int]:
        """Every task's rowid (or those `where` lets through) in list order: by one column,
        ties by id ascending.

        Nothing but the rowids (8 bytes each) is built; newest first comes from an index.
        `state_rank` orders the states for `by="state"` (unknown states rank as pending).
        """
        sql, params = order_sql(
            by, descending=descending, state_rank=state_rank, limit=limit, where=where
        )
        with self._scanning(where) as scan:
            return array("q", (row[0] for row in scan.execute(sql, params)))

    def tasks_at(self, rowids: Sequence[int]) -> list[TrackedTask]:
        """The tasks of these rowids, in the order given (unknown ones left out): what the
        list shows, for an export."""
        found: dict[int, TrackedTask] = {}
        sql = f"SELECT rowid, {COLUMNS} FROM tasks WHERE rowid IN "  # noqa: S608
        with self._lock, translated(self.path):
            conn = self._connection()
            for chunk in _chunks(list(rowids)):
                marks = ",".join("?" * len(chunk))
                for row in conn.execute(f"{sql}({marks})", tuple(chunk)):
                    found[row[0]] = task_from_row(row[1:])
        return [found[rowid] for rowid in rowids if rowid in found]

    def rowid_of(self, task_id: str) -> int | None:
        """The rowid the list knows a task by (None: not tracked)."""
        found = self._column("SELECT rowid FROM tasks WHERE id = ?", (task_id,))
        return int(found[0]) if found else None

    def state_counts(self) -> dict[TaskState, int]:
        """How many tracked tasks are in each state (from an index, whatever the total)."""
        counts: dict[TaskState, int] = {}
        with self._scanning() as scan:
            rows = scan.execute("SELECT state, count(*) FROM tasks GROUP BY state").fetchall()
        for state, count in rows:
            key = state_of(state)
            counts[key] = counts.get(key, 0) + int(count)
        return counts

    def unfinished_states(self) -> dict[str, TaskState]:
        """The unfinished tasks' ids and states: what the monitor watches (no records, no
        rows, and nothing for the finished ones, which at 50,000 tasks cost 6 MB as a map)."""
        marks = ",".join("?" * len(_UNFINISHED))
        sql = f"SELECT id, state FROM tasks WHERE state IN ({marks})"  # noqa: S608
        with self._lock, translated(self.path):
            rows = self._connection().execute(sql, _UNFINISHED)
            return {task_id: state_of(state) for task_id, state in rows}

    def unanswered_ids(self) -> list[str]:
        """Tracked tasks the service never answered (a refresh has not reached them yet)."""
        return self._column("SELECT id FROM tasks WHERE last_refreshed IS NULL")

    def get(self, task_id: str) -> TrackedTask | None:
        found = self._read_tasks(
            f"SELECT {COLUMNS} FROM tasks WHERE id = ?",  # noqa: S608
            (_normalize(task_id),),
        )
        return found[0] if found else None

    def ids(self) -> list[str]:
        return self._column("SELECT id FROM tasks ORDER BY first_seen, rowid")

    def ids_at(self, rowids: Sequence[int]) -> list[tuple[str, int]]:
        """(id, rowid) of these rowids, in the same order (unknown ones left out): marking
        every task a filter shows reads their ids in one query, whatever their number."""
        if not rowids:
            return []
        sql = "SELECT rowid, id FROM tasks WHERE rowid IN (SELECT value FROM json_each(?))"
        with self._scanning() as scan:
            found = dict(scan.execute(sql, (json.dumps(list(rowids)),)).fetchall())
        return [(found[rowid], rowid) for rowid in rowids if rowid in found]

    def label_counts(self, ids: Iterable[str]) -> dict[str, int]:
        """The labels of these tasks and how many of them carry each (one query)."""
        with self._lock, translated(self.path):
            return label_counts(self._connection(), _unique(ids))

    def tracked_among(self, ids: Iterable[str]) -> set[str]:
        """Which of `ids` are tracked: a refresh asked for by id checks only those, instead
        of reading every id (tens of thousands) each cycle."""
        wanted = list(dict.fromkeys(ids))
        if len(wanted) > _CHUNK and len(wanted) * 4 >= self._column(_COUNT)[0]:
            # A good part of them all (every marked task): one pass over the id index
            # beats a lookup per id (0.1 s instead of 0.35 s at 50,000).
            return set(wanted).intersection(self._column("SELECT id FROM tasks"))
        found: set[str] = set()
        for chunk in _chunks(wanted):
            marks = ",".join("?" * len(chunk))
            found.update(
                self._column(f"SELECT id FROM tasks WHERE id IN ({marks})", chunk)  # noqa: S608
            )
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
        return self._column(
            f"SELECT id FROM tasks WHERE {where} ORDER BY first_seen, rowid",  # noqa: S608
            params,
        )

    # -- noticing other processes' writes --------------------------------------------------

    def change_token(self) -> int:
        """A number that grows with every write that changes what a list shows (any process)."""
        with self._lock, translated(self.path):
            return peek_seq(self._connection())

    def changed_since(self, token: int) -> Changes:
        """Rows added or changed and ids removed after `token` (from `change_token` or here).

        A token from another database (larger than this one's) returns every row, so a view
        that held a token across a recovery resynchronises instead of missing rows.
        """

        def read(conn: sqlite3.Connection) -> Changes:
            current = peek_seq(conn)
            since = token if 0 <= token <= current else -1
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM tasks WHERE seq > ? "  # noqa: S608
                "ORDER BY seq, rowid",
                (since,),
            ).fetchall()
            removed = conn.execute(
                "SELECT id FROM removed WHERE seq > ? ORDER BY seq", (since,)
            ).fetchall()
            return Changes(
                rows=[task_from_row(row) for row in rows],
                removed=[task_id for (task_id,) in removed],
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
        parent_id: str | None = None,
    ) -> list[str]:
        """Track these ids; returns those that were not tracked yet (in the given order).

        `label` (one label, or several separated by commas; `LabelError` if one is not
        valid) applies to the newly added ids only; `set_labels` changes existing ones.
        `parent_id`: the task these were re-run or edited from. `wait` (every write takes
        it): the longest wait for another process's write, in seconds, instead of
        `BUSY_TIMEOUT` (the UI waits briefly and retries, so its own reads never queue
        behind a long wait).
        """
        wanted = _unique(ids)
        stamp = time.time() if now is None else now
        labels = split_labels(label) if label else []
        shown = display_labels(labels)
        parent = _normalize(parent_id) if parent_id else None

        def write(conn: sqlite3.Connection) -> list[str]:
            existing = self._existing(conn, wanted)
            new = [task_id for task_id in wanted if task_id not in existing]
            if not new:
                return []
            seq = next_seq(conn)
            conn.executemany(
                "INSERT INTO tasks (id, label, first_seen, state, updated_at, seq, parent_id) "
                "VALUES (?, ?, ?, 'pending', ?, ?, ?)",
                [(task_id, shown, stamp, stamp, seq, parent) for task_id in new],
            )
            conn.executemany("DELETE FROM removed WHERE id = ?", [(i,) for i in new])
            conn.executemany("DELETE FROM task_labels WHERE task_id = ?", [(i,) for i in new])
            conn.executemany(
                "INSERT OR IGNORE INTO task_labels (task_id, label) VALUES (?, ?)",
                [(task_id, each) for task_id in new for each in labels],
            )
            return new

        return self._write(write, wait)

    def set_labels(
        self,
        ids: Iterable[str],
        *,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
        now: float | None = None,
        wait: float | None = None,
    ) -> list[str]:
        """Add and remove labels on tracked tasks (a label in both is added); returns the
        ids whose labels changed. Labels are checked first (`LabelError`: nothing written);
        removing a label a task lacks is not an error. Untracked ids are ignored."""
        wanted = _unique(ids)
        adding = [normalize_label(label) for label in add]
        removing = [normalize_label(label) for label in remove]
        stamp = time.time() if now is None else now

        return self._write(lambda conn: change_labels(conn, wanted, adding, removing, stamp), wait)

    def labels(self, task_id: str) -> list[str]:
        """A task's labels, sorted case-insensitively (none for an untracked id)."""
        with self._lock, translated(self.path):
            return read_labels(self._connection(), _normalize(task_id))

    def all_labels(self) -> dict[str, int]:
        """Every label in use and how many tasks carry it (for completion and the help)."""
        with self._lock, translated(self.path):
            return all_labels(self._connection())

    def remove(
        self, ids: Iterable[str], now: float | None = None, *, wait: float | None = None
    ) -> list[str]:
        """Stop tracking these ids; returns those that were tracked (in the given order).

        A few statements whatever the number (the ids go in as one JSON array), so
        untracking 50,000 tasks takes a fraction of a second, not one statement per id.
        """
        wanted = _unique(ids)
        stamp = time.time() if now is None else now

        return self._write(lambda conn: remove_tracked(conn, wanted, stamp), wait)

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

        return self._write(lambda conn: apply_answers(conn, answered, failed, now), wait)

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

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}{', closed' if self._conn is None else ''})"

    # -- internals -------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"The task database {self.path} is closed.", path=self.path)
        return self._conn

    @contextmanager
    def _scanning(self, where: Compiled | None = None) -> Iterator[sqlite3.Connection]:
        """The scan connection (opened on first use), for one whole-list read at a time,
        with the SQL functions `where` calls."""
        with self._scan_lock, translated(self.path):
            self._connection()  # raises once the store is closed
            if self._scan_conn is None:
                self._scan_conn = scan_connection(self.path, BUSY_TIMEOUT)
            add_functions(self._scan_conn, where)
            yield self._scan_conn

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock, translated(self.path):
            return self._connection().execute(sql, params).fetchall()

    def _column(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """The values of a one-column SELECT."""
        return [value for (value,) in self._read(sql, params)]

    def _read_tasks(
        self, sql: str, params: Sequence[Any] = (), where: Compiled | None = None
    ) -> list[TrackedTask]:
        """Tasks of a `SELECT {COLUMNS}`, built as they come from the cursor: no list of
        every tuple (about 10 MB at 50,000 tasks) alongside the list of tasks."""
        with self._lock, translated(self.path):
            conn = self._connection()
            add_functions(conn, where)
            return [task_from_row(row) for row in conn.execute(sql, params)]

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
                task_id
                for (task_id,) in conn.execute(
                    f"SELECT id FROM tasks WHERE id IN ({marks})",  # noqa: S608
                    tuple(chunk),
                )
            )
        return found
