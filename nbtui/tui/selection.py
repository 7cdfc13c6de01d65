"""The task under the cursor and the panes that show it (detail, JSON, preview), redrawn once
the cursor has rested so that a held `j` moves only the list.

The list holds no records: the selected task's record is read when the panes are drawn, off
the UI thread (a record can be megabytes), or at once when a key action needs it first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from nbtui.tui.commands import Host

if TYPE_CHECKING:
    from textual.timer import Timer

    from nbtui.api.state import Task
    from nbtui.tracking.store import TrackedTask
    from nbtui.tui.commands.images import Images
    from nbtui.tui.session import Session
    from nbtui.tui.tasklist_model import TaskListModel, TaskRow
    from nbtui.tui.widgets.detail import TaskDetail
    from nbtui.tui.widgets.json_view import JsonView
    from nbtui.tui.widgets.task_list import TaskList

__all__ = ["Selection"]

#: The detail, JSON and preview panes follow the cursor once it has rested this long: a held
#: `j` moves only the list (redrawing the panes re-lays out the whole screen, ~20-40 ms).
_PANE_DELAY = 0.06


class TimerHost(Host, Protocol):
    """The screen: it runs the workers and the timers that redraw the panes."""

    def set_timer(
        self,
        delay: float,
        callback: Callable[[], Any] | None = None,
        *,
        name: str | None = None,
        pause: bool = False,
    ) -> Timer: ...


class Selection:
    """The selected id and task, and when the panes show them (see the module docstring)."""

    def __init__(
        self,
        host: TimerHost,
        session: Session,
        model: TaskListModel,
        task_list: TaskList,
        *,
        detail: TaskDetail,
        json_view: JsonView,
        images: Images,
    ) -> None:
        """`host`: the screen, whose timers and workers redraw the panes."""
        self._host = host
        self._session = session
        self._model = model
        self._list = task_list
        self._detail = detail
        self._json_view = json_view
        self._images = images
        #: The id under the cursor, as last seen (None: the list is empty).
        self.id: str | None = None
        #: Its task, once known (None: not read yet, or nothing selected).
        self.task: Task | None = None
        #: When the panes may be redrawn for the selection (None: they show it already).
        self._panes_due: float | None = None
        self._panes_timer_set = False

    def moved(self, task_id: str | None) -> None:
        """The cursor is on another row."""
        self.id = task_id
        self.current()

    def current(self, fresh: TrackedTask | None = None) -> None:
        """Take the selection's task at once (key actions use it); draw the panes later.

        The list holds no records: the selected task comes from `fresh` (the monitor's update
        of it), stays what it was when the cursor did not move, or is read when the panes
        are drawn (or when an action needs it first, see `selected_task`).
        """
        task_id = self.id
        if task_id is None or task_id not in self._model.rows:
            self.task = None
        elif fresh is not None and fresh.id == task_id:
            self.task = fresh.to_task()
        elif self.task is not None and self.task.id != task_id:
            self.task = None
        self._schedule_panes()

    def _schedule_panes(self) -> None:
        """Redraw the panes once the cursor has rested `_PANE_DELAY` (coalescing presses)."""
        self._panes_due = time.monotonic() + _PANE_DELAY
        if not self._panes_timer_set:
            self._panes_timer_set = True
            self._host.set_timer(_PANE_DELAY, self._panes_timer, name="panes")

    def _panes_timer(self) -> None:
        self._panes_timer_set = False
        due = self._panes_due
        app = self._host.app
        if due is None or app._exit or app._closing or app._closed:  # shutting down
            return
        wait = due - time.monotonic()
        if wait > 0.002:  # the cursor moved since: wait for it to rest
            self._panes_timer_set = True
            self._host.set_timer(wait, self._panes_timer, name="panes")
            return
        self._show_selected()

    def settled(self) -> bool:
        """True when the panes show the task under the cursor (tests and scenes wait for it)."""
        if self._panes_due is not None:
            return False
        shown = self._detail.shown_task
        return (shown.id if shown is not None else None) == self._list.cursor_id

    def flush(self) -> None:
        """Draw the panes for the selection now if they are behind (before reading them)."""
        if self._panes_due is not None:
            self._show_selected()

    def tick(self) -> None:
        """Once a second: an unfinished task's detail moves on (its age, its duration)."""
        shown = self._detail.shown_task
        if self._panes_due is None and shown is not None and not shown.state.is_finished:
            self._detail.redraw(same_task=True)

    def _show_selected(self) -> None:
        self._panes_due = None
        task_id = self.id
        row = self._model.rows.get(task_id) if task_id else None
        if row is None:
            self.task = None
            self._detail.show(None, None)
            self._json_view.show(None, present=False)
            self._images.show(None)
            return
        task = self.task
        if task is None or task.id != row.id:
            # Listed without its record: read it off the UI thread, then show it.
            self._host.run_worker(
                partial(self._load_selected, row.id),
                name="_load_selected",
                group="selected",
                description="read the selected task",
                exclusive=True,
            )
            return
        self._display_selected(row, task)

    def _display_selected(self, row: TaskRow, task: Task) -> None:
        self.task = task
        self._detail.show(task, row)
        self._images.show(task)
        self._json_view.show(task.raw, present=True)

    async def _load_selected(self, task_id: str) -> None:
        # Read and parse off the UI thread: a record can be megabytes.
        task = await asyncio.to_thread(self._read_task, task_id)
        row = self._model.rows.get(task_id)
        if self.id != task_id or row is None:
            return  # the cursor moved on (or the task went) meanwhile
        if self._panes_due is not None:
            return  # the selection changed meanwhile: the coming redraw reads it again
        if task is None:
            self.task = None
            return
        self._display_selected(row, task)

    def _read_task(self, task_id: str) -> Task | None:
        """Blocking (worker thread): the stored task, its record parsed."""
        stored = self._session.store.get(task_id)
        return stored.to_task() if stored is not None else None

    def selected_task(self) -> Task | None:
        """The task under the cursor, read now if its record was not loaded yet.

        For key actions right after a move: one row by its key, which is quick. The list's
        cursor is what the screen shows: a key pressed right after a filter or a new order
        moved it can come before the list's `Highlighted` message, so take the cursor's task.
        """
        if self._list.cursor_id != self.id:
            self.moved(self._list.cursor_id)
        task = self.task
        task_id = self.id
        if task is None and task_id is not None and task_id in self._model.rows:
            stored = self._session.store.get(task_id)
            if stored is not None and self.id == task_id:
                task = self.task = stored.to_task()
        return task
