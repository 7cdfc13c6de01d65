"""B8: marking every task of 50,000 (`*`) and untracking them (`d`, `y`), headless.

The real app (`make_app`) over a store of 50,000 tasks, no network. Each operation is timed
from the key until the result is on screen (every task marked and counted; every task gone
from the store and the list), while a probe on the UI's event loop measures how long keys
would wait: the longest gap between its 5 ms ticks, and `j` pressed every 50 ms (from the
press until the cursor moved). Targets: each operation under a second, keys never wait
(no gap over 100 ms).

Run: `python -m tests.bench.bench_marks`
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tests.bench._common import Row, populate, report, temp_dir

TASKS = int(os.environ.get("NBTUI_BENCH_MARKS", "50000"))


class Probe:
    """The UI loop's longest stall, and `j` latencies, while an operation runs."""

    def __init__(self) -> None:
        self.gap = 0.0
        self.keys: list[float] = []
        self.running = True

    async def ticks(self) -> None:
        last = time.perf_counter()
        while self.running:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            self.gap = max(self.gap, now - last - 0.005)
            last = now

    async def presses(self, app: Any) -> None:
        """`j` into the list while it has the focus: from the key to the cursor moved."""
        task_list = app.main.task_list
        while self.running:
            if task_list.has_focus and len(app.main.model) > 1:
                before = task_list.cursor
                started = time.perf_counter()
                app.simulate_key("j" if before == 0 else "k")
                while task_list.cursor == before and self.running:
                    await asyncio.sleep(0.001)
                # Moved by the key, not by the list emptying under it (a key pressed as the
                # confirm dialog opens goes to the dialog; the untrack then moves the cursor).
                if task_list.cursor != before and len(app.main.model) > 1:
                    self.keys.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)


async def _timed(
    app: Any, start: Callable[[], Awaitable[None]], done: Callable[[], bool]
) -> tuple[float, Probe]:
    probe = Probe()
    ticker = asyncio.create_task(probe.ticks())
    keys = asyncio.create_task(probe.presses(app))
    await asyncio.sleep(0.06)
    started = time.perf_counter()
    await start()
    while not done():
        await asyncio.sleep(0.001)
    painted = asyncio.Event()
    app.call_after_refresh(painted.set)
    await painted.wait()
    elapsed = time.perf_counter() - started
    probe.running = False
    await ticker
    await keys
    return elapsed, probe


async def _measure(data_dir: Path) -> dict[str, tuple[float, Probe]]:
    from nbtui.config import Settings
    from nbtui.tracking.store import Store
    from nbtui.tui.app import make_app
    from nbtui.tui.screens.confirm import ConfirmScreen

    store = Store.open(data_dir)
    results: dict[str, tuple[float, Probe]] = {}
    try:
        settings = Settings(data_dir=data_dir, base_url="http://127.0.0.1:9")

        def no_client(token: str | None) -> Any:
            raise RuntimeError("no network in this benchmark")

        app = make_app(
            settings, store=store, client_factory=no_client, token="x", freeze_after_load=True
        )
        app.begin_watching = lambda: None  # type: ignore[method-assign]
        async with app.run_test(size=(120, 40)) as pilot:
            while not app.main.loaded or not gc.get_freeze_count():
                await pilot.pause(0.05)
            await pilot.pause(0.2)
            main = app.main

            async def mark_all() -> None:
                main.action_mark_shown()

            results["mark all"] = await _timed(app, mark_all, lambda: main.status.marked == TASKS)
            await pilot.pause(0.2)

            async def untrack() -> None:
                main.action_untrack()
                while not isinstance(app.screen, ConfirmScreen):
                    await asyncio.sleep(0.001)
                # Not `pilot.press`: it then waits for the process to go idle (up to a
                # second, twice), which the probe's own ticks and keys put off, so the
                # time measured would be the pilot's and not the app's.
                app.simulate_key("y")

            results["untrack all"] = await _timed(
                app,
                untrack,
                lambda: len(main.model) == 0 and not main.marks and main.order_settled(),
            )
            assert store.ids() == []
    finally:
        store.close()
    return results


def run() -> dict[str, Any]:
    with temp_dir("nbtui-bench-marks-") as tmp:
        populate(tmp / "data", TASKS)
        results = asyncio.run(_measure(tmp / "data"))
    rows: list[Row] = []
    for name, (elapsed, probe) in results.items():
        rows.append(Row(f"{name} ({TASKS:,})", elapsed, "s", None, "< 1 s", elapsed < 1.0))
        worst_key = max(probe.keys, default=0.0)
        rows.append(
            Row(
                f"  j during {name} (worst of {len(probe.keys)})",
                worst_key,
                "s",
                None,
                "≤ 100 ms",
                worst_key <= 0.1,
            )
        )
        rows.append(
            Row(
                f"  UI loop's longest stall during {name}",
                probe.gap,
                "s",
                None,
                "≤ 100 ms",
                probe.gap <= 0.1,
            )
        )
    return report("marks", f"B8 mark and untrack {TASKS:,} tasks (headless)", rows)


if __name__ == "__main__":
    run()
