"""The main screen: the task list, the detail and JSON panes, and what they do together.

It holds the panes and their focus, the selection (`nbtui.tui.selection`: the panes follow the
cursor once it rests), the filter (`commands.filtering`) and sort, the order re-read loop and
the refresh monitor's output (`commands.refreshing`, `nbtui.tui.monitor_bridge`); the work
behind its keys is done by the collaborators in `nbtui.tui.commands`, its `action_` methods
only hand over. The App around it keeps the app-wide keys, start-up, the token and quitting.
"""

from __future__ import annotations

import asyncio
from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, TypeVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import ActiveBinding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input

from nbtui.api.state import Task
from nbtui.notify import Notifier
from nbtui.tui.commands.balance import REFRESH_SECONDS as BALANCE_REFRESH_SECONDS
from nbtui.tui.commands.balance import BalanceWatcher
from nbtui.tui.commands.create import Creator
from nbtui.tui.commands.exporting import Exporter
from nbtui.tui.commands.filtering import Filtering
from nbtui.tui.commands.gallery import Gallery
from nbtui.tui.commands.images import Images
from nbtui.tui.commands.importing import Importer
from nbtui.tui.commands.labels import LabelCommands
from nbtui.tui.commands.marking import MarkCommands
from nbtui.tui.commands.record import RecordCommands
from nbtui.tui.commands.refreshing import INTERVAL_STEPS, Refreshing
from nbtui.tui.commands.rerun import Rerun
from nbtui.tui.commands.tracking import TrackCommands, Tracker
from nbtui.tui.commands.user import UserCommands
from nbtui.tui.commands.views import Views
from nbtui.tui.formatting import short_id
from nbtui.tui.image_client import FetcherFactory, SharedFetcher
from nbtui.tui.keys import MAIN_BINDINGS, footer_actions
from nbtui.tui.marks import Marks
from nbtui.tui.monitor_bridge import (
    CycleDone,
    Finishes,
    ProblemChanged,
    TasksChanged,
    TasksRemoved,
)
from nbtui.tui.ordering import OrderReader
from nbtui.tui.selection import Selection
from nbtui.tui.session import Session
from nbtui.tui.tasklist_model import SortKey, TaskListModel, describe_sort
from nbtui.tui.threads import in_thread
from nbtui.tui.widgets.detail import TaskDetail
from nbtui.tui.widgets.footer import FittedFooter
from nbtui.tui.widgets.json_view import JsonView
from nbtui.tui.widgets.preview import ImagePreview
from nbtui.tui.widgets.status_bar import StatusBar
from nbtui.tui.widgets.task_list import TaskList
from nbtui.tui.widgets.topbar import TopBar

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from nbtui.tracking.monitor import Monitor

__all__ = ["FIRST_PAGE", "INTERVAL_STEPS", "MainScreen"]

#: Rows read first at start-up, before the full list: more than any screen shows.
FIRST_PAGE = 200
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
        #: Refresh cycles finished (tests and scenes wait for them).
        self.cycles = 0
        #: The stored list has been read and shown.
        self.loaded = False
        self.notifier: Notifier | None = None
        #: Tasks seen finishing in the cycle under way, announced when it is done.
        self.finishes = Finishes()
        #: The marked tasks: what untrack, refresh, save, open and labels apply to.
        self.marks = Marks()
        self.task_list = TaskList(
            self.model, clock, marks=self.marks, columns=session.settings.columns, id="tasks"
        )
        self.detail = TaskDetail(clock, id="detail")
        self.json_view = JsonView(id="json")
        self.status = StatusBar(clock, id="status")
        #: The refresh monitor, its keys and what the status bar says of it.
        self.refreshing = Refreshing(self, session, self.status, post=self.post_message)
        self.order = OrderReader(
            self, self.model, shown=self._order_shown, select=self.task_list.select_id
        )
        self.tracker = Tracker(
            session,
            self.model,
            waiting=self.store_waiting,
            shown=self._rows_changed,
            refresh=self.refreshing.refresh_new,
        )
        # Balance and prices (off unless [platform] host is set): the header and the form.
        self.balance = BalanceWatcher(self, session, changed=lambda: self.topbar.update_info())
        self.topbar = TopBar(session, balance=self.balance.header, id="topbar")
        self.creator = Creator(
            self, session, self.tracker, closed=self._focus_list, balance=self.balance
        )
        #: One image downloader for the preview, saving, the gallery and user commands.
        self.image_client = SharedFetcher(session, fetcher_factory)
        self.images = Images(
            self,
            session,
            ImagePreview(id="preview"),
            current_task=self.selected_task,
            fetcher=self.image_client,
            marked=lambda: bool(self.marks),
            targets=self.marking_targets,
        )
        self.importer = Importer(self, session, self.tracker, can_call=self.refreshing.can_call)
        self.marking = MarkCommands(self, session, self.model, self.task_list, self.status)
        self.gallery = Gallery(
            self, session, self.model, select=self._gallery_chose, fetcher=self.image_client
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
            self, session, target_ids=self.target_ids, fetcher=self.image_client
        )
        for keys, action, description in self.user_commands.bindings():
            self._bindings.bind(keys, action, description, show=False)
        self.filtering = Filtering(
            self.model,
            self.task_list,
            reorder=self.reorder,
            cleared=lambda: self.views.filter_cleared(),
        )
        self.views = Views(
            self,
            session,
            self.model,
            show_filter=self.filtering.show,
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
            can_call=self.refreshing.can_call,
        )
        self.detail.parent_key = _shown_key(session.settings.keymap.get("app.parent", "u"))
        #: The task under the cursor and the panes that show it once the cursor rests.
        self.selection = Selection(
            self,
            session,
            self.model,
            self.task_list,
            detail=self.detail,
            json_view=self.json_view,
            images=self.images,
        )
        # The first screenful is read while Textual starts up, so it is there at mount.
        self._first_page = in_thread(self.model.compute, FIRST_PAGE)

    @property
    def monitor(self) -> Monitor:
        """The refresh schedule; it owns paused, interval and the current problem."""
        return self.refreshing.monitor

    @property
    def filter_error(self) -> str | None:
        """What is wrong with the filter being typed (None: it reads, and is the one shown)."""
        return self.filtering.error

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="main"):
            yield self.topbar
            yield self.filtering.field
            yield self.filtering.error_line
            self.task_list.border_title = "Tasks"
            yield self.task_list
            with Horizontal(id="lower"):
                self.detail.border_title = "Detail"
                yield self.detail
                self.json_view.border_title = "JSON · tree (v: text)"
                yield self.json_view
            yield self.status
        yield FittedFooter(footer_actions())

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

    async def on_unmount(self) -> None:
        await self.image_client.aclose()

    def on_mount(self) -> None:
        status = self.status
        status.host = self._host_label()
        status.demo = self.session.demo
        status.reading_stored = True
        self.refreshing.show_state()
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
        self.refreshing.session_switched()
        old_client = self.image_client.reset()  # the next download follows the new settings
        if old_client is not None:
            self.run_worker(old_client.aclose(), description="close the image client")
        self.balance.balance = self.balance.prices = None
        self.balance.refresh()
        self.topbar.update_info()
        self.status.host = self._host_label()
        self.status.demo = self.session.demo
        self.model.attach(self.session.store)
        self.task_list.rows_changed()
        self._update_counts()

    # -- the monitor ---------------------------------------------------------------------

    def start_monitor(self, token: str | None) -> None:
        """(Re)start the refresh loop with a client for `token`."""
        self.refreshing.start(token)

    def on_tasks_changed(self, message: TasksChanged) -> None:
        updates = message.updates
        self.model.upsert(update.task for update in updates)
        self.reorder()  # which redraws the list once the order is in (a few ms)
        selected = [update.task for update in updates if update.task.id == self.selection.id]
        if selected:
            self.selection.current(selected[-1])
        self.finishes.add(updates)
        if not message.in_cycle:  # else once the cycle is done: one summary for all of it
            self.finishes.announce(self.notify, self.notifier)

    def on_tasks_removed(self, message: TasksRemoved) -> None:
        self.model.remove(message.ids)
        self.marking.untracked(message.ids)
        self.task_list.rows_changed()
        self.reorder()

    def on_cycle_done(self, message: CycleDone) -> None:
        self.cycles += 1
        self.finishes.announce(self.notify, self.notifier)
        report = message.report
        if report.refreshed:
            # Unchanged tasks get no update, yet the detail's "Refreshed" time moves on (the
            # list's UPDATED column says when a task last changed, so its order stays).
            self.model.mark_refreshed(report.refreshed, report.finished)
            self.task_list.rows_changed()
        self.refreshing.cycle_done(report)

    def on_problem_changed(self, message: ProblemChanged) -> None:
        self.refreshing.problem_changed(message.problem)

    def tick(self) -> None:
        """Once a second: ages, durations and 'next in' move on without any data change."""
        self.task_list.refresh()
        self.refreshing.tick()
        self.status.refresh()
        self.selection.tick()

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
        self.topbar.show_view(self.views.header(len(self.model)))

    def _rows_changed(self, select: str | None = None) -> None:
        """The model changed outside a refresh (tracked, untracked): draw it, read the order."""
        self.task_list.rows_changed()
        self.reorder(select=select)

    # -- selection -----------------------------------------------------------------------

    @on(TaskList.Highlighted)
    def _highlighted(self, message: TaskList.Highlighted) -> None:
        self.selection.moved(message.task_id)

    @on(TaskList.Selected)
    def _selected_row(self, message: TaskList.Selected) -> None:
        self._focus_pane(self.detail)

    @on(TaskList.SortRequested)
    def _sort_requested(self, message: TaskList.SortRequested) -> None:
        self.sort_by(message.key)

    def panes_settled(self) -> bool:
        """True when the panes show the task under the cursor (tests and scenes wait for it)."""
        return self.selection.settled()

    def flush_panes(self) -> None:
        """Draw the panes for the selection now if they are behind (before reading them)."""
        self.selection.flush()

    def selected_task(self) -> Task | None:
        """The task under the cursor, read now if its record was not loaded yet."""
        return self.selection.selected_task()

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
        if self.filtering.escape_clears():
            self.filtering.clear()
            return
        if not self.task_list.has_focus:
            self._focus_pane(self.task_list)
            return
        # No filter to clear, already on the list: escape takes the marks off.
        self.marking.clear(quiet_when_none=True)

    # -- filter and sort -----------------------------------------------------------------

    def action_filter(self) -> None:
        self.filtering.open()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filtering.changed(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.filtering.submitted(event.value)

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

    def store_waiting(self, text: str | None) -> None:
        """A write the user asked for waits for the database (None: it went through)."""
        self.status.store_waiting = text
        if text is not None:
            self.notify(f"{text[0].upper()}{text[1:]}; your change is kept.", timeout=5)

    def action_add(self) -> None:
        self.track_commands.open_add()

    def action_untrack(self) -> None:
        self.track_commands.ask_untrack()

    def action_refresh_selected(self) -> None:
        """`r`: refresh the marked tasks, else the cursor's."""
        self.refreshing.refresh(self.target_ids(), marked=bool(self.marks))

    def action_refresh_all(self) -> None:
        self.refreshing.refresh_all()

    def action_pause(self) -> None:
        self.refreshing.toggle_pause()

    def action_slower(self) -> None:
        self.refreshing.slower()

    def action_faster(self) -> None:
        self.refreshing.faster()

    def action_new_task(self) -> None:
        if not self.refreshing.can_call():
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
        if self.selection.id in ids:
            self.selection.current()

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
        self.images.toggle_preview(self.selection.task)

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
