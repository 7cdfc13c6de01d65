"""The store's reads for the task list: orders as rowids, list columns, states only."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from nbtui.api.models import Task, TaskState
from nbtui.tracking.store import Store, TaskRow


def new_id() -> str:
    return str(uuid.uuid4())


def finished(task_id: str, created_at: float | None, prompt: str = "a cat") -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": task_id,
        "request": {"action": "generate", "prompt": prompt, "model": "nano-banana"},
        "response": {
            "success": True,
            "task_id": task_id,
            "data": [{"prompt": prompt, "image_url": f"https://cdn.example/{task_id}.png"}],
        },
        "finished_at": 1_700_000_100.0,
    }
    if created_at is not None:
        raw["created_at"] = created_at
    return raw


def test_newest_first_orders_by_creation_then_first_seen_ties_by_id(tmp_path: Path) -> None:
    old, mid, new = new_id(), new_id(), new_id()
    twins = sorted([new_id(), new_id()])
    unanswered = new_id()
    with Store.open(tmp_path) as store:
        store.add([old, mid, new, *twins], now=1_000.0)
        store.add([unanswered], now=1_700_000_050.0)  # no record: first_seen stands in
        store.apply(
            [
                Task.from_raw(finished(old, 1_700_000_000.0)),
                Task.from_raw(finished(mid, 1_700_000_040.0)),
                Task.from_raw(finished(new, 1_700_000_090.0)),
                Task.from_raw(finished(twins[1], 1_700_000_020.0)),
                Task.from_raw(finished(twins[0], 1_700_000_020.0)),
            ],
            {},
            1_700_000_200.0,
        )
        everything = [new, unanswered, mid, *twins, old]
        by_rowid = {store.rowid_of(task): task for task in everything}

        def newest(limit: int | None = None) -> list[str]:
            order = store.ordered_rowids("created", descending=True, limit=limit)
            return [by_rowid[rowid] for rowid in order]

        assert newest() == everything
        assert newest(3) == everything[:3]
        assert newest(0) == [] and newest(-5) == []


def test_unfinished_states_lists_the_watched_ids_with_their_states(tmp_path: Path) -> None:
    done, waiting = new_id(), new_id()
    with Store.open(tmp_path) as store:
        assert store.unfinished_states() == {}
        store.add([done, waiting], now=1.0)
        store.apply([Task.from_raw(finished(done, 5.0))], {}, 10.0)
        assert store.unfinished_states() == {waiting: TaskState.PENDING}
        store.remove([waiting])
        assert store.unfinished_states() == {}


def test_unfinished_ids_can_include_recent_not_found(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "grace")
    old, new = "0b1c2d3e-4f50-4617-8899-000000000001", "0b1c2d3e-4f50-4617-8899-000000000002"
    store.add([old], now=100.0)
    store.add([new], now=200.0)
    store.apply([Task.not_found(old), Task.not_found(new)], {}, now=210.0)
    assert store.unfinished_ids() == []
    assert store.unfinished_ids(not_found_since=150.0) == [new]
    assert store.unfinished_ids(not_found_since=50.0) == [old, new]
    store.close()


def test_listing_reads_each_tasks_list_row(tmp_path: Path) -> None:
    done, waiting = new_id(), new_id()
    with Store.open(tmp_path) as store:
        store.add([done], label="mine", now=1_000.0)
        store.add([waiting], now=1_001.0)
        store.apply([Task.from_raw(finished(done, 1_700_000_000.0, "a fox"))], {}, 2_000.0)
        store.apply([], {waiting: "the service is down"}, 2_001.0)
        rows = {row.id: row for row in store.scan_listing(lambda row: row)}
        by_rowid = store.listing([store.rowid_of(waiting) or 0, 12345])
        picked = store.scan_listing(lambda row: row.id if row.label else None)
    assert [row.id for row in by_rowid] == [waiting]  # an unknown rowid is left out
    assert picked == [done]  # None is left out
    assert rows[done]._replace(rowid=0) == TaskRow(
        rowid=0,
        id=done,
        state=TaskState.SUCCEEDED,
        prompt="a fox",
        model="nano-banana",
        image_count=1,
        created_at=1_700_000_000.0,
        started_at=None,
        finished_at=1_700_000_100.0,
        last_refreshed=2_000.0,
        first_seen=1_000.0,
        label="mine",
        last_error=None,
        progress=None,
        updated_at=2_000.0,
    )
    never = rows[waiting]
    assert never.state is TaskState.PENDING and never.prompt == "" and never.model == ""
    assert never.created_at == never.first_seen == 1_001.0  # first seen stands in
    assert never.last_error == "the service is down" and never.progress is None


def test_the_list_order_comes_from_sqlite_as_rowids(tmp_path: Path) -> None:
    a, b, c = sorted(new_id() for _ in range(3))
    with Store.open(tmp_path) as store:
        store.add([a, b, c], now=1_000.0)
        store.apply(
            [Task.from_raw(finished(a, 30.0)), Task.from_raw(finished(b, 30.0))], {}, 2_000.0
        )
        rowid = {task: store.rowid_of(task) for task in (a, b, c)}
        newest = store.ordered_rowids("created", descending=True)
        assert list(newest) == [rowid[c], rowid[a], rowid[b]]  # first_seen stands in; ties by id
        assert list(store.ordered_rowids("created", descending=True, limit=1)) == [rowid[c]]
        rank = {TaskState.PENDING: 0, TaskState.SUCCEEDED: 1}
        by_state = store.ordered_rowids("state", descending=False, state_rank=rank)
        assert list(by_state) == [rowid[c], rowid[a], rowid[b]]
        assert store.state_counts() == {TaskState.SUCCEEDED: 2, TaskState.PENDING: 1}
        assert store.unanswered_ids() == [c]
        assert store.rowid_of(new_id()) is None
        # Newest first is read from an index, not sorted row by row.
        plan = store._read(
            "EXPLAIN QUERY PLAN SELECT rowid FROM tasks "
            "ORDER BY COALESCE(created_at, first_seen) DESC, id ASC"
        )
        assert any("tasks_newest" in str(step) for step in plan)
