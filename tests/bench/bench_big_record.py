"""B7: a task whose prompt is 5 MB, selected: key round trips and peak memory of the real
`nbtui` in tmux 120x40 (issue 11 §4: such a record once took 18 s to show and 17 s per key).

The data dir tracks 20 ordinary finished tasks and, as the newest (the first row, selected at
launch), one finished task whose prompt is 5 MB of words. The run measures launch until the
detail pane shows that task, then presses `j` (away from the big record, with it selected and
shown) and `k` (back onto it) in turn, each timed from `send-keys` until `capture-pane` shows
the cursor on the other row; before each press the harness waits for the detail pane to show
the selected task, so every press starts with the record on screen. Figures: the median of
each key, against the bare Textual app's `j` round trip (same harness, same number of presses);
peak RSS (VmHWM) after all presses, against an absolute 150 MB.

Run: `python -m tests.bench.bench_big_record [--quick]`
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from tests.bench._common import (
    TOKEN,
    Row,
    Tmux,
    bare_argv,
    bare_first_row,
    isolated_env,
    median,
    nbtui_argv,
    press_and_wait,
    quick,
    report,
    temp_dir,
    tmux,
)
from tests.bench.bench_memory import vm_hwm_mb

TARGET = 1.5
MEMORY_TARGET_MB = 150.0
#: `NBTUI_BENCH_PROMPT_BYTES=1000` runs the same harness on a small prompt, for comparison.
PROMPT_BYTES = int(os.environ.get("NBTUI_BENCH_PROMPT_BYTES", 5 * 1024 * 1024))
BACKGROUND = 20
NBTUI_KEY = re.compile(r"(?<![0-9a-f])[0-9a-f]{8}(?![0-9a-f])")
BARE_KEY = re.compile(r"row-\d{5}")


def quiet(server: Tmux, session: str, still: float = 0.3) -> None:
    """Wait until the screen has not changed for `still` seconds (the image preview and the
    JSON tree have been drawn): each press then starts from an idle app, as a user's would."""
    last = server.capture(session)
    since = time.perf_counter()
    while time.perf_counter() - since < still:
        time.sleep(0.02)
        screen = server.capture(session)
        if screen != last:
            last, since = screen, time.perf_counter()


def big_prompt(size: int) -> str:
    """`size` characters of ordinary words (what a pasted document looks like)."""
    words = "a white siamese cat sleeping on a red velvet cushion in the afternoon sun, "
    return (words * (size // len(words) + 1))[:size]


def run() -> dict[str, Any]:
    from nbtui.api.models import Task, TaskState, derive_state
    from nbtui.sim import SimConfig
    from nbtui.sim.server import SimServer
    from nbtui.tracking.store import Store

    presses = 6 if quick() else 15
    with temp_dir("nbtui-bench-big-") as tmp, tmux() as server:
        env = isolated_env(tmp / "home", ACEDATACLOUD_API_TOKEN=TOKEN)
        config = SimConfig(token=TOKEN, pending_seconds=0.0, running_seconds=0.0)
        with SimServer(config) as sim:
            now = time.time()
            ids = sim.state.seed(BACKGROUND)
            newest = max(raw.get("created_at") or 0 for raw in sim.state.records(ids))
            big = sim.state.add_task(
                prompt=big_prompt(PROMPT_BYTES),
                outcome="succeeded",
                pending_seconds=0.0,
                running_seconds=0.0,
                created_at=newest + 1,  # the list's first row (the seed's clock runs ahead)
            )
            # Stored as the finished task it is (created a second ahead, it is pending until
            # then): the case measured is a big record on screen, not a big refresh.
            while derive_state(sim.state.records([big])[0]) is not TaskState.SUCCEEDED:
                time.sleep(0.05)
            data_dir = tmp / "data"
            with Store.open(data_dir) as store:
                store.add([*ids, big], now=now - 60)
                records = sim.state.records([*ids, big])
                store.apply([Task.from_raw(raw) for raw in records], {}, now)
                top = store.ordered_rowids("created", descending=True, limit=2)
                first, second = [row.id for row in store.listing(top)]
                if first != big:  # listing() keeps no order: take the one that is not big
                    first, second = second, first
            if first != big:
                raise RuntimeError("the 5 MB task is not the list's first row")
            record_mb = len(str(sim.state.records([big])[0])) / 1e6

            session, started = server.launch(nbtui_argv(data_dir, sim.base_url), env)
            try:
                seen, _ = server.wait_for(session, lambda s: big in s, timeout=120)
                launch_to_detail = seen - started
                peak_shown = vm_hwm_mb(server.pid(session))
                away: list[float] = []
                back: list[float] = []
                for _ in range(presses):
                    quiet(server, session)
                    away.append(press_and_wait(server, session, "j", NBTUI_KEY).round_trip)
                    server.wait_for(session, lambda s: second in s, timeout=60)
                    quiet(server, session)
                    back.append(press_and_wait(server, session, "k", NBTUI_KEY).round_trip)
                    server.wait_for(session, lambda s: big in s, timeout=60)
                peak = vm_hwm_mb(server.pid(session))
            finally:
                server.kill(session)

        session, _ = server.launch(bare_argv(BACKGROUND + 1), env)
        try:
            server.wait_for(session, lambda s: bare_first_row() in s, timeout=60)
            for _ in range(5):  # warm-up, as in bench_keys
                press_and_wait(server, session, "j", BARE_KEY)
                press_and_wait(server, session, "k", BARE_KEY)
            bare: list[float] = []
            for _ in range(presses):
                bare.append(press_and_wait(server, session, "j", BARE_KEY).round_trip)
                bare.append(press_and_wait(server, session, "k", BARE_KEY).round_trip)
        finally:
            server.kill(session)

    baseline = median(bare)
    rows = [
        Row(
            "j with the 5 MB record selected",
            median(away),
            "s",
            baseline,
            f"≤ {TARGET}x",
            median(away) / baseline <= TARGET,
            {"presses": away, "baseline_runs": bare},
        ),
        Row(
            "k onto the 5 MB record",
            median(back),
            "s",
            baseline,
            f"≤ {TARGET}x",
            median(back) / baseline <= TARGET,
            {"presses": back},
        ),
        Row(
            "peak RSS with the 5 MB record",
            peak,
            "MB",
            None,
            f"< {MEMORY_TARGET_MB:.0f} MB",
            peak < MEMORY_TARGET_MB,
        ),
        Row("launch until its detail shows", launch_to_detail, "s"),
    ]
    return report(
        "big_record",
        f"B7 a 5 MB prompt selected (tmux 120x40, median of {presses} presses per key; "
        "baseline: bare app j/k round trip)",
        rows,
        [
            f"record: {record_mb:.1f} MB as stored; max j {max(away) * 1000:.0f} ms, "
            f"max k {max(back) * 1000:.0f} ms; peak RSS when first shown {peak_shown:.1f} MB"
        ],
    )


if __name__ == "__main__":
    run()
