"""Store figures: `python tests/bench/bench_store.py` prints timings (not collected by pytest)."""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from nbtui.api.models import Task
from nbtui.tracking.store import Store
from nbtui.tui.tasklist_model import ListView, SortKey, TaskListModel, compute_order


def record(i: int, task_id: str) -> dict[str, Any]:
    return {
        "id": task_id,
        "type": "images",
        "created_at": 1757183036.0 + i,
        "started_at": 1757183037.0 + i,
        "finished_at": 1757183050.0 + i,
        "trace_id": str(uuid.uuid4()),
        "request": {"action": "generate", "prompt": f"a white siamese cat #{i} " * 3},
        "response": {
            "success": True,
            "task_id": task_id,
            "data": [{"prompt": "cat", "image_url": f"https://cdn.example/{uuid.uuid4()}.png"}],
        },
    }


def timed(label: str, fn: Any) -> Any:
    start = time.perf_counter()
    result = fn()
    print(f"  {label:<34} {time.perf_counter() - start:8.3f} s")
    return result


def bench(n: int) -> None:
    print(f"{n} tracked tasks")
    data_dir = Path(tempfile.mkdtemp())
    ids = [str(uuid.uuid4()) for _ in range(n)]
    tasks = [Task.from_raw(record(i, task_id)) for i, task_id in enumerate(ids)]
    with Store.open(data_dir) as store:
        timed("add (one call)", lambda: store.add(ids, now=1.0))
        timed(
            "apply all, 1k per transaction",
            lambda: [store.apply(tasks[k : k + 1000], {}, 2.0) for k in range(0, n, 1000)],
        )
        timed("apply 1k unchanged", lambda: store.apply(tasks[:1000], {}, 3.0))
        changed = [Task.from_raw(record(i + 7, t)) for i, t in enumerate(ids[:1000])]
        timed("apply 1k changed", lambda: store.apply(changed, {}, 4.0))
        timed("apply 1k errors", lambda: store.apply([], dict.fromkeys(ids[:1000], "x"), 5.0))
    store = timed("open (incl. quick_check)", lambda: Store.open(data_dir))
    rows = timed("all()", store.all)
    timed("changed_since(current token)", lambda: store.changed_since(store.change_token()))
    timed("unfinished_ids()", store.unfinished_ids)
    timed("parse every .raw", lambda: [row.raw for row in rows])
    # The list model: an order that needs every row's list columns, then windows drawn.
    timed(
        "order by prompt (reads every row)",
        lambda: compute_order(store, ListView(SortKey.PROMPT, descending=False), 10.0),
    )
    model = TaskListModel(lambda: 10.0, store)
    timed("order newest first (rowids only)", model.refresh)
    timed("windows of 300 rows, to 30k", lambda: draw(model, n))
    store.close()


def draw(model: TaskListModel, n: int) -> None:
    """Rows asked for as the list scrolls: every 300th, so each asks for a new window."""
    for index in range(0, min(n, 30_000), 300):
        model.row_at(index)


def main() -> None:
    for n in (10_000, 50_000):
        bench(n)


if __name__ == "__main__":
    main()
