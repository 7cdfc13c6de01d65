"""B6: a task finishing in the simulator -> shown as finished in the UI (the real `nbtui` in
tmux 120x40). Target: <= the refresh interval + one round trip.

nbtui tracks 1,000 finished tasks plus a few that the loopback simulator holds "running" (the
newest, so they are the list's top rows). With the app running and its first refresh done,
the harness makes one of them finish at a known moment (spread over the poll phase: moments
are 1.37 intervals apart) and polls `capture-pane` until that task's row reads "succeeded".
"One round trip" is measured in the same run: one `retrieve_batch` of the still-running ids
against the same simulator (HTTP + parsing), plus the bare app's key round trip (a repaint),
so the target is what the schedule allows: the wait for the next poll, one poll, one paint.

Run: `python -m tests.bench.bench_finish [--quick]`
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from tests.bench._common import (
    TOKEN,
    Row,
    bare_argv,
    bare_first_row,
    finish_at,
    isolated_env,
    median,
    nbtui_argv,
    populate_with_running,
    press_and_wait,
    quick,
    report,
    temp_dir,
    tmux,
)

INTERVAL = 2.0
BACKGROUND = 1_000
BARE_KEY = re.compile(r"row-\d{5}")


def _row_shows_finished(screen: str, task_id: str) -> bool:
    return any(task_id[:8] in line and "succeeded" in line for line in screen.splitlines())


async def _retrieve_round_trip(base_url: str, ids: list[str], repeats: int) -> list[float]:
    from nbtui.api.client import NanoBananaClient

    times: list[float] = []
    async with NanoBananaClient(base_url, TOKEN) as client:
        for _ in range(repeats + 1):
            started = time.perf_counter()
            await client.retrieve_batch(ids)
            times.append(time.perf_counter() - started)
    return times[1:]


def run() -> dict[str, Any]:
    from nbtui.sim import SimConfig
    from nbtui.sim.server import SimServer

    samples = 4 if quick() else 8
    with temp_dir("nbtui-bench-finish-") as tmp, tmux() as server:
        env = isolated_env(
            tmp / "home", ACEDATACLOUD_API_TOKEN=TOKEN, NBTUI_POLL_INTERVAL=f"{INTERVAL:g}"
        )
        session, _ = server.launch(bare_argv(100), env)
        try:
            server.wait_for(session, lambda s: bare_first_row() in s, timeout=60)
            paints = [press_and_wait(server, session, "j", BARE_KEY).round_trip for _ in range(15)]
        finally:
            server.kill(session)
        paint = median(paints[3:])
        config = SimConfig(token=TOKEN, pending_seconds=0.0, running_seconds=0.0)
        with SimServer(config) as sim:
            data_dir = tmp / "data"
            _, running = populate_with_running(
                data_dir, BACKGROUND, samples, sim.state, newest=True
            )
            fetch = median(asyncio.run(_retrieve_round_trip(sim.base_url, running, 5)))
            session, _ = server.launch(nbtui_argv(data_dir, sim.base_url), env)
            latencies: list[float] = []
            try:
                server.wait_for(session, lambda s: running[-1][:8] in s, timeout=60)
                server.wait_for(session, lambda s: "refreshed never" not in s, timeout=60)
                offset = time.time() - time.perf_counter()
                for index, task_id in enumerate(running):
                    moment = time.perf_counter() + 0.2 + (index % 4) * 0.37 * INTERVAL
                    finish_at(sim.state, [task_id], moment + offset)
                    seen, _ = server.wait_for(
                        session,
                        lambda s, t=task_id: _row_shows_finished(s, t),
                        timeout=INTERVAL * 4 + 10,
                        poll=0.001,
                    )
                    latencies.append(seen - moment)
            finally:
                server.kill(session)
    round_trip = fetch + paint
    target = INTERVAL + round_trip
    worst = max(latencies)
    rows = [
        Row(
            f"worst of {samples} (interval {INTERVAL:g} s)",
            worst,
            "s",
            target,
            f"≤ {INTERVAL:g} s + {round_trip * 1000:.0f} ms",
            worst <= target,
            {"latencies": latencies, "fetch": fetch, "paint": paint},
        ),
        Row(
            f"median of {samples}",
            median(latencies),
            "s",
            target,
            "",
            None,
        ),
    ]
    return report(
        "finish",
        "B6 task finished in the simulator -> shown finished in the UI "
        f"(tmux 120x40, poll interval {INTERVAL:g} s; baseline column: interval + one round trip)",
        rows,
        [
            f"one round trip = retrieve_batch of {samples} ids {fetch * 1000:.1f} ms "
            f"+ bare-app repaint {paint * 1000:.1f} ms",
            "latencies (ms): " + ", ".join(f"{value * 1000:.0f}" for value in latencies),
        ],
    )


if __name__ == "__main__":
    run()
