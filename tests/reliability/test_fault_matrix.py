"""The fault matrix: every fault the service (or what is in front of it) can throw at nbtui,
against every surface that polls it, over the simulator.

Surfaces:
- `get`: `nbtui get` through `main()` in-process, against a loopback simulator (real sockets,
  real timing, 2 attempts, 0.5 s timeout); `connection refused` points at a dead port.
- `watch`: `nbtui watch --interval 1` the same way (the shared Monitor inside); refused is run
  as a real subprocess that must recover once a simulator starts on its port.
- `monitor`: the Monitor + client + store exactly as the TUI wires them, over ASGI (loopback
  for refused), with a fake clock: request spacing is read from the recorded sleeps.
- `app`: a subset through the real Textual app (`App.run_test`), checking the status bar.

Each cell proves: the process keeps going (CLI: documented exit code and one `nbtui: error:`
line, no traceback), the number of requests is exactly what the retry policy allows and they
are spaced (never a tight loop), every tracked task and its last good record survive, and
refreshing resumes by itself once the fault clears (401/403 wait for the user).

| fault               | get (reqs) | watch (reqs)  | monitor (reqs/cycle) | app |
|---------------------|------------|---------------|----------------------|-----|
| 429 + Retry-After   | 2, exit 1  | 2+1, exit 0   | 6 (3 chunks x 2)     | yes |
| 429                 | 2, exit 1  | 2+1, exit 0   | 6                    |     |
| 500                 | 2, exit 1  | 2+1, exit 0   | 6                    | yes |
| 502 HTML            | 2, exit 1  | 2+1, exit 0   | 6                    | yes |
| 503 HTML            | 2, exit 1  | 2+1, exit 0   | 6                    |     |
| empty body          | 2, exit 1  | 2+1, exit 0   | 6                    |     |
| truncated JSON      | 2, exit 1  | 2+1, exit 0   | 6                    | yes |
| items not a list    | 2, exit 1  | 2+1, exit 0   | 6                    |     |
| record without id   | 1, exit 1  | 1+1, exit 0   | 3, batch kept        | yes |
| 10 MB answer        | 1, exit 0  | 1, exit 0     | 3                    |     |
| slow past timeout   | 2, exit 1  | 2+1, exit 0   | 6                    |     |
| connection refused  | 2 tries    | subprocess    | 2 tries/chunk        |     |
| reset mid-body      | 2, exit 1  | 2+1, exit 0   | 6                    | yes |
| 401 mid-session     | 1, exit 1  | 1, exit 1     | halts, ≤3            | yes |
| 403 used_up         | 1, exit 1  | 1, exit 1     | halts, ≤3            | yes |

Faults of the database rather than the service (the app's own writes: `a`, untrack):

| fault                  | app                                                          |
|------------------------|--------------------------------------------------------------|
| concurrent writers     | another connection holds BEGIN EXCLUSIVE: "waiting for the   |
|                        | database", the add and the untrack both land once released   |
| full disk mid-write    | a full tmpfs: "the disk is full", the add lands once space   |
|                        | is freed; nothing stored before is lost or called damaged    |

(The CLI's side of both: tests/reliability/test_database_file.py.)

`MATRIX` holds what each test observed, for a reader stepping through a failure.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from nbtui.api.models import TaskState
from nbtui.sim import SimConfig, SimServer
from nbtui.sim.state import SimState
from nbtui.tracking.store import Store
from tests.helpers import ROOT, TOKEN, CliRunner, data_store, free_port
from tests.reliability.conftest import MonitorRig

Outcome = Literal["retry", "partial", "ok", "halt"]

#: (fault, surface) -> what was observed (this process's tests only; nothing reads it back).
MATRIX: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Fault:
    name: str
    kind: str | None  # the simulator's fault kind; None: connection refused
    outcome: Outcome
    words: str  # in the CLI's one-line reason
    problem: str | None  # the monitor's problem kind
    retry_after: float | None = None
    delay: float = 0.0

    def __str__(self) -> str:
        return self.name


FAULTS = [
    Fault("429 Retry-After", "429", "retry", "rate limiting", "rate_limited", retry_after=1),
    Fault("429", "429", "retry", "rate limiting", "rate_limited"),
    Fault("500", "500", "retry", "temporary problem", "server"),
    Fault("502 HTML", "502_html", "retry", "HTML page", "protocol"),
    Fault("503 HTML", "503_html", "retry", "HTML page", "protocol"),
    Fault("empty body", "empty", "retry", "empty body", "protocol"),
    Fault("truncated JSON", "truncated", "retry", "not valid JSON", "protocol"),
    Fault("items not a list", "wrong_shape", "retry", "shape", "protocol"),
    Fault("record without id", "missing_id", "partial", "without a task id", "protocol"),
    Fault("10 MB answer", "huge", "ok", "", None),
    Fault("slow past timeout", "slow", "retry", "within 0.5 s", "network", delay=1.0),
    Fault("connection refused", None, "retry", "connection refused", "network"),
    Fault("reset mid-body", "reset", "retry", "connection", "network"),
    Fault("401 mid-session", "401", "halt", "token", "auth"),
    Fault("403 used_up", "403_used_up", "halt", "balance", "rejected"),
]
SIM_FAULTS = [f for f in FAULTS if f.kind is not None]
BY_NAME = {f.name: f for f in FAULTS}
ATTEMPTS = 2  # max_attempts in these tests
#: Client backoff before the first retry is drawn from [0.25, 0.5] s (equal jitter).
MIN_RETRY_GAP = 0.25
EPS = 0.02


def inject(state: SimState, fault: Fault, times: int) -> None:
    assert fault.kind is not None
    state.inject_fault(fault.kind, times=times, retry_after=fault.retry_after, delay=fault.delay)


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("nbtui: error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def finished_tasks(state: SimState, n: int) -> list[str]:
    return [
        state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0) for _ in range(n)
    ]


def stored_records() -> dict[str, dict[str, Any] | None]:
    with data_store() as store:
        return {row.id: row.raw for row in store.all()}


# ============================================================================ nbtui get


@pytest.mark.parametrize("fault", FAULTS, ids=str)
def test_get(
    fault: Fault,
    cli: CliRunner,
    fresh_sim: SimServer,
    fast_config: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = fresh_sim.state
    ids = finished_tasks(state, 3)
    assert cli("add", *ids).code == 0
    assert cli("get", *ids).code == 0  # good records first
    before = stored_records()
    assert all(raw is not None for raw in before.values())
    with data_store() as store:
        refreshed_before = {row.id: row.last_refreshed for row in store.all()}
    start = len(state.api_requests())

    if fault.kind is None:
        monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", f"http://127.0.0.1:{free_port()}")
        caplog.set_level(logging.INFO, logger="nbtui.api.client")
    else:
        inject(state, fault, ATTEMPTS)
    if fault.outcome == "ok":
        # Read in full, not raced against the 0.5 s that makes failing paths quick: on a busy
        # machine (the suite's own xdist workers) 10 MB may take longer to arrive.
        fast_config.write_text("max_attempts = 2\ntimeout = 30\n", encoding="utf-8")
    run = cli("get", *ids)
    sent = state.api_requests()[start:]

    if fault.outcome == "ok":
        assert run.code == 0, run.err
        assert len(run.out.splitlines()) == 3 and "succeeded" in run.out
        assert len(sent) == 1
    else:
        assert run.code == 1
        assert run.out == ""  # all or nothing on stdout
        assert fault.words in one_error_line(run.err)
        if fault.kind is None:
            retries = [r for r in caplog.records if "retrying" in r.getMessage()]
            assert len(retries) == ATTEMPTS - 1  # 2 attempts, then the one-line reason
        else:
            expected = {"retry": ATTEMPTS, "partial": 1, "halt": 1}[fault.outcome]
            assert len(sent) == expected
            spacing = fault.retry_after or MIN_RETRY_GAP
            assert all(gap >= spacing - EPS for gap in gaps([r.at for r in sent]))

    # Nothing tracked lost, every last good record kept.
    after = stored_records()
    assert after.keys() == before.keys()
    assert after == before
    if fault.outcome == "partial":
        # The rest of the batch was read and stored; only the unattributable one waits.
        with data_store() as store:
            fresher = [
                row.id for row in store.all() if row.last_refreshed != refreshed_before[row.id]
            ]
        assert len(fresher) == 2

    # The fault cleared: the same command works again.
    if fault.kind is None:
        monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", fresh_sim.base_url)
    state.clear_faults()
    again = cli("get", *ids)
    assert again.code == 0, again.err
    MATRIX[(fault.name, "get")] = f"{len(sent) if fault.kind else ATTEMPTS} req, exit {run.code}"


# ============================================================================ nbtui watch


@pytest.mark.parametrize("fault", SIM_FAULTS, ids=str)
def test_watch(fault: Fault, cli: CliRunner, fresh_sim: SimServer, fast_config: Path) -> None:
    state = fresh_sim.state
    ids = finished_tasks(state, 3)
    assert cli("add", *ids).code == 0
    assert cli("get", *ids).code == 0
    before = stored_records()
    start = len(state.api_requests())
    inject(state, fault, ATTEMPTS if fault.outcome == "retry" else 1)
    if fault.outcome == "ok":  # read in full, not raced against 0.5 s (as in test_get)
        fast_config.write_text("max_attempts = 2\ntimeout = 30\n", encoding="utf-8")

    run = cli("watch", "--interval", "1", "--timeout", "60", *ids)
    sent = state.api_requests()[start:]
    assert "Traceback" not in run.err

    if fault.outcome == "halt":
        assert run.code == 1
        assert fault.words in one_error_line(run.err)
        assert len(sent) == 1  # stops at once: no retry of a refusal
    else:
        assert run.code == 0, run.err
        assert [line.split()[1] for line in run.out.splitlines()] == ["succeeded"] * 3
        expected = {"retry": ATTEMPTS + 1, "partial": 2, "ok": 1}[fault.outcome]
        assert len(sent) == expected
        if fault.outcome == "retry":
            # The failed cycle is said on stderr, then the next one waits >= the interval.
            assert any("retrying in" in line for line in run.err.splitlines())
            assert gaps([r.at for r in sent])[-1] >= 1.0 - EPS
        if fault.outcome == "partial":
            assert "without a task id" in run.err
    assert stored_records() == before
    MATRIX[(fault.name, "watch")] = f"{len(sent)} req, exit {run.code}"


def test_watch_rides_out_connection_refused_as_a_process(tmp_path: Path) -> None:
    """A real `nbtui watch` started while nothing listens: it says so, keeps trying at a
    bounded pace, and finishes once a simulator appears on that port."""
    port = free_port()
    state = SimState(SimConfig(token=TOKEN, failure_ratio=0.0, moderation_ratio=0.0))
    task = state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    env = dict(os.environ)
    env.update(
        {
            "ACEDATACLOUD_API_TOKEN": TOKEN,
            "ACEDATACLOUD_API_BASE_URL": f"http://127.0.0.1:{port}",
            "NBTUI_DATA_DIR": str(tmp_path / "data"),
        }
    )
    config = tmp_path / "config.toml"
    config.write_text("max_attempts = 2\ntimeout = 0.5\n", encoding="utf-8")
    env["NBTUI_CONFIG"] = str(config)
    proc = subprocess.Popen(
        [sys.executable, "-m", "nbtui", "watch", "--interval", "1", "--timeout", "60", task],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stderr is not None
        seen: list[str] = []
        for line in proc.stderr:  # progress lines: one per change (not a terminal)
            seen.append(line)
            if "connection refused" in line:
                break
        assert any("connection refused" in line for line in seen), seen
        assert proc.poll() is None  # still running, waiting for the network
        with SimServer(state=state, port=port):
            out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, "".join(seen) + err
    assert "succeeded" in out
    assert "Traceback" not in "".join(seen) + err
    assert len(state.api_requests()) == 1  # the first request that could reach it succeeded
    MATRIX[("connection refused", "watch")] = "subprocess, recovered, exit 0"


# ============================================================================ the monitor


def track_batch(rig: MonitorRig) -> tuple[list[str], list[str]]:
    """120 tasks (3 chunks of 50): 110 never finish, 10 finish 5 s from now."""
    forever = [rig.sim.add_task(outcome="never", pending_seconds=0) for _ in range(110)]
    soon = [
        rig.sim.add_task(outcome="succeeded", pending_seconds=0, running_seconds=5)
        for _ in range(10)
    ]
    rig.store.add(forever + soon, now=rig.time.now)
    return forever, soon


@pytest.mark.parametrize("fault", FAULTS, ids=str)
async def test_monitor(fault: Fault, tmp_path: Path) -> None:
    server: SimServer | None = None
    port = free_port()
    rig = MonitorRig(tmp_path, base_url=f"http://127.0.0.1:{port}" if fault.kind is None else None)
    try:
        if fault.kind is None:
            server = SimServer(state=rig.sim, port=port).start()
        forever, soon = track_batch(rig)
        everyone = forever + soon
        chunks = math.ceil(len(everyone) / 50)
        first = await rig.monitor.refresh_once()
        assert first.failed == 0 and first.requested == len(everyone)
        good = {row.id: row.raw for row in rig.store.all()}
        assert all(raw is not None for raw in good.values())
        start = len(rig.api_requests())
        sleeps_before = len(rig.time.sleeps)

        if fault.kind is None:
            assert server is not None
            server.stop()
        else:
            times = {"retry": chunks * ATTEMPTS, "partial": 1, "ok": chunks, "halt": 1}
            inject(rig.sim, fault, times[fault.outcome])
        report = await rig.monitor.refresh_once()
        sent = rig.api_requests()[start:]
        retry_sleeps = rig.time.sleeps[sleeps_before:]

        # Bounded: at most chunks x attempts, retries spaced by the backoff or Retry-After.
        if fault.kind is not None:
            expected = {
                "retry": chunks * ATTEMPTS,
                "partial": chunks,
                "ok": chunks,
                "halt": None,
            }[fault.outcome]
            if expected is None:
                assert 1 <= len(sent) <= chunks  # no retry of a refusal
            else:
                assert len(sent) == expected
        floor = fault.retry_after or MIN_RETRY_GAP
        assert all(delay >= floor - 1e-9 for delay in retry_sleeps)
        if fault.outcome == "retry":
            assert len(retry_sleeps) == chunks * (ATTEMPTS - 1)

        # Said, and the next cycle planned no sooner than the interval (or never, for a halt).
        problem = rig.monitor.problem
        if fault.problem is None:
            assert problem is None and report.failed == 0
        else:
            assert problem is not None and problem.kind == fault.problem
        if fault.outcome == "halt":
            assert report.next_at is None and rig.monitor.halted
        else:
            assert report.next_at is not None
            assert report.next_at - report.finished >= rig.monitor.interval
            if fault.retry_after:
                assert report.next_at - report.finished >= fault.retry_after
        if fault.outcome == "partial":
            assert report.failed == 1  # one unattributable record, the other 119 read

        # Nothing lost, no good record replaced by a bad answer, nothing marked not found.
        rows = {row.id: row for row in rig.store.all()}
        assert rows.keys() == good.keys()
        assert {i: row.raw for i, row in rows.items()} == good
        assert not any(row.state is TaskState.NOT_FOUND for row in rows.values())
        failed_ids = [i for i, row in rows.items() if row.last_error]
        if fault.outcome == "retry":
            assert len(failed_ids) == len(everyone)
        elif fault.outcome == "partial":
            assert len(failed_ids) == 1

        # The fault clears: the loop resumes by itself (401/403 wait for the user).
        if fault.kind is None:
            server = SimServer(state=rig.sim, port=port).start()
        rig.sim.clear_faults()
        cycles_before = len(rig.reports)
        if fault.outcome == "halt":
            quiet = len(rig.api_requests())
            rig.time.now += 3600  # an hour later, still nothing sent
            assert not rig.monitor._due()
            assert rig.monitor._time_to_next() is None
            assert len(rig.api_requests()) == quiet
            rig.monitor.resume()  # the user: a new token, a topped-up balance
        await rig.run_cycles(1)
        last = rig.reports[-1]
        assert len(rig.reports) == cycles_before + 1
        assert last.failed == 0 and rig.monitor.problem is None
        rows = {row.id: row for row in rig.store.all()}
        assert rows.keys() == good.keys()
        assert all(rows[i].state is TaskState.SUCCEEDED for i in soon)
        assert all(rows[i].state is TaskState.RUNNING and rows[i].raw for i in forever)
        assert not any(row.last_error for row in rows.values())
        MATRIX[(fault.name, "monitor")] = (
            f"{len(sent) if fault.kind else chunks * ATTEMPTS} req/cycle, "
            f"next >= {report.next_at - report.finished if report.next_at else 0:.0f}s"
            if fault.outcome != "halt"
            else f"{len(sent)} req, halted until resume"
        )
    finally:
        if server is not None:
            server.stop()
        await rig.close()


# ============================================================================ the app

APP_FAULTS = [
    "429 Retry-After",
    "500",
    "502 HTML",
    "truncated JSON",
    "reset mid-body",
    "record without id",
]
STATUS_WORDS = {
    "rate_limited": "rate limited",
    "server": "server error",
    "protocol": "unexpected answer",
    "network": "network problem",
    "auth": "token rejected",
    "rejected": "request refused",
}


async def test_app_rides_out_faults_and_says_so(tmp_path: Path) -> None:
    """The real app: each fault shows in the status bar, the app keeps answering keys, the
    stored records stay, and the status clears by itself once the fault is gone."""
    from tests.helpers import SIZE, FakeClock, app_with_sixty_tasks, settle

    clock = FakeClock()
    app, sim, store = app_with_sixty_tasks(tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.main.loaded and app.main.cycles >= 1)
        good = {row.id: row.raw for row in store.all()}
        assert all(good.values()) and len(good) == 60
        for name in APP_FAULTS:
            fault = BY_NAME[name]
            assert fault.kind is not None and fault.problem is not None
            inject(sim, fault, 2 if fault.outcome == "retry" else 1)  # 2 chunks, 1 attempt
            cycles = app.main.cycles
            start = len(sim.api_requests())
            await pilot.press("R")  # refresh all, by key: the app takes input mid-fault
            await settle(pilot, lambda c=cycles: app.main.cycles > c)
            words = STATUS_WORDS[fault.problem]
            assert words in app.main.status.render().plain, name
            assert len(sim.api_requests()) - start == 2  # one request per chunk, no loop
            assert {row.id: row.raw for row in store.all()} == good
            assert app.main.monitor is not None and app.main.monitor.next_refresh_at is not None
            # Cleared: move the clock past the planned retry; the app retries by itself.
            sim.clear_faults()
            cycles = app.main.cycles
            clock.advance(app.main.monitor.next_refresh_at - clock() + 1)
            await settle(pilot, lambda c=cycles: app.main.cycles > c)
            await settle(pilot, lambda: app.main.status.problem is None)
            assert words not in app.main.status.render().plain
            MATRIX[(name, "app")] = "status bar said it, cleared by itself"
        assert {row.id: row.raw for row in store.all()} == good


async def test_app_waits_for_the_user_after_401_and_403(tmp_path: Path) -> None:
    from tests.helpers import SIZE, FakeClock, app_with_sixty_tasks, settle

    clock = FakeClock()
    app, sim, store = app_with_sixty_tasks(tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.main.loaded and app.main.cycles >= 1)
        good = {row.id: row.raw for row in store.all()}
        for name in ("401 mid-session", "403 used_up"):
            fault = BY_NAME[name]
            assert fault.kind is not None and fault.problem is not None
            inject(sim, fault, 1)
            cycles = app.main.cycles
            await pilot.press("R")
            await settle(pilot, lambda c=cycles: app.main.cycles > c)
            words = STATUS_WORDS[fault.problem]
            assert words in app.main.status.render().plain
            monitor = app.main.monitor
            assert monitor is not None and monitor.halted
            quiet = len(sim.api_requests())
            clock.advance(3600)
            await pilot.pause(1.2)  # past the monitor's 1 s store check: still nothing sent
            assert len(sim.api_requests()) == quiet
            assert words in app.main.status.render().plain
            assert {row.id: row.raw for row in store.all()} == good
            if name.startswith("401"):
                app.main.start_monitor("sim-token-0123456789abcd")  # what a saved new token does
            else:
                await pilot.press("p", "p")  # pause, resume: the user says "try again"
            await settle(
                pilot, lambda c=cycles: app.main.status.problem is None and app.main.cycles > c
            )
            MATRIX[(name, "app")] = "status bar said it, waited for the user"


# ============================================================================ the database


async def test_app_keeps_its_writes_while_another_process_holds_the_database(
    tmp_path: Path,
) -> None:
    """`a` and untrack while another connection holds the write lock: the app keeps both
    requests, says it waits, stays alive, and both land once the lock is released."""
    import sqlite3
    import threading

    from nbtui.tui.screens.add_tasks import AddRequest
    from tests.helpers import SIZE, FakeClock, app_with_sixty_tasks, settle

    clock = FakeClock()
    app, sim, store = app_with_sixty_tasks(tmp_path, clock)
    newcomer = sim.add_task(outcome="never", pending_seconds=0)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(tmp_path / "data" / "tasks.db", isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        held.set()
        release.wait(60)
        conn.execute("COMMIT")
        conn.close()

    holder = threading.Thread(target=hold)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.main.loaded and app.main.cycles >= 1)
        leaving = next(iter(app.main.model.rows))
        holder.start()
        held.wait(10)
        try:
            app.main.track_commands.add(AddRequest(ids=[newcomer], rejected=[], label=None))
            app.main.track_commands.untrack([leaving])
            await settle(pilot, lambda: app.main.status.store_waiting is not None)
            assert "waiting for the database" in app.main.status.render().plain
            for _ in range(20):  # several retries meanwhile: still alive, nothing lost
                await pilot.pause(0.05)
            assert app.is_running and newcomer not in app.main.model.rows
        finally:
            release.set()
            holder.join(10)
        await settle(pilot, lambda: newcomer in app.main.model.rows, rounds=2_000)
        await settle(pilot, lambda: leaving not in app.main.model.rows, rounds=2_000)
        await settle(pilot, lambda: app.main.status.store_waiting is None)
        assert app.is_running
    ids = set(store.ids())
    assert newcomer in ids and leaving not in ids
    MATRIX[("concurrent writers", "app")] = "waited, said so, both writes landed"


async def test_app_keeps_an_add_through_a_full_disk(tmpfs: Path) -> None:
    """`a` on a full disk: "the disk is full" in the status bar, the app stays up, the id is
    stored once space is freed, and nothing stored before is lost or called damaged."""
    from nbtui.tui.screens.add_tasks import AddRequest
    from tests.helpers import SIZE, FakeClock, app_with_sixty_tasks, settle

    subprocess.run(["mount", "-o", "remount,size=2m", str(tmpfs)], check=True)  # 60 records
    clock = FakeClock()
    app, sim, store = app_with_sixty_tasks(tmpfs, clock)
    before = set(store.ids())
    newcomers = [sim.add_task(outcome="never", pending_seconds=0) for _ in range(300)]
    filler = tmpfs / "filler"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.main.loaded and app.main.cycles >= 1)
        with (
            filler.open("wb", buffering=0) as handle,
            contextlib.suppress(OSError),
        ):  # every byte left
            while True:
                handle.write(b"\0" * 4096)

        app.main.track_commands.add(AddRequest(ids=newcomers, rejected=[], label=None))
        await settle(pilot, lambda: app.main.status.store_waiting is not None, rounds=2_000)
        assert "disk is full" in app.main.status.render().plain
        assert app.is_running and not any(i in app.main.model.rows for i in newcomers)
        filler.unlink()
        await settle(pilot, lambda: all(i in app.main.model.rows for i in newcomers), rounds=2_000)
        await settle(pilot, lambda: app.main.status.store_waiting is None)
    assert before | set(newcomers) == set(store.ids())
    store.close()
    with Store.open(tmpfs / "data", recover=True) as again:
        assert again.recovered is None and len(again.ids()) == len(before) + 300
    MATRIX[("full disk mid-write", "app")] = "waited for space, said so, the add landed"


# ============================================================================ summary


def test_every_fault_meets_every_cli_and_monitor_surface() -> None:
    """Every fault is played against `get`, `watch` and the monitor: read from the tests'
    own parameters, not from what other tests recorded (they may run in another order, or in
    another process under xdist). `test_get` and `test_monitor` take FAULTS; `test_watch`
    takes the simulator's faults and a subprocess test plays the refused connection."""
    names = [fault.name for fault in FAULTS]
    assert len(set(names)) == len(names)
    watch = {fault.name for fault in SIM_FAULTS} | {"connection refused"}
    assert watch == set(names)


# ============================================================================ hostile records
#
# Rows for records no parser or formatter expects (issue 11 §2), put in front of the simulator
# by a proxy that rewrites one task's record in otherwise good `retrieve_batch` answers.
#
# | hostile record        | monitor: that task                  | the others  | next cycle |
# |-----------------------|-------------------------------------|-------------|------------|
# | NaN/Infinity times    | stored, times null                  | refreshed   | on time    |
# | nested 5,000 deep     | last good record, "Unreadable answer" | refreshed | on time    |
# | 4,301-digit number    | last good record, "Unreadable answer" | refreshed | on time    |
# | nested 150 deep       | last good record, "Unreadable answer" | refreshed | on time    |
# | 5 MB prompt           | stored whole                        | refreshed   | on time    |

HOSTILE_RECORDS: dict[str, str] = {
    "NaN/Infinity times": (
        '{"id": "{id}", "status": "succeeded", "created_at": NaN, "started_at": NaN, '
        '"finished_at": Infinity, "elapsed": -Infinity, "request": {"prompt": "nan"}}'
    ),
    "nested 5,000 deep": '{"id": "{id}", "request": {"prompt": ' + "[" * 5000 + "]" * 5000 + "}}",
    "4,301-digit number": '{"id": "{id}", "created_at": 1' + "0" * 4300 + "}",
    "nested 150 deep": '{"id": "{id}", "x": ' + "[" * 150 + "]" * 150 + "}",
    "5 MB prompt": '{"id": "{id}", "request": {"prompt": "' + "cat " * 1_310_720 + '"}}',
}


def hostile_proxy(sim_app: Any, target: str, record: str) -> Any:
    """An ASGI app in front of the simulator that swaps `target`'s record for `record` (text:
    most of these cannot be written by `json.dumps`)."""
    import httpx
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    upstream = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app), base_url="http://sim")

    async def handle(request: Request) -> Response:
        answer = await upstream.post(
            request.url.path, content=await request.body(), headers=dict(request.headers)
        )
        data = answer.json()
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            return Response(answer.content, answer.status_code, media_type="application/json")
        texts = [
            record.replace("{id}", target) if item.get("id") == target else json.dumps(item)
            for item in items
        ]
        body = '{"items": [' + ", ".join(texts) + f'], "count": {len(texts)}}}'
        return Response(body.encode(), answer.status_code, media_type="application/json")

    return Starlette(routes=[Route("/{path:path}", handle, methods=["POST"])])


@pytest.mark.parametrize("kind", list(HOSTILE_RECORDS))
async def test_monitor_hostile_record(kind: str, tmp_path: Path) -> None:
    import httpx

    from nbtui.api.client import NanoBananaClient

    rig = MonitorRig(tmp_path)
    try:
        ids = [
            rig.sim.add_task(outcome="succeeded", pending_seconds=0, running_seconds=1)
            for _ in range(5)
        ]
        rig.store.add(ids, now=rig.time.now)
        rig.time.now += 10
        await rig.monitor.refresh_once(force=True)  # every record good once
        before = {row.id: row.raw for row in rig.store.all()}
        assert all(raw is not None for raw in before.values())

        target = ids[2]
        proxy = hostile_proxy(rig.app, target, HOSTILE_RECORDS[kind])
        rig.monitor.set_client(
            NanoBananaClient(
                "http://sim.test",
                TOKEN,
                transport=httpx.ASGITransport(app=proxy),
                sleep=rig.time.sleep,
                clock=rig.time.clock,
                max_attempts=2,
            )
        )
        report = await rig.monitor.refresh_once(force=True)
        rows = {row.id: row for row in rig.store.all()}
        for task_id in ids:
            if task_id != target:
                assert rows[task_id].last_error is None and rows[task_id].raw == before[task_id]
        hostile = rows[target]
        if kind in ("NaN/Infinity times", "5 MB prompt"):
            assert report.failed == 0 and hostile.last_error is None
            assert hostile.raw is not None and hostile.raw != before[target]
            if kind == "NaN/Infinity times":
                assert hostile.raw["started_at"] is None and hostile.started_at is None
        else:
            assert report.failed == 1
            assert hostile.last_error is not None and "Unreadable answer" in hostile.last_error
            assert hostile.raw == before[target]  # the last good record is kept
        # The batch was answered: one request, no retry, and the next cycle comes on time.
        assert not rig.monitor.halted
        assert rig.monitor.next_refresh_at is not None
        assert rig.monitor.next_refresh_at - rig.time.now <= rig.monitor.interval + 1
        report = await rig.monitor.refresh_once(force=True)
        assert report.requested == len(ids)
    finally:
        await rig.close()


# ================================================= a blocked keyring, SIGTERM (issue 11 §5, §6)
#
# | fault             | token status / get    | watch                 | app (tmux)             |
# |-------------------|-----------------------|-----------------------|------------------------|
# | a blocked keyring | gives up after the    |                       | paints, "waiting for   |
# |                   | timeout: exit 0 / 2   |                       | the keyring", q: exit 0 |
# | SIGTERM           |                       | exit 143, temp store  | exit 143, terminal     |
# |                   |                       | removed, no traceback | restored (0 0 1)       |

_KEYRINGS = ROOT / "tests" / "keyrings"
_BLOCKED = "hostile_keyring.BlockingKeyring"


def _tmux_missing() -> bool:
    import shutil

    return shutil.which("tmux") is None


def _cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    (tmp_path / "none.toml").touch()  # an empty config: the defaults, nothing to warn about
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("ACEDATACLOUD_API_TOKEN", "PYTHONPATH")
    }
    env.update(
        {
            "NBTUI_DATA_DIR": str(tmp_path / "data"),
            "NBTUI_CONFIG": str(tmp_path / "none.toml"),
            "PYTHONPATH": f"{ROOT}{os.pathsep}{_KEYRINGS}",
            **extra,
        }
    )
    return env


@pytest.mark.parametrize(
    ("args", "code", "stream"),
    [
        (["token", "status"], 0, "stdout"),
        (["get", "4d320ead-4af4-4a55-8f3e-f2afebdf4fd0"], 2, "stderr"),
    ],
)
def test_cli_gives_up_on_a_blocked_keyring(
    tmp_path: Path, args: list[str], code: int, stream: str
) -> None:
    """The backend never returns (a keyring waiting to be unlocked): the command says so
    after NBTUI_KEYRING_TIMEOUT and ends, its stuck call notwithstanding."""
    env = _cli_env(tmp_path, PYTHON_KEYRING_BACKEND=_BLOCKED, NBTUI_KEYRING_TIMEOUT="1")
    done = subprocess.run(
        [sys.executable, "-m", "nbtui", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    said = done.stdout if stream == "stdout" else done.stderr
    assert done.returncode == code, done.stdout + done.stderr
    assert "the OS keyring did not answer within 1 s" in said
    assert "ACEDATACLOUD_API_TOKEN" in said
    assert "Traceback" not in done.stderr
    MATRIX[("a blocked keyring", args[0])] = f"gave up after the timeout, exit {code}"


@pytest.mark.skipif(_tmux_missing(), reason="tmux is not installed")
def test_app_quits_while_the_keyring_is_blocked(tmp_path: Path) -> None:
    """The real app in tmux, its keyring backend stuck for good: it paints, says it waits for
    the keyring, and `q` ends the process (the stuck call is in a daemon thread)."""
    from tests.tui.tmux_harness import nbtui_in_tmux

    with nbtui_in_tmux(
        tmp_path,
        PYTHON_KEYRING_BACKEND=_BLOCKED,
        PYTHONPATH=str(_KEYRINGS),
        NBTUI_KEYRING_TIMEOUT="600",
    ) as term:
        term.wait_text("waiting for the keyring")
        assert "Welcome to nbtui" not in term.screen()
        term.keys("q")
        assert term.exit_status() == "0"
    MATRIX[("a blocked keyring", "app")] = "painted, waiting for the keyring, q exits 0"


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


@contextlib.contextmanager
def _app_in_tmux(tmp_path: Path, shell_command: str) -> Iterator[Any]:
    """`shell_command` (where NBTUI stands for the nbtui command) in a private tmux server."""
    from tests.tui.tmux_harness import command_in_tmux, nbtui_command

    nbtui = " ".join(f"'{part}'" for part in [*nbtui_command(), "--demo"])
    command = shell_command.replace("NBTUI", nbtui)
    with command_in_tmux(tmp_path, command, tmp_path / "exit-status") as terminal:
        yield terminal


def display(term: Any, fmt: str) -> str:
    return str(term.tmux("display-message", "-p", "-t", term.session, fmt)).strip()


@pytest.mark.skipif(_tmux_missing() or not Path("/proc").is_dir(), reason="needs tmux and /proc")
def test_sigterm_restores_the_terminal_and_exits_143(tmp_path: Path) -> None:
    """`kill -TERM` on the app: exit 143, and the terminal it leaves is usable again (no
    alternate screen, no mouse reporting, cursor shown).

    The pane's shell outlives nbtui here, so tmux's flags are what nbtui left behind, and the
    shell reports the exit status. (With nbtui as the pane's own process and remain-on-exit,
    tmux 3.3 hides the cursor itself as it writes "Pane is dead", and now and then never
    fills in `pane_dead_status`: neither says anything about nbtui.)
    """
    from tests.tui.tmux_harness import wait_until

    status = tmp_path / "exit-status"
    with _app_in_tmux(tmp_path, f"sh -c \"NBTUI; echo \\$? > '{status}'; sleep 600\"") as term:
        term.wait_text("succeeded")
        assert display(term, "#{alternate_on} #{mouse_any_flag} #{cursor_flag}") == "1 1 0"
        shell = int(display(term, "#{pane_pid}"))
        wait_until(lambda: len(_children(shell)) == 1, "nbtui under the pane's shell")
        os.kill(_children(shell)[0], signal.SIGTERM)
        assert term.exit_status() == "143"
        assert display(term, "#{alternate_on} #{mouse_any_flag} #{cursor_flag}") == "0 0 1"
    MATRIX[("SIGTERM", "app")] = "exit 143, terminal restored"


def test_sigterm_ends_watch_cleanly_with_143(tmp_path: Path, fresh_sim: SimServer) -> None:
    """`nbtui watch` on SIGTERM: exit 143 after unwinding as on Ctrl-C (its temporary store
    closed and removed), no traceback."""
    task = fresh_sim.state.add_task(outcome="never", pending_seconds=0)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = _cli_env(
        tmp_path,
        ACEDATACLOUD_API_TOKEN=TOKEN,
        ACEDATACLOUD_API_BASE_URL=fresh_sim.base_url,
        TMPDIR=str(scratch),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "nbtui", "watch", "--interval", "1", task],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # the first progress line: watching for real
        assert "watching" in first, first
        assert list(scratch.glob("nbtui-watch-*"))
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, first + err
    assert "Traceback" not in err
    assert not list(scratch.glob("nbtui-watch-*"))  # the temporary store was removed
    MATRIX[("SIGTERM", "watch")] = "exit 143, cleaned up"


@pytest.mark.parametrize(
    "fault", [f for f in FAULTS if f.outcome == "retry" and f.kind is not None], ids=str
)
def test_get_after_giving_up_promises_no_retry(
    fault: Fault, cli: CliRunner, fresh_sim: SimServer, fast_config: Path
) -> None:
    """`get`'s last word after its retries ran out: how many attempts, never "nbtui will
    retry" (nothing will)."""
    ids = finished_tasks(fresh_sim.state, 1)
    inject(fresh_sim.state, fault, ATTEMPTS)
    run = cli("get", *ids)
    assert run.code == 1
    line = one_error_line(run.err)
    for promise in ("will retry", "retries reads by itself", "retrying"):
        assert promise not in line, line
    assert f"gave up after {ATTEMPTS} attempts" in line
