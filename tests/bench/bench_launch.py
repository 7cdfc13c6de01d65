"""B1: launch to first painted task row, the real `nbtui` in tmux 120x40.

nbtui opens a data dir holding 1k / 10k / 50k tracked tasks (realistic records, written with
the Store), with a token in ACEDATACLOUD_API_TOKEN and a loopback simulator that knows the
same tasks, so start-up takes the real path (keyring look-up skipped by the env token, store
read, first refresh). The clock stops when `capture-pane` first shows the newest task's id.
Baseline: a bare Textual app with a 20-row DataTable, launched the same way, until its first
row shows. Median of 5 after one warm-up launch each.

Run: `python -m tests.bench.bench_launch [--quick]`
"""

from __future__ import annotations

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
    populate,
    quick,
    report,
    temp_dir,
    tmux,
)

TARGETS = {1_000: 1.5, 10_000: 2.5, 50_000: 4.0}


def time_launch(
    server: Tmux, argv: list[str], env: dict[str, str], text: str, repeats: int
) -> list[float]:
    """Seconds from `new-session` to `text` on screen, for one warm-up and `repeats` runs."""
    times: list[float] = []
    for attempt in range(repeats + 1):
        session, started = server.launch(argv, env)
        try:
            seen, _ = server.wait_for(session, lambda screen: text in screen, timeout=60)
        finally:
            server.kill(session)
        if attempt:  # the first launch only warms the disk cache and the .pyc files
            times.append(seen - started)
    return times


def run() -> dict[str, Any]:
    from nbtui.sim import SimConfig
    from nbtui.sim.server import SimServer

    sizes = [1_000, 10_000] if quick() else [1_000, 10_000, 50_000]
    repeats = 3 if quick() else 5
    rows: list[Row] = []
    with temp_dir("nbtui-bench-launch-") as tmp, tmux() as server:
        env = isolated_env(tmp / "home", ACEDATACLOUD_API_TOKEN=TOKEN)
        baseline_runs = time_launch(server, bare_argv(20), env, bare_first_row(), repeats)
        baseline = median(baseline_runs)
        for n in sizes:
            with SimServer(SimConfig(token=TOKEN)) as sim:
                data = populate(tmp / f"data-{n}", n, sim.state)
                runs = time_launch(
                    server,
                    nbtui_argv(data.data_dir, sim.base_url),
                    env,
                    data.first_id[:8],
                    repeats,
                )
            value = median(runs)
            rows.append(
                Row(
                    f"{n:,} tasks",
                    value,
                    "s",
                    baseline,
                    f"≤ {TARGETS[n]}x",
                    value / baseline <= TARGETS[n],
                    {"runs": runs, "baseline_runs": baseline_runs},
                )
            )
    return report(
        "launch",
        "B1 launch to first painted task row (tmux 120x40, median of "
        f"{repeats}; baseline: bare Textual app, 20-row DataTable)",
        rows,
    )


if __name__ == "__main__":
    run()
