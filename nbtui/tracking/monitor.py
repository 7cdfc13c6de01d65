"""The refresh schedule shared by the TUI and `nbtui watch` (no Textual import).

One loop owns the schedule, so two refresh cycles never overlap: the next cycle is planned
when the last one ends. Each cycle asks for the unfinished tracked tasks (plus whatever the
user asked for by hand) with `retrieve_batch`, a step of `CYCLE_STEP` ids at a time, writes
each step's answers to the store in one transaction, and reports (step by step, while
`cycling`; `on_cycle` ends the cycle) only the tasks whose record or state changed. Faults
slow the loop
down instead of speeding it up: 429 and 5xx back off (honouring `Retry-After`), a rejected
token stops polling until the user acts. Store calls run in a worker thread so the event loop
(the UI) never waits on SQLite.

A tentative failure (a failure flag with neither a coded error nor `finished_at`, e.g.
`{"success": false, "error": "temporary"}`; docs/api.md, "Polling tentative failures") is
shown as failed, as the state table says, but may be a transient hiccup: the monitor keeps
polling it for `TENTATIVE_WINDOW` seconds from the moment it first saw the task fail that
way, and the stored state follows whatever the service says next. That moment is kept in
memory only: after a restart such a task is stored as failed and is not polled again on
its own (a manual refresh still asks for it, and a new tentative answer starts a new window).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from nbtui.api.backoff import Backoff
from nbtui.api.errors import (
    ApiError,
    AuthError,
    RateLimited,
    RequestRejected,
)
from nbtui.api.state import Task, TaskState, is_tentative_failure
from nbtui.tracking.problems import MonitorProblem, ProblemKind, describe, seconds, worst
from nbtui.tracking.store import Changes, StoreError, TrackedTask

if TYPE_CHECKING:
    from nbtui.api.client import BatchResult

__all__ = [
    "CYCLE_STEP",
    "MIN_INTERVAL",
    "TENTATIVE_WINDOW",
    "CycleReport",
    "Monitor",
    "MonitorProblem",
    "ProblemKind",
    "TaskUpdate",
]

#: The shortest interval between two cycles: polling faster only earns 429s.
MIN_INTERVAL = 1.0
#: Seconds after a task is tracked during which "not found" is not taken as final: the
#: service may not list a task it created a moment ago.
NOT_FOUND_GRACE = 120.0
#: Ids asked for, written and reported per step of a cycle: ten requests of 50 keep every
#: concurrent request busy, and a cycle over tens of thousands of unfinished tasks never
#: holds all their records in memory at once (about 5 KB each once parsed).
CYCLE_STEP = 500
#: Seconds a tentative failure is still polled, from when it was first seen failed that way.
TENTATIVE_WINDOW = 600.0


@dataclass(frozen=True, slots=True)
class TaskUpdate:
    """A tracked task whose record or state changed; `previous` None: it just appeared, or it
    is a finished task (not watched) that another process changed."""

    task: TrackedTask
    previous: TaskState | None
    #: The service answered this task for the first time: nobody watched it unfinished.
    first_answer: bool = False


@dataclass(frozen=True, slots=True)
class CycleReport:
    """What one refresh cycle did, and when the next one is planned (None: paused/stopped)."""

    started: float
    finished: float
    requested: int
    changed: int
    next_at: float | None
    failed: int = 0
    #: The ids the service answered in this cycle, changed or not: all refreshed just now.
    refreshed: tuple[str, ...] = field(default=(), repr=False)


class RetrievingClient(Protocol):
    """The part of `NanoBananaClient` the monitor uses."""

    async def retrieve_batch(self, ids: Sequence[str]) -> BatchResult: ...


class TaskStore(Protocol):
    """The part of `Store` the monitor uses (all blocking: called from a worker thread)."""

    def ids(self) -> list[str]: ...

    def tracked_among(self, ids: Iterable[str]) -> set[str]: ...

    def unfinished_ids(self, *, not_found_since: float | None = None) -> list[str]: ...

    def all(self) -> list[TrackedTask]: ...

    def apply(
        self, tasks: Iterable[Task], errors: Mapping[str, str], now: float
    ) -> list[TrackedTask]: ...


@runtime_checkable
class ChangeTracking(Protocol):
    """A store that can say cheaply what changed since a token (`Store` can)."""

    def change_token(self) -> int: ...

    def changed_since(self, token: int) -> Changes: ...


@runtime_checkable
class StateListing(Protocol):
    """A store that can list the unfinished ids with their states without reading rows
    (`Store` can)."""

    def unfinished_states(self) -> dict[str, TaskState]: ...

    def unanswered_ids(self) -> list[str]: ...


Sleep = Callable[[float], Awaitable[Any]]


class Monitor:
    """Refreshes tracked tasks on a schedule; see the module docstring for the rules."""

    def __init__(
        self,
        client: RetrievingClient | None,
        store: TaskStore,
        *,
        interval: float = 5.0,
        paused: bool = False,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
        on_update: Callable[[list[TaskUpdate]], object] | None = None,
        on_cycle: Callable[[CycleReport], object] | None = None,
        on_problem: Callable[[MonitorProblem | None], object] | None = None,
        on_removed: Callable[[list[str]], object] | None = None,
        on_state: Callable[[], None] | None = None,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        store_check_every: float | None = 1.0,
        not_found_grace: float = NOT_FOUND_GRACE,
        tentative_window: float = TENTATIVE_WINDOW,
    ) -> None:
        self._client = client
        self._tentative_window = tentative_window
        #: Tentative failures still polled: id -> when this monitor first saw it fail so.
        self._tentative: dict[str, float] = {}
        self._not_found_grace = not_found_grace
        self._store = store
        self._interval = max(MIN_INTERVAL, float(interval))
        self._clock = clock
        self._sleep = sleep
        self._on_update = on_update
        self._on_cycle = on_cycle
        self._on_problem = on_problem
        self._on_removed = on_removed
        self._on_state = on_state
        # Backoff between cycles after a failed one: the client already retried inside the
        # cycle, so the monitor waits at least one interval and grows from there.
        self._backoff = backoff or Backoff(base=self._interval, cap=120.0, factor=2.0)
        self._rng = rng or random.Random()
        self._store_check_every = store_check_every
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._requested: dict[str, None] = {}
        self._force_all = False
        self._paused = paused
        self._halted = False
        self._stopped = False
        self._failures = 0
        self._in_backoff = False
        self._problem: MonitorProblem | None = None
        #: The watched tasks' last known states: the unfinished ones and the tentative
        #: failures (a finished task is never polled, and holding every id cost 6 MB at 50k).
        self._states: dict[str, TaskState] | None = None
        self._cycling = False
        #: Tracked tasks the service never answered (usually a handful: the ones just added).
        self._unanswered: set[str] = set()
        self._store_token: object = None
        self._last_finished: float | None = None
        self._running = False
        self._idle = asyncio.Event()
        self._idle.set()
        self.next_refresh_at: float | None = None
        #: When the request now in flight was sent (None: none is): a server that accepts
        #: and never answers is only reported after the client's retries, so the app says
        #: "waiting for the service" meanwhile.
        self.request_started: float | None = None

    # -- public state ----------------------------------------------------------------------

    @property
    def interval(self) -> float:
        return self._interval

    @interval.setter
    def interval(self, value: float) -> None:
        """Clamp to the floor; a waiting loop re-plans its next cycle with the new interval."""
        self._interval = max(MIN_INTERVAL, float(value))
        if not self._in_backoff and self.next_refresh_at is not None:
            base = self._last_finished if self._last_finished is not None else self._clock()
            self.next_refresh_at = base + self._interval
            self._wake.set()
        self._state_changed()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def halted(self) -> bool:
        """Polling stopped by a fault only the user can fix (token rejected, balance used up)."""
        return self._halted

    @property
    def problem(self) -> MonitorProblem | None:
        return self._problem

    @property
    def running(self) -> bool:
        """Whether `run()` is looping right now."""
        return self._running

    @property
    def cycling(self) -> bool:
        """A cycle is under way: the updates it reports come a step (500 tasks) at a time,
        and `on_cycle` says when the last has come."""
        return self._cycling

    @property
    def client(self) -> RetrievingClient | None:
        """The client cycles use (None: none yet, e.g. no token: nothing is polled)."""
        return self._client

    @property
    def has_client(self) -> bool:
        return self._client is not None

    # -- control ---------------------------------------------------------------------------

    def request_refresh(self, ids: Sequence[str] | None = None) -> None:
        """Manual refresh: these ids (finished ones too), or every tracked id; runs at once."""
        if ids is None:
            self._force_all = True
        else:
            for task_id in ids:
                self._requested[task_id] = None
        self._wake.set()

    def pause(self) -> None:
        self._paused = True
        self.next_refresh_at = None
        self._wake.set()
        self._state_changed()

    def resume(self) -> None:
        """Resume polling now; also lifts a halt after a rejected token or refused request."""
        self._paused = False
        self._halted = False
        self._failures = 0
        self._in_backoff = False
        if self._problem is not None and self._problem.kind in ("auth", "rejected"):
            self._set_problem(None)
        self.next_refresh_at = self._clock()
        self._wake.set()
        self._state_changed()

    def set_client(self, client: RetrievingClient) -> None:
        """Use a new client (e.g. with a new token) and poll again at once.

        The monitor does not own clients: closing the old one is the caller's job.
        """
        self._client = client
        self.resume()

    def use_client(self, client: RetrievingClient) -> None:
        """Start afresh with a new client (a new token): its predecessor's fault and backoff
        are forgotten, the pause switch is kept, and a running loop polls at once."""
        self._client = client
        self._halted = False
        self._failures = 0
        self._in_backoff = False
        self._set_problem(None)
        self.next_refresh_at = None if self._paused else self._clock()
        self._wake.set()
        self._state_changed()

    def release_client(self, client: RetrievingClient) -> None:
        """`client` is being closed: stop using it (unless a newer one replaced it)."""
        if self._client is client:
            self._client = None

    async def wait_idle(self) -> None:
        """Until no `run()` loops (a cancelled one ends at its next await)."""
        await self._idle.wait()

    def stop(self) -> None:
        """End `run()` after the current cycle (if any); final."""
        self._stopped = True
        self._wake.set()

    # -- the loop --------------------------------------------------------------------------

    async def run(self) -> None:
        """Loop until `stop()`: one cycle at a time, the next planned when the last ends.

        `stop()` is final (even when called before `run` starts): make a new Monitor to
        start again.
        """
        if self._client is None:
            raise RuntimeError("the monitor has no client to poll with")
        self._running = True
        self._idle.clear()
        try:
            if self._states is None:
                await self._load_states()
            if self.next_refresh_at is None and not (self._paused or self._halted):
                self.next_refresh_at = self._clock()
            last_store_check = self._clock()
            while not self._stopped:
                if self._due():
                    try:
                        await self.refresh_once()
                    except Exception as exc:  # a bug must not kill the app's refresh loop
                        self._unexpected(exc)
                    continue
                timeout = self._time_to_next()
                if self._store_check_every is not None:
                    check_in = max(0.0, last_store_check + self._store_check_every - self._clock())
                    timeout = check_in if timeout is None else min(timeout, check_in)
                await self._sleep_or_wake(timeout)
                if (
                    self._store_check_every is not None
                    and not self._stopped
                    and self._clock() >= last_store_check + self._store_check_every
                ):
                    last_store_check = self._clock()
                    await self.check_store()
        finally:
            self._running = False
            self._idle.set()

    async def refresh_once(
        self, ids: Sequence[str] | None = None, *, force: bool = False
    ) -> CycleReport:
        """One cycle now: `ids` if given, else the unfinished tasks (every task with `force`),
        plus anything requested by hand. Never runs at the same time as another cycle."""
        async with self._lock:
            return await self._cycle(ids, force=force)

    async def check_store(self) -> bool:
        """Notice what another process (or the app itself) did to the store: tasks added
        (reported with `previous=None` and refreshed at once), removed (`on_removed`), or
        moved to another state by someone else's refresh. Cheap when nothing changed."""
        store = self._store
        if not isinstance(store, ChangeTracking):
            return False
        if self._states is None:
            await self._load_states()
            return False
        token = await asyncio.to_thread(store.change_token)
        if token == self._store_token:
            return False
        changes = await asyncio.to_thread(store.changed_since, self._store_token_int())
        self._store_token = changes.token
        states = self._states if self._states is not None else {}
        updates: list[TaskUpdate] = []
        fresh: list[str] = []
        for row in changes.rows:
            previous = states.get(row.id)
            # Answered by someone else's refresh for the first time: nobody saw it move here.
            first = row.id in self._unanswered and row.last_refreshed is not None
            if previous is None:
                # New here, or a finished task (not watched) that someone changed: either
                # way the view takes the row as it is now, and nobody saw it finish here.
                updates.append(TaskUpdate(task=row, previous=None))
                if not row.state.is_finished:
                    fresh.append(row.id)
            elif previous is not row.state:
                updates.append(TaskUpdate(task=row, previous=previous, first_answer=first))
            if row.last_refreshed is None:
                self._unanswered.add(row.id)
            else:
                self._unanswered.discard(row.id)
            self._watch(states, row)
        current = {row.id for row in changes.rows}
        # Every removal in the feed: the finished ones were not watched but are still listed.
        removed = [task_id for task_id in changes.removed if task_id not in current]
        for task_id in removed:
            states.pop(task_id, None)
            self._tentative.pop(task_id, None)
        self._unanswered.difference_update(removed)
        self._states = states
        if removed and self._on_removed is not None:
            self._on_removed(removed)
        if updates and self._on_update is not None:
            self._on_update(updates)
        if fresh and not (self._paused or self._halted):
            self.request_refresh(fresh)
        return bool(updates or removed)

    def _store_token_int(self) -> int:
        token = self._store_token
        return token if isinstance(token, int) else -1

    # -- internals -------------------------------------------------------------------------

    async def _load_states(self) -> None:
        store = self._store
        if isinstance(store, ChangeTracking):
            self._store_token = await asyncio.to_thread(store.change_token)
        if isinstance(store, StateListing):
            # Only ids and states: reading whole rows here cost ~20 MB at 10k tasks.
            self._states = await asyncio.to_thread(store.unfinished_states)
            self._unanswered = set(await asyncio.to_thread(store.unanswered_ids))
            return
        rows = await asyncio.to_thread(store.all)
        self._states = {row.id: row.state for row in rows if not row.state.is_finished}
        self._unanswered = {row.id for row in rows if row.last_refreshed is None}

    def _due(self) -> bool:
        if self._stopped:
            return False
        if self._requested or self._force_all:
            return True
        if self._paused or self._halted or self.next_refresh_at is None:
            return False
        return self._clock() >= self.next_refresh_at

    def _time_to_next(self) -> float | None:
        if self._paused or self._halted or self.next_refresh_at is None:
            return None
        return max(0.0, self.next_refresh_at - self._clock())

    async def _sleep_or_wake(self, delay: float | None) -> None:
        """Wait for `delay` seconds (None: forever) or until something wakes the loop."""
        if self._wake.is_set():
            self._wake.clear()
            return
        waiters: set[asyncio.Future[Any]] = {asyncio.ensure_future(self._wake.wait())}
        if delay is not None:
            waiters.add(asyncio.ensure_future(self._sleep(delay)))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                if not waiter.done():
                    waiter.cancel()
            # Let the cancelled waiters finish without raising their errors; a cancellation of
            # this task itself (Ctrl-C, SIGTERM) still goes through, which suppressing
            # CancelledError around each `await waiter` used to swallow.
            await asyncio.wait(waiters)
        self._wake.clear()

    def _pick_ids(
        self,
        ids: Sequence[str] | None,
        manual: list[str],
        force: bool,
        tentative: Sequence[str] = (),
    ) -> list[str]:
        """Blocking (worker thread): manual ids first (they jump the queue), then the due ones
        (on the regular schedule: the unfinished tasks and the tentative failures)."""
        store = self._store
        asked = [*manual, *(ids or ()), *tentative]
        known = store.tracked_among(asked) if asked else set()
        chosen: dict[str, None] = {}
        for task_id in manual:
            if task_id in known:
                chosen[task_id] = None
        if force:
            due: list[str] = store.ids()
        elif ids is not None:
            due = [task_id for task_id in ids if task_id in known]
        else:
            due = store.unfinished_ids(
                not_found_since=self._clock() - self._not_found_grace
                if self._not_found_grace > 0
                else None
            )
            due += [task_id for task_id in tentative if task_id in known]
        for task_id in due:
            chosen[task_id] = None
        return list(chosen)

    def _tentative_due(self, now: float) -> list[str]:
        """The tentative failures whose window is still open (the others are let go)."""
        window = self._tentative_window
        for task_id, since in list(self._tentative.items()):
            if now - since >= window:
                del self._tentative[task_id]
        return list(self._tentative)

    async def _cycle(self, ids: Sequence[str] | None, *, force: bool) -> CycleReport:
        started = self._clock()
        manual = list(self._requested)
        force_all = force or self._force_all
        self._requested.clear()
        self._force_all = False
        if self._states is None:
            await self._load_states()
        tentative = self._tentative_due(started)
        target = await asyncio.to_thread(self._pick_ids, ids, manual, force_all, tentative)

        errors: dict[str, ApiError] = {}
        refreshed: list[str] = []
        changes = 0
        self._cycling = True
        try:
            for start in range(0, len(target), CYCLE_STEP):
                step_refreshed, step_errors, step_changes = await self._step(target, start)
                refreshed += step_refreshed
                errors.update(step_errors)
                changes += step_changes
                if any(isinstance(e, AuthError) for e in step_errors.values()):
                    break
        finally:
            self._cycling = False

        finished = self._clock()
        next_at = self._plan(target, len(refreshed), errors, finished)
        self._last_finished = finished
        self.next_refresh_at = next_at
        report = CycleReport(
            started=started,
            finished=finished,
            requested=len(target),
            changed=changes,
            next_at=next_at,
            failed=len(errors),
            refreshed=tuple(refreshed),
        )
        if self._on_cycle is not None:
            self._on_cycle(report)
        return report

    async def _step(
        self, target: list[str], start: int
    ) -> tuple[list[str], dict[str, ApiError], int]:
        """One step of a cycle, asked for, written and reported at once (a cycle never holds
        all its changed records, ~1 KB of JSON each): the ids answered, errors, changes."""
        step = target[start : start + CYCLE_STEP]
        tasks: Mapping[str, Task] = {}
        self.request_started = self._clock()
        try:
            if self._client is None:
                raise RuntimeError("the monitor has no client to poll with")
            result = await self._client.retrieve_batch(step)
        except ApiError as exc:
            step_errors: dict[str, ApiError] = dict.fromkeys(step, exc)
        else:
            tasks, step_errors = result.tasks, dict(result.errors)
        finally:
            self.request_started = None
        refused = next((e for e in step_errors.values() if isinstance(e, AuthError)), None)
        if refused is not None:
            # A rejected token would be rejected again (as within `retrieve_batch`): the
            # rest are not asked for, and their state stays unknown.
            step_errors.update(dict.fromkeys(target[start + CYCLE_STEP :], refused))
        good = [task for task_id, task in tasks.items() if task_id not in step_errors]
        refreshed = [task_id for task_id in tasks if task_id not in step_errors]
        messages = {task_id: str(error) for task_id, error in step_errors.items()}
        changed = await asyncio.to_thread(self._write, good, messages, self._clock())
        updates = self._record_changes(changed)
        self._unanswered.difference_update(refreshed)
        if updates and self._on_update is not None:
            self._on_update(updates)
        return refreshed, step_errors, len(updates)

    def _write(self, tasks: list[Task], errors: Mapping[str, str], now: float) -> list[TrackedTask]:
        """Blocking (worker thread): one `apply`. When nothing else wrote meanwhile (the change
        token moved by exactly this write), skip our own rows in the next `check_store`."""
        store = self._store
        if not isinstance(store, ChangeTracking):
            return store.apply(tasks, errors, now)
        before = store.change_token()
        changed = store.apply(tasks, errors, now)
        after = store.change_token()
        if before == self._store_token and after == before + 1:
            self._store_token = after
        return changed

    def _record_changes(self, changed: list[TrackedTask]) -> list[TaskUpdate]:
        states = self._states if self._states is not None else {}
        updates: list[TaskUpdate] = []
        now = self._clock()
        for row in changed:
            # Only a failure with code "unknown" can be tentative: no other record is parsed.
            if (
                row.state is TaskState.FAILED
                and row.error_code == "unknown"
                and is_tentative_failure(row.raw)
            ):
                self._tentative.setdefault(row.id, now)
            else:
                self._tentative.pop(row.id, None)
            first = row.id in self._unanswered
            updates.append(TaskUpdate(task=row, previous=states.get(row.id), first_answer=first))
            self._watch(states, row)
        self._states = states
        return updates

    def _watch(self, states: dict[str, TaskState], row: TrackedTask) -> None:
        """Keep a watched task's state (unfinished, or a tentative failure), forget others."""
        if row.state.is_finished and row.id not in self._tentative:
            states.pop(row.id, None)
        else:
            states[row.id] = row.state

    def _plan(
        self,
        target: list[str],
        answered: int,
        errors: Mapping[str, ApiError],
        finished: float,
    ) -> float | None:
        """Set the problem from this cycle's errors and choose when the next cycle runs."""
        if not errors:
            # A clean answer ends any fault, even a halt (a manual refresh that got through).
            self._failures = 0
            self._in_backoff = False
            self._halted = False
            self._set_problem(None)
            return None if self._paused else finished + self._interval

        error = worst(errors.values())
        if isinstance(error, AuthError | RequestRejected):
            self._halted = True
            self._in_backoff = False
            if isinstance(error, AuthError):
                message = "token rejected — press t to set a new one"
                self._set_problem(MonitorProblem("auth", message, None, error))
            else:
                message = f"request refused: {error.short} — fix it, then resume"
                self._set_problem(MonitorProblem("rejected", message, None, error))
            return None

        # Back off when the service is the problem: a 429, or nothing in the cycle got through.
        # A few odd records in an otherwise good answer only get reported.
        answered_any = answered > 0 or len(errors) < len(target)
        if isinstance(error, RateLimited) or not answered_any:
            self._failures += 1
            self._in_backoff = True
            if isinstance(error, RateLimited) and error.retry_after is not None:
                delay = max(self._interval, error.retry_after)
            else:
                delay = max(self._interval, self._backoff.delay(self._failures, self._rng))
        else:
            self._failures = 0
            self._in_backoff = False
            delay = self._interval
        self._set_problem(describe(error, delay))
        return None if self._paused else finished + delay

    def _unexpected(self, exc: Exception) -> None:
        """A cycle that failed outside the API (the database, or a bug): report it and retry
        later rather than hammering or dying."""
        self._failures += 1
        self._in_backoff = True
        delay = max(self._interval, self._backoff.delay(self._failures, self._rng))
        wait = f"retrying in {seconds(delay)} s"
        if isinstance(exc, StoreError):
            problem = MonitorProblem("store", f"cannot save refreshed tasks ({exc}), {wait}", delay)
        else:
            name = type(exc).__name__
            problem = MonitorProblem("internal", f"refresh failed ({name}: {exc}), {wait}", delay)
        self._set_problem(problem)
        self._last_finished = self._clock()
        self.next_refresh_at = None if self._paused else self._last_finished + delay

    def _set_problem(self, problem: MonitorProblem | None) -> None:
        if problem == self._problem:
            return
        self._problem = problem
        if self._on_problem is not None:
            self._on_problem(problem)
        self._state_changed()

    def _state_changed(self) -> None:
        """Tell the owner's display that paused, interval or the problem may have changed."""
        if self._on_state is not None:
            self._on_state()
