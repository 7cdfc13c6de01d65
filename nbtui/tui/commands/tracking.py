"""The one path that starts (and stops) tracking tasks from the UI: add (`a`), a created task
(`n`) and imported ones (`I`) all go through `Tracker.track`.

Each write waits out a busy or full database (`patient_write`): the user's change is kept and
the status bar says so. Only errors no wait can cure reach the caller, who words them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text

from nbtui.api.state import Task
from nbtui.textsafe import one_line, truncate
from nbtui.tracking.store import TrackedTask
from nbtui.tui.commands import Host
from nbtui.tui.formatting import short_id
from nbtui.tui.session import Session
from nbtui.tui.store_writes import patient_write
from nbtui.tui.tasklist_model import TaskListModel

if TYPE_CHECKING:
    from nbtui.tui.screens.add_tasks import AddRequest

__all__ = ["TrackCommands", "Tracker"]


class Tracker:
    """Writes tracked ids to the store, then puts them in the list model and on screen."""

    def __init__(
        self,
        session: Session,
        model: TaskListModel,
        *,
        waiting: Callable[[str | None], None],
        shown: Callable[[str | None], None],
        refresh: Callable[[list[str]], None],
    ) -> None:
        """`waiting(text)`: a write waits for the database (None: it went through);
        `shown(select)`: the model changed, redraw (cursor on `select`); `refresh(ids)`:
        ask the service about new ids now."""
        self._session = session
        self._model = model
        self._waiting = waiting
        self._shown = shown
        self._refresh = refresh

    async def track(
        self, ids: Sequence[str], label: str | None = None, *, records: Sequence[Task] = ()
    ) -> list[str]:
        """Track `ids` (with `label`); return the ones that were not tracked yet.

        `records` already known (an import) are stored with them, and those tasks are not
        asked for again; the other new ids are refreshed at once. Raises `StoreError`.
        """
        store = self._session.store
        now = self._session.clock()
        fresh = {task.id: task for task in records}
        added: list[str] | None = None

        def attempt(wait: float) -> tuple[list[str], list[TrackedTask]]:
            # Two writes: a retry after the add went through (and the apply waited) only
            # applies, as `add` would now call every id already tracked.
            nonlocal added
            if added is None:
                added = store.add(list(ids), label, now, wait=wait)
            known = [fresh[task_id] for task_id in added if task_id in fresh]
            if known:
                store.apply(known, {}, now, wait=wait)
            rows = [store.get(task_id) for task_id in added]
            return added, [row for row in rows if row is not None]

        new, rows = await patient_write(attempt, waiting=self._waiting)
        self._model.upsert(rows)
        self._shown(new[0] if new else None)
        unanswered = [task_id for task_id in new if task_id not in fresh]
        if unanswered:
            self._refresh(unanswered)
        return new

    async def untrack(self, task_id: str) -> None:
        """Stop tracking one task (the task itself stays at the service). Raises `StoreError`."""
        store = self._session.store
        await patient_write(lambda wait: store.remove([task_id], wait=wait), waiting=self._waiting)
        self._model.remove([task_id])
        self._shown(None)


class TrackCommands:
    """The add dialog (`a`) and the untrack question (`d`), done through a `Tracker`."""

    def __init__(
        self,
        host: Host,
        session: Session,
        model: TaskListModel,
        tracker: Tracker,
        *,
        cursor_id: Callable[[], str | None],
        reorder: Callable[[], None],
    ) -> None:
        self._host = host
        self._session = session
        self._model = model
        self._tracker = tracker
        self._cursor_id = cursor_id
        self._reorder = reorder

    def open_add(self) -> None:
        from nbtui.tui.screens.add_tasks import AddTasksScreen

        screen = AddTasksScreen(suggestions=self._session.suggested_ids)
        self._host.app.push_screen(screen, self.add)

    def add(self, request: AddRequest | None) -> None:
        """Track what the add dialog asked for (None: it was cancelled)."""
        if request is not None:
            self._host.run_worker(self._add(request), group="store", description="add tasks")

    async def _add(self, request: AddRequest) -> None:
        from nbtui.tracking.store import StoreError
        from nbtui.tui.screens.add_tasks import describe_rejected

        host = self._host
        try:
            new = await self._tracker.track(request.ids, request.label)
        except StoreError as exc:
            ids = ", ".join(request.ids[:5]) + (" …" if len(request.ids) > 5 else "")
            host.notify(f"{one_line(exc)}\nNot added: {ids}", title="Not added", severity="error")
            return
        known = len(request.ids) - len(new)
        parts = [f"Added {len(new)} task{'s' if len(new) != 1 else ''}"]
        if known:
            parts.append(f"{known} already tracked")
        if request.rejected:
            parts.append(describe_rejected(request.rejected))
        host.notify(
            "; ".join(parts) + ".",
            severity="warning" if request.rejected else "information",
        )

    def ask_untrack(self) -> None:
        from nbtui.tui.screens.confirm import ConfirmScreen

        task_id = self._cursor_id()
        if task_id is None:
            self._host.notify("No task selected.", severity="warning")
            return
        row = self._model.rows.get(task_id)
        if row is None:
            self._host.notify("That task is no longer tracked.", severity="warning")
            self._reorder()
            return
        message = Text.assemble(
            ("Stop tracking ", ""),
            (task_id, "bold"),
            ("?\n", ""),
            (truncate(row.prompt, 200) + "\n\n" if row.prompt else "", "italic"),
            ("The task itself stays at AceData Cloud; nbtui only stops watching it.", "dim"),
        )
        self._host.app.push_screen(
            ConfirmScreen(
                "Untrack task",
                message,
                confirm_label="Untrack",
                hint="y untracks · enter or esc cancels",
            ),
            partial(self._answered, task_id),
        )

    def _answered(self, task_id: str, confirmed: bool | None) -> None:
        if confirmed:
            self.untrack(task_id)

    def untrack(self, task_id: str) -> None:
        """Stop tracking `task_id` (confirmed)."""
        self._host.run_worker(self._untrack(task_id), group="store", description="untrack a task")

    async def _untrack(self, task_id: str) -> None:
        from nbtui.tracking.store import StoreError

        try:
            await self._tracker.untrack(task_id)
        except StoreError as exc:
            self._host.notify(one_line(exc), title="Still tracked", severity="error")
            return
        self._host.notify(f"Stopped tracking {short_id(task_id)}.")
