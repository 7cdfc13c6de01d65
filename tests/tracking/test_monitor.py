"""The monitor's schedule and fault handling, against the simulator through ASGITransport.

Time is fake: one clock drives the simulator's task progress and the monitor, and the
monitor's sleep advances it. Nothing here waits on the wall clock.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from nbtui.api.client import NanoBananaClient
from nbtui.api.models import TaskState
from nbtui.sim import SimConfig, create_app
from nbtui.sim.state import SimState
from nbtui.tracking.monitor import (
    CYCLE_STEP,
    MIN_INTERVAL,
    CycleReport,
    Monitor,
    MonitorProblem,
    TaskUpdate,
)
from nbtui.tracking.store import DB_NAME, Store, StoreError

START = 1_700_000_000.0
TOKEN = "sim-token"


class FakeTime:
    """A clock and a sleep that moves it: sleeping is instant, and is recorded."""

    def __init__(self) -> None:
        self.now = START
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        self.now += delay
        await asyncio.sleep(0)


class BlockingSleep:
    """A sleep that never ends by itself: only a wake-up gets the loop going."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.calls.append(delay)
        await asyncio.Event().wait()


class Harness:
    """A simulator, a store and a monitor wired together, with every event recorded."""

    def __init__(self, tmp_path: Path, **sim_options: Any) -> None:
        self.time = FakeTime()
        options: dict[str, Any] = {"failure_ratio": 0.0, "moderation_ratio": 0.0}
        options.update(sim_options)
        self.app = create_app(SimConfig(token=TOKEN, clock=self.time.clock, **options))
        self.sim: SimState = self.app.state.sim
        self.store = Store.open(tmp_path / "data")
        self.updates: list[TaskUpdate] = []
        self.reports: list[CycleReport] = []
        self.problems: list[MonitorProblem | None] = []
        self.removed: list[str] = []
        self.stop_after: int | None = None
        self.cycle_seen = asyncio.Event()
        self.clients: list[NanoBananaClient] = []

    def client(self, token: str = TOKEN, **options: Any) -> NanoBananaClient:
        settings: dict[str, Any] = {"max_attempts": 1, "batch_size": 50}
        settings.update(options)
        client = NanoBananaClient(
            "http://sim.test",
            token,
            transport=httpx.ASGITransport(app=self.app),
            sleep=self.time.sleep,
            clock=self.time.clock,
            rng=random.Random(1),
            **settings,
        )
        self.clients.append(client)
        return client

    def monitor(
        self,
        client: NanoBananaClient | None = None,
        *,
        sleep: Callable[[float], Any] | None = None,
        **options: Any,
    ) -> Monitor:
        options.setdefault("store_check_every", None)
        options.setdefault("on_update", self.updates.extend)
        self.mon = Monitor(
            client or self.client(),
            self.store,
            clock=self.time.clock,
            sleep=sleep or self.time.sleep,
            on_cycle=self._on_cycle,
            on_problem=self.problems.append,
            on_removed=self.removed.extend,
            rng=random.Random(7),
            **options,
        )
        return self.mon

    def _on_cycle(self, report: CycleReport) -> None:
        self.reports.append(report)
        self.cycle_seen.set()
        if self.stop_after is not None and len(self.reports) >= self.stop_after:
            self.mon.stop()

    async def run_cycles(self, count: int) -> None:
        """Run the loop until `count` more cycles have ended."""
        self.stop_after = len(self.reports) + count
        await asyncio.wait_for(self.mon.run(), 30)

    async def next_cycle(self) -> CycleReport:
        self.cycle_seen.clear()
        await asyncio.wait_for(self.cycle_seen.wait(), 30)
        return self.reports[-1]

    def track(self, *ids: str) -> None:
        self.store.add(ids, now=self.time.now)

    def api_requests(self) -> list[Any]:
        return self.sim.api_requests()

    def requested_ids(self) -> list[list[str]]:
        return [list(r.body.get("ids") or [r.body.get("id")]) for r in self.api_requests()]

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()
        self.store.close()


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = Harness(tmp_path)
    yield harness
    await harness.close()


async def settle() -> None:
    """Let every ready callback run (no time passes: the loop is waiting on something)."""
    for _ in range(50):
        await asyncio.sleep(0)


# -- what is polled ----------------------------------------------------------------------


async def test_one_batch_request_for_all_unfinished_tasks(h: Harness) -> None:
    ids = [h.sim.add_task(outcome="succeeded", pending_seconds=100) for _ in range(3)]
    h.track(*ids)
    report = await h.monitor().refresh_once()
    assert report.requested == 3
    assert h.requested_ids() == [ids]
    assert h.api_requests()[0].body["action"] == "retrieve_batch"
    assert {row.state for row in h.store.all()} == {TaskState.PENDING}


async def test_chunks_follow_the_clients_batch_size(h: Harness) -> None:
    ids = [h.sim.add_task(outcome="succeeded", pending_seconds=100) for _ in range(5)]
    h.track(*ids)
    await h.monitor(h.client(batch_size=2)).refresh_once()
    assert sorted(len(chunk) for chunk in h.requested_ids()) == [1, 2, 2]
    assert sorted(i for chunk in h.requested_ids() for i in chunk) == sorted(ids)


async def test_a_long_cycle_is_asked_and_written_a_step_at_a_time(h: Harness) -> None:
    """1,200 unfinished tasks: still one request per 50, but written and reported 500 at a
    time (the records of a whole cycle are never held at once: at 5,000 unfinished tasks
    that was 5 MB), each report marked as part of the cycle under way."""
    ids = h.sim.seed(1_200)
    h.track(*ids)
    applied: list[int] = []
    apply = h.store.apply

    def recording_apply(tasks: Any, errors: Any, now: float) -> Any:
        tasks = list(tasks)
        applied.append(len(tasks) + len(errors))
        return apply(tasks, errors, now)

    h.store.apply = recording_apply  # type: ignore[method-assign, assignment]
    reported: list[tuple[int, bool]] = []

    def on_update(updates: list[TaskUpdate]) -> None:
        reported.append((len(updates), monitor.cycling))
        h.updates.extend(updates)

    monitor = h.monitor(on_update=on_update)
    assert not monitor.cycling
    report = await monitor.refresh_once()
    assert not monitor.cycling
    assert report.requested == 1_200
    assert len(h.api_requests()) == 24  # ceil(1200 / 50)
    assert applied == [CYCLE_STEP, CYCLE_STEP, 1_200 - 2 * CYCLE_STEP]
    assert reported == [(CYCLE_STEP, True), (CYCLE_STEP, True), (1_200 - 2 * CYCLE_STEP, True)]
    assert len(h.updates) == report.changed == 1_200
    assert sorted(update.task.id for update in h.updates) == sorted(ids)


async def test_a_rejected_token_ends_a_long_cycle_at_once(h: Harness) -> None:
    ids = h.sim.seed(1_200)
    h.track(*ids)
    monitor = h.monitor(h.client(token="wrong-token"))
    report = await monitor.refresh_once()
    assert len(h.api_requests()) == 1  # not one more request with a token known to be bad
    assert report.failed == 1_200
    assert monitor.halted and monitor.problem is not None and monitor.problem.kind == "auth"
    rows = h.store.all()
    assert all(row.last_error and "token" in row.last_error.lower() for row in rows)


async def test_finished_tasks_are_not_polled_again(h: Harness) -> None:
    done = h.sim.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    slow = h.sim.add_task(outcome="failed", pending_seconds=7, running_seconds=5)
    h.track(done, slow)
    h.monitor(interval=5)
    await h.run_cycles(6)  # t = 0, 5, 10, 15, 20, 25
    asked = h.requested_ids()
    assert asked[0] == [done, slow]
    assert all(chunk == [slow] for chunk in asked[1:])
    # `slow` finished at t=12, seen at t=15; after that nothing is requested at all.
    assert len(asked) == 4
    assert [r.requested for r in h.reports] == [2, 1, 1, 1, 0, 0]
    assert h.store.get(done).state is TaskState.SUCCEEDED  # type: ignore[union-attr]
    assert h.store.get(slow).state is TaskState.FAILED  # type: ignore[union-attr]


async def test_events_only_for_tasks_that_changed(h: Harness) -> None:
    waiting = h.sim.add_task(outcome="succeeded", pending_seconds=1000)
    moving = h.sim.add_task(outcome="succeeded", pending_seconds=3, running_seconds=100)
    h.track(waiting, moving)
    monitor = h.monitor(interval=5)
    await monitor.refresh_once()
    # First answer: both records are new (nothing was stored before).
    assert {u.task.id for u in h.updates} == {waiting, moving}
    assert all(u.previous is TaskState.PENDING for u in h.updates)
    h.updates.clear()
    h.time.now += 5
    report = await monitor.refresh_once()
    assert [(u.task.id, u.previous, u.task.state) for u in h.updates] == [
        (moving, TaskState.PENDING, TaskState.RUNNING)
    ]
    assert report.changed == 1
    h.updates.clear()
    h.time.now += 1  # the running record does not change between polls
    report = await monitor.refresh_once()
    assert report.requested == 2
    assert report.changed == 0
    assert h.updates == []


# -- the schedule ------------------------------------------------------------------------


async def test_next_cycle_is_planned_when_the_last_one_ends(h: Harness) -> None:
    task = h.sim.add_task(outcome="succeeded", pending_seconds=1000)
    h.track(task)
    h.monitor(interval=5, store_check_every=1.0)
    await h.run_cycles(4)
    starts = [r.started for r in h.reports]
    assert starts == [START, START + 5, START + 10, START + 15]
    for before, after in zip(h.reports, h.reports[1:], strict=False):
        assert before.next_at == before.finished + 5
        assert after.started >= before.finished + 5
    # Request spacing seen by the service matches.
    times = [r.at for r in h.api_requests()]
    assert [b - a for a, b in itertools.pairwise(times)] == [5.0, 5.0, 5.0]


async def test_cycles_never_overlap(h: Harness) -> None:
    ids = [h.sim.add_task(outcome="succeeded", pending_seconds=1000) for _ in range(4)]
    h.track(*ids)
    client = h.client(batch_size=1, max_concurrency=4)
    in_flight = 0
    most = 0
    original = client.retrieve_batch

    async def counting(batch: Any) -> Any:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        try:
            await asyncio.sleep(0)
            return await original(batch)
        finally:
            in_flight -= 1

    client.retrieve_batch = counting  # type: ignore[method-assign, assignment]
    monitor = h.monitor(client, interval=5)
    # Manual refreshes, a forced one and the loop, all at once: still one cycle at a time.
    h.stop_after = 4
    await asyncio.gather(
        monitor.run(),
        monitor.refresh_once(),
        monitor.refresh_once(force=True),
        monitor.refresh_once(ids[:1]),
    )
    assert most == 1
    assert len(h.reports) >= 4
    for before, after in zip(h.reports, h.reports[1:], strict=False):
        assert after.started >= before.finished


async def test_manual_refresh_jumps_the_queue(h: Harness) -> None:
    done = h.sim.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    waiting = h.sim.add_task(outcome="succeeded", pending_seconds=1000)
    h.track(done, waiting)
    sleep = BlockingSleep()
    monitor = h.monitor(sleep=sleep, interval=60)
    runner = asyncio.create_task(monitor.run())
    first = await h.next_cycle()
    assert first.requested == 2
    assert monitor.next_refresh_at == START + 60
    await settle()
    assert sleep.calls == [60]  # waiting for the next cycle, a minute away
    # The finished task is asked for again because the user asked, and at once.
    monitor.request_refresh([done])
    second = await h.next_cycle()
    assert h.time.now == START  # no time passed: it did not wait for the interval
    assert h.requested_ids()[-1] == [done, waiting]
    assert second.requested == 2
    # Refresh-all includes finished tasks too.
    monitor.request_refresh()
    third = await h.next_cycle()
    assert third.requested == 2
    monitor.stop()
    await asyncio.wait_for(runner, 5)


async def test_pause_and_resume(h: Harness) -> None:
    task = h.sim.add_task(outcome="succeeded", pending_seconds=1000)
    h.track(task)
    monitor = h.monitor(interval=5)
    monitor.pause()
    assert monitor.paused
    runner = asyncio.create_task(monitor.run())
    await settle()
    assert h.api_requests() == []
    assert h.time.sleeps == []  # paused: not even a timer
    assert monitor.next_refresh_at is None
    # A manual refresh still runs while paused, and stays paused.
    monitor.request_refresh([task])
    report = await h.next_cycle()
    assert report.next_at is None
    await settle()
    assert len(h.api_requests()) == 1
    monitor.resume()
    await h.next_cycle()
    await h.next_cycle()
    assert len(h.api_requests()) == 3
    assert h.reports[-1].started - h.reports[-2].finished == 5
    monitor.stop()
    await asyncio.wait_for(runner, 5)


async def test_stop_is_final_even_before_run(h: Harness) -> None:
    h.track(h.sim.add_task(outcome="succeeded", pending_seconds=1000))
    monitor = h.monitor()
    monitor.stop()
    await asyncio.wait_for(monitor.run(), 5)
    assert h.api_requests() == []
    assert not monitor.running


async def test_interval_has_a_floor_of_one_second(h: Harness) -> None:
    task = h.sim.add_task(outcome="succeeded", pending_seconds=1000)
    h.track(task)
    monitor = h.monitor(interval=0.01)
    assert monitor.interval == MIN_INTERVAL == 1.0
    monitor.interval = 0
    assert monitor.interval == 1.0
    monitor.interval = 2.5
    assert monitor.interval == 2.5
    monitor.interval = 0.2
    await h.run_cycles(4)
    times = [r.at for r in h.api_requests()]
    assert [b - a for a, b in itertools.pairwise(times)] == [1.0, 1.0, 1.0]


# -- faults ------------------------------------------------------------------------------


async def test_429_with_retry_after_is_honoured_and_said(h: Harness) -> None:
    task = h.sim.add_task(outcome="succeeded", pending_seconds=1000)
    h.track(task)
    h.sim.inject_fault("429", retry_after=12)
    monitor = h.monitor(interval=5)
    report = await monitor.refresh_once()
    assert report.failed == 1
    assert monitor.problem is not None
    assert monitor.problem.kind == "rate_limited"
    assert monitor.problem.message == "rate limited, retrying in 12 s"
    assert monitor.problem.retry_in == 12
    assert report.next_at == report.finished + 12
    # The loop waits the 12 s, then recovers by itself and clears the problem.
    await h.run_cycles(1)
    assert h.reports[-1].started == START + 12
    assert monitor.problem is None
    assert h.problems[-1] is None
    assert len(h.api_requests()) == 2


async def test_429_without_retry_after_backs_off_growing(h: Harness) -> None:
    task = h.sim.add_task(outcome="succeeded", pending_seconds=1000)
    h.track(task)
    h.sim.inject_fault("429", times=4)
    monitor = h.monitor(interval=2)
    await h.run_cycles(5)
    times = [r.at for r in h.api_requests()]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 5
    assert all(gap >= 2 for gap in gaps)
    assert gaps[3] > gaps[0]  # it grows
    problems = [p for p in h.problems if p is not None]
    assert all(p.kind == "rate_limited" for p in problems)
    assert problems[0].message.startswith("rate limited, retrying in ")
    assert monitor.problem is None  # the fifth try got through
    assert h.problems[-1] is None


async def test_server_error_backs_off_and_says_so(h: Harness) -> None:
    task = h.sim.add_task(outcome="succeeded", pending_seconds=1000)
    h.track(task)
    h.sim.inject_fault("500", times=2)
    monitor = h.monitor(interval=5)
    await monitor.refresh_once()
    problem = monitor.problem
    assert problem is not None
    assert problem.kind == "server"
    assert problem.message.startswith("server error (HTTP 500), retrying in ")
    assert problem.message.endswith(" s")
    assert problem.retry_in is not None and problem.retry_in >= 5
    await h.run_cycles(2)
    assert monitor.problem is None


@pytest.mark.parametrize(
    ("fault", "kind"),
    [("502_html", "protocol"), ("truncated", "protocol"), ("empty", "protocol"), ("504", "server")],
)
async def test_bad_answers_never_overwrite_good_data(h: Harness, fault: str, kind: str) -> None:
    task = h.sim.add_task(outcome="succeeded", pending_seconds=0, running_seconds=1000)
    h.track(task)
    monitor = h.monitor(interval=5)
    await monitor.refresh_once()
    good = h.store.get(task)
    assert good is not None and good.state is TaskState.RUNNING and good.raw is not None
    h.updates.clear()
    h.sim.inject_fault(fault)
    h.time.now += 5
    await monitor.refresh_once()
    after = h.store.get(task)
    assert after is not None
    assert after.raw == good.raw
    assert after.state is TaskState.RUNNING
    assert after.last_error
    assert h.updates == []
    assert monitor.problem is not None and monitor.problem.kind == kind
    # The fault clears: polling resumes and the error goes away.
    await h.run_cycles(1)
    assert monitor.problem is None
    healed = h.store.get(task)
    assert healed is not None and healed.last_error is None


async def test_401_stops_polling_until_a_new_client_is_given(h: Harness) -> None:
    task = h.sim.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    h.track(task)
    monitor = h.monitor(h.client(token="wrong-token"), interval=5)
    runner = asyncio.create_task(monitor.run())
    await h.next_cycle()
    assert monitor.problem is not None
    assert monitor.problem.kind == "auth"
    assert monitor.problem.message == "token rejected — press t to set a new one"
    assert monitor.halted
    assert monitor.next_refresh_at is None
    await settle()
    assert len(h.api_requests()) == 1  # it stopped: no retry loop against a bad token
    assert h.time.sleeps == []
    assert h.store.get(task).state is TaskState.PENDING  # type: ignore[union-attr]
    monitor.set_client(h.client())
    await h.next_cycle()
    assert monitor.problem is None
    assert not monitor.halted
    assert h.store.get(task).state is TaskState.SUCCEEDED
    monitor.stop()
    await asyncio.wait_for(runner, 5)


async def test_401_in_the_middle_then_resume(h: Harness) -> None:
    task = h.sim.add_task(outcome="succeeded", pending_seconds=1000)
    h.track(task)
    monitor = h.monitor(interval=5)
    await monitor.refresh_once()
    h.sim.inject_fault("401")
    await monitor.refresh_once()
    assert monitor.problem is not None and monitor.problem.kind == "auth"
    assert monitor.next_refresh_at is None
    monitor.resume()
    assert monitor.problem is None
    report = await monitor.refresh_once()
    assert report.failed == 0


async def test_a_manual_refresh_that_gets_through_lifts_the_halt(h: Harness) -> None:
    task = h.sim.add_task(outcome="succeeded", pending_seconds=1000)
    h.track(task)
    h.sim.inject_fault("401")
    sleep = BlockingSleep()
    monitor = h.monitor(sleep=sleep, interval=5)
    runner = asyncio.create_task(monitor.run())
    await h.next_cycle()
    assert monitor.halted
    await settle()
    assert sleep.calls == []  # halted: no timer at all
    monitor.request_refresh([task])  # the user pressed r; the fault is gone by now
    report = await h.next_cycle()
    assert report.failed == 0
    assert not monitor.halted
    assert monitor.problem is None
    assert report.next_at == report.finished + 5  # polling is back on schedule
    await settle()
    assert sleep.calls == [5]
    monitor.stop()
    await asyncio.wait_for(runner, 5)


async def test_used_up_balance_waits_for_the_user(h: Harness) -> None:
    task = h.sim.add_task(outcome="succeeded", pending_seconds=1000)
    h.track(task)
    h.sim.inject_fault("403_used_up")
    monitor = h.monitor(interval=5)
    report = await monitor.refresh_once()
    assert report.next_at is None
    assert monitor.problem is not None
    assert monitor.problem.kind == "rejected"
    assert "balance" in monitor.problem.message.lower()


async def test_persistent_failure_keeps_requests_bounded(h: Harness) -> None:
    ids = [h.sim.add_task(outcome="succeeded", pending_seconds=10_000) for _ in range(3)]
    h.track(*ids)
    h.sim.inject_fault("500", times=1000)
    monitor = h.monitor(interval=5)
    h.stop_after = None
    runner = asyncio.create_task(monitor.run())
    while h.time.now < START + 600:
        await h.next_cycle()
    monitor.stop()
    await asyncio.wait_for(runner, 5)
    times = [r.at for r in h.api_requests()]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= 5 for gap in gaps)
    # Backoff grows to the 120 s cap: far fewer than the 120 polls of a fixed 5 s schedule.
    assert len(times) <= 15
    assert max(gaps) > 60
    # Nothing tracked was lost.
    assert sorted(h.store.ids()) == sorted(ids)


async def test_connection_refused_is_a_network_problem(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    try:
        task = harness.sim.add_task(outcome="succeeded")
        harness.track(task)
        client = NanoBananaClient("http://127.0.0.1:9", TOKEN, max_attempts=1, timeout=2)
        harness.clients.append(client)
        monitor = harness.monitor(client)
        await monitor.refresh_once()
        assert monitor.problem is not None
        assert monitor.problem.kind == "network"
        assert "retrying in" in monitor.problem.message
    finally:
        await harness.close()


async def test_a_failing_store_is_reported_and_retried_later(h: Harness) -> None:
    task = h.sim.add_task(outcome="succeeded", pending_seconds=1000)
    h.track(task)
    monitor = h.monitor(interval=5)
    original = h.store.apply
    calls = 0

    def broken_once(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise StoreError("The task database x stayed locked by another nbtui process")
        return original(*args)

    h.store.apply = broken_once  # type: ignore[method-assign, assignment]
    await h.run_cycles(1)
    assert calls == 2  # the loop survived the failed cycle and ran again
    problems = [p for p in h.problems if p is not None]
    assert problems[0].kind == "store"
    assert problems[0].message.startswith("cannot save refreshed tasks (The task database x")
    assert monitor.problem is None
    times = [r.at for r in h.api_requests()]
    assert times[1] - times[0] >= 5


# -- other processes ---------------------------------------------------------------------


async def test_ids_added_by_another_process_are_picked_up(h: Harness, tmp_path: Path) -> None:
    first = h.sim.add_task(outcome="succeeded", pending_seconds=1000)
    h.track(first)
    sleep = BlockingSleep()
    monitor = h.monitor(sleep=sleep, interval=60, store_check_every=1.0)
    runner = asyncio.create_task(monitor.run())
    await h.next_cycle()
    h.updates.clear()
    # Its own writes do not make it re-read the store.
    reads: list[int] = []
    original = h.store.changed_since

    def spy(token: int) -> Any:
        reads.append(token)
        return original(token)

    h.store.changed_since = spy  # type: ignore[method-assign]
    assert await monitor.check_store() is False
    assert reads == []
    other = Store.open(tmp_path / "data")  # a second connection, as `nbtui add` would have
    try:
        added = h.sim.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
        other.add([added])
        other.remove([first])
    finally:
        other.close()
    # The loop checks the store when its 1 s timer fires (fake sleeps block: fire it by hand).
    await monitor.check_store()
    assert [(u.task.id, u.previous) for u in h.updates[:1]] == [(added, None)]
    assert h.removed == [first]
    assert len(reads) == 1
    report = await h.next_cycle()  # the new id is refreshed at once, not in 60 s
    assert report.requested == 1
    assert h.requested_ids()[-1] == [added]
    assert h.store.get(added).state is TaskState.SUCCEEDED  # type: ignore[union-attr]
    monitor.stop()
    await asyncio.wait_for(runner, 5)


# -- a task the service does not list yet ---------------------------------------------------


async def test_a_just_tracked_task_not_found_is_asked_for_again_until_listed(h: Harness) -> None:
    late = "0b1c2d3e-4f50-4617-8899-aabbccddeeff"
    h.track(late)  # e.g. created a moment ago: the service does not list it yet
    monitor = h.monitor(interval=5, not_found_grace=60)
    await monitor.refresh_once()
    assert h.store.get(late).state is TaskState.NOT_FOUND  # type: ignore[union-attr]
    h.sim.add_task(task_id=late, outcome="succeeded", pending_seconds=0, running_seconds=0)
    h.time.now += 5
    await monitor.refresh_once()  # still within the grace, so asked for again
    assert h.requested_ids() == [[late], [late]]
    assert h.store.get(late).state is TaskState.SUCCEEDED  # type: ignore[union-attr]


async def test_not_found_is_final_once_the_grace_is_over(h: Harness) -> None:
    typo = "0b1c2d3e-4f50-4617-8899-aabbccddee00"
    h.track(typo)
    h.monitor(interval=20, not_found_grace=30)
    await h.run_cycles(4)  # t = 0, 20, 40, 60: tracked at 0, so asked at 0 and 20 only
    assert h.requested_ids() == [[typo], [typo]]
    assert [r.requested for r in h.reports] == [1, 1, 0, 0]


async def test_without_a_grace_not_found_is_final_at_once(h: Harness) -> None:
    typo = "0b1c2d3e-4f50-4617-8899-aabbccddee01"
    h.track(typo)
    h.monitor(interval=5, not_found_grace=0)
    await h.run_cycles(3)
    assert h.requested_ids() == [[typo]]


async def test_the_report_names_every_task_answered_changed_or_not(h: Harness) -> None:
    waiting = h.sim.add_task(outcome="succeeded", pending_seconds=1000)
    other = h.sim.add_task(outcome="succeeded", pending_seconds=1000)
    h.track(waiting, other)
    monitor = h.monitor()
    first = await monitor.refresh_once()
    assert sorted(first.refreshed) == sorted([waiting, other])
    h.updates.clear()
    second = await monitor.refresh_once()
    assert h.updates == []  # nothing changed...
    assert sorted(second.refreshed) == sorted([waiting, other])  # ...yet both were refreshed


async def test_a_first_answer_is_flagged_so_nobody_toasts_a_task_never_seen_running(
    h: Harness,
) -> None:
    done = h.sim.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    slow = h.sim.add_task(outcome="succeeded", pending_seconds=0, running_seconds=10)
    h.track(done, slow)
    monitor = h.monitor()
    await monitor.refresh_once()
    assert {(u.task.id, u.first_answer) for u in h.updates} == {(done, True), (slow, True)}
    h.updates.clear()
    h.time.now += 20
    await monitor.refresh_once()
    assert [(u.task.id, u.first_answer) for u in h.updates] == [(slow, False)]


async def test_finished_tasks_are_not_watched_but_their_changes_elsewhere_still_show(
    h: Harness, tmp_path: Path
) -> None:
    """The monitor keeps states only for the tasks it polls (at 50,000 tasks a map of every
    id cost 6 MB). A finished task another process changes still reaches the view, as a row
    nobody saw finish here (no toast), and its removal elsewhere is still reported."""
    done = h.sim.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    h.track(done)
    monitor = h.monitor()
    await monitor.refresh_once()
    assert [(u.task.id, u.previous) for u in h.updates] == [(done, TaskState.PENDING)]
    h.updates.clear()
    await monitor.check_store()  # its own write: nothing new
    assert h.updates == []
    with Store.open(tmp_path / "data") as other:
        other.set_labels([done], add=["client-x"])
        await monitor.check_store()
        (update,) = h.updates
        assert update.task.id == done and update.previous is None
        assert update.task.state is TaskState.SUCCEEDED
        other.remove([done])
    await monitor.check_store()
    assert h.removed == [done]
    report = await monitor.refresh_once()
    assert report.requested == 0


async def test_a_first_answer_written_by_another_process_is_flagged_too(
    h: Harness, tmp_path: Path
) -> None:
    """`nbtui add ID` then `nbtui get ID` in another shell: the app never saw it running."""
    monitor = h.monitor()
    await monitor.check_store()  # loads the states
    done = h.sim.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    with Store.open(tmp_path / "data") as other:
        other.add([done])
        await monitor.check_store()
        assert [(u.task.id, u.previous) for u in h.updates] == [(done, None)]
        h.updates.clear()
        answer = await h.client().retrieve_batch([done])
        other.apply(list(answer.tasks.values()), {}, h.time.now)
    await monitor.check_store()
    (update,) = h.updates
    assert update.previous is TaskState.PENDING and update.task.state is TaskState.SUCCEEDED
    assert update.first_answer


# -- tentative failures (docs/api.md, "Polling tentative failures") -------------------------

HICCUP = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"
CODED = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8c"


def _hiccup(task_id: str) -> dict[str, Any]:
    return {"id": task_id, "response": {"success": False, "error": "temporary"}}


async def test_a_tentative_failure_is_polled_for_ten_minutes_then_let_go(h: Harness) -> None:
    h.sim.add_raw(_hiccup(HICCUP))
    h.sim.add_raw({"id": CODED, "response": {"success": False, "error": {"code": "api_error"}}})
    h.track(HICCUP, CODED)
    monitor = h.monitor(interval=60)
    await monitor.refresh_once()
    assert h.store.get(HICCUP).state is TaskState.FAILED  # type: ignore[union-attr]
    assert h.store.get(CODED).state is TaskState.FAILED  # type: ignore[union-attr]
    for _ in range(9):  # t = 60 .. 540 s: the window (600 s from t = 0) is open
        h.time.now += 60
        await monitor.refresh_once()
    assert h.requested_ids() == [[HICCUP, CODED]] + [[HICCUP]] * 9  # the coded one is final
    h.time.now += 60  # t = 600 s: the window is over
    report = await monitor.refresh_once()
    assert report.requested == 0
    assert len(h.requested_ids()) == 10
    assert h.store.get(HICCUP).state is TaskState.FAILED  # type: ignore[union-attr]


async def test_a_tentative_failure_follows_what_the_service_says_next(h: Harness) -> None:
    h.sim.add_raw(_hiccup(HICCUP))
    h.track(HICCUP)
    monitor = h.monitor(interval=60)
    await monitor.refresh_once()
    assert h.store.get(HICCUP).state is TaskState.FAILED  # type: ignore[union-attr]
    h.sim.add_raw({"id": HICCUP, "response": {"status": "processing", "progress": 40}})
    h.time.now += 60
    await monitor.refresh_once()
    row = h.store.get(HICCUP)
    assert row is not None and row.state is TaskState.RUNNING and row.progress == 40
    assert h.updates[-1].previous is TaskState.FAILED
    # Failing that way again later opens a new window, counted from then.
    h.time.now += 2_000
    h.sim.add_raw(_hiccup(HICCUP))
    await monitor.refresh_once()
    image = {"image_url": "https://cdn.example/back.png"}
    h.sim.add_raw({"id": HICCUP, "response": {"success": True, "data": [image]}})
    h.time.now += 300
    await monitor.refresh_once()
    row = h.store.get(HICCUP)
    assert row is not None and row.state is TaskState.SUCCEEDED and row.image_count == 1
    h.time.now += 60
    assert (await monitor.refresh_once()).requested == 0  # finished: not polled again


async def test_an_accepted_task_stored_as_succeeded_by_an_older_nbtui_is_polled(
    h: Harness, tmp_path: Path
) -> None:
    task_id = h.sim.add_task(outcome="succeeded", pending_seconds=0, running_seconds=30)
    h.track(task_id)
    h.store.close()
    accepted = {"id": task_id, "response": {"success": True, "task_id": task_id}}
    conn = sqlite3.connect(tmp_path / "data" / DB_NAME)  # as the older nbtui left it
    conn.execute("UPDATE tasks SET state = 'succeeded', raw_json = ?", (json.dumps(accepted),))
    conn.execute("DELETE FROM meta WHERE key = 'rules'")
    conn.commit()
    conn.close()
    h.store = Store.open(tmp_path / "data")
    assert h.store.unfinished_ids() == [task_id]
    monitor = h.monitor(interval=5)
    await monitor.refresh_once()
    assert h.requested_ids() == [[task_id]]
    assert h.store.get(task_id).state is TaskState.RUNNING  # type: ignore[union-attr]
    h.time.now += 60
    await monitor.refresh_once()
    assert h.store.get(task_id).state is TaskState.SUCCEEDED  # type: ignore[union-attr]


# -- the monitor owns its state, with or without a client ---------------------------------


async def test_pause_and_interval_belong_to_the_monitor_before_and_after_a_client(
    h: Harness,
) -> None:
    """The UI shows the monitor's paused/interval/problem: they exist before a token does,
    survive a new client, and every change is announced through `on_state`."""
    task = h.sim.add_task(outcome="succeeded", pending_seconds=100)
    h.track(task)
    changes: list[tuple[bool, float]] = []
    cycled = asyncio.Event()
    monitor = Monitor(
        None,
        h.store,
        clock=h.time.clock,
        sleep=h.time.sleep,
        interval=5,
        store_check_every=None,
        on_state=lambda: changes.append((monitor.paused, monitor.interval)),
        on_cycle=lambda report: cycled.set(),
    )
    assert not monitor.has_client
    with pytest.raises(RuntimeError):
        await monitor.run()
    monitor.pause()
    monitor.interval = 10
    assert changes == [(True, 5.0), (True, 10.0)]
    monitor.use_client(h.client())
    assert monitor.paused and monitor.next_refresh_at is None  # the pause is kept
    running = asyncio.ensure_future(monitor.run())
    await settle()
    assert h.api_requests() == []  # paused: nothing is asked
    monitor.resume()
    assert changes[-1] == (False, 10.0)
    await asyncio.wait_for(cycled.wait(), 10)
    assert h.requested_ids() == [[task]]
    monitor.stop()
    await asyncio.wait_for(running, 5)
    await monitor.wait_idle()


async def test_a_new_client_forgets_the_old_ones_problem(h: Harness) -> None:
    task = h.sim.add_task(outcome="succeeded", pending_seconds=100)
    h.track(task)
    monitor = h.monitor(h.client(token="wrong-token"))
    await monitor.refresh_once()
    assert monitor.problem is not None and monitor.problem.kind == "auth" and monitor.halted
    monitor.use_client(h.client())
    assert monitor.problem is None and not monitor.halted
    assert h.problems[-1] is None  # the display was told
    report = await monitor.refresh_once()
    assert report.failed == 0


class SlowToCancelSleep:
    """A sleep that takes a moment to finish once cancelled (as a cleanup would): the
    monitor is then suspended in its own clean-up when the user's Ctrl-C or SIGTERM lands."""

    def __init__(self) -> None:
        self.cancelled = asyncio.Event()

    async def __call__(self, delay: float) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            await asyncio.sleep(0.05)
            raise


async def test_a_cancel_during_the_waits_clean_up_still_ends_the_monitor(h: Harness) -> None:
    """`nbtui watch` hung on SIGTERM now and then: the cancel arrived while the monitor
    awaited its cancelled sleep, and suppressing that sleep's CancelledError swallowed it."""
    task_id = h.sim.add_task(outcome="succeeded", pending_seconds=1000)
    h.track(task_id)
    sleep = SlowToCancelSleep()
    monitor = h.monitor(sleep=sleep, interval=60)
    runner = asyncio.create_task(monitor.run())
    await h.next_cycle()
    await settle()
    monitor.request_refresh()  # wakes the wait: its sleep is cancelled, slowly
    await asyncio.wait_for(sleep.cancelled.wait(), 5)
    runner.cancel()  # lands while the monitor waits for that sleep to finish
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(runner, 5)
