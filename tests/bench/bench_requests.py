"""B2: HTTP requests per refresh cycle, against a naive poller (one `retrieve` per task).

The real `Monitor` and `NanoBananaClient` talk to the simulator (in-process ASGI transport);
`client.request_count` counts what was sent. Target: ceil(pending / 50) requests per cycle,
and none at all when every tracked task has finished.

Run: `python -m tests.bench.bench_requests`
"""

from __future__ import annotations

import asyncio
import math
import tempfile
from pathlib import Path
from typing import Any

from tests.bench._common import TOKEN, Row, report


async def _cycle(pending: int, finished: int) -> tuple[int, int]:
    import httpx

    from nbtui.api.client import NanoBananaClient
    from nbtui.api.models import Task
    from nbtui.sim import SimConfig
    from nbtui.sim.app import create_app
    from nbtui.tracking.monitor import Monitor
    from nbtui.tracking.store import Store

    sim_app = create_app(SimConfig(token=TOKEN))
    state = sim_app.state.sim
    ids = [state.add_task(outcome="never") for _ in range(pending)]
    done = [
        state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0, created_at=0)
        for _ in range(finished)
    ]
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp)) as store:
        store.add(ids + done)
        store.apply([Task.from_raw(raw) for raw in state.records(ids + done)], {}, 1.0)
        transport = httpx.ASGITransport(app=sim_app)
        async with NanoBananaClient("http://sim.test", TOKEN, transport=transport) as client:
            monitor = Monitor(client, store, store_check_every=None)
            before = client.request_count
            await monitor.refresh_once()
            ours = client.request_count - before
            before = client.request_count
            for task_id in store.ids():  # one retrieve per tracked task, like the SDK
                await client.retrieve(task_id)
            naive = client.request_count - before
    return ours, naive


def run() -> dict[str, Any]:
    rows: list[Row] = []
    for label, pending, finished in (
        ("100 pending", 100, 0),
        ("1,000 pending", 1000, 0),
        ("1,000 finished", 0, 1000),
    ):
        ours, naive = asyncio.run(_cycle(pending, finished))
        target = math.ceil(pending / 50)
        rows.append(Row(label, ours, "req", float(naive), f"= {target} req", ours == target, {}))
    return report(
        "requests",
        "B2 HTTP requests per refresh cycle (baseline: one retrieve per task)",
        rows,
    )


if __name__ == "__main__":
    run()
