"""B5: peak RSS (VmHWM) of the real `nbtui` with 10k and 50k tasks, after first paint and one
refresh, against the bare Textual app holding a 10k-row DataTable. Target: <= 1.5x.
The 50k run is also shown against the bare app holding 50k rows, for reference.

Run: `python -m tests.bench.bench_memory [--quick]`
"""

from __future__ import annotations

import time
from typing import Any

from tests.bench._common import (
    TOKEN,
    Row,
    bare_argv,
    bare_first_row,
    isolated_env,
    nbtui_argv,
    populate,
    quick,
    report,
    temp_dir,
    tmux,
)


def vm_hwm_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def run() -> dict[str, Any]:
    from nbtui.sim import SimConfig
    from nbtui.sim.server import SimServer

    sizes = [10_000] if quick() else [10_000, 50_000]
    rows: list[Row] = []
    with temp_dir("nbtui-bench-mem-") as tmp, tmux() as server:
        env = isolated_env(tmp / "home", ACEDATACLOUD_API_TOKEN=TOKEN)
        bare: dict[int, float] = {}
        for n in sizes:
            session, _ = server.launch(bare_argv(n), env)
            server.wait_for(session, lambda s: bare_first_row() in s, timeout=120)
            time.sleep(1.0)
            bare[n] = vm_hwm_mb(server.pid(session))
            server.kill(session)
        baseline = bare[10_000]
        for n in sizes:
            with SimServer(SimConfig(token=TOKEN)) as sim:
                data = populate(tmp / f"data-{n}", n, sim.state)
                session, _ = server.launch(nbtui_argv(data.data_dir, sim.base_url), env)
                server.wait_for(session, lambda s, t=data.first_id[:8]: t in s, timeout=60)
                # After the first paint, wait for a refresh cycle to have been applied.
                server.wait_for(session, lambda s: "refreshed never" not in s, timeout=60)
                time.sleep(1.0)
                value = vm_hwm_mb(server.pid(session))
                server.kill(session)
            rows.append(
                Row(f"{n:,} tasks", value, "MB", baseline, "≤ 1.5x", value <= 1.5 * baseline)
            )
            if n != 10_000:
                # Like for like: the bare app holding as many rows (not a target, a reference).
                rows.append(Row(f"{n:,} tasks vs a {n:,}-row DataTable", value, "MB", bare[n]))
    return report("memory", "B5 peak RSS (VmHWM; baseline: bare app, 10k-row DataTable)", rows)


if __name__ == "__main__":
    run()
