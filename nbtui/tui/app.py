"""The nbtui application: the task list, detail and JSON panes, and the background refresh.

Built by `make_app` from settings, a store, a client factory and a clock, so `run_app` (the
`nbtui` command) and the tests assemble it the same way. The refresh schedule belongs to
`nbtui.tracking.monitor.Monitor`, run in a Textual worker; its callbacks become messages,
and widgets only draw what they are given (none of them touches the network or the store).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, Input, Static

from nbtui.api.state import Task, TaskState
from nbtui.config import Settings
from nbtui.textsafe import one_line, truncate
from nbtui.tui.features import FeaturesMixin, FetcherFactory
from nbtui.tui.formatting import compact_duration, short_id
from nbtui.tui.links import is_openable, open_in_browser
from nbtui.tui.screens.token import TokenOutcome, TokenScreen
from nbtui.tui.tasklist_model import SortKey, TaskListModel, TaskRow
from nbtui.tui.widgets.detail import TaskDetail
from nbtui.tui.widgets.json_view import JsonView
from nbtui.tui.widgets.status_bar import StatusBar
from nbtui.tui.widgets.task_list import TaskList

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from nbtui.api.client import NanoBananaClient
    from nbtui.tracking.monitor import CycleReport, Monitor, MonitorProblem, TaskUpdate
    from nbtui.tracking.store import Store, TrackedTask
    from nbtui.tui.screens.add_tasks import AddRequest

__all__ = ["ClientFactory", "DemoSession", "NbtuiApp", "make_app", "prepare_terminal_graphics"]

#: Builds a client for a token (None: no token). The app owns and closes what it gets.
ClientFactory = Callable[[str | None], "NanoBananaClient"]


class DemoSession(Protocol):
    """What the first-run "try the demo" switch needs (built by `nbtui.runtime.build_demo`)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> Store: ...
    @property
    def client_factory(self) -> ClientFactory: ...
    @property
    def spare_ids(self) -> list[str]: ...
    def close(self) -> None: ...


#: The steps `+` and `-` move the refresh interval through (seconds).
INTERVAL_STEPS = (1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)
#: A UUID nobody owns: asking for it checks a token with one cheap request.
_PROBE_ID = "00000000-0000-4000-8000-000000000000"
#: Rows read first at start-up, before the full list: more than any screen shows.
_FIRST_PAGE = 200
#: The detail, JSON and preview panes follow the cursor once it has rested this long: a held
#: `j` moves only the list (redrawing the panes re-lays out the whole screen, ~20-40 ms).
_PANE_DELAY = 0.06
#: The exit status after SIGTERM (128 + 15, what a shell reports for a process it killed).
EXIT_TERMINATED = 143
#: A request in flight this long (seconds) makes the status bar say "waiting for the service".
_SLOW_REQUEST = 3.0
_T = TypeVar("_T")


def _in_thread(function: Callable[..., _T], *args: Any) -> Future[_T]:
    """Run `function(*args)` in a new daemon thread; its result (or error) in a future."""
    future: Future[_T] = Future()

    def run() -> None:
        # The waiter may have given up (cancelled the future, e.g. the app quit meanwhile).
        try:
            result = function(*args)
        except BaseException as exc:  # handed to whoever awaits the future
            with contextlib.suppress(InvalidStateError):
                future.set_exception(exc)
        else:
            with contextlib.suppress(InvalidStateError):
                future.set_result(result)

    name = getattr(function, "__name__", "call")
    threading.Thread(target=run, name=f"nbtui-{name}", daemon=True).start()
    return future


# -- messages from the monitor (its callbacks run in the app's loop; these decouple them) --


class TasksChanged(Message):
    """The monitor saw these tasks change (or appear)."""

    def __init__(self, updates: list[TaskUpdate]) -> None:
        super().__init__()
        self.updates = updates


class TasksRemoved(Message):
    """Another process stopped tracking these ids."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__()
        self.ids = ids


class CycleDone(Message):
    """A refresh cycle finished."""

    def __init__(self, report: CycleReport) -> None:
        super().__init__()
        self.report = report


class ProblemChanged(Message):
    """The monitor's current problem changed (None: all is well)."""

    def __init__(self, problem: MonitorProblem | None) -> None:
        super().__init__()
        self.problem = problem


#: The filter field's title says whether keys go to it or back to the list.
_FILTER_EDITING = "filter · enter keeps it · escape clears"
_FILTER_KEPT = "filter · / edits it · escape clears"


# -- the command palette ------------------------------------------------------------------


class ActionsProvider(Provider):
    """Every key binding of the app, by name, in the command palette."""

    def _commands(self) -> list[tuple[str, str, str]]:
        app = self.app
        assert isinstance(app, NbtuiApp)
        return [(row.description, row.keys, row.action) for row in app.help_rows() if row.action]

    async def discover(self) -> Hits:
        for description, keys, action in self._commands():
            yield DiscoveryHit(
                Text(description), partial(self._run, action), text=description, help=keys
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for description, keys, action in self._commands():
            score = matcher.match(description)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(description),
                    partial(self._run, action),
                    text=description,
                    help=keys,
                )

    def _run(self, action: str) -> None:
        self.app.call_later(self.app.run_action, action)


@dataclass(frozen=True)
class _HelpEntry:
    group: str
    description: str
    keys: str
    action: str


# -- the app ------------------------------------------------------------------------------


class NbtuiApp(FeaturesMixin):
    """Watch Nano Banana image tasks: see `nbtui.tui.app` for how it is put together."""

    TITLE = "nbtui"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {ActionsProvider}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help", key_display="?"),
        Binding("tab", "next_pane", "Next pane", show=False, id="app.next_pane"),
        Binding("shift+tab", "previous_pane", "Previous pane", show=False, id="app.prev_pane"),
        Binding("slash", "filter", "Filter", id="app.filter", key_display="/"),
        Binding("escape", "back_out", "Back / clear filter", show=False, id="app.back"),
        Binding("s", "sort", "Sort", show=False, id="app.sort"),
        Binding("a", "add", "Add", id="app.add"),
        Binding("d", "untrack", "Untrack", id="app.untrack"),
        Binding("r", "refresh_selected", "Refresh", id="app.refresh"),
        Binding("R", "refresh_all", "Refresh all", show=False, id="app.refresh_all"),
        Binding("p", "pause", "Pause/resume", id="app.pause"),
        Binding("plus,equals_sign", "slower", "Longer interval", show=False, id="app.slower"),
        Binding("minus", "faster", "Shorter interval", show=False, id="app.faster"),
        Binding("o", "open_image", "Open image", id="app.open"),
        Binding("y", "copy_id", "Copy id", show=False, id="app.copy_id"),
        Binding("Y", "copy_url", "Copy image URL", show=False, id="app.copy_url"),
        Binding("v", "toggle_json", "JSON tree/text", show=False, id="app.json_mode"),
        Binding("c", "copy_json_value", "Copy JSON value", show=False, id="app.copy_value"),
        Binding("C", "copy_json", "Copy whole JSON", show=False, id="app.copy_json"),
        Binding("f", "show_full", "Show a long value in full", show=False, id="app.full"),
        Binding("t", "token", "Token", show=False, id="app.token"),
        Binding("n", "new_task", "New task", id="app.new"),
        Binding("S", "save_images", "Save images", show=False, id="app.save"),
        Binding("i", "toggle_preview", "Image preview on/off", show=False, id="app.preview"),
        Binding("I", "import_recent", "Import recent tasks", show=False, id="app.import"),
    ]

    #: Groups for the help screen, by binding id.
    HELP_GROUPS: ClassVar[dict[str, str]] = {
        "list": "Move",
        "app.next_pane": "Move",
        "app.prev_pane": "Move",
        "app.back": "Move",
        "app.filter": "List",
        "app.sort": "List",
        "app.add": "Tasks",
        "app.untrack": "Tasks",
        "app.refresh": "Tasks",
        "app.refresh_all": "Tasks",
        "app.open": "Tasks",
        "app.copy_id": "Tasks",
        "app.copy_url": "Tasks",
        "app.json_mode": "Record",
        "app.copy_value": "Record",
        "app.copy_json": "Record",
        "app.full": "Record",
        "app.pause": "Refresh",
        "app.slower": "Refresh",
        "app.faster": "Refresh",
        "app.token": "App",
        "app.new": "Tasks",
        "app.save": "Tasks",
        "app.preview": "Record",
        "app.import": "Tasks",
        "app.help": "App",
        "app.quit": "App",
    }

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store,
        client_factory: ClientFactory,
        clock: Callable[[], float] = time.time,
        demo: bool = False,
        token: str | None = None,
        resolve_token: bool = True,
        demo_factory: Callable[[], DemoSession] | None = None,
        suggested_ids: Sequence[str] = (),
        fetcher_factory: FetcherFactory | None = None,
    ) -> None:
        super().__init__()
        self._init_features(fetcher_factory)
        #: Untracked ids the add dialog offers (the demo's spare tasks).
        self.suggested_ids = list(suggested_ids)
        #: Problems found before the app started (a damaged database kept aside, an insecure
        #: base URL), shown as lasting warnings once the screen is up.
        self.startup_warnings: list[str] = []
        self.settings = settings
        self.store = store
        self.client_factory = client_factory
        self.clock = clock
        self.demo = demo
        self._token = token
        self._resolve_token = resolve_token and not demo and token is None
        self._demo_factory = demo_factory
        self._demo_env: DemoSession | None = None
        self.model = TaskListModel(clock, store)
        self.monitor: Monitor | None = None
        self._interval = settings.poll_interval
        self._paused = False
        self._last_refresh: float | None = None
        self._problem: MonitorProblem | None = None
        self.cycles = 0
        self.loaded = False
        self._selected: str | None = None
        self._selected_task: Task | None = None
        #: When the panes may be redrawn for the selection (None: they show it already).
        self._panes_due: float | None = None
        self._panes_timer_set = False
        #: A new order is being read (`reorder`); another is wanted; where the cursor goes.
        self._ordering = False
        self._order_wanted = False
        self._select_after_order: str | None = None
        self._order_idle = asyncio.Event()
        #: Orders read and shown so far (benchmarks wait for the next one).
        self.orders_read = 0
        #: Why the last order could not be read (said once until an order is read again).
        self._order_problem: str | None = None
        # The first screenful is read while Textual starts up, so it is there at mount.
        self._first_page = _in_thread(self.model.compute, _FIRST_PAGE)

    _task_list: TaskList
    _detail: TaskDetail
    _json_view: JsonView
    _status: StatusBar

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="main"):
            with Horizontal(id="topbar"):
                yield Static(Text("nbtui", style="bold"), id="title")
                yield Static(self._topbar_text(), id="topbar-info")
            yield Input(
                placeholder="filter: words in the id, prompt, state or model (escape clears)",
                id="filter",
            )
            task_list = TaskList(self.model, self.clock, id="tasks")
            task_list.border_title = "Tasks"
            self._task_list = task_list
            yield task_list
            with Horizontal(id="lower"):
                detail = TaskDetail(self.clock, id="detail")
                detail.border_title = "Detail"
                self._detail = detail
                yield detail
                json_view = JsonView(id="json")
                json_view.border_title = "JSON · tree (v: text)"
                self._json_view = json_view
                yield json_view
            self._status = StatusBar(self.clock, id="status")
            yield self._status
        yield Footer()

    def _topbar_text(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis", justify="right")
        if self.demo:
            text.append(" DEMO ", style="bold reverse yellow")
            text.append("  simulated API, throwaway data  ", style="dim")
        text.append(one_line(self.settings.api_host), style="dim")
        return text

    # The main screen's widgets, kept from `compose`: a query would search only the active
    # screen, and a pane redraw may come due while a dialog is open.

    @property
    def task_list(self) -> TaskList:
        return self._task_list

    @property
    def detail(self) -> TaskDetail:
        return self._detail

    @property
    def json_view(self) -> JsonView:
        return self._json_view

    @property
    def status(self) -> StatusBar:
        return self._status

    # -- start-up ------------------------------------------------------------------------

    def on_mount(self) -> None:
        self._catch_sigterm()
        if self.settings.keymap:
            self.set_keymap(dict(self.settings.keymap))
        self.status.set_info(
            host=self.settings.api_host,
            demo=self.demo,
            interval=self._interval,
            loading=True,
        )
        self.task_list.focus()
        if self.settings.is_insecure_remote and not self.demo:
            self.startup_warnings.append(
                f"The base URL {self.settings.base_url} uses plain http: your token would "
                "cross the network unencrypted. Use https unless this is a local proxy."
            )
        notice = self.store.notice  # a damaged file set aside, at this start or an earlier one
        if notice is not None:
            for line in notice.splitlines():
                if line not in self.startup_warnings:
                    self.startup_warnings.append(line)
        for warning in self.startup_warnings:
            self.notify(one_line(warning), title="Warning", severity="warning", timeout=30)
        if notice is not None:
            self.store.acknowledge_notice()
        self.set_interval(1.0, self._tick)
        self._mount_features()
        self._load_stored()

    @work(exclusive=True, group="load", description="read the stored tasks")
    async def _load_stored(self) -> None:
        """Show what is stored before any network call, then start refreshing.

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
            await self._order_idle.wait()
        self.loaded = True
        self.task_list.rows_changed()
        self._update_counts()
        self.status.set_info(loading=False)
        self.call_after_refresh(self._begin)

    def _begin(self) -> None:
        """Start the monitor, or ask for a token first."""
        if self.demo:
            self.start_monitor(None)
            return
        if self._resolve_token:
            self._find_token()
            return
        self.start_monitor(self._token)

    @work(exclusive=True, group="keyring", description="read the token from the keyring")
    async def _find_token(self) -> None:
        """Read the token off the UI thread: a locked keyring can hold the call forever.

        `resolve_token` gives up after its timeout (its stuck call is left in a daemon
        thread, so `q` still ends the process); with no token the token screen offers a
        token for this session, or the demo.
        """
        from nbtui.credentials import resolve_token

        info = await self._keyring_call(resolve_token, self.settings.profile)
        self._token = info.token
        if info.token is None:
            self._open_token_screen(first_run=True, status=info.detail)
            return
        self.start_monitor(info.token)

    async def _keyring_call(self, function: Callable[..., _T], *args: Any) -> _T:
        """`function(*args)` in a daemon thread, the status bar saying what is awaited."""
        self.status.set_info(waiting_for="the keyring", waiting_since=self.clock())
        try:
            return await asyncio.wrap_future(_in_thread(function, *args))
        finally:
            self.status.set_info(waiting_for=None, waiting_since=None)

    # -- the monitor ---------------------------------------------------------------------

    def start_monitor(self, token: str | None) -> None:
        """(Re)start the refresh loop with a client for `token`."""
        self._token = token
        # The old monitor's problem (e.g. "token rejected") is not the new one's: a fresh
        # monitor only reports changes, so clear it here or it would stay on screen.
        self._problem = None
        self.status.set_info(problem=None)
        self._run_monitor(token)

    @work(exclusive=True, group="monitor", description="refresh tracked tasks", exit_on_error=False)
    async def _run_monitor(self, token: str | None) -> None:
        from nbtui.tracking.monitor import Monitor

        client = self.client_factory(token)
        async with client:
            monitor = Monitor(
                client,
                self.store,
                interval=self._interval,
                clock=self.clock,
                on_update=self._monitor_updated,
                on_cycle=self._monitor_cycled,
                on_problem=self._monitor_problem,
                on_removed=self._monitor_removed,
            )
            if self._paused:
                monitor.pause()
            self.monitor = monitor
            try:
                await monitor.run()
            finally:
                if self.monitor is monitor:
                    self.monitor = None

    # The monitor's callbacks: turned into messages so handling happens in the app's queue.

    def _monitor_updated(self, updates: list[TaskUpdate]) -> None:
        self.post_message(TasksChanged(updates))

    def _monitor_cycled(self, report: CycleReport) -> None:
        self.post_message(CycleDone(report))

    def _monitor_problem(self, problem: MonitorProblem | None) -> None:
        self.post_message(ProblemChanged(problem))

    def _monitor_removed(self, ids: list[str]) -> None:
        self.post_message(TasksRemoved(ids))

    def on_tasks_changed(self, message: TasksChanged) -> None:
        updates = message.updates
        self.model.upsert(update.task for update in updates)
        self.reorder()  # which redraws the list once the order is in (a few ms)
        selected = [update.task for update in updates if update.task.id == self._selected]
        if selected:
            self._select_current(selected[-1])
        finished = [
            update
            for update in updates
            # A task answered for the first time was not watched finishing: no toast for it.
            if not update.first_answer
            and update.previous is not None
            and not update.previous.is_finished
            and update.task.state.is_finished
        ]
        if len(finished) > 3:  # one summary instead of a wall of toasts
            ok = sum(1 for update in finished if update.task.state is TaskState.SUCCEEDED)
            self.notify(
                f"{ok} succeeded, {len(finished) - ok} failed or not found.",
                title=f"{len(finished)} tasks finished",
                timeout=8,
            )
            self.notify_summary(
                f"{len(finished)} tasks finished",
                f"{ok} succeeded, {len(finished) - ok} failed or not found",
            )
        else:
            for update in finished:
                self._announce_finish(update)

    def _announce_finish(self, update: TaskUpdate) -> None:
        """A toast when a task we watched move finishes (not for tasks that were done)."""
        task = update.task
        if update.previous is None or update.previous.is_finished:
            return
        if not task.state.is_finished:
            return
        prompt = truncate(one_line(task.prompt or task.label or ""), 60)
        what = f"{short_id(task.id)} {task.state.label}"
        if task.state is TaskState.SUCCEEDED:
            count = task.image_count
            noun = "image" if count == 1 else "images"
            self.notify(f"{prompt}\n{count} {noun} · o opens", title=f"✔ {what}", timeout=8)
        else:
            reason = one_line(task.error_message or task.error_code or "")
            self.notify(
                f"{prompt}\n{truncate(reason, 120)}",
                title=f"✘ {what}",
                severity="error" if task.state is TaskState.FAILED else "warning",
                timeout=10,
            )
        self.notify_finished(task.to_task())

    def on_tasks_removed(self, message: TasksRemoved) -> None:
        self.model.remove(message.ids)
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
            # Unchanged tasks get no update, yet their "updated" age starts again now.
            self.model.mark_refreshed(report.refreshed, report.finished)
            self.task_list.rows_changed()
            if self.model.sort_key is SortKey.REFRESHED:
                self.reorder()
        self.status.set_info(
            last_refresh=self._last_refresh,
            next_at=report.next_at,
            refreshing=False,
        )

    def on_problem_changed(self, message: ProblemChanged) -> None:
        self._problem = message.problem
        self.status.set_info(problem=message.problem.message if message.problem else None)
        if message.problem is not None and message.problem.kind == "auth":
            self.notify(
                "The service rejected the token; polling stopped. Press t to set a new one.",
                title="Token rejected",
                severity="error",
                timeout=12,
            )

    def _tick(self) -> None:
        """Once a second: ages, durations and 'next in' move on without any data change."""
        self.task_list.refresh()
        monitor = self.monitor
        if monitor is not None:
            since = monitor.request_started
            slow = since is not None and self.clock() - since >= _SLOW_REQUEST
            self.status.set_info(
                next_at=monitor.next_refresh_at,
                paused=monitor.paused,
                waiting_for="the service" if slow else None,
                waiting_since=since if slow else None,
            )
        else:
            self.status.refresh()
        shown = self.detail.shown_task
        if self._panes_due is None and shown is not None and not shown.state.is_finished:
            self.detail.redraw(same_task=True)

    def reorder(self, select: str | None = None) -> None:
        """The tasks, the sort or the filter changed: read the order again off the UI thread
        (then put the cursor on `select`). Requests made meanwhile are merged into one."""
        if select is not None:
            self._select_after_order = select
        self._order_wanted = True
        if not self._ordering:
            self._ordering = True
            self._order_idle.clear()
            self._read_order()

    def order_settled(self) -> bool:
        """True when the list shows the order for the latest change (tests wait for it)."""
        return not self._ordering

    @work(group="order", description="sort and filter the list")
    async def _read_order(self) -> None:
        from nbtui.tracking.store import StoreError

        try:
            while self._order_wanted:
                self._order_wanted = False
                ordered = await asyncio.to_thread(self.model.compute)
                if not self.model.install(ordered):
                    self._order_wanted = True  # the view changed while it was read
                    continue
                self.orders_read += 1
                self._order_problem = None
                self.task_list.rows_changed()
                self._update_counts()
        except StoreError as exc:
            message = one_line(str(exc))
            if message != self._order_problem:  # once, not at every key or refresh
                self._order_problem = message
                self.notify(message, title="Cannot read the task list", severity="error")
            self.task_list.rows_changed()  # the rows on hand, as the refresh changed them
        finally:
            self._ordering = False
            self._order_idle.set()
        select, self._select_after_order = self._select_after_order, None
        if select is not None:
            self.task_list.select_id(select)

    def _update_counts(self) -> None:
        self.status.set_info(
            counts=self.model.counts(), shown=len(self.model), total=len(self.model.rows)
        )

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
        self.model.set_sort(message.key)
        self.task_list.rows_changed()
        self.reorder()

    def _select_current(self, fresh: TrackedTask | None = None) -> None:
        """Take the selection's task at once (key actions use it); draw the panes later.

        The list holds no records: the selected task comes from `fresh` (the monitor's update
        of it), stays what it was when the cursor did not move, or is read when the panes
        are drawn (or when an action needs it first, see `_current_task`).
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
        if due is None or self._exit or self._closing or self._closed:  # shutting down
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
            self.update_preview(None)
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
        self.update_preview(task)
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
        stored = self.store.get(task_id)
        return stored.to_task() if stored is not None else None

    def _current_task(self) -> Task | None:
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
            stored = self.store.get(task_id)
            if stored is not None and self._selected == task_id:
                task = self._selected_task = stored.to_task()
        return task

    def selected_task(self) -> Task | None:
        """The task under the cursor, as last stored."""
        return self._current_task()

    # -- panes ---------------------------------------------------------------------------

    def _panes(self) -> list[Any]:
        return [self.task_list, self.detail, self.json_view]

    def _focus_pane(self, pane: Any) -> None:
        if pane is not self.task_list:
            self.flush_panes()
        narrow = self.screen.has_class("-narrow")
        self.screen.set_class(narrow and pane is self.json_view, "-show-json")
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

    # -- filter and sort -----------------------------------------------------------------

    def action_filter(self) -> None:
        filter_input = self.query_one("#filter", Input)
        filter_input.add_class("-visible")
        filter_input.border_title = _FILTER_EDITING
        # Focus now, not via `focus()`'s call_later: keys typed right after "/" are already
        # queued and must reach the filter, not the list (where s, a, d... are bindings).
        self.screen.set_focus(filter_input)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.model.set_filter(event.value)
        self.reorder()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self._clear_filter()
        else:
            event.input.border_title = _FILTER_KEPT
            self.task_list.focus()

    def _clear_filter(self) -> None:
        filter_input = self.query_one("#filter", Input)
        filter_input.value = ""
        filter_input.remove_class("-visible")
        self.model.set_filter("")
        self.reorder()
        self.task_list.focus()

    def action_sort(self) -> None:
        key = self.model.cycle_sort()
        self.task_list.rows_changed()
        self.reorder()
        direction = "descending" if self.model.descending else "ascending"
        self.notify(f"Sorted by {key.value} ({direction})", timeout=2)

    def sort_by(self, key: SortKey, descending: bool | None = None) -> None:
        self.model.set_sort(key, descending)
        self.task_list.rows_changed()
        self.reorder()

    # -- tasks ---------------------------------------------------------------------------

    def action_add(self) -> None:
        from nbtui.tui.screens.add_tasks import AddTasksScreen

        self.push_screen(AddTasksScreen(suggestions=self.suggested_ids), self._added)

    def _added(self, request: AddRequest | None) -> None:
        if request is None:
            return
        self._add_ids(request)

    @work(group="store", description="add tasks")
    async def _add_ids(self, request: AddRequest) -> None:
        from nbtui.tracking.store import StoreError
        from nbtui.tui.screens.add_tasks import describe_rejected
        from nbtui.tui.store_writes import patient_write

        now = self.clock()
        try:
            new = await patient_write(
                lambda wait: self.store.add(request.ids, request.label, now, wait=wait),
                waiting=self.store_waiting,
            )
        except StoreError as exc:
            ids = ", ".join(request.ids[:5]) + (" …" if len(request.ids) > 5 else "")
            self.notify(f"{one_line(exc)}\nNot added: {ids}", title="Not added", severity="error")
            return
        rows = await asyncio.to_thread(self._rows_for, new)
        self.model.upsert(rows)
        self.reorder(select=new[0] if new else None)
        if self.monitor is not None and new:
            self.monitor.request_refresh(new)
            self.status.set_info(refreshing=True)
        known = len(request.ids) - len(new)
        parts = [f"Added {len(new)} task{'s' if len(new) != 1 else ''}"]
        if known:
            parts.append(f"{known} already tracked")
        if request.rejected:
            parts.append(describe_rejected(request.rejected))
        self.notify(
            "; ".join(parts) + ".",
            severity="warning" if request.rejected else "information",
        )

    def store_waiting(self, text: str | None) -> None:
        """A write the user asked for waits for the database (None: it went through)."""
        self.status.set_info(store_waiting=text)
        if text is not None:
            self.notify(f"{text[0].upper()}{text[1:]}; your change is kept.", timeout=5)

    def _rows_for(self, ids: Iterable[str]) -> list[TrackedTask]:
        rows = [self.store.get(task_id) for task_id in ids]
        return [row for row in rows if row is not None]

    def action_untrack(self) -> None:
        from nbtui.tui.screens.confirm import ConfirmScreen

        task_id = self.task_list.cursor_id
        if task_id is None:
            self.notify("No task selected.", severity="warning")
            return
        row = self.model.rows.get(task_id)
        if row is None:
            self.notify("That task is no longer tracked.", severity="warning")
            self.reorder()
            return
        message = Text.assemble(
            ("Stop tracking ", ""),
            (task_id, "bold"),
            ("?\n", ""),
            (truncate(row.prompt, 200) + "\n\n" if row.prompt else "", "italic"),
            ("The task itself stays at AceData Cloud; nbtui only stops watching it.", "dim"),
        )
        self.push_screen(
            ConfirmScreen("Untrack task", message, confirm_label="Untrack"),
            partial(self._untrack_answered, task_id),
        )

    def _untrack_answered(self, task_id: str, confirmed: bool | None) -> None:
        if confirmed:
            self._untrack(task_id)

    @work(group="store", description="untrack a task")
    async def _untrack(self, task_id: str) -> None:
        from nbtui.tracking.store import StoreError
        from nbtui.tui.store_writes import patient_write

        try:
            await patient_write(
                lambda wait: self.store.remove([task_id], wait=wait), waiting=self.store_waiting
            )
        except StoreError as exc:
            self.notify(one_line(exc), title="Still tracked", severity="error")
            return
        self.model.remove([task_id])
        self.task_list.rows_changed()
        self.reorder()
        self.notify(f"Stopped tracking {short_id(task_id)}.")

    def action_refresh_selected(self) -> None:
        task_id = self.task_list.cursor_id
        if task_id is None:
            self.notify("No task selected.", severity="warning")
            return
        if self._need_monitor():
            assert self.monitor is not None
            self.monitor.request_refresh([task_id])
            self.status.set_info(refreshing=True)

    def action_refresh_all(self) -> None:
        if self._need_monitor():
            assert self.monitor is not None
            self.monitor.request_refresh(None)
            self.status.set_info(refreshing=True)

    def _need_monitor(self) -> bool:
        if self.monitor is None:
            self.notify("Not refreshing yet: set a token first (t).", severity="warning")
            return False
        return True

    def action_pause(self) -> None:
        self._paused = not self._paused
        monitor = self.monitor
        if monitor is not None:
            if self._paused:
                monitor.pause()
            else:
                monitor.resume()
        self.status.set_info(
            paused=self._paused, next_at=monitor.next_refresh_at if monitor else None
        )
        self.notify("Refresh paused (p resumes)." if self._paused else "Refresh resumed.")

    def _set_interval(self, value: float) -> None:
        self._interval = value
        if self.monitor is not None:
            self.monitor.interval = value
        self.status.set_info(
            interval=value, next_at=self.monitor.next_refresh_at if self.monitor else None
        )
        self.notify(f"Refreshing every {compact_duration(value)}.", timeout=2)

    def action_slower(self) -> None:
        bigger = [step for step in INTERVAL_STEPS if step > self._interval]
        self._set_interval(bigger[0] if bigger else INTERVAL_STEPS[-1])

    def action_faster(self) -> None:
        smaller = [step for step in INTERVAL_STEPS if step < self._interval]
        self._set_interval(smaller[-1] if smaller else INTERVAL_STEPS[0])

    # -- images, clipboard ---------------------------------------------------------------

    def _image_urls(self) -> list[str] | None:
        task = self._current_task()
        if task is None:
            self.notify("No task selected.", severity="warning")
            return None
        urls = task.image_urls
        if not urls:
            why = "it has not finished" if not task.state.is_finished else "it has no image"
            self.notify(f"No result image: {why}.", severity="warning")
            return None
        return urls

    def action_open_image(self) -> None:
        from nbtui.tui.screens.choose_url import ChooseUrlScreen

        urls = self._image_urls()
        if urls is None:
            return
        openable = [url for url in urls if is_openable(url)]
        if not openable:
            self.notify(
                "The result is not an http(s) link, so it is not opened; see the detail pane.",
                severity="warning",
            )
            return
        if len(openable) == 1:
            self._open_url(openable[0])
        else:
            self.push_screen(ChooseUrlScreen("Open which image?", openable), self._chosen_open)

    def _chosen_open(self, url: str | None) -> None:
        if url:
            self._open_url(url)

    @work(thread=True, group="browser", description="open a browser")
    def _open_url(self, url: str) -> None:
        opened = open_in_browser(url)
        if opened:
            self.call_from_thread(self.notify, f"Opened {truncate(one_line(url), 80)}", timeout=3)
        else:
            self.call_from_thread(self._no_browser, url)

    def _no_browser(self, url: str) -> None:
        self.copy_to_clipboard(url)
        self.notify(
            "No browser could be started on this machine (over SSH, set $BROWSER). "
            "The URL was copied to the clipboard instead.",
            title="No browser",
            severity="warning",
            timeout=10,
        )

    def action_copy_id(self) -> None:
        task_id = self.task_list.cursor_id
        if task_id is None:
            self.notify("No task selected.", severity="warning")
            return
        self.copy_to_clipboard(task_id)
        self.notify(f"Copied task id {short_id(task_id)}…", timeout=2)

    def action_copy_url(self) -> None:
        from nbtui.tui.screens.choose_url import ChooseUrlScreen

        urls = self._image_urls()
        if urls is None:
            return
        if len(urls) == 1:
            self._copy_url(urls[0])
        else:
            self.push_screen(ChooseUrlScreen("Copy which image URL?", urls), self._copy_url)

    def _copy_url(self, url: str | None) -> None:
        if url:
            self.copy_to_clipboard(url)
            self.notify("Copied image URL.", timeout=2)

    def action_toggle_json(self) -> None:
        self.flush_panes()
        mode = self.json_view.toggle_mode()
        other = "tree" if mode == "text" else "text"
        self.json_view.border_title = f"JSON · {mode} (v: {other})"

    def action_copy_json_value(self) -> None:
        self.flush_panes()
        picked = self.json_view.selected()
        if picked is None:
            self.notify("No record to copy yet.", severity="warning")
            return
        path, text = picked
        self.copy_to_clipboard(text)
        self.notify(f"Copied {truncate(path, 60)} ({len(text)} characters).", timeout=2)

    def action_show_full(self) -> None:
        """The whole of a long value the panes cut short: the text under the JSON tree's
        cursor when that pane has the focus, else the selected task's prompt."""
        from nbtui.tui.screens.full_value import FullValueScreen
        from nbtui.tui.widgets.detail import full_prompt

        self.flush_panes()
        picked: tuple[str, str] | None = None
        focused = self.focused
        if focused is not None and self.json_view in focused.ancestors_with_self:
            node = self.json_view.json_tree.cursor_node
            data = node.data if node is not None and self.json_view.mode == "tree" else None
            if data is not None and isinstance(data.value, str):
                picked = (data.path, data.value)
        if picked is None:
            prompt = full_prompt(self._current_task())
            picked = ("Prompt", prompt) if prompt is not None else None
        if picked is None:
            self.notify(
                "Nothing to show in full: select a task with a prompt, or a text value in "
                "the JSON tree.",
                severity="warning",
            )
            return
        self.push_screen(FullValueScreen(*picked))

    def action_copy_json(self) -> None:
        self.flush_panes()
        whole = self.json_view.whole()
        if whole is None:
            self.notify("No record to copy yet.", severity="warning")
            return
        self.copy_to_clipboard(whole)
        self.notify(f"Copied the whole record ({len(whole)} characters).", timeout=2)

    # -- token ---------------------------------------------------------------------------

    def action_token(self) -> None:
        if self.demo:
            self.notify(
                "The demo needs no token. Run nbtui without --demo to use your own.",
                title="Demo",
            )
            return
        self._show_token_screen()

    @work(exclusive=True, group="keyring", description="read the token from the keyring")
    async def _show_token_screen(self) -> None:
        from nbtui.credentials import resolve_token

        info = await self._keyring_call(resolve_token, self.settings.profile)
        self._open_token_screen(first_run=False, status=info.detail)

    def _open_token_screen(self, *, first_run: bool, status: str) -> None:
        screen = TokenScreen(first_run=first_run, status=status, host=self.settings.api_host)
        self.push_screen(screen, self._token_screen_closed)

    def _token_screen_closed(self, outcome: TokenOutcome | None) -> None:
        if outcome == "quit":
            self.exit(0)
        elif outcome == "demo":
            self._switch_to_demo()

    @on(TokenScreen.Submitted)
    def _token_submitted(self, message: TokenScreen.Submitted) -> None:
        screen = self.screen
        if isinstance(screen, TokenScreen):
            self._check_token(screen, message.token)

    @work(exclusive=True, group="token", description="check a token")
    async def _check_token(self, screen: TokenScreen, token: str) -> None:
        """One request with the new token; keep it only if the service accepts it."""
        from nbtui.api.errors import ApiError, AuthError
        from nbtui.credentials import CredentialError, save_token, validate_token

        try:
            token = validate_token(token)
        except CredentialError as exc:
            screen.show_result(str(exc), error=True)
            return
        try:
            async with self.client_factory(token) as client:
                await client.retrieve(_PROBE_ID)
        except AuthError as exc:
            screen.show_result(
                f"{self.settings.api_host} rejected this token: {one_line(exc.short)}", error=True
            )
            return
        except ApiError as exc:
            screen.show_result(f"Could not check the token: {one_line(exc)}", error=True)
            return
        warning = None
        screen.show_result("The token works; saving it in the OS keyring…", error=False)
        try:
            await self._keyring_call(save_token, token, self.settings.profile)
        except CredentialError as exc:
            warning = one_line(exc)
        screen.dismiss("saved")
        if warning:
            self.notify(
                f"The token works but was not saved: {warning}\nIt is used for this session only.",
                title="Token not saved",
                severity="warning",
                timeout=15,
            )
        else:
            self.notify("Token saved to the OS keyring.", title="Token")
        self.start_monitor(token)

    def _switch_to_demo(self) -> None:
        """Leave the empty first-run app for the demo (the user's store is left untouched)."""
        if self._demo_factory is None:
            self.exit(0)
            return
        env = self._demo_factory()
        self._demo_env = env
        self.settings = env.settings
        self.store = env.store
        self.client_factory = env.client_factory
        self.demo = True
        self.suggested_ids = list(env.spare_ids)
        self.query_one("#topbar-info", Static).update(self._topbar_text())
        self.status.set_info(host=self.settings.api_host, demo=True)
        self.model.attach(self.store)
        self.task_list.rows_changed()
        self._update_counts()
        self.start_monitor(None)

    # -- help ----------------------------------------------------------------------------

    def help_rows(self) -> list[_HelpEntry]:
        """Every binding (with remapped keys), grouped, for the help screen and the palette."""
        keymap = self._keymap
        entries: list[_HelpEntry] = []
        bindings: list[Binding] = [
            binding
            for binding in [*TaskList.BINDINGS, *NbtuiApp.BINDINGS]
            if isinstance(binding, Binding)
        ]
        bindings.insert(len(TaskList.BINDINGS), Binding("enter", "select", "Focus the detail"))
        for binding in bindings:
            binding_id = binding.id or ""
            keys = keymap.get(binding_id, binding.key) if binding_id else binding.key
            shown = ", ".join(self._display_key(key) for key in keys.split(","))
            group = self.HELP_GROUPS.get(binding_id) or self.HELP_GROUPS.get(
                binding_id.split(".")[0], "Move"
            )
            action = binding.action if binding_id.startswith("app.") else ""
            entries.append(_HelpEntry(group, binding.description, shown, action))
        entries.append(_HelpEntry("App", "Command palette", "ctrl+p", ""))
        order = ["Move", "List", "Tasks", "Record", "Refresh", "App"]
        entries.sort(key=lambda entry: order.index(entry.group))
        return entries

    def _display_key(self, key: str) -> str:
        key = key.strip()
        return {
            "question_mark": "?",
            "slash": "/",
            "plus": "+",
            "minus": "-",
            "equals_sign": "=",
        }.get(key, key)

    def action_help(self) -> None:
        from nbtui.tui.screens.help import HelpRow, HelpScreen

        rows = [HelpRow(entry.group, entry.keys, entry.description) for entry in self.help_rows()]
        self.push_screen(HelpScreen(rows))

    async def action_quit(self) -> None:
        self.exit(0)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Toasts show prompts, URLs and errors from the API: literal text by default, so
        `[@click=app.quit]` is never run and a stray `[/bold]` never raises MarkupError."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def _catch_sigterm(self) -> None:
        """SIGTERM ends the app like `q` (the terminal restored: no alternate screen, mouse
        reporting or hidden cursor left behind), with status 143."""
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            # Not on Windows, nor outside the main thread: the default action stays.
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self._terminated)

    def _terminated(self) -> None:
        self.exit(return_code=EXIT_TERMINATED)

    def on_unmount(self) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
        if self.monitor is not None:
            self.monitor.stop()
        if self._demo_env is not None:
            self._demo_env.close()


#: The factory `run_app` and the tests build the app with (posting's `make_app`): the class
#: itself, so its options are declared once. A `token` skips the keyring look-up (tests);
#: without it a real-mode app resolves the token on start and asks for one if there is none.
make_app = NbtuiApp


def prepare_terminal_graphics() -> None:
    """Pick Kitty/Sixel image drawing where the terminal has it (must run before `app.run`)."""
    from nbtui.tui.widgets.preview import graphics_mode, prepare_graphics

    prepare_graphics(graphics_mode())
