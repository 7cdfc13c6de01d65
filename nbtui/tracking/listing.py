"""The list's SQL: which tasks a filter lets through, and in which order.

Pure functions of their arguments (and of the connection they are handed): `Store` runs what
they build on its scan connection, so the whole-list reads (orders, filtered scans) stay in
one place and the store keeps only the locking and the connections.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from nbtui.api.state import TaskState
from nbtui.tracking.query import NEEDS_PYTHON, Compiled
from nbtui.tracking.schema import FILTER_INDEX

__all__ = ["ListOrder", "add_functions", "condition", "filtered", "order_sql"]

#: The columns `Store.ordered_rowids` can sort by in SQL.
ListOrder = Literal["created", "state", "id", "images", "updated"]

#: How `order_sql` sorts by each column (besides "state").
_ORDER_KEYS: dict[str, str] = {
    "created": "COALESCE(created_at, first_seen)",
    "id": "id",
    "images": "image_count",
    # `TaskRow.changed_at`, in SQL (the state names are the enum's own constants).
    "updated": "CASE WHEN state IN ({}) AND finished_at IS NOT NULL THEN finished_at "
    "ELSE COALESCE(updated_at, first_seen) END".format(
        ", ".join(f"'{state.value}'" for state in TaskState if state.is_finished)
    ),
}


def filtered(
    where: Compiled, columns: str, arm_params: Sequence[Any] = ()
) -> tuple[str, list[Any]]:
    """A SELECT of `columns` (whose own parameters are `arm_params`) over the tasks `where`
    lets through: two lookups in the filter index, rows SQLite matches and rows Python does
    (`query.compile_query`), each in the index's order (newest first), so a compound ORDER
    BY merges them without a sort."""
    arm = f"SELECT {columns} FROM tasks INDEXED BY {FILTER_INDEX} WHERE {NEEDS_PYTHON} = "  # noqa: S608
    sql = f"{arm}0 AND {where.plain} UNION ALL {arm}1 AND {where.other}"
    params = [*arm_params, *where.plain_params, *arm_params, *where.other_params]
    return sql, params


def condition(where: Compiled | None) -> tuple[str, list[Any]]:
    """A WHERE condition for the tasks a filter lets through (all of them without one)."""
    if where is None:
        return "1", []
    sql, params = filtered(where, "rowid")
    return f"rowid IN ({sql})", params


def add_functions(conn: sqlite3.Connection, where: Compiled | None) -> None:
    """Define the SQL functions a filter calls (Python's case folding, for text SQLite
    cannot fold) on the connection about to run it."""
    if where is not None:
        for name, (arity, function) in where.functions.items():
            conn.create_function(name, arity, function, deterministic=True)


def order_sql(
    by: ListOrder,
    *,
    descending: bool,
    state_rank: Mapping[TaskState, int] | None,
    limit: int | None,
    where: Compiled | None,
) -> tuple[str, list[Any]]:
    """The SELECT of every rowid (of those `where` lets through) in list order: by one
    column, ties by id ascending (see `Store.ordered_rowids`)."""
    key_params: list[Any] = []
    if by == "state":
        if not state_rank:
            raise ValueError("sorting by state needs a rank for each state")
        for state, rank in state_rank.items():
            key_params += [state.value, rank]
        key_params.append(state_rank.get(TaskState.PENDING, 0))
        key = f"CASE state {' '.join('WHEN ? THEN ?' for _ in state_rank)} ELSE ? END"
    else:
        key = _ORDER_KEYS[by]
    direction = "DESC" if descending else "ASC"
    if where is None:
        sql = f"SELECT rowid FROM tasks ORDER BY {key} {direction}, id ASC"  # noqa: S608
        params = key_params
    else:
        sql, params = filtered(where, f"rowid, {key}, id", key_params)
        sql += f" ORDER BY 2 {direction}, 3 ASC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(max(0, int(limit)))
    return sql, params
