"""The tables of `tasks.db`, their migrations, and the re-derive when the state rules change.

Schema history (`PRAGMA user_version`): v1 was the first, minimal table of tracked tasks; v2
adds the list columns, the change sequence and the removal log. `migrate` upgrades old files
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
import sqlite3
import time
from pathlib import Path
from typing import Any

from nbtui.api.state import RULES_VERSION, TaskState, derive_state, extract_error
from nbtui.tracking.dbfile import StoreError
from nbtui.tracking.labels import MAX_LABEL, display_labels, normalize_label
from nbtui.tracking.query import NEEDS_PYTHON
from nbtui.tracking.rows import COLUMNS, StoredRow, list_columns, state_of

__all__ = ["FILTER_INDEX", "SCHEMA_VERSION", "next_seq", "peek_seq", "prepare"]

SCHEMA_VERSION = 3

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

#: What the filter language (`query.py`) reads, in the list's default order: a filter scans
#: this index (about a tenth of the table, whose rows carry the records) instead of the table,
#: and newest first needs no sort. Created when missing at open, as the index above.
#: It leads with whether a task's text needs Python to be matched (`NEEDS_PYTHON`).
FILTER_INDEX = "tasks_filter"
_FILTER_INDEX = (
    f"CREATE INDEX IF NOT EXISTS {FILTER_INDEX} ON tasks ({NEEDS_PYTHON}, "
    "COALESCE(created_at, first_seen) DESC, id, state, image_count, last_refreshed, "
    "created_at, first_seen, prompt, model, label, action)"
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

#: v2 -> v3: labels (several per task, compared case-insensitively) and the task a re-run
#: came from. `tasks.label` stays, holding the labels as one line (`display_labels`), so the
#: list reads one column and a row says what it is labelled without a join.
_V3_EXTRA = """
ALTER TABLE tasks ADD COLUMN parent_id TEXT;
CREATE TABLE IF NOT EXISTS task_labels (
    task_id TEXT NOT NULL,
    label TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (task_id, label)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS task_labels_label ON task_labels (label);
"""


def prepare(conn: sqlite3.Connection, path: Path) -> None:
    """Bring a newly opened file up to date: schema, rules stamp, the list's index."""
    migrate(conn, path)
    rederive(conn, time.time())
    conn.execute(_NEWEST_INDEX)
    conn.execute(_FILTER_INDEX)


def peek_seq(conn: sqlite3.Connection) -> int:
    """The last change number handed out."""
    return int(conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0])


def next_seq(conn: sqlite3.Connection) -> int:
    """Take the next change number (inside the caller's write transaction)."""
    seq = peek_seq(conn) + 1
    conn.execute("UPDATE meta SET value = ? WHERE key = 'seq'", (seq,))
    return seq


def migrate(conn: sqlite3.Connection, path: Path) -> None:
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
                name
                for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
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
        if version == 2:
            _migrate_v2_to_v3(conn)
            version = 3
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
        known = state in {member.value for member in TaskState}
        stored_state = TaskState(state) if known else derive_state(raw)
        error = extract_error(raw) if raw is not None else None
        if stored_state is TaskState.NOT_FOUND:
            error = extract_error(None)
        updates.append(
            (
                stored_state.value,
                last_refreshed if last_refreshed is not None else first_seen,
                *list_columns(raw).sql(error),
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


def _migrate_v2_to_v3(conn: sqlite3.Connection) -> None:
    """Add the labels table and `parent_id`; each task's one free-text label becomes its
    labels (split at commas, each made valid), and the `label` column their display line."""
    for statement in _V3_EXTRA.split(";"):
        if statement.strip():
            conn.execute(statement)
    pairs: list[tuple[str, str]] = []
    shown: list[tuple[str | None, str]] = []
    for task_id, text in conn.execute("SELECT id, label FROM tasks WHERE label IS NOT NULL"):
        labels = _salvaged_labels(str(text))
        pairs.extend((task_id, label) for label in labels)
        shown.append((display_labels(labels), task_id))
    conn.executemany("INSERT OR IGNORE INTO task_labels (task_id, label) VALUES (?, ?)", pairs)
    conn.executemany("UPDATE tasks SET label = ? WHERE id = ?", shown)


def _salvaged_labels(text: str) -> list[str]:
    """The labels an old free-text label holds: each comma-separated piece, made printable
    and cut to length, so no word the user typed is lost to the new rules."""
    labels: list[str] = []
    for piece in text.split(","):
        printable = "".join(char if char.isprintable() else " " for char in piece)
        cut = " ".join(printable.split())[:MAX_LABEL].strip()
        if cut and cut.casefold() not in {label.casefold() for label in labels}:
            labels.append(normalize_label(cut))
    return labels


def _rules_stamp(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'rules'").fetchone()
    return int(row[0]) if row is not None else 0


def rederive(conn: sqlite3.Connection, now: float) -> None:
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
            found = conn.execute("SELECT name FROM pragma_table_info('tasks')")
            columns = {name for (name,) in found}
            if "progress" not in columns:
                conn.execute("ALTER TABLE tasks ADD COLUMN progress INTEGER")
            seq = peek_seq(conn) + 1
            updates = [
                (*new, now, seq, row.id)
                for row, new in _rederived(conn)
                if new != row.derived_columns()
            ]
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


def _rederived(conn: sqlite3.Connection) -> list[tuple[StoredRow, tuple[Any, ...]]]:
    """Each row with a readable record, and its columns under today's rules (in
    `StoredRow.derived_columns` order)."""
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM tasks WHERE raw_json IS NOT NULL"  # noqa: S608
    ).fetchall()
    result: list[tuple[StoredRow, tuple[Any, ...]]] = []
    for row in map(StoredRow._make, rows):
        try:
            raw = json.loads(row.raw_json or "")
        except ValueError:
            continue
        if not isinstance(raw, dict):
            continue
        state = state_of(row.state)
        if state is TaskState.NOT_FOUND:
            error = extract_error(None)
        else:
            state = derive_state(raw)
            # Only a failed task has an error: one pass over the record for the rest.
            error = extract_error(raw) if state is TaskState.FAILED else None
        derived = list_columns(raw)
        result.append((row, (state.value, *derived.sql(error), derived.progress)))
    return result
