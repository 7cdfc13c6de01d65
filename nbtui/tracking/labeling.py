"""Labels in the database: a task's labels, how many tasks carry each, changing them.

Functions of a connection that `Store` calls inside its own locking and transactions (a
change runs in the caller's write transaction). `task_labels` holds one row per label
(compared case-insensitively); `tasks.label` keeps them as one line for the list
(`display_labels`), rewritten here whenever a task's labels change.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from nbtui.tracking.labels import display_labels
from nbtui.tracking.schema import next_seq

__all__ = ["all_labels", "change_labels", "label_counts", "read_labels"]


def _sorted(labels: list[str]) -> list[str]:
    return sorted(labels, key=lambda label: (label.casefold(), label))


def read_labels(conn: sqlite3.Connection, task_id: str) -> list[str]:
    """A task's labels, sorted case-insensitively (none for an untracked id)."""
    found = conn.execute("SELECT label FROM task_labels WHERE task_id = ?", (task_id,))
    return _sorted([str(label) for (label,) in found])


def all_labels(conn: sqlite3.Connection) -> dict[str, int]:
    """Every label in use and how many tracked tasks carry it."""
    rows = conn.execute(
        "SELECT task_labels.label, count(*) FROM task_labels "
        "JOIN tasks ON tasks.id = task_labels.task_id "
        "GROUP BY task_labels.label ORDER BY task_labels.label"
    )
    return {str(label): int(count) for label, count in rows}


def label_counts(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, int]:
    """The labels of these (normalized) ids and how many of them carry each (one query)."""
    if not ids:
        return {}
    rows = conn.execute(
        "SELECT label, count(*) FROM task_labels "
        "WHERE task_id IN (SELECT value FROM json_each(?)) GROUP BY label",
        (json.dumps(list(ids)),),
    )
    counts = {str(label): int(count) for label, count in rows}
    return dict(sorted(counts.items(), key=lambda item: (item[0].casefold(), item[0])))


def change_labels(
    conn: sqlite3.Connection,
    ids: Sequence[str],
    adding: Sequence[str],
    removing: Sequence[str],
    stamp: float,
) -> list[str]:
    """Add and remove labels on the tracked ones of these (normalized) ids, inside the
    caller's write transaction; returns the ids whose labels changed, stamped with a new
    `seq` so other processes' lists pick the change up."""
    changed: list[tuple[str | None, str]] = []
    for task_id in ids:
        if conn.execute("SELECT 1 FROM tasks WHERE id = ?", (task_id,)).fetchone() is None:
            continue
        before = read_labels(conn, task_id)
        conn.executemany(
            "DELETE FROM task_labels WHERE task_id = ? AND label = ?",
            [(task_id, label) for label in removing],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO task_labels (task_id, label) VALUES (?, ?)",
            [(task_id, label) for label in adding],
        )
        after = read_labels(conn, task_id)
        if after != before:
            changed.append((display_labels(after), task_id))
    if changed:
        seq = next_seq(conn)
        conn.executemany(
            "UPDATE tasks SET label = ?, updated_at = ?, seq = ? WHERE id = ?",
            [(shown, stamp, seq, task_id) for shown, task_id in changed],
        )
    return [task_id for _, task_id in changed]
