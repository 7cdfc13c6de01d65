"""Marks (`space`, `*`, `U`): which tasks the bulk actions (untrack, refresh, save, open,
labels) apply to.

The marks themselves are a `Marks` owned by the main screen and drawn by the list; this
keeps them in step with the store and the status bar. Marking every task the filter shows
reads their ids in one query off the UI thread, so it costs the same keys-wise at 50 or
50,000 tasks.
"""

from __future__ import annotations

import asyncio

from nbtui.textsafe import one_line
from nbtui.tracking.store import StoreError
from nbtui.tui.commands import Host
from nbtui.tui.marks import Marks
from nbtui.tui.session import Session
from nbtui.tui.tasklist_model import TaskListModel
from nbtui.tui.widgets.status_bar import StatusBar
from nbtui.tui.widgets.task_list import TaskList

__all__ = ["MarkCommands", "plural"]


def plural(count: int, noun: str) -> str:
    """`1 task`, `3 tasks`, `12,000 tasks`."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


class MarkCommands:
    """Mark, unmark and clear; the marked (or the cursor's) ids for every bulk action."""

    def __init__(
        self,
        host: Host,
        session: Session,
        model: TaskListModel,
        task_list: TaskList,
        status: StatusBar,
    ) -> None:
        self._host = host
        self._session = session
        self._model = model
        self._list = task_list
        self._status = status
        self.marks: Marks = task_list.marks

    # -- the targets of an action ----------------------------------------------------------

    def target_ids(self) -> list[str]:
        """The marked tasks when there are any (those the filter hides too), else the
        cursor's (none when the list is empty)."""
        if self.marks:
            return self.marks.ids()
        cursor = self._list.cursor_id
        return [cursor] if cursor is not None else []

    def hidden(self) -> int:
        """Marked tasks the filter hides."""
        return self.marks.hidden(self._model.shown_rowids)

    def shown(self) -> None:
        """The marks or the order changed: the status bar's count and the rows' glyphs."""
        self._status.marked = len(self.marks)
        self._status.marked_hidden = self.hidden()
        self._list.refresh()

    def untracked(self, ids: list[str]) -> None:
        """Tasks no longer tracked (here or elsewhere) lose their marks."""
        if self.marks.discard(ids):
            self.shown()

    # -- keys ------------------------------------------------------------------------------

    def toggle(self) -> None:
        """`space`: mark or unmark the task under the cursor, then move down one (as in mutt
        and k9s, so a run of tasks is marked by holding space)."""
        task_id = self._list.cursor_id
        row = self._model.rows.get(task_id) if task_id is not None else None
        if task_id is None or row is None:
            self._host.notify("No task selected.", severity="warning")
            return
        self.marks.toggle(task_id, row.rowid)
        self.shown()
        self._list.action_cursor_down()

    def mark_shown(self) -> None:
        """`*`: mark every task the list shows (with the filter, the tasks it lets through)."""
        if len(self._model) == 0:
            self._host.notify("No task shown to mark.", severity="warning")
            return
        self._host.run_worker(
            self._mark_shown(), group="marks", exclusive=True, description="mark tasks"
        )

    async def _mark_shown(self) -> None:
        store = self._session.store
        shown = self._model.shown_rowids
        try:
            pairs = await asyncio.to_thread(store.ids_at, shown)
        except StoreError as exc:
            self._host.notify(one_line(exc), title="Not marked", severity="error")
            return
        added = self.marks.add(pairs)
        self.shown()
        already = len(pairs) - added
        note = f" ({already:,} already marked)" if already else ""
        self._host.notify(f"Marked {plural(added, 'task')}{note}.", timeout=3)

    def clear(self, *, quiet_when_none: bool = False) -> bool:
        """`U` (and escape with no filter): take every mark off; True when there were any."""
        count = self.marks.clear()
        if count:
            self.shown()
            self._host.notify(f"Cleared {plural(count, 'mark')}.", timeout=2)
        elif not quiet_when_none:
            self._host.notify("No task is marked.", timeout=2)
        return bool(count)

    # -- before a bulk action ----------------------------------------------------------------

    async def tracked_targets(self) -> list[str]:
        """`target_ids()` less the marked tasks another process untracked meanwhile (their
        marks go too)."""
        ids = self.target_ids()
        if not self.marks:
            return ids
        store = self._session.store

        def split() -> tuple[list[str], list[str]]:
            # Off the UI thread too: with every task marked, these are 50,000 ids.
            tracked = store.tracked_among(ids)
            if len(tracked) == len(ids):
                return ids, []
            return [i for i in ids if i in tracked], [i for i in ids if i not in tracked]

        kept, gone = await asyncio.to_thread(split)
        self.untracked(gone)
        return kept
