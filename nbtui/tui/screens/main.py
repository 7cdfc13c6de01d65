"""The main screen: the task list, the detail and JSON panes, and what they do together.

It holds the selection, pane focus, filter and sort, the task commands, the order re-read
loop and the refresh monitor's output (through `nbtui.tui.monitor_bridge`); the work behind
tracking, creating, images and importing is done by the collaborators in `nbtui.tui.commands`.
The App around it keeps the app-wide keys, start-up, the token and quitting.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import ActiveBinding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, Static

from nbtui.api.state import Task
from nbtui.notify import Notifier
from nbtui.textsafe import one_line
from nbtui.tracking.monitor import Monitor
from nbtui.tui.commands.balance import REFRESH_SECONDS as BALANCE_REFRESH_SECONDS
from nbtui.tui.commands.balance import BalanceWatcher
from nbtui.tui.commands.create import Creator
from nbtui.tui.commands.exporting import Exporter
from nbtui.tui.commands.gallery import Gallery
from nbtui.tui.commands.images import FetcherFactory, Images
from nbtui.tui.commands.importing import Importer
from nbtui.tui.commands.labels import LabelCommands
from nbtui.tui.commands.marking import MarkCommands
from nbtui.tui.commands.record import RecordCommands
from nbtui.tui.commands.rerun import Rerun
from nbtui.tui.commands.tracking import TrackCommands, Tracker
from nbtui.tui.commands.user import UserCommands
from nbtui.tui.commands.views import Views
from nbtui.tui.formatting import compact_duration, short_id
from nbtui.tui.keys import MAIN_BINDINGS, footer_actions
from nbtui.tui.marks import Marks
from nbtui.tui.monitor_bridge import (
    CycleDone,
    ProblemChanged,
    TasksChanged,
    TasksRemoved,
    announce_finished,
)
from nbtui.tui.ordering import OrderReader
from nbtui.tui.session import Session
from nbtui.tui.tasklist_model import SortKey, TaskListModel, TaskRow, describe_sort
from nbtui.tui.threads import in_thread
from nbtui.tui.widgets.detail import TaskDetail
from nbtui.tui.widgets.footer import FittedFooter
from nbtui.tui.widgets.json_view import JsonView
from nbtui.tui.widgets.preview import ImagePreview
from nbtui.tui.widgets.status_bar import StatusBar
from nbtui.tui.widgets.task_list import TaskList

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from nbtui.tracking.store import TrackedTask

__all__ = ["FIRST_PAGE", "INTERVAL_STEPS", "MainScreen"]

#: The steps `+` and `-` move the refresh interval through (seconds).
INTERVAL_STEPS = (1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)
#: Rows read first at start-up, before the full list: more than any screen shows.
FIRST_PAGE = 200
#: The detail, JSON and preview panes follow the cursor once it has rested this long: a held
#: `j` moves only the list (redrawing the panes re-lays out the whole screen, ~20-40 ms).
_PANE_DELAY = 0.06
#: A request in flight this long (seconds) makes the status bar say "waiting for the service".
_SLOW_REQUEST = 3.0
#: The filter field's title says whether keys go to it or back to the list.
_FILTER_EDITING = "filter · enter keeps it · escape clears"
_FILTER_KEPT = "filter · / edits it · escape clears"
_FILTER_BROKEN = "filter · not applied: the list shows the last one that worked"
_T = TypeVar("_T")


class MainScreen(Screen[None]):
    """The task list and its panes; see the module docstring."""

    BINDINGS: ClassVar[list[BindingType]] = list(MAIN_BINDINGS)

    def __init__(
        self,
        session: Session,
        *,
        write_to_terminal: Callable[[str], None],
        fetcher_factory: FetcherFactory | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        self._write_to_terminal = write_to_terminal
        clock = session.clock
        self.model = TaskListModel(clock, session.store)
        #: The refresh schedule; it owns paused, interval and the current problem.
        self.monitor = self._new_monitor(paused=False, interval=session.settings.poll_interval)
        #: Refresh cycles finished (tests and scenes wait for them).
        self.cycles = 0
        #: The stored list has been read and shown.
        self.loaded = False
        self.notifier: Notifier | None = None
        #: The marked tasks: what untrack, refresh, save, open and labels apply to.
        self.marks = Marks()
        self.task_list = TaskList(
            self.model, clock, marks=self.marks, columns=session.settings.columns, id="tasks"
        )
        self.detail = TaskDetail(clock, id="detail")
        self.json_view = JsonView(id="json")
        self.status = StatusBar(clock, id="status")
        self.order = OrderReader(
            self, self.model, shown=self._order_shown, select=self.task_list.select_id
        )
        self.tracker = Tracker(
            session,
            self.model,
            waiting=self.store_waiting,
            shown=self._rows_changed,
            refresh=self._refresh_new,
        )
        # Balance and prices (off unless [platform] host is set): the header and the form.
        self.balance = BalanceWatcher(self, session, changed=self._update_topbar)
        self.creator = Creator(
            self, session, self.tracker, closed=self._focus_list, balance=self.balance
        )
        self.images = Images(
            self,
            session,
            ImagePreview(id="preview"),
            current_task=self.selected_task,
            fetcher_factory=fetcher_factory,
            marked=lambda: bool(self.marks),
            targets=self.marking_targets,
        )
        self.importer = Importer(self, session, self.tracker, can_call=self._can_call)
        self.marking = MarkCommands(self, session, self.model, self.task_list, self.status)
        self.gallery = Gallery(
            self, session, self.model, select=self._gallery_chose, fetcher_factory=fetcher_factory
        )
        self.track_commands = TrackCommands(
            self,
            session,
            self.model,
            self.tracker,
            cursor_id=lambda: self.task_list.cursor_id,
            reorder=self.reorder,
            marking=self.marking,
        )
        self.labels = LabelCommands(
            self,
            session,
            self.model,
            self.marking,
            changed=self._labels_changed,
            waiting=self.store_waiting,
        )
        self.record = RecordCommands(
            self,
            self.json_view,
            flush_panes=self.flush_panes,
            selected_task=self.selected_task,
            focused=lambda: self.focused,
        )
        # Export takes the marked tasks when there are any (hidden ones too), else the list.
        self.exporter = Exporter(
            self, session, shown=lambda: array("q", self.marks.rowids()) or self.model.shown_rowids
        )
        #: The user's own commands (`[commands]`), bound to their keys on this screen.
        self.user_commands = UserCommands(
            self, session, target_ids=self.target_ids, fetcher_factory=fetcher_factory
        )
        for keys, action, description in self.user_commands.bindings():
            self._bindings.bind(keys, action, description, show=False)
        self.views = Views(
            self,
            session,
            self.model,
            show_filter=self.show_filter,
            sort_by=self.sort_by,
            shown=self._show_view,
        )
        self.rerun = Rerun(
            self,
            self.creator,
            self.model,
            current_task=self.selected_task,
            cursor_id=lambda: self.task_list.cursor_id,
            select=self.task_list.select_id,
            can_call=self._can_call,
        )
        self.detail.parent_key = _shown_key(session.settings.keymap.get("app.parent", "u"))
        self._last_refresh: float | None = None
        #: What is wrong with the filter being typed (None: it reads, and is the one shown).
        self.filter_error: str | None = None
        self._selected: str | None = None
        self._selected_task: Task | None = None
        #: When the panes may be redrawn for the selection (None: they show it already).
        self._panes_due: float | None = None
        self._panes_timer_set = False
        # The first screenful is read while Textual starts up, so it is there at mount.
        self._first_page = in_thread(self.model.compute, FIRST_PAGE)

    def _new_monitor(self, *, paused: bool, interval: float) -> Monitor:
        return Monitor(
            None,
            self.session.store,
            interval=interval,
            paused=paused,
            clock=self.session.clock,
            on_update=lambda updates: self.post_message(TasksChanged(updates)),
            on_cycle=lambda report: self.post_message(CycleDone(report)),
            on_problem=lambda problem: self.post_message(ProblemChanged(problem)),
            on_removed=lambda ids: self.post_message(TasksRemoved(ids)),
            on_state=self._show_monitor_state,
        )

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="main"):
            with Horizontal(id="topbar"):
                yield Static(Text("nbtui", style="bold"), id="title")
                yield Static("", id="topbar-view")
                yield Static(self._topbar_text(), id="topbar-info")
            yield Input(
                placeholder="filter: words in the id, prompt, state or model; "
                "state:failed model:pro label:x images:>1 age:<1h -word (? lists them)",
                id="filter",
            )
            yield Static("", id="filter-error")
            self.task_list.border_title = "Tasks"
            yield self.task_list
            with Horizontal(id="lower"):
                self.detail.border_title = "Detail"
                yield self.detail
                self.json_view.border_title = "JSON · tree (v: text)"
                yield self.json_view
            yield self.status
        yield FittedFooter(footer_actions())

    def _update_topbar(self) -> None:
        self.query_one("#topbar-info", Static).update(self._topbar_text())

    def _topbar_text(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis", justify="right")
        text.append_text(self.balance.header())
        if self.session.demo:
            # The badge names it; the simulator's made-up host would read like an error.
            text.append(" DEMO ", style="bold reverse yellow")
            text.append("  simulated API, throwaway data", style="dim")
        else:
            text.append(one_line(self.session.settings.api_host), style="dim")
        return text

    def _host_label(self) -> str:
        """The API host for the status bar; "demo" for the simulator (no real host)."""
        return "demo" if self.session.demo else self.session.settings.api_host

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Literal text by default, as the App's toasts (API text never runs as markup)."""
        self.app.notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The App's keys (quit, help) lead the footer, as they did before the screen had
        keys of its own (Textual lists the focused widget's first, the App's last)."""
        bindings = super().active_bindings
        app_wide = {key: b for key, b in bindings.items() if b.node is self.app}
        return {**app_wide, **{key: b for key, b in bindings.items() if key not in app_wide}}

    # -- start-up ------------------------------------------------------------------------

    def on_mount(self) -> None:
        status = self.status
        status.host = self._host_label()
        status.demo = self.session.demo
        status.reading_stored = True
        self._show_monitor_state()
        self.task_list.focus()
        self.set_interval(1.0, self.tick)
        self.notifier = Notifier(self.session.settings, self._write_to_terminal)
        self.detail.mount(self.images.preview, before=0)
        self._load_stored()
        self.balance.refresh()
        self.set_interval(BALANCE_REFRESH_SECONDS, self.balance.refresh)

    @work(exclusive=True, group="load", description="read the stored tasks")
    async def _load_stored(self) -> None:
        """Show what is stored before any network call, then say so (the App starts watching).

        The first screenful is read on its own (a few ms whatever the total), so the list
        paints at once; the full list is read and sorted in a worker thread, and the monitor
        starts only after that has been painted.
        """
        first = await asyncio.wrap_future(self._first_page)
        self.model.install(first)
        if not first.complete:
            self.task_list.rows_changed()
            # Let the first page reach the screen before the full read competes for the GIL.
            painted = asyncio.Event()
            self.call_after_refresh(painted.set)
            await painted.wait()
            # Only the order (the store's rowids, 8 bytes a task): rows are read when drawn.
            self.reorder()
            await self.order.idle.wait()
        self.loaded = True
        self.task_list.rows_changed()
        self._update_counts()
        self.status.reading_stored = False
        self.call_after_refresh(self.post_message, self.Loaded())

    class Loaded(Message):
        """The stored list is on screen: time to start refreshing it (the App decides how)."""

    def show_waiting(self, what: str | None) -> None:
        """The status bar says what a slow call waits for ("the keyring"; None: nothing)."""
        self.status.waiting_for = what
        self.status.waiting_since = self.session.clock() if what is not None else None

    def session_switched(self) -> None:
        """The App switched the session (to the demo): show its store and host."""
        old = self.monitor
        old.stop()
        self.monitor = self._new_monitor(paused=old.paused, interval=old.interval)
        self.balance.balance = self.balance.prices = None
        self.balance.refresh()
        self._update_topbar()
        self.status.host = self._host_label()
        self.status.demo = self.session.demo
        self.model.attach(self.session.store)
        self.task_list.rows_changed()
        self._update_counts()

    # -- the monitor ---------------------------------------------------------------------

    def start_monitor(self, token: str | None) -> None:
        """(Re)start the refresh loop with a client for `token`."""
        self.session.token = token
        self._run_monitor(token)

    @work(exclusive=True, group="monitor", description="refresh tracked tasks", exit_on_error=False)
    async def _run_monitor(self, token: str | None) -> None:
        monitor = self.monitor
        async with self.session.client_factory(token) as client:
            await monitor.wait_idle()  # the loop with the old client ends at its next await
            monitor.use_client(client)
            try:
                await monitor.run()
            finally:
                monitor.release_client(client)

    def _show_monitor_state(self) -> None:
        """The monitor's paused, interval and problem changed: show them."""
        monitor = self.monitor
        status = self.status
        status.paused = monitor.paused
        status.interval = monitor.interval
        status.next_at = monitor.next_refresh_at
        status.problem = monitor.problem.message if monitor.problem is not None else None

    def on_tasks_changed(self, message: TasksChanged) -> None:
        updates = message.updates
        self.model.upsert(update.task for update in updates)
        self.reorder()  # which redraws the list once the order is in (a few ms)
        selected = [update.task for update in updates if update.task.id == self._selected]
        if selected:
            self._select_current(selected[-1])
        announce_finished(updates, self.notify, self.notifier)

    def on_tasks_removed(self, message: TasksRemoved) -> None:
        self.model.remove(message.ids)
        self.marking.untracked(message.ids)
        self.task_list.rows_changed()
        self.reorder()

    def on_cycle_done(self, message: CycleDone) -> None:
        self.cycles += 1
        report = message.report
        # A cycle whose every request failed (rate limited, server down) refreshed nothing:
        # "refreshed just now" would be untrue, so the last good refresh time stays.
        if report.requested == 0 or report.failed < report.requested:
            self._last_refresh = report.finished
        if report.refreshed:
            # Unchanged tasks get no update, yet the detail's "Refreshed" time moves on (the
            # list's UPDATED column says when a task last changed, so its order stays).
            self.model.mark_refreshed(report.refreshed, report.finished)
            self.task_list.rows_changed()
        self.status.last_refresh = self._last_refresh
        self.status.next_at = report.next_at
        self.status.refreshing = False

    def on_problem_changed(self, message: ProblemChanged) -> None:
        if message.problem is not None and message.problem.kind == "auth":
            self.notify(
                "The service rejected the token; polling stopped. Press t to set a new one.",
                title="Token rejected",
                severity="error",
                timeout=12,
            )

    def tick(self) -> None:
        """Once a second: ages, durations and 'next in' move on without any data change."""
        self.task_list.refresh()
        monitor = self.monitor
        if monitor.running:
            since = monitor.request_started
            slow = since is not None and self.session.clock() - since >= _SLOW_REQUEST
            self.status.next_at = monitor.next_refresh_at
            self.status.paused = monitor.paused
            self.status.waiting_for = "the service" if slow else None
            self.status.waiting_since = since if slow else None
        self.status.refresh()
        shown = self.detail.shown_task
        if self._panes_due is None and shown is not None and not shown.state.is_finished:
            self.detail.redraw(same_task=True)

    # -- the order -----------------------------------------------------------------------

    def reorder(self, select: str | None = None) -> None:
        """The tasks, the sort or the filter changed: read the order again off the UI thread
        (then put the cursor on `select`). Requests made meanwhile are merged into one."""
        self.order.request(select)

    def order_settled(self) -> bool:
        """True when the list shows the order for the latest change (tests wait for it)."""
        return self.order.settled

    @property
    def orders_read(self) -> int:
        """Orders read and shown so far (benchmarks wait for the next one)."""
        return self.order.reads

    def _order_shown(self, read: bool) -> None:
        self.task_list.rows_changed()
        if read:
            self._update_counts()

    def _update_counts(self) -> None:
        self.status.counts = self.model.counts()
        self.status.shown = len(self.model)
        self.status.total = len(self.model.rows)
        self._show_view()
        self.marking.shown()

    def _show_view(self) -> None:
        """The header names the active view and counts what it shows."""
        header = self.views.header(len(self.model))
        shown = self.query_one("#topbar-view", Static)
        shown.update(header)
        shown.display = bool(header)  # nothing, not an empty padded cell, without a view

    def _rows_changed(self, select: str | None = None) -> None:
        """The model changed outside a refresh (tracked, untracked): draw it, read the order."""
        self.task_list.rows_changed()
        self.reorder(select=select)

    # -- selection -----------------------------------------------------------------------

    @on(TaskList.Highlighted)
    def _highlighted(self, message: TaskList.Highlighted) -> None:
        self._selected = message.task_id
        self._select_current()

    @on(TaskList.Selected)
    def _selected_row(self, message: TaskList.Selected) -> None:
        self._focus_pane(self.detail)

    @on(TaskList.SortRequested)
    def _sort_requested(self, message: TaskList.SortRequested) -> None:
        self.sort_by(message.key)

    def _select_current(self, fresh: TrackedTask | None = None) -> None:
        """Take the selection's task at once (key actions use it); draw the panes later.

        The list holds no records: the selected task comes from `fresh` (the monitor's update
        of it), stays what it was when the cursor did not move, or is read when the panes
        are drawn (or when an action needs it first, see `selected_task`).
        """
        task_id = self._selected
        if task_id is None or task_id not in self.model.rows:
            self._selected_task = None
        elif fresh is not None and fresh.id == task_id:
            self._selected_task = fresh.to_task()
        elif self._selected_task is not None and self._selected_task.id != task_id:
            self._selected_task = None
        self._schedule_panes()

    def _schedule_panes(self) -> None:
        """Redraw the panes once the cursor has rested `_PANE_DELAY` (coalescing presses)."""
        self._panes_due = time.monotonic() + _PANE_DELAY
        if not self._panes_timer_set:
            self._panes_timer_set = True
            self.set_timer(_PANE_DELAY, self._panes_timer, name="panes")

    def _panes_timer(self) -> None:
        self._panes_timer_set = False
        due = self._panes_due
        app = self.app
        if due is None or app._exit or app._closing or app._closed:  # shutting down
            return
        wait = due - time.monotonic()
        if wait > 0.002:  # the cursor moved since: wait for it to rest
            self._panes_timer_set = True
            self.set_timer(wait, self._panes_timer, name="panes")
            return
        self._show_selected()

    def panes_settled(self) -> bool:
        """True when the panes show the task under the cursor (tests and scenes wait for it)."""
        if self._panes_due is not None:
            return False
        shown = self.detail.shown_task
        return (shown.id if shown is not None else None) == self.task_list.cursor_id

    def flush_panes(self) -> None:
        """Draw the panes for the selection now if they are behind (before reading them)."""
        if self._panes_due is not None:
            self._show_selected()

    def _show_selected(self) -> None:
        self._panes_due = None
        task_id = self._selected
        row = self.model.rows.get(task_id) if task_id else None
        if row is None:
            self._selected_task = None
            self.detail.show(None, None)
            self.json_view.show(None, present=False)
            self.images.show(None)
            return
        task = self._selected_task
        if task is None or task.id != row.id:
            # Listed without its record: read it off the UI thread, then show it.
            self._load_selected(row.id)
            return
        self._display_selected(row, task)

    def _display_selected(self, row: TaskRow, task: Task) -> None:
        self._selected_task = task
        self.detail.show(task, row)
        self.images.show(task)
        self.json_view.show(task.raw, present=True)

    @work(exclusive=True, group="selected", description="read the selected task")
    async def _load_selected(self, task_id: str) -> None:
        # Read and parse off the UI thread: a record can be megabytes.
        task = await asyncio.to_thread(self._read_task, task_id)
        row = self.model.rows.get(task_id)
        if self._selected != task_id or row is None:
            return  # the cursor moved on (or the task went) meanwhile
        if self._panes_due is not None:
            return  # the selection changed meanwhile: the coming redraw reads it again
        if task is None:
            self._selected_task = None
            return
        self._display_selected(row, task)

    def _read_task(self, task_id: str) -> Task | None:
        """Blocking (worker thread): the stored task, its record parsed."""
        stored = self.session.store.get(task_id)
        return stored.to_task() if stored is not None else None

    def selected_task(self) -> Task | None:
        """The task under the cursor, read now if its record was not loaded yet.

        For key actions right after a move: one row by its key, which is quick. The list's
        cursor is what the screen shows: a key pressed right after a filter or a new order
        moved it can come before the list's `Highlighted` message, so take the cursor's task.
        """
        if self.task_list.cursor_id != self._selected:
            self._selected = self.task_list.cursor_id
            self._select_current()
        task = self._selected_task
        task_id = self._selected
        if task is None and task_id is not None and task_id in self.model.rows:
            stored = self.session.store.get(task_id)
            if stored is not None and self._selected == task_id:
                task = self._selected_task = stored.to_task()
        return task

    # -- panes ---------------------------------------------------------------------------

    def _panes(self) -> list[Widget]:
        return [self.task_list, self.detail, self.json_view]

    def _focus_pane(self, pane: Widget) -> None:
        if pane is not self.task_list:
            self.flush_panes()
        narrow = self.has_class("-narrow")
        self.set_class(narrow and pane is self.json_view, "-show-json")
        if pane is self.json_view:
            self.json_view.focus_view()
        else:
            pane.focus()

    def _current_pane(self) -> int:
        focused = self.focused
        for index, pane in enumerate(self._panes()):
            if focused is not None and (focused is pane or pane in focused.ancestors):
                return index
        return 0

    def action_next_pane(self) -> None:
        panes = self._panes()
        self._focus_pane(panes[(self._current_pane() + 1) % len(panes)])

    def action_previous_pane(self) -> None:
        panes = self._panes()
        self._focus_pane(panes[(self._current_pane() - 1) % len(panes)])

    def action_back_out(self) -> None:
        filter_input = self.query_one("#filter", Input)
        if filter_input.has_class("-visible") and (
            filter_input.has_focus or self.model.filter_text
        ):
            self._clear_filter()
            return
        if not self.task_list.has_focus:
            self._focus_pane(self.task_list)
            return
        # No filter to clear, already on the list: escape takes the marks off.
        self.marking.clear(quiet_when_none=True)

    # -- filter and sort -----------------------------------------------------------------

    def action_filter(self) -> None:
        filter_input = self.query_one("#filter", Input)
        filter_input.add_class("-visible")
        filter_input.border_title = _FILTER_EDITING
        # Focus now, not via `focus()`'s call_later: keys typed right after "/" are already
        # queued and must reach the filter, not the list (where s, a, d... are bindings).
        self.set_focus(filter_input)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        from nbtui.tracking.query import QueryError

        try:
            self.model.set_filter(event.value)
        except QueryError as exc:
            self._show_filter_error(str(exc))
            return  # the list keeps the last good filter's tasks
        self._show_filter_error(None)
        self.reorder()

    def _show_filter_error(self, message: str | None) -> None:
        """Say under the filter what is wrong with it (None: nothing is)."""
        shown = self.query_one("#filter-error", Static)
        field = self.query_one("#filter", Input)
        self.filter_error = message
        if message is None:
            shown.update("")
            shown.remove_class("-visible")
            field.border_title = _FILTER_EDITING if field.has_focus else _FILTER_KEPT
            return
        shown.update(Text(f"✗ {one_line(message)}", style="bold"))
        shown.add_class("-visible")
        field.border_title = _FILTER_BROKEN

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if self.filter_error is not None:
            return  # stay in the field until the filter reads
        if not event.value.strip():
            self._clear_filter()
        else:
            event.input.border_title = _FILTER_KEPT
            self.task_list.focus()

    def _clear_filter(self) -> None:
        filter_input = self.query_one("#filter", Input)
        filter_input.value = ""
        filter_input.remove_class("-visible")
        self._show_filter_error(None)
        self.model.set_filter("")
        self.views.filter_cleared()
        self.reorder()
        self.task_list.focus()

    def show_filter(self, text: str) -> None:
        """Put `text` in the filter field, which filters the list as typing there does
        (a saved view's query); the keys stay with the list."""
        filter_input = self.query_one("#filter", Input)
        filter_input.set_class(bool(text), "-visible")
        filter_input.border_title = _FILTER_KEPT
        filter_input.value = text
        if self.focused is filter_input:
            self.task_list.focus()

    def action_sort(self) -> None:
        key = self.model.cycle_sort()
        self.task_list.rows_changed()
        self.reorder()
        self.notify(f"Sorted by {describe_sort(key, self.model.descending)}.", timeout=2)

    def sort_by(self, key: SortKey, descending: bool | None = None) -> None:
        self.model.set_sort(key, descending)
        self.task_list.rows_changed()
        self.reorder()

    # -- saved views ---------------------------------------------------------------------

    def action_view(self, number: int) -> None:
        self.views.key(number)

    def action_all_tasks(self) -> None:
        self.views.leave()

    def action_save_view(self) -> None:
        self.views.ask_save()

    # -- tasks ---------------------------------------------------------------------------

    def _focus_list(self) -> None:
        self.task_list.focus()

    def _can_call(self) -> bool:
        """A create or an import can be sent: a token, the demo, or a running monitor."""
        return self.session.can_call_service or self.monitor.has_client

    def store_waiting(self, text: str | None) -> None:
        """A write the user asked for waits for the database (None: it went through)."""
        self.status.store_waiting = text
        if text is not None:
            self.notify(f"{text[0].upper()}{text[1:]}; your change is kept.", timeout=5)

    def _refresh_new(self, ids: list[str]) -> None:
        """Newly tracked ids: ask the service about them now (when refreshing at all)."""
        if self.monitor.has_client:
            self.monitor.request_refresh(ids)
            self.status.refreshing = True

    def action_add(self) -> None:
        self.track_commands.open_add()

    def action_untrack(self) -> None:
        self.track_commands.ask_untrack()

    def action_refresh_selected(self) -> None:
        """`r`: refresh the marked tasks (one request, batched by the monitor), else the
        cursor's."""
        ids = self.target_ids()
        if not ids:
            self.notify("No task selected.", severity="warning")
            return
        if self._need_monitor():
            self.monitor.request_refresh(ids)
            self.status.refreshing = True
            if self.marks:
                self.notify(f"Refreshing {len(ids):,} marked tasks.", timeout=2)

    def action_refresh_all(self) -> None:
        if self._need_monitor():
            self.monitor.request_refresh(None)
            self.status.refreshing = True

    def _need_monitor(self) -> bool:
        if not self.monitor.has_client:
            self.notify("Not refreshing yet: set a token first (t).", severity="warning")
            return False
        return True

    def action_pause(self) -> None:
        if self.monitor.paused:
            self.monitor.resume()
        else:
            self.monitor.pause()
        paused = self.monitor.paused
        self.notify("Refresh paused (p resumes)." if paused else "Refresh resumed.", timeout=2)

    def _set_interval(self, value: float) -> None:
        self.monitor.interval = value
        self.notify(f"Refreshing every {compact_duration(value)}.", timeout=2)

    def action_slower(self) -> None:
        bigger = [step for step in INTERVAL_STEPS if step > self.monitor.interval]
        self._set_interval(bigger[0] if bigger else INTERVAL_STEPS[-1])

    def action_faster(self) -> None:
        smaller = [step for step in INTERVAL_STEPS if step < self.monitor.interval]
        self._set_interval(smaller[-1] if smaller else INTERVAL_STEPS[0])

    def action_new_task(self) -> None:
        if not self._can_call():
            self.notify("Set a token first (t): creating a task needs one.", severity="warning")
            return
        self.creator.open()

    def action_balance(self) -> None:
        self.balance.show()

    def action_import_recent(self) -> None:
        self.importer.start()

    def action_export(self) -> None:
        self.exporter.open()

    # -- marks and labels --------------------------------------------------------------

    def target_ids(self) -> list[str]:
        """The tasks an action applies to: the marked tasks when there are any, including
        ones the filter hides; else the cursor's."""
        return self.marking.target_ids()

    async def marking_targets(self) -> list[str]:
        """`target_ids()` less marked tasks another process untracked meanwhile."""
        return await self.marking.tracked_targets()

    def action_toggle_mark(self) -> None:
        self.marking.toggle()

    def action_mark_shown(self) -> None:
        self.marking.mark_shown()

    def action_clear_marks(self) -> None:
        self.marking.clear()

    def action_labels(self) -> None:
        self.labels.open()

    def _labels_changed(self, ids: list[str]) -> None:
        """Labels of these tasks were written: their rows and the detail pane show them."""
        self.model.forget(ids)
        self.task_list.refresh()
        if self._selected in ids:
            self._select_current()

    def action_rerun(self) -> None:
        self.rerun.rerun()

    def action_edit_result(self) -> None:
        self.rerun.edit_result()

    def action_go_to_parent(self) -> None:
        self.rerun.go_to_parent()

    # -- images, clipboard, the record ---------------------------------------------------

    def action_open_image(self) -> None:
        self.images.open()

    def action_copy_url(self) -> None:
        self.images.copy_url()

    def action_save_images(self) -> None:
        self.images.save()

    def action_toggle_preview(self) -> None:
        if not self.images.enabled:
            self.flush_panes()
        self.images.toggle_preview(self._selected_task)

    def action_copy_id(self) -> None:
        task_id = self.task_list.cursor_id
        if task_id is None:
            self.notify("No task selected.", severity="warning")
            return
        self.app.copy_to_clipboard(task_id)
        self.notify(f"Copied task id {short_id(task_id)}…", timeout=2)

    def action_toggle_json(self) -> None:
        self.record.toggle_mode()

    def action_copy_json_value(self) -> None:
        self.record.copy_value()

    def action_copy_json(self) -> None:
        self.record.copy_whole()

    def action_show_full(self) -> None:
        self.record.show_full()

    # -- the user's own commands ---------------------------------------------------------

    def action_run_user_command(self, index: int) -> None:
        self.user_commands.run(index)

    def action_command_log(self) -> None:
        from nbtui.tui.screens.command_log import CommandLogScreen

        commands = self.user_commands
        self.app.push_screen(CommandLogScreen(commands.log, configured=len(commands.commands)))

    # -- the gallery ---------------------------------------------------------------------

    def action_gallery(self) -> None:
        self.gallery.open()

    def _gallery_chose(self, task_id: str) -> None:
        if self.task_list.select_id(task_id):
            self._focus_pane(self.task_list)
        else:
            self.notify(
                "That task is no longer in the list (it was untracked or the filter changed).",
                severity="warning",
            )


def _shown_key(keys: str) -> str:
    """The first of a binding's keys as the detail pane names it."""
    return keys.split(",")[0].strip()
