"""Soak: the Monitor refreshing 10,000 tracked tasks against a faulty simulator for minutes.

    python -m tests.bench.soak --minutes 3

The simulator runs in a child process (so its request log and tasks do not count in this
process's memory) on loopback, with seeded random faults (`fault_rate`: 429 with and without
Retry-After, 500, 502/503 HTML, 504, empty, truncated, reset, slow past the timeout, a record
without id, `items` not a list). This process runs the same `Monitor` + `NanoBananaClient` +
`Store` as the TUI, with a short interval, and a side task adds new ids now and then (as
`nbtui add` in another terminal would).

It prints, every `--report-every` seconds: RSS, tracemalloc current/peak, requests sent in the
last minute and the budget for that minute. At the end it turns faults off, runs one clean
forced refresh and checks that no task was lost: every tracked id is still tracked, every task
that ever had a good record still has one, and every stored state equals the simulator's.
Results go to `.bench-results/soak.json`.

The data dir is shared the whole time with a second process that writes it (adds and
removes ids of its own, as `nbtui add`/`remove` would) and with processes that open and
close the store `--opens` times in all (10,000 by default; each open is SQLite's
`quick_check` of the whole file, so they may outlast the refresh minutes, and the soak
waits for them). Every id the second writer was told was stored must be there at the end
(0 losses), and no open may call the healthy database damaged (0 false "damaged").

Budget: a cycle may send at most ceil(ids/batch_size) * max_attempts requests, and cycles
start at most once per interval, so per minute the ceiling is
(60 / interval) * ceil(pending / batch_size) * max_attempts. The exact per-cycle bound (from
each cycle's `requested`) is checked too.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
import tracemalloc
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

from nbtui.sim.state import TRANSIENT_FAULT_KINDS

ROOT = Path(__file__).resolve().parents[2]
#: The simulator's transient faults, plus garbage that only the monitor's parsing sees.
FAULT_KINDS = (*TRANSIENT_FAULT_KINDS, "slow", "missing_id", "wrong_shape")


def _serve(conn: Connection, tasks: int, never: int, fault_rate: float, seed: int) -> None:
    """Child process: the simulator, seeded; sends back its URL and ids, serves until told."""
    from nbtui.sim import SimConfig, SimServer

    config = SimConfig(
        token="soak-token",
        pending_seconds=20.0,
        running_seconds=90.0,
        failure_ratio=0.1,
        moderation_ratio=0.03,
        seed=seed,
        fault_rate=fault_rate,
        fault_kinds=FAULT_KINDS,
        slow_delay=3.0,
    )
    with SimServer(config) as server:
        ids = server.state.seed(tasks)
        ids += [server.state.add_task(outcome="never") for _ in range(never)]
        conn.send((server.base_url, ids))
        while True:
            message = conn.recv()
            if message == "stop":
                break
            if message == "new":
                fresh = [server.state.add_task(pending_seconds=5, running_seconds=20)]
                conn.send(fresh)
            elif message == "records":
                conn.send({i: server.state.record(i) for i in server.state.task_ids()})


def _second_writer(data_dir: str, stop: Any, conn: Connection) -> None:
    """Child process: another nbtui writing the same data dir until told to stop; sends
    back the ids it keeps (every one was reported stored) and the errors it met."""
    import uuid

    from nbtui.tracking.store import Store, StoreCorruptError, StoreError

    store = Store.open(Path(data_dir))
    kept: list[str] = []
    damaged = errors = 0
    while not stop.is_set():
        batch = [str(uuid.uuid4()) for _ in range(20)]
        try:
            store.add(batch, label="second writer")
            kept.append(batch[0])
            store.remove(batch[1:])  # the removal log grows by these: keep the pace human
        except StoreCorruptError:
            damaged += 1
        except StoreError:
            errors += 1  # busy past the timeout: not counted as stored
        time.sleep(0.1)
    store.close()
    conn.send({"kept": kept, "damaged": damaged, "errors": errors})


def _churned_opens(data_dir: str, count: int, pause: float, conn: Connection) -> None:
    """Child process: open and close the store `count` times; sends back what went wrong.

    The pause between opens matters: each open reads the whole file in one read transaction
    (`quick_check`), and while some reader is always inside one SQLite cannot start the WAL
    afresh, so it grows without bound (checkpoint starvation); the soak records its peak."""
    from nbtui.tracking.store import Store, StoreCorruptError, StoreError

    damaged: list[str] = []
    errors: list[str] = []
    started = time.perf_counter()
    for _ in range(count):
        try:
            Store.open(Path(data_dir)).close()
        except StoreCorruptError as exc:
            damaged.append(str(exc))
        except StoreError as exc:
            errors.append(str(exc))
        time.sleep(pause)
    elapsed = time.perf_counter() - started
    conn.send({"opens": count, "damaged": damaged, "errors": errors, "seconds": elapsed})


def _rss_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    from nbtui.api.client import NanoBananaClient
    from nbtui.api.models import Task
    from nbtui.tracking.monitor import CycleReport, Monitor, MonitorProblem
    from nbtui.tracking.store import Store

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(
        target=_serve, args=(child, args.tasks, args.never, args.fault_rate, args.seed)
    )
    proc.start()
    base_url, ids = parent.recv()
    tmp = tempfile.TemporaryDirectory(prefix="nbtui-soak-")
    store = Store.open(Path(tmp.name))
    store.add(ids)
    tracked: set[str] = set(ids)
    # Another process writing the same data dir, and processes churning opens of it.
    writer_stop = ctx.Event()
    writer_pipe, writer_end = ctx.Pipe()
    writer = ctx.Process(target=_second_writer, args=(tmp.name, writer_stop, writer_end))
    writer.start()
    openers: list[tuple[Any, Connection]] = []
    for index in range(args.open_procs):
        share = args.opens // args.open_procs + (index < args.opens % args.open_procs)
        here, there = ctx.Pipe()
        opener = ctx.Process(target=_churned_opens, args=(tmp.name, share, args.open_pause, there))
        opener.start()
        openers.append((opener, here))

    cycles: list[CycleReport] = []
    problems: dict[str, int] = {}
    had_good: set[str] = set()

    def on_cycle(report: CycleReport) -> None:
        # Kept for the counts only: the refreshed ids would make the harness itself grow.
        cycles.append(dataclasses.replace(report, refreshed=()))

    def on_problem(problem: MonitorProblem | None) -> None:
        if problem is not None:
            problems[problem.kind] = problems.get(problem.kind, 0) + 1

    client = NanoBananaClient(
        base_url,
        "soak-token",
        timeout=args.timeout,
        batch_size=50,
        max_concurrency=4,
        max_attempts=args.max_attempts,
    )
    monitor = Monitor(
        client,
        store,
        interval=args.interval,
        on_cycle=on_cycle,
        on_problem=on_problem,
        store_check_every=1.0,
    )
    tracemalloc.start()
    started = time.monotonic()
    samples: list[dict[str, float]] = []
    per_minute: list[dict[str, float]] = []
    runner = asyncio.create_task(monitor.run())
    rng = random.Random(args.seed)
    deadline = started + args.minutes * 60
    last_report = started
    minute_start, minute_requests, minute_cycles = started, 0, len(cycles)
    try:
        while time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            if rng.random() < 0.2:  # another "terminal" adds a task now and then
                parent.send("new")
                fresh = parent.recv()
                await asyncio.to_thread(store.add, fresh)
                tracked.update(fresh)
            now = time.monotonic()
            if now - minute_start >= 60:
                window = cycles[minute_cycles:]
                exact = sum(math.ceil(c.requested / 50) * args.max_attempts for c in window)
                peak = max((c.requested for c in window), default=0)
                ceiling = (60 / args.interval) * math.ceil(peak / 50) * args.max_attempts
                sent = client.request_count - minute_requests
                per_minute.append(
                    {
                        "minute": len(per_minute) + 1,
                        "requests": sent,
                        "cycles": len(window),
                        "bound_from_cycles": exact,
                        "budget": ceiling,
                        "peak_pending": peak,
                    }
                )
                print(
                    f"[minute {len(per_minute)}] {sent} requests in {len(window)} cycles; "
                    f"bound {exact}, budget {ceiling:.0f} (peak pending {peak})",
                    flush=True,
                )
                minute_start, minute_requests, minute_cycles = (
                    now,
                    client.request_count,
                    len(cycles),
                )
            if now - last_report >= args.report_every:
                last_report = now
                current, peak_mem = tracemalloc.get_traced_memory()
                sample = {
                    "t": round(now - started, 1),
                    "rss_mb": round(_rss_mb(), 1),
                    "tracemalloc_mb": round(current / 2**20, 2),
                    "tracemalloc_peak_mb": round(peak_mem / 2**20, 2),
                    "requests": client.request_count,
                    "cycles": len(cycles),
                    "tracked": len(tracked),
                    "unfinished": len(store.unfinished_ids()),
                }
                samples.append(sample)
                print(json.dumps(sample), flush=True)
    finally:
        monitor.stop()
        await runner

    # The opens run to their count (reported), then the second writer stops.
    wal = Path(tmp.name) / "tasks.db-wal"
    wal_peak = 0
    for _, pipe in openers:
        while not await asyncio.to_thread(pipe.poll, 1.0):
            wal_peak = max(wal_peak, wal.stat().st_size if wal.exists() else 0)
            if wal_peak > args.wal_limit_mb * 1e6:
                raise SystemExit(f"soak: the WAL passed {args.wal_limit_mb} MB: stopped")
    churn = [pipe.recv() for _, pipe in openers]
    for opener, _ in openers:
        opener.join(10)
    writer_stop.set()
    second: dict[str, Any] = await asyncio.to_thread(writer_pipe.recv)
    writer.join(10)
    # Count the tasks that have a good record now (before the clean pass) ...
    for row in store.all():
        if row.raw is not None:
            had_good.add(row.id)
    # ... then a clean forced pass, and compare with the simulator's truth.
    async with httpx.AsyncClient() as admin:
        await admin.post(f"{base_url}/_sim/config", json={"fault_rate": 0.0})
    # Tasks move on while the pass runs: a stored state must match the simulator's from
    # just before or just after the pass.
    parent.send("records")
    before: dict[str, Any] = parent.recv()
    await monitor.refresh_once(force=True)
    parent.send("records")
    after: dict[str, Any] = parent.recv()
    rows = {row.id: row for row in store.all()}
    lost = sorted(tracked - set(rows))
    second_lost = sorted(set(second["kept"]) - set(rows))
    false_damaged = [text for part in churn for text in part["damaged"]]
    lost_records = sorted(i for i in had_good if rows.get(i) is None or rows[i].raw is None)
    mismatched = sorted(
        i
        for i, row in rows.items()
        if i in tracked  # the second writer's ids are not the simulator's
        and row.state
        not in {Task.from_raw(truth[i]).state for truth in (before, after) if truth.get(i)}
    )
    await client.aclose()
    parent.send("stop")
    proc.join(10)
    store.close()
    tmp.cleanup()
    exact_total = sum(math.ceil(c.requested / 50) * args.max_attempts for c in cycles)
    first, last = (samples[0], samples[-1]) if samples else ({}, {})
    steady = [s for s in samples if s["t"] >= 60] or samples
    result: dict[str, Any] = {
        "minutes": args.minutes,
        "tasks": args.tasks + args.never,
        "tracked_at_end": len(tracked),
        "fault_rate": args.fault_rate,
        "fault_kinds": list(FAULT_KINDS),
        "interval": args.interval,
        "max_attempts": args.max_attempts,
        "cycles": len(cycles),
        "failed_cycles": sum(1 for c in cycles if c.failed),
        "requests": client.request_count,
        "requests_bound_from_cycles": exact_total,
        "within_budget": client.request_count <= exact_total
        and all(m["requests"] <= m["bound_from_cycles"] for m in per_minute),
        "per_minute": per_minute,
        "problems_seen": problems,
        "tasks_lost": len(lost),
        "records_lost": len(lost_records),
        "state_mismatches_after_clean_pass": len(mismatched),
        "second_writer_kept": len(second["kept"]),
        "second_writer_lost": len(second_lost),
        "second_writer_busy_errors": second["errors"],
        "churned_opens": sum(part["opens"] for part in churn),
        "churned_open_seconds": max((part["seconds"] for part in churn), default=0.0),
        "false_damaged": len(false_damaged) + second["damaged"],
        "false_damaged_first": false_damaged[0] if false_damaged else None,
        "wal_mb_peak_sampled": round(wal_peak / 1e6, 1),
        "open_errors": sum(len(part["errors"]) for part in churn),
        "open_errors_first": next((e for part in churn for e in part["errors"]), None),
        "rss_mb_first": first.get("rss_mb"),
        "rss_mb_last": last.get("rss_mb"),
        "rss_mb_steady_min": min((s["rss_mb"] for s in steady), default=None),
        "rss_mb_steady_max": max((s["rss_mb"] for s in steady), default=None),
        "tracemalloc_mb_first": first.get("tracemalloc_mb"),
        "tracemalloc_mb_last": last.get("tracemalloc_mb"),
        "samples": samples,
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--tasks", type=int, default=9_500)
    parser.add_argument("--never", type=int, default=500, help="tasks that never finish")
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--max-attempts", type=int, default=4)
    parser.add_argument("--report-every", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--opens", type=int, default=10_000, help="churned opens in all")
    parser.add_argument("--open-procs", type=int, default=2, help="processes sharing them")
    parser.add_argument("--wal-limit-mb", type=float, default=2000.0)
    parser.add_argument("--open-pause", type=float, default=0.05, help="seconds between opens")
    parser.add_argument("--out", type=Path, default=ROOT / ".bench-results" / "soak.json")
    args = parser.parse_args(argv)
    result = asyncio.run(soak(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    summary = {k: v for k, v in result.items() if k not in ("samples", "per_minute")}
    print(json.dumps(summary, indent=2))
    ok = (
        result["tasks_lost"] == 0
        and result["records_lost"] == 0
        and result["state_mismatches_after_clean_pass"] == 0
        and result["second_writer_lost"] == 0
        and result["false_damaged"] == 0
        and result["within_budget"]
    )
    print("soak:", "OK" if ok else "FAILED", f"-> {os.path.relpath(args.out, ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
