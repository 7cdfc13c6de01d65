"""B9: a new filter at 50,000 tracked tasks, from the query typed to the order in hand.

What the app does (in a worker thread) after each key in the filter field: parse the query,
compile it to SQL and read the order of the matching tasks (`TaskListModel.compute`, the
counts included). The data dir holds 50,000 tasks seeded by the simulator (mixed states,
models and prompts). Baseline: the word filter before the filter language, which read every
task's list row into Python and looked for each word in it (kept here as it was).
Target: <= 50 ms per query (median of the repeats), newest-first order. Measured as the CPU
time of the thread that reads (SQLite runs in it), which is what the wall time is on a quiet
machine and stays put when other processes load this one.

Run: `python -m tests.bench.bench_filter` (`--quick`: 10,000 tasks and fewer repeats)
"""

from __future__ import annotations

import time
from operator import itemgetter
from typing import Any

from tests.bench._common import Row, median, populate, quick, report, temp_dir

#: (case, query): free words, each field, an exclusion, and a mix.
QUERIES = (
    ("a word", "cat"),
    ("a word nothing has", "zzzz"),
    ("two words", "cat white"),
    ("state:failed", "state:failed"),
    ("model:pro", "model:pro"),
    ("images:>1 age:<1d", "images:>1 age:<1d"),
    ("a phrase", '"a white"'),
    ("word -state:succeeded", "cat -state:succeeded"),
    ("label:x", "label:x"),
)


def _old_word_filter(store: Any, words: tuple[str, ...]) -> list[int]:
    """The filter as it was: every row read into Python, each word looked for in it."""

    def keyed(row: Any) -> tuple[float, str, int] | None:
        key = f"{row.id}\n{row.prompt.lower()}\n{row.state.label}\n{row.model.lower()}"
        if not all(word in key for word in words):
            return None
        return (row.created_at, row.id, row.rowid)

    entries = store.scan_listing(keyed)
    entries.sort(key=itemgetter(1))
    entries.sort(key=itemgetter(0), reverse=True)
    return [entry[2] for entry in entries]


def _time(fn: Any, repeats: int) -> tuple[float, float, Any]:
    """Median CPU time of this thread and median wall time of `fn`, and its last result."""
    cpu: list[float] = []
    wall: list[float] = []
    result: Any = None
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.thread_time()
        result = fn()
        cpu.append(time.thread_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    return median(cpu), median(wall), result


def run() -> dict[str, Any]:
    from nbtui.tracking.query import parse
    from nbtui.tracking.store import Store
    from nbtui.tui.tasklist_model import ListView, compute_order

    n = 10_000 if quick() else 50_000
    repeats = 3 if quick() else 7
    rows: list[Row] = []
    with temp_dir("nbtui-bench-filter-") as tmp:
        populate(tmp / "data", n)
        with Store.open(tmp / "data") as store:
            now = time.time()
            compute_order(store, ListView(), now)  # warm the page cache
            baseline, baseline_wall, old = _time(lambda: _old_word_filter(store, ("cat",)), repeats)
            for case, text in QUERIES:
                view = ListView(query=parse(text))
                value, wall, ordered = _time(lambda v=view: compute_order(store, v, now), repeats)
                row = Row(f"{case}: {text}", value, "s", baseline, "≤ 50 ms", value <= 0.050)
                row.extra.update(shown=len(ordered.rowids), wall=wall, baseline_wall=baseline_wall)
                rows.append(row)
            same = list(compute_order(store, ListView(query=parse("cat")), now).rowids) == old
    notes = [
        "CPU time of the reading thread (all the work is in it: SQLite runs in the caller's "
        "thread), so other load on the machine does not count; wall times are in the JSON",
        f"{n:,} tasks; baseline: the old word filter for 'cat' "
        f"({len(old):,} shown), median of {repeats}",
        "the new filter shows the same tasks in the same order as the old one for 'cat': "
        + ("yes" if same else "NO"),
    ]
    return report("filter", f"B9 a new filter over {n:,} tasks (median of {repeats})", rows, notes)


if __name__ == "__main__":
    run()
