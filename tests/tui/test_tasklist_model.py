"""The list model over a real store: orders from SQLite or Python, rows read a window at a time."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbtui.api.state import Task, TaskState
from nbtui.tracking.query import parse
from nbtui.tracking.store import Store
from nbtui.tui import tasklist_model
from nbtui.tui.tasklist_model import (
    ListView,
    SortKey,
    TaskListModel,
    TaskRow,
    compute_order,
)

NOW = 1_700_100_000.0


def every_row(store: Store) -> list[TaskRow]:
    return store.scan_listing(lambda row: row)


def task_id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def record(n: int, state: str = "succeeded", **fields: Any) -> dict[str, Any]:
    """A record in one of the API's shapes, with the creation time `n` (or as given)."""
    raw: dict[str, Any] = {
        "id": task_id(n),
        "created_at": float(n),
        "request": {"action": "generate", "prompt": f"prompt {n}", "model": "nano-banana"},
    }
    if state == "succeeded":
        raw["finished_at"] = float(n) + 5
        raw["response"] = {"success": True, "data": [{"image_url": f"https://x/{n}.png"}]}
    elif state == "failed":
        raw["finished_at"] = float(n) + 3
        raw["response"] = {"success": False, "error": {"code": "bad", "message": "no"}}
    else:
        raw["started_at"] = float(n) + 1
        raw["response"] = {"task_id": raw["id"]}  # started, no result yet (row 10)
    raw.update(fields)
    return raw


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "data") as opened:
        yield opened


def track(store: Store, *records: dict[str, Any], now: float = 1_000.0) -> None:
    store.add([raw["id"] for raw in records], now=now)
    store.apply([Task.from_raw(raw) for raw in records], {}, now + 1)


def numbers(model: TaskListModel) -> list[int]:
    return [int(shown[-12:]) for shown in model.ids()]


def test_the_first_page_then_the_whole_order(store: Store) -> None:
    track(store, *(record(n) for n in range(1, 6)))
    model = TaskListModel(lambda: NOW, store)
    first = model.compute(limit=2)
    assert not first.complete and len(first.rowids) == 2
    assert model.install(first) and numbers(model) == [5, 4] and not model.complete
    model.install(model.compute())
    assert numbers(model) == [5, 4, 3, 2, 1] and model.complete
    assert model.position(task_id(3)) == 2
    assert model.counts() == {TaskState.SUCCEEDED: 5} and model.total == 5
    # An order read for another view is not shown.
    stale = model.compute()
    model.set_sort(SortKey.CREATED, descending=False)
    assert not model.install(stale)
    model.refresh()
    assert numbers(model) == [1, 2, 3, 4, 5]


def tricky_store(store: Store) -> None:
    """Ties, an unknown state, a task never answered, odd prompts and missing times."""
    track(
        store,
        record(1, "running", created_at=50.0),
        record(2, "failed", created_at=50.0),
        record(3, created_at=10.0, request={"prompt": "Émile\tand [bold]ZOE[/bold]"}),
        record(4, "running", request={"prompt": "zebra", "model": "Nano-Banana-Pro"}),
        record(5, started_at=1.0, finished_at=500.0),
        record(6, created_at=None),
    )
    store.add([task_id(7)], now=60.0)  # never answered: first_seen stands in for creation
    store.apply([], {task_id(6): "boom"}, 2_000.0)


@pytest.mark.parametrize(("key", "descending"), list(itertools.product(SortKey, (True, False))))
def test_every_order_follows_the_rules_the_cells_are_drawn_with(
    store: Store, key: SortKey, descending: bool
) -> None:
    tricky_store(store)
    rows = every_row(store)
    reference = sorted(rows, key=lambda row: row.id)
    reference.sort(key=tasklist_model._sort_value(key, NOW), reverse=descending)
    ordered = compute_order(store, ListView(key, descending), NOW)
    assert [rows_by_rowid(rows)[r] for r in ordered.rowids] == [row.id for row in reference]


@pytest.mark.parametrize(("key", "descending"), list(itertools.product(SortKey, (True, False))))
def test_a_filtered_order_is_the_full_order_without_the_rest(
    store: Store, key: SortKey, descending: bool
) -> None:
    """Whether SQLite or Python sorts, the filter only leaves tasks out: the order of the
    rest is the order they have unfiltered."""
    tricky_store(store)
    full = compute_order(store, ListView(key, descending), NOW).rowids
    query = parse("-state:failed -zebra")
    kept = compute_order(store, ListView(key, descending, query), NOW).rowids
    rows = {row.rowid: row for row in every_row(store)}
    wanted = [
        rowid
        for rowid in full
        if rows[rowid].state is not TaskState.FAILED and "zebra" not in rows[rowid].prompt
    ]
    assert list(kept) == wanted and 0 < len(wanted) < len(full)


def rows_by_rowid(rows: list[Any]) -> dict[int, str]:
    return {row.rowid: row.id for row in rows}


def test_filtering_matches_every_word_in_id_prompt_state_or_model(store: Store) -> None:
    tricky_store(store)
    model = TaskListModel(lambda: NOW, store)
    model.set_filter("ZEBRA running")
    model.refresh()
    assert numbers(model) == [4]
    model.set_filter("émile zoe")
    model.refresh()
    assert numbers(model) == [3]
    model.set_filter("nano-banana-pro")
    model.refresh()
    assert numbers(model) == [4]
    assert all("\t" not in row.prompt + row.model for row in every_row(store))
    model.set_filter("")
    model.refresh()
    assert len(model) == 7 and model.total == 7


def test_rows_are_read_a_window_at_a_time_into_a_bounded_cache(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    track(store, *(record(n) for n in range(1, 1_201)))
    monkeypatch.setattr(tasklist_model, "_CACHE_MAX", 500)
    reads: list[int] = []
    listing, scan_listing = store.listing, store.scan_listing

    def counting(rowids: Any) -> Any:
        reads.append(len(rowids))
        return listing(rowids)

    def scanning(pick: Any) -> Any:
        reads.append(0)  # every row
        return scan_listing(pick)

    monkeypatch.setattr(store, "listing", counting)
    monkeypatch.setattr(store, "scan_listing", scanning)
    model = TaskListModel(lambda: NOW, store)
    model.refresh()
    assert reads == []  # the order needs no rows
    assert model.row_at(0).id == task_id(1_200)  # type: ignore[union-attr]
    assert reads == [200]  # one window
    assert model.row_at(150).id == task_id(1_050)  # type: ignore[union-attr]
    assert reads == [200]  # already on hand
    for index in range(0, 1_200, 37):
        assert model.row_at(index).id == task_id(1_200 - index)  # type: ignore[union-attr]
    assert len(model._cache) <= 500
    assert model.row(task_id(7)) is not None  # a row far from the window, by id


def test_changes_reach_the_rows_on_hand_and_the_order(store: Store) -> None:
    track(store, *(record(n, "running") for n in range(1, 5)))
    model = TaskListModel(lambda: NOW, store)
    model.set_sort(SortKey.STATE)
    model.refresh()
    assert model.row_at(0).state is TaskState.RUNNING  # type: ignore[union-attr]
    changed = store.apply([Task.from_raw(record(2, "failed"))], {}, 3_000.0)
    model.upsert(changed)
    model.refresh()
    assert model.rows[task_id(2)].state is TaskState.FAILED
    assert numbers(model)[-1] == 2  # failed sorts after running
    assert model.counts() == {TaskState.RUNNING: 3, TaskState.FAILED: 1}
    store.remove([task_id(1)])
    model.remove([task_id(1)])
    assert task_id(1) not in model.rows and 1 not in numbers(model)
    assert model.position(task_id(1)) is None


def test_untracked_rows_leave_at_once_and_all_of_them_empty_the_list(store: Store) -> None:
    track(store, *(record(n) for n in range(1, 6)))
    model = TaskListModel(lambda: NOW, store)
    model.refresh()
    assert numbers(model) == [5, 4, 3, 2, 1]  # every row on hand now
    store.remove([task_id(2), task_id(4)])
    model.remove(iter([task_id(2), task_id(4), "not-tracked"]))  # before any order read
    assert numbers(model) == [5, 3, 1]
    assert model.position(task_id(3)) == 1 and model.position(task_id(4)) is None
    store.remove([task_id(n) for n in (1, 3, 5)])
    model.emptied()
    assert len(model) == 0 and model.total == 0 and model.ids() == []
    assert model.row(task_id(5)) is None
    model.refresh()  # the next order read agrees
    assert len(model) == 0 and model.counts() == {}


def test_rows_answered_without_change_are_marked_refreshed(store: Store) -> None:
    track(store, *(record(n, "running") for n in (1, 2, 3)))
    model = TaskListModel(lambda: NOW, store)
    model.set_sort(SortKey.UPDATED, descending=True)
    model.refresh()
    before = numbers(model)
    assert model.rows[task_id(2)].last_refreshed == 1_001.0
    # The monitor wrote the refresh time of an unchanged answer; the app marks the row.
    assert store.apply([Task.from_raw(record(2, "running"))], {}, 3_000.0) == []
    model.mark_refreshed([task_id(2), "not-tracked"], 3_000.0)
    model.refresh()
    assert model.rows[task_id(2)].last_refreshed == 3_000.0
    assert numbers(model) == before  # polled is not changed: UPDATED's order stays
    model.mark_refreshed([task_id(2)], 2_500.0)  # an older time never goes backwards
    assert model.rows[task_id(2)].last_refreshed == 3_000.0


@pytest.mark.parametrize("terms", ["", "prompt"])  # the order from SQL, and from Python
def test_updated_is_when_the_task_last_changed(store: Store, terms: str) -> None:
    """Every task is polled at the same instant, so "since the last poll" never varies:
    UPDATED is a finished task's finish time, else when its record last changed."""
    track(store, record(1, "succeeded"), record(2, "running"), record(3, "running"))
    changed = store.apply([Task.from_raw(record(3, "running", progress=40))], {}, 3_000.0)
    assert [task.id for task in changed] == [task_id(3)]
    model = TaskListModel(lambda: NOW, store)
    model.set_filter(terms)
    model.set_sort(SortKey.UPDATED, descending=True)
    model.refresh()
    rows = model.rows
    assert rows[task_id(1)].changed_at() == 6.0  # finished at 1 + 5, as the record says
    assert rows[task_id(2)].changed_at() == 1_001.0  # first answered, unchanged since
    assert rows[task_id(3)].changed_at() == 3_000.0  # its progress moved
    assert numbers(model) == [3, 2, 1]
    model.set_sort(SortKey.UPDATED, descending=False)
    model.refresh()
    assert numbers(model) == [1, 2, 3]


def test_a_rowid_reused_by_another_process_shows_the_new_task(store: Store, tmp_path: Path) -> None:
    for n in range(1, 4):
        track(store, record(n), now=1_000.0 + n)
    model = TaskListModel(lambda: NOW, store)
    model.refresh()
    assert model.row_at(0).id == task_id(3)  # type: ignore[union-attr]
    reused = store.rowid_of(task_id(3))
    with Store.open(tmp_path / "data") as other:  # `nbtui remove`, then `nbtui add`
        other.remove([task_id(3)])
        track(other, record(9), now=5_000.0)
        assert other.rowid_of(task_id(9)) == reused  # SQLite hands the rowid out again
    model.refresh()
    assert model.row_at(0).id == task_id(9)  # type: ignore[union-attr]
    assert model.row(task_id(9)).id == task_id(9)  # type: ignore[union-attr]
    assert model.row(task_id(3)) is None and model.position(task_id(9)) == 0


def test_a_whole_list_scan_does_not_hold_up_the_rows_being_drawn(store: Store) -> None:
    track(store, *(record(n) for n in range(1, 50)))
    scanning, release = threading.Event(), threading.Event()

    def slow(row: TaskRow) -> str:
        scanning.set()
        release.wait(5)
        return row.id

    scan = threading.Thread(target=store.scan_listing, args=(slow,))
    scan.start()
    try:
        assert scanning.wait(5)
        done: list[Any] = []
        reader = threading.Thread(
            target=lambda: done.append(store.listing([store.rowid_of(task_id(7)) or 0]))
        )
        reader.start()
        reader.join(2)  # well before the scan is let go
        assert done and done[0][0].id == task_id(7)
    finally:
        release.set()
        scan.join(5)
