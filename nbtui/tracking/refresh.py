"""One refresh written: what the service's answers change in the stored rows.

`Store.apply` runs `apply_answers` in its write transaction. The rules: an answered task
replaces the stored record and clears `last_error`; a not-found answer sets the state but
keeps the last good record; a failed request only sets `last_error`; ids no longer tracked
are ignored; a record whose keys only moved is not a change. Rows a list shows differently
get a new `seq` (`Store.changed_since`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from nbtui.api.state import Task, TaskState, extract_error
from nbtui.tracking.rows import (
    COLUMNS,
    StoredRow,
    TrackedTask,
    dump,
    list_columns,
    same_record,
    state_of,
)
from nbtui.tracking.schema import peek_seq

__all__ = ["apply_answers"]


def _rows(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, StoredRow]:
    """The stored rows of these ids (untracked ones left out), in one query."""
    sql = f"SELECT {COLUMNS} FROM tasks WHERE id IN (SELECT value FROM json_each(?))"  # noqa: S608
    found: dict[str, StoredRow] = {}
    for row in conn.execute(sql, (json.dumps(list(ids)),)):
        stored = StoredRow._make(row)
        found[stored.id] = stored
    return found


def apply_answers(
    conn: sqlite3.Connection, answered: Mapping[str, Task], failed: Mapping[str, str], now: float
) -> list[TrackedTask]:
    """Write one refresh (ids normalized, none in both); returns the
    rows whose state or record changed."""
    current = _rows(conn, [*answered, *failed])
    if not current:
        return []
    seq = peek_seq(conn) + 1
    changed: list[TrackedTask] = []
    full_updates: list[tuple[Any, ...]] = []
    refreshed: list[tuple[Any, ...]] = []
    error_updates: list[tuple[Any, ...]] = []
    bumped = False
    for task_id, task in answered.items():
        row = current.get(task_id)
        if row is None:
            continue
        old_json = row.raw_json
        if task.raw is None:
            new_json = old_json
            columns = row.list_columns()
        else:
            new_json = dump(task.raw)
            if new_json != old_json and same_record(old_json, task.raw):
                new_json = old_json  # only the key order moved: not a change
            columns = list_columns(task.raw) if new_json != old_json else row.list_columns()
        error = task.error if task.state.is_finished else None
        if task.state is TaskState.NOT_FOUND:
            error = extract_error(None)
        if task.state is not state_of(row.state) or new_json != old_json:
            full_updates.append(
                (
                    task.state.value,
                    new_json,
                    now,
                    now,
                    seq,
                    *columns.sql(error),
                    columns.progress,
                    task_id,
                )
            )
            changed.append(
                TrackedTask.refreshed(row, task.state, new_json, columns, error, now, seq)
            )
        else:
            # Same answer again: only the refresh time moves (and a cleared error,
            # which is visible, so it gets the new seq).
            cleared = row.last_error is not None
            refreshed.append((now, seq if cleared else row.seq, task_id))
            bumped = bumped or cleared
    for task_id, message in failed.items():
        row = current.get(task_id)
        if row is None:
            continue
        text = str(message) or "refresh failed"
        shown = text != row.last_error
        error_updates.append((text, now, seq if shown else row.seq, task_id))
        bumped = bumped or shown
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
