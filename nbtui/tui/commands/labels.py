"""Labels from the app (`L`): add and remove them on the marked tasks, or the cursor's.

The current labels are read and the change written off the UI thread; the write waits out a
busy database like every write the user asks for (`patient_write`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from nbtui.textsafe import one_line
from nbtui.tracking.store import LabelError, StoreError
from nbtui.tui.commands import Host
from nbtui.tui.commands.marking import MarkCommands, plural
from nbtui.tui.formatting import short_id
from nbtui.tui.session import Session
from nbtui.tui.store_writes import patient_write
from nbtui.tui.tasklist_model import TaskListModel

if TYPE_CHECKING:
    from nbtui.tui.screens.labels import LabelChange

__all__ = ["LabelCommands"]


class LabelCommands:
    """The labels dialog and its write."""

    def __init__(
        self,
        host: Host,
        session: Session,
        model: TaskListModel,
        marking: MarkCommands,
        *,
        changed: Callable[[list[str]], None],
        waiting: Callable[[str | None], None],
    ) -> None:
        """`changed(ids)`: these tasks' labels were written (redraw their rows);
        `waiting(text)`: the write waits for the database (None: it went through)."""
        self._host = host
        self._session = session
        self._model = model
        self._marking = marking
        self._changed = changed
        self._waiting = waiting

    def open(self) -> None:
        """`L`: read the targets' labels, then show the dialog."""
        self._host.run_worker(self._open(), group="labels", description="read labels")

    async def _open(self) -> None:
        from nbtui.tui.screens.labels import LabelsScreen

        host = self._host
        marked = bool(self._marking.marks)
        try:
            ids = await self._marking.tracked_targets()
            counts = await asyncio.to_thread(self._session.store.label_counts, ids)
        except StoreError as exc:
            host.notify(one_line(exc), severity="error")
            return
        if not ids:
            host.notify(
                "None of the marked tasks is tracked any more." if marked else "No task selected.",
                severity="warning",
            )
            return
        what = plural(len(ids), "marked task") if marked else f"task {short_id(ids[0])}…"
        host.app.push_screen(LabelsScreen(what, len(ids), counts), partial(self._apply, ids))

    def _apply(self, ids: list[str], change: LabelChange | None) -> None:
        if change is None:
            return
        if not change:
            self._host.notify("No label changed.", timeout=2)
            return
        self._host.run_worker(self._write(ids, change), group="store", description="set labels")

    async def _write(self, ids: list[str], change: LabelChange) -> None:
        store = self._session.store
        now = self._session.clock()
        host = self._host
        try:
            changed = await patient_write(
                lambda wait: store.set_labels(
                    ids, add=change.add, remove=change.remove, now=now, wait=wait
                ),
                waiting=self._waiting,
            )
        except LabelError as exc:  # the dialog checks labels: only a bypass gets here
            host.notify(str(exc), title="Labels not changed", severity="error")
            return
        except StoreError as exc:
            host.notify(one_line(exc), title="Labels not changed", severity="error")
            return
        self._changed(changed)
        if not changed:
            host.notify("No label changed.", timeout=2)
            return
        parts = []
        if change.add:
            parts.append(f"added {one_line(', '.join(change.add))}")
        if change.remove:
            parts.append(f"removed {one_line(', '.join(change.remove))}")
        host.notify(f"Labels of {plural(len(changed), 'task')}: {'; '.join(parts)}.", timeout=4)
