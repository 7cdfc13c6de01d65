"""The refresh monitor seen from the main screen: its client, what the status bar says of it,
and the keys that steer it (`r`, `R`, `p`, `+`, `-`).

The monitor owns paused, interval and the current problem; this shows them and turns its
callbacks into messages for the screen (`nbtui.tui.monitor_bridge`), which applies the
changed tasks to the list in its own queue.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.message import Message

from nbtui.tracking.monitor import Monitor
from nbtui.tui.commands import Host
from nbtui.tui.formatting import compact_duration
from nbtui.tui.monitor_bridge import CycleDone, ProblemChanged, TasksChanged, TasksRemoved
from nbtui.tui.session import Session
from nbtui.tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from nbtui.tracking.monitor import CycleReport, MonitorProblem, TaskUpdate

__all__ = ["INTERVAL_STEPS", "Refreshing"]

#: The steps `+` and `-` move the refresh interval through (seconds).
INTERVAL_STEPS = (1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)
#: A request in flight this long (seconds) makes the status bar say "waiting for the service".
_SLOW_REQUEST = 3.0


class Refreshing:
    """The monitor of the session shown, and what starting, steering and showing it does."""

    def __init__(
        self,
        host: Host,
        session: Session,
        status: StatusBar,
        *,
        post: Callable[[Message], object],
    ) -> None:
        """`post(message)`: hand a monitor event to the screen's message queue."""
        self._host = host
        self._session = session
        self._status = status
        self._post = post
        #: The refresh schedule; it owns paused, interval and the current problem.
        self.monitor = self._new_monitor(paused=False, interval=session.settings.poll_interval)
        #: When the last cycle that refreshed anything finished (None: none yet).
        self.last_refresh: float | None = None

    def _new_monitor(self, *, paused: bool, interval: float) -> Monitor:
        post = self._post
        monitor: Monitor | None = None

        def updated(updates: list[TaskUpdate]) -> None:
            in_cycle = monitor is not None and monitor.cycling
            post(TasksChanged(updates, in_cycle=in_cycle))

        monitor = Monitor(
            None,
            self._session.store,
            interval=interval,
            paused=paused,
            clock=self._session.clock,
            on_update=updated,
            on_cycle=lambda report: post(CycleDone(report)),
            on_problem=lambda problem: post(ProblemChanged(problem)),
            on_removed=lambda ids: post(TasksRemoved(ids)),
            on_state=self.show_state,
        )
        return monitor

    def session_switched(self) -> None:
        """A new monitor for the session's store, paused and paced as the old one was."""
        old = self.monitor
        old.stop()
        self.monitor = self._new_monitor(paused=old.paused, interval=old.interval)

    def can_call(self) -> bool:
        """A create or an import can be sent: a token, the demo, or a running monitor."""
        return self._session.can_call_service or self.monitor.has_client

    # -- running -------------------------------------------------------------------------

    def start(self, token: str | None) -> None:
        """(Re)start the refresh loop with a client for `token`."""
        self._session.token = token
        self._host.run_worker(
            partial(self._run, token),  # called when the worker starts, as `@work` does
            name="_run_monitor",
            group="monitor",
            description="refresh tracked tasks",
            exit_on_error=False,
            exclusive=True,
        )

    async def _run(self, token: str | None) -> None:
        monitor = self.monitor
        async with self._session.client_factory(token) as client:
            await monitor.wait_idle()  # the loop with the old client ends at its next await
            monitor.use_client(client)
            try:
                await monitor.run()
            finally:
                monitor.release_client(client)

    # -- what the status bar says ----------------------------------------------------------

    def show_state(self) -> None:
        """The monitor's paused, interval and problem changed: show them."""
        monitor = self.monitor
        status = self._status
        status.paused = monitor.paused
        status.interval = monitor.interval
        status.next_at = monitor.next_refresh_at
        status.problem = monitor.problem.message if monitor.problem is not None else None

    def tick(self) -> None:
        """Once a second: when the next refresh is, and whether a request is slow."""
        monitor = self.monitor
        if monitor.running:
            status = self._status
            since = monitor.request_started
            slow = since is not None and self._session.clock() - since >= _SLOW_REQUEST
            status.next_at = monitor.next_refresh_at
            status.paused = monitor.paused
            status.waiting_for = "the service" if slow else None
            status.waiting_since = since if slow else None

    def cycle_done(self, report: CycleReport) -> None:
        """A cycle finished: when it did (if it refreshed anything) and when the next is."""
        # A cycle whose every request failed (rate limited, server down) refreshed nothing:
        # "refreshed just now" would be untrue, so the last good refresh time stays.
        if report.requested == 0 or report.failed < report.requested:
            self.last_refresh = report.finished
        status = self._status
        status.last_refresh = self.last_refresh
        status.next_at = report.next_at
        status.refreshing = False

    def problem_changed(self, problem: MonitorProblem | None) -> None:
        if problem is not None and problem.kind == "auth":
            self._host.notify(
                "The service rejected the token; polling stopped. Press t to set a new one.",
                title="Token rejected",
                severity="error",
                timeout=12,
            )

    # -- the keys ------------------------------------------------------------------------

    def refresh_new(self, ids: list[str]) -> None:
        """Newly tracked ids: ask the service about them now (when refreshing at all)."""
        if self.monitor.has_client:
            self.monitor.request_refresh(ids)
            self._status.refreshing = True

    def refresh(self, ids: list[str], *, marked: bool) -> None:
        """`r`: refresh these tasks (one request, batched by the monitor)."""
        if not ids:
            self._host.notify("No task selected.", severity="warning")
            return
        if self._need_monitor():
            self.monitor.request_refresh(ids)
            self._status.refreshing = True
            if marked:
                self._host.notify(f"Refreshing {len(ids):,} marked tasks.", timeout=2)

    def refresh_all(self) -> None:
        if self._need_monitor():
            self.monitor.request_refresh(None)
            self._status.refreshing = True

    def _need_monitor(self) -> bool:
        if not self.monitor.has_client:
            self._host.notify("Not refreshing yet: set a token first (t).", severity="warning")
            return False
        return True

    def toggle_pause(self) -> None:
        monitor = self.monitor
        if monitor.paused:
            monitor.resume()
        else:
            monitor.pause()
        paused = monitor.paused
        self._host.notify(
            "Refresh paused (p resumes)." if paused else "Refresh resumed.", timeout=2
        )

    def slower(self) -> None:
        bigger = [step for step in INTERVAL_STEPS if step > self.monitor.interval]
        self._set_interval(bigger[0] if bigger else INTERVAL_STEPS[-1])

    def faster(self) -> None:
        smaller = [step for step in INTERVAL_STEPS if step < self.monitor.interval]
        self._set_interval(smaller[-1] if smaller else INTERVAL_STEPS[0])

    def _set_interval(self, value: float) -> None:
        self.monitor.interval = value
        self._host.notify(f"Refreshing every {compact_duration(value)}.", timeout=2)
