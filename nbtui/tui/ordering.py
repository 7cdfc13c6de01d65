"""The order re-read loop: after a change to the tasks, the sort or the filter, the list's order
is read again from the store off the UI thread; changes made meanwhile merge into one read."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nbtui.textsafe import one_line
from nbtui.tui.commands import Host
from nbtui.tui.tasklist_model import TaskListModel

__all__ = ["OrderReader"]


class OrderReader:
    """Reads the model's order again on request (see the module docstring)."""

    def __init__(
        self,
        host: Host,
        model: TaskListModel,
        *,
        shown: Callable[[bool], None],
        select: Callable[[str], object],
    ) -> None:
        """`shown(read)`: draw the rows (`read`: a new order is in, counts too);
        `select(id)`: put the cursor on a task once its order is in."""
        self._host = host
        self._model = model
        self._shown = shown
        self._select = select
        self._reading = False
        self._wanted = False
        self._select_after: str | None = None
        #: Set while no read is under way (start-up waits for the first full order).
        self.idle = asyncio.Event()
        self.idle.set()
        #: Orders read and shown so far (benchmarks wait for the next one).
        self.reads = 0
        #: Why the last order could not be read (said once until an order is read again).
        self._problem: str | None = None

    def request(self, select: str | None = None) -> None:
        """Read the order again (then put the cursor on `select`)."""
        if select is not None:
            self._select_after = select
        self._wanted = True
        if not self._reading:
            self._reading = True
            self.idle.clear()
            self._host.run_worker(self._read(), group="order", description="sort and filter")

    @property
    def settled(self) -> bool:
        """The list shows the order for the latest change."""
        return not self._reading

    async def _read(self) -> None:
        from nbtui.tracking.store import StoreError

        try:
            while self._wanted:
                self._wanted = False
                ordered = await asyncio.to_thread(self._model.compute)
                if not self._model.install(ordered):
                    self._wanted = True  # the view changed while it was read
                    continue
                self.reads += 1
                self._problem = None
                self._shown(True)
        except StoreError as exc:
            message = one_line(str(exc))
            if message != self._problem:  # once, not at every key or refresh
                self._problem = message
                self._host.notify(message, title="Cannot read the task list", severity="error")
            self._shown(False)  # the rows on hand, as the refresh changed them
        finally:
            self._reading = False
            self.idle.set()
        select, self._select_after = self._select_after, None
        if select is not None:
            self._select(select)
