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
    from nbtui.tui.commands.marking import MarkCommands
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
        self,
        ids: Sequence[str],
        label: str | None = None,
        *,
        records: Sequence[Task] = (),
        parent_id: str | None = None,
    ) -> list[str]:
        """Track `ids` (with `label`); return the ones that were not tracked yet.

        `records` already known (an import) are stored with them, and those tasks are not
        asked for again; the other new ids are refreshed at once. `parent_id`: the task the
        new ones were re-run or edited from. Raises `StoreError`.
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
                added = store.add(list(ids), label, now, wait=wait, parent_id=parent_id)
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

    async def untrack(self, ids: Sequence[str]) -> list[str]:
        """Stop tracking these tasks in one write off the UI thread (the tasks themselves stay
        at the service); the list updates once. Returns the ids that were tracked. Raises
        `StoreError`."""
        store = self._session.store
        wanted = list(ids)

        removed: list[str] | None = None

        def attempt(wait: float) -> tuple[list[str], bool]:
            # Whether any task is left, read here (off the UI thread): when none is, the
            # list empties at once instead of going through 50,000 ids on the UI thread.
            # A retry after the remove went through only reads (it would find none now).
            nonlocal removed
            if removed is None:
                removed = store.remove(wanted, wait=wait)
            return removed, not store.state_counts()

        gone, none_left = await patient_write(attempt, waiting=self._waiting)
        if none_left:
            self._model.emptied()
        else:
            self._model.remove(frozenset(wanted))
        self._shown(None)
        return gone


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
        marking: MarkCommands,
    ) -> None:
        """`marking`: the marks, which `d` untracks when there are any."""
        self._host = host
        self._marking = marking
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
        from nbtui.tracking.store import LabelError, StoreError
        from nbtui.tui.screens.add_tasks import describe_rejected

        host = self._host
        try:
            new = await self._tracker.track(request.ids, request.label)
        except LabelError as exc:  # the dialog checks the label: only a bypass gets here
            host.notify(f"{exc}\nNothing was added.", title="Not added", severity="error")
            return
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
        """`d`: untrack the marked tasks (asking once, with how many the filter hides), else
        the cursor's."""
        from nbtui.tui.screens.confirm import ConfirmScreen

        if self._marking.marks:
            self._host.run_worker(
                self._ask_untrack_marked(), group="store", description="untrack marked tasks"
            )
            return
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
            partial(self._answered, [task_id]),
        )

    async def _ask_untrack_marked(self) -> None:
        from nbtui.tracking.store import StoreError
        from nbtui.tui.commands.marking import plural
        from nbtui.tui.screens.confirm import ConfirmScreen

        try:
            ids = await self._marking.tracked_targets()
        except StoreError as exc:
            self._host.notify(one_line(exc), title="Still tracked", severity="error")
            return
        if not ids:
            self._host.notify("None of the marked tasks is tracked any more.", timeout=3)
            return
        hidden = self._marking.hidden()
        title = f"Untrack {plural(len(ids), 'task')}"
        question = f"{title}{f' ({hidden:,} hidden by the filter)' if hidden else ''}?"
        message = Text.assemble(
            (question, "bold"),
            ("\n\n", ""),
            ("The tasks themselves stay at AceData Cloud; nbtui only stops watching them.", "dim"),
        )
        self._host.app.push_screen(
            ConfirmScreen(title, message, confirm_label="Untrack"),
            partial(self._answered, ids),
        )

    def _answered(self, ids: list[str], confirmed: bool | None) -> None:
        if confirmed:
            self.untrack(ids)

    def untrack(self, ids: list[str]) -> None:
        """Stop tracking `ids` (confirmed)."""
        self._host.run_worker(self._untrack(ids), group="store", description="untrack tasks")

    async def _untrack(self, ids: list[str]) -> None:
        from nbtui.tracking.store import StoreError
        from nbtui.tui.commands.marking import plural

        try:
            gone = await self._tracker.untrack(ids)
        except StoreError as exc:
            self._host.notify(one_line(exc), title="Still tracked", severity="error")
            return
        self._marking.untracked(ids)
        if len(ids) == 1:
            self._host.notify(f"Stopped tracking {short_id(ids[0])}.")
        else:
            self._host.notify(f"Stopped tracking {plural(len(gone), 'task')}.")
