"""B4: applying one refresh cycle that changes 1,000 of 10,000 rows to the UI (headless).

The real app (`make_app`) over a store of 10,000 tasks; 1,000 of them get a new state and
record as a monitor cycle would report them, and the clock runs from posting the
`TasksChanged` message until the handler has run, the list's order has been read again from
the store (off the UI thread) and shown, and the screen has been repainted.
Target: <= 50 ms on a 2-core machine. Median of 5.

Run: `python -m tests.bench.bench_apply`
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from tests.bench._common import Row, median, populate, quick, report, temp_dir


async def _measure(data_dir: Path, repeats: int) -> list[float]:
    from nbtui.api.models import TaskState
    from nbtui.config import Settings
    from nbtui.tracking.monitor import TaskUpdate
    from nbtui.tracking.store import Store
    from nbtui.tui.app import make_app
    from nbtui.tui.monitor_bridge import TasksChanged

    store = Store.open(data_dir)
    times: list[float] = []
    try:
        settings = Settings(data_dir=data_dir, base_url="http://127.0.0.1:9")

        def no_client(token: str | None) -> Any:
            raise RuntimeError("no network in this benchmark")

        app = make_app(settings, store=store, client_factory=no_client, token="x")
        app.begin_watching = lambda: None  # type: ignore[method-assign]  # no monitor: we feed it
        async with app.run_test(size=(120, 40)) as pilot:
            while not app.main.loaded:
                await pilot.pause(0.05)
            await pilot.pause(0.2)
            rows = store.all()
            for attempt in range(repeats):
                chunk = rows[(attempt % 10) * 1000 : (attempt % 10) * 1000 + 1000]
                states = (TaskState.SUCCEEDED, TaskState.FAILED)
                updates = [
                    TaskUpdate(
                        row.replace(state=states[attempt % 2], last_refreshed=time.time()),
                        row.state,
                    )
                    for row in chunk
                ]
                painted = asyncio.Event()
                orders = app.main.orders_read
                started = time.perf_counter()
                app.main.post_message(TasksChanged(updates))
                while app.main.orders_read == orders:
                    await asyncio.sleep(0.0005)
                app.call_after_refresh(lambda e=painted: app.call_after_refresh(e.set))
                await painted.wait()
                times.append(time.perf_counter() - started)
                await pilot.pause(0.1)
    finally:
        store.close()
    return times


def run() -> dict[str, Any]:
    repeats = 3 if quick() else 5
    with temp_dir("nbtui-bench-apply-") as tmp:
        populate(tmp / "data", 10_000)
        times = asyncio.run(_measure(tmp / "data", repeats))
    value = median(times)
    row = Row("1,000 of 10,000 changed", value, "s", None, "≤ 50 ms", value <= 0.050)
    row.extra["runs"] = times
    return report(
        "apply",
        f"B4 one cycle applied to the UI (handler + order + repaint, median of {repeats})",
        [row],
    )


if __name__ == "__main__":
    run()
