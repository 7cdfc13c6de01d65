"""The store's reads for the task list: newest first page, states only, rows without records."""

from __future__ import annotations

import pickle
import uuid
from pathlib import Path
from typing import Any

from nbtui.api.models import Task, TaskState
from nbtui.tracking.store import Store


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


def test_newest_orders_by_creation_then_first_seen_ties_by_id(tmp_path: Path) -> None:
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
        assert [row.id for row in store.newest(10)] == everything
        assert [row.id for row in store.newest(3)] == everything[:3]
        assert store.newest(0) == []
        assert store.newest(-5) == []
        first = store.newest(1)[0]
        assert first.record_loaded and first.raw is not None and first.raw["id"] == new


def test_states_lists_every_id_with_its_state(tmp_path: Path) -> None:
    done, waiting = new_id(), new_id()
    with Store.open(tmp_path) as store:
        assert store.states() == {}
        store.add([done, waiting], now=1.0)
        store.apply([Task.from_raw(finished(done, 5.0))], {}, 10.0)
        assert store.states() == {done: TaskState.SUCCEEDED, waiting: TaskState.PENDING}
        store.remove([done])
        assert store.states() == {waiting: TaskState.PENDING}


def test_rows_without_records_keep_every_list_column(tmp_path: Path) -> None:
    done, waiting = new_id(), new_id()
    with Store.open(tmp_path) as store:
        store.add([done, waiting], label="batch", now=1.0)
        store.apply([Task.from_raw(finished(done, 5.0, prompt="a fox"))], {}, 10.0)
        full = {row.id: row for row in store.all()}
        light = {row.id: row for row in store.all(with_raw=False)}
        assert [row.id for row in store.all(with_raw=False)] == [row.id for row in store.all()]
        for task_id in (done, waiting):
            a, b = full[task_id], light[task_id]
            assert a.record_loaded and not b.record_loaded
            for name in (
                "label",
                "state",
                "prompt",
                "model",
                "image_count",
                "created_at",
                "finished_at",
                "first_seen",
                "last_refreshed",
                "seq",
            ):
                assert getattr(a, name) == getattr(b, name), name
            assert a.has_raw == b.has_raw
        assert light[done].has_raw and not light[waiting].has_raw
        assert light[done].raw is None  # not loaded: the database has it
        assert [row.id for row in store.newest(5, with_raw=False)] == [done, waiting]
        assert not store.newest(1, with_raw=False)[0].record_loaded
        again = store.get(done)
        assert again is not None and again.raw == full[done].raw


def test_rows_without_records_copy_and_pickle_as_such(tmp_path: Path) -> None:
    done = new_id()
    with Store.open(tmp_path) as store:
        store.add([done], now=1.0)
        store.apply([Task.from_raw(finished(done, 5.0))], {}, 10.0)
        (light,) = store.all(with_raw=False)
    assert light.has_raw and not light.record_loaded
    copied = pickle.loads(pickle.dumps(light))  # noqa: S301 - our own bytes
    assert not copied.record_loaded and copied.has_raw and copied.prompt == "a cat"
    assert copied == light
    relabelled = light.replace(label="x")
    assert relabelled.label == "x" and not relabelled.record_loaded
    assert light.replace(raw={"id": done}).raw == {"id": done}


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


def test_listing_hands_each_tasks_list_columns_to_the_builder(tmp_path: Path) -> None:
    done, waiting = new_id(), new_id()
    with Store.open(tmp_path) as store:
        store.add([done], label="mine", now=1_000.0)
        store.add([waiting], now=1_001.0)
        store.apply([Task.from_raw(finished(done, 1_700_000_000.0, "a fox"))], {}, 2_000.0)
        store.apply([], {waiting: "the service is down"}, 2_001.0)

        def build(*columns: Any) -> tuple[Any, ...]:
            return columns

        rows = {row[0]: row for row in store.listing(build)}
    assert rows[done] == (
        done,
        TaskState.SUCCEEDED,
        "a fox",
        "nano-banana",
        1,
        1_700_000_000.0,
        None,
        1_700_000_100.0,
        2_000.0,
        1_000.0,
        "mine",
        None,
    )
    assert rows[waiting][:3] == (waiting, TaskState.PENDING, None)
    assert rows[waiting][-1] == "the service is down"
