"""Untracking: a few statements whatever the number of ids (they go in as one JSON array).

Untracking 50,000 tasks one statement per id took seconds (each row leaves eight b-trees);
when every tracked task goes the tables are emptied at once (SQLite drops their pages), and
otherwise one `DELETE` runs with a page cache big enough not to spill half-way. The removal
log (`removed`) is written in one `INSERT ... SELECT`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from nbtui.tracking.schema import next_seq

__all__ = ["remove_tracked"]

_COUNT = "SELECT count(*) FROM tasks"
_TRACKED = "SELECT id FROM tasks WHERE id IN (SELECT value FROM json_each(?))"
_DELETE = "DELETE FROM tasks WHERE id IN (SELECT value FROM json_each(?))"
#: `DELETE ... RETURNING` came with SQLite 3.35 (2021); older ones read the ids first.
_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)
#: KiB of page cache for a write of many rows (a 50,000-task untrack touches ~60 MB).
_ROOMY_CACHE_KB = 65536
#: Fewer rows than this are removed with the page cache as it is.
_MANY = 500


def remove_tracked(conn: sqlite3.Connection, wanted: Sequence[str], stamp: float) -> list[str]:
    """Untrack the tracked ones of these (normalized, unique) ids in the caller's write
    transaction; returns them in the given order, logged in `removed` with a new `seq`
    so other processes' lists drop them (`Store.changed_since`)."""
    listed = json.dumps(wanted)
    if _untrack_every(conn, listed, len(wanted)):
        # Every id given was tracked (and every tracked one was given): all of them went.
        removed, logged = list(wanted), listed
    else:
        with _roomy_cache(conn, len(wanted)):
            if _RETURNING:
                found = conn.execute(f"{_DELETE} RETURNING id", (listed,)).fetchall()
            else:
                found = conn.execute(_TRACKED, (listed,)).fetchall()
                conn.execute(_DELETE, (listed,))
        gone = {task_id for (task_id,) in found}
        if not gone:
            return []
        conn.execute(
            "DELETE FROM task_labels WHERE task_id IN (SELECT value FROM json_each(?))",
            (listed,),
        )
        removed = [task_id for task_id in wanted if task_id in gone]
        logged = json.dumps(removed)
    conn.execute(
        "INSERT OR REPLACE INTO removed (id, seq, removed_at) SELECT value, ?, ? FROM json_each(?)",
        (next_seq(conn), stamp, logged),
    )
    return removed


def _untrack_every(conn: sqlite3.Connection, listed: str, given: int) -> bool:
    """When the `given` ids (`listed`, a JSON array of unique ids) are exactly the tracked
    tasks, empty the tables at once (SQLite drops their pages instead of deleting row by row
    from each index) and say so; else touch nothing. Counted in SQL: reading 50,000 ids into
    Python sets took longer than the check, and made garbage the collector then walked."""
    total = int(conn.execute(_COUNT).fetchone()[0])
    if total == 0 or total != given:
        return False
    covered = conn.execute(
        "SELECT count(*) FROM json_each(?) WHERE value IN (SELECT id FROM tasks)", (listed,)
    ).fetchone()[0]
    if covered != total:
        return False
    conn.execute("DELETE FROM tasks")
    conn.execute("DELETE FROM task_labels")
    return True


@contextmanager
def _roomy_cache(conn: sqlite3.Connection, rows: int) -> Iterator[None]:
    """A page cache big enough for a write of many rows (each touches every index),
    so it does not spill pages to the WAL half-way; back to its size after."""
    if rows <= _MANY:
        yield
        return
    size = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = -{_ROOMY_CACHE_KB}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA cache_size = {int(size)}")
