"""B3: key round trip (`j` -> cursor moved on screen) with 10k tasks while a refresh that
changes 1,000 of them is being applied, the real `nbtui` in tmux 120x40.

The data dir tracks 10,000 tasks: 9,000 finished and 1,000 that the loopback simulator holds
"running". Each round starts nbtui on a fresh copy of that data dir (poll interval 1 s), waits
for its first refresh, then keeps pressing `j`, each press timed from `send-keys` until
`capture-pane` shows the cursor on the next task; meanwhile the harness makes the 1,000 tasks
finish at a known moment. The refresh that picks them up runs from the simulator's first
request after that moment until the "1000 tasks finished" toast is on screen: the presses
overlapping that window are the figure (median). Presses before it are reported as "idle".
Baseline: the bare Textual app with a 10,000-row DataTable, same harness, same number of presses.

Run: `python -m tests.bench.bench_keys [--quick]`
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any

from tests.bench._common import (
    TOKEN,
    Press,
    Row,
    Tmux,
    bare_argv,
    bare_first_row,
    finish_at,
    hold_running,
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

TARGET = 1.5
TOTAL, CHANGED = 10_000, 1_000
#: nbtui's list shows ids by their first 8 hex digits; the bare app's rows are `row-NNNNN`.
NBTUI_KEY = re.compile(r"(?<![0-9a-f])[0-9a-f]{8}(?![0-9a-f])")
BARE_KEY = re.compile(r"row-\d{5}")
#: Pause between presses (a fast typist holds `j`: about 30 presses a second).
GAP = 0.005


def bare_round_trips(server: Tmux, env: dict[str, str], presses: int) -> list[float]:
    session, _ = server.launch(bare_argv(TOTAL), env)
    try:
        server.wait_for(session, lambda screen: bare_first_row() in screen, timeout=60)
        for _ in range(5):  # warm-up
            press_and_wait(server, session, "j", BARE_KEY)
        times = []
        for _ in range(presses):
            times.append(press_and_wait(server, session, "j", BARE_KEY).round_trip)
            time.sleep(GAP)
        return times
    finally:
        server.kill(session)


def one_round(
    server: Tmux,
    env: dict[str, str],
    template: Path,
    data_dir: Path,
    base_url: str,
    sim_state: Any,
    running: list[str],
    first_id: str,
) -> tuple[list[float], list[float], float]:
    """(round trips during the refresh, idle round trips before it, refresh window seconds)."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    shutil.copytree(template, data_dir)
    hold_running(sim_state, running)
    session, _ = server.launch(nbtui_argv(data_dir, base_url), env)
    try:
        server.wait_for(session, lambda s: first_id[:8] in s, timeout=60)
        server.wait_for(session, lambda s: "refreshed never" not in s, timeout=60)
        idle: list[Press] = []
        for _ in range(10):
            idle.append(press_and_wait(server, session, "j", NBTUI_KEY))
            time.sleep(GAP)
        # The known moment: every held task finishes 0.3 s from now.
        clock_offset = time.time() - time.perf_counter()
        moment = time.perf_counter() + 0.3
        finish_at(sim_state, running, moment + clock_offset)
        presses: list[Press] = []
        done_at: float | None = None
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline:
            press = press_and_wait(server, session, "j", NBTUI_KEY)
            presses.append(press)
            if done_at is None and f"{CHANGED} tasks finished" in press.screen:
                done_at = press.seen
            if done_at is not None and press.seen > done_at + 0.3:
                break
            time.sleep(GAP)
        if done_at is None:
            raise RuntimeError("the 1,000 finished tasks never showed")
        asked = [
            request.at - clock_offset
            for request in sim_state.api_requests()
            if request.at - clock_offset >= moment
        ]
        start = min(asked) if asked else moment
        during = [p.round_trip for p in presses if p.seen >= start and p.sent <= done_at]
        return during, [p.round_trip for p in idle], done_at - start
    finally:
        server.kill(session)


def run() -> dict[str, Any]:
    from nbtui.sim import SimConfig
    from nbtui.sim.server import SimServer

    rounds = 3 if quick() else 6
    rows: list[Row] = []
    with temp_dir("nbtui-bench-keys-") as tmp, tmux() as server:
        env = isolated_env(tmp / "home", ACEDATACLOUD_API_TOKEN=TOKEN, NBTUI_POLL_INTERVAL="1")
        config = SimConfig(token=TOKEN, pending_seconds=0.0, running_seconds=0.0)
        with SimServer(config) as sim:
            template = tmp / "template"
            _, running = populate_with_running(template, TOTAL - CHANGED, CHANGED, sim.state)
            from nbtui.tracking.store import Store

            with Store.open(template) as store:
                (top,) = store.ordered_rowids("created", descending=True, limit=1)
                (first_id,) = [row.id for row in store.listing([top])]
            during: list[float] = []
            idle: list[float] = []
            windows: list[float] = []
            for index in range(rounds):
                got, quiet, window = one_round(
                    server,
                    env,
                    template,
                    tmp / f"data-{index}",
                    sim.base_url,
                    sim.state,
                    running,
                    first_id,
                )
                during += got
                idle += quiet
                windows.append(window)
        baseline_runs = bare_round_trips(server, env, max(30, len(during)))
    baseline = median(baseline_runs)
    value = median(during)
    rows.append(
        Row(
            f"{TOTAL:,} tasks, refresh changing {CHANGED:,}",
            value,
            "s",
            baseline,
            f"≤ {TARGET}x",
            value / baseline <= TARGET,
            {
                "presses": during,
                "max": max(during),
                "windows": windows,
                "baseline_runs": baseline_runs,
            },
        )
    )
    rows.append(
        Row(
            f"{TOTAL:,} tasks, idle (same runs)",
            median(idle),
            "s",
            baseline,
            "",
            None,
            {"presses": idle},
        )
    )
    return report(
        "keys",
        f"B3 key round trip j -> cursor moved (tmux 120x40, median of {len(during)} presses "
        f"during the refresh over {rounds} runs; baseline: bare app, {TOTAL:,}-row DataTable)",
        rows,
        [
            "refresh windows (first request after the finish moment -> toast on screen): "
            + ", ".join(f"{w * 1000:.0f} ms" for w in windows),
            f"max during the refresh: {max(during) * 1000:.0f} ms; "
            f"poll interval 1 s; each press timed by polling capture-pane",
        ],
    )


if __name__ == "__main__":
    run()
