"""Creating a task from the `n` form: sent once, then tracked through the one `track` path.

The form also opens filled in for a re-run or an edit from a result (`open(prefill=...)`);
the task it was made from is recorded as the new task's parent.

A create call is sent once: the form ignores submits while one is in flight, `Creator` keeps
its own `creating` guard, the worker is never cancelled by a newer one, and the client never
retries it. An answer that was lost is a `CreateOutcomeUnknown` (recognised by its type), and
the form says the task may or may not exist, with how to look for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from nbtui.api.errors import ApiError, CreateOutcomeUnknown
from nbtui.textsafe import one_line, truncate
from nbtui.tui.commands import Host
from nbtui.tui.commands.tracking import Tracker
from nbtui.tui.formatting import short_id
from nbtui.tui.session import Session

# The form is imported when first opened: the first paint does not need it (with TextArea
# and Select it is ~6 ms of start-up).
if TYPE_CHECKING:
    from nbtui.create import CreateRequest, Prefill
    from nbtui.tui.commands.balance import BalanceWatcher
    from nbtui.tui.screens.create import CreateTaskScreen

__all__ = ["Creator"]


class Creator:
    """Opens the create form and sends what it submits (see the module docstring)."""

    def __init__(
        self,
        host: Host,
        session: Session,
        tracker: Tracker,
        *,
        closed: Callable[[], None],
        balance: BalanceWatcher | None = None,
    ) -> None:
        """`closed()` runs when the form closed on a created task (the list takes the focus);
        `balance` gives the form its price estimate and is read again after a create."""
        self._balance = balance
        self._host = host
        self._session = session
        self._tracker = tracker
        self._closed = closed
        #: A create request is on its way (second guard beside the form's own).
        self.creating = False
        #: Creates sent to the service this session (tests read it).
        self.requests = 0

    def open(
        self, prefill: Prefill | None = None, *, title: str = "", origin: str | None = None
    ) -> None:
        """The form, empty or filled in with `prefill` (a re-run, an edit from a result);
        `origin`: the task the new one is made from, recorded as its parent."""
        from nbtui.tui.screens.create import CreateTaskScreen

        form = CreateTaskScreen(
            demo=self._session.demo,
            initial=prefill.request if prefill is not None else None,
            notes=prefill.notes if prefill is not None else (),
            title=title or "New image task",
            origin=origin,
            prices=self._balance.prices if self._balance is not None else None,
        )
        self._host.app.push_screen(form, self._form_closed)

    def _form_closed(self, task_id: str | None) -> None:
        if task_id is not None:
            self._closed()

    def submitted(self, form: CreateTaskScreen, request: CreateRequest) -> None:
        """The form was submitted: send it, unless a create is already on its way."""
        if self.creating:
            return  # one create at a time: a second would be a second, billed task
        self.creating = True
        self._host.run_worker(
            self._create(form, request),
            group="create",
            description="create an image task",
            exit_on_error=False,
        )

    async def _create(self, form: CreateTaskScreen, request: CreateRequest) -> None:
        """Read the sources, send the create once, track the new id; report into the form."""
        from nbtui.create import SourceError, resolve_sources

        try:
            try:
                urls = await asyncio.to_thread(resolve_sources, request.sources)
            except SourceError as exc:
                form.failed(str(exc), field="sources")
                return
            form.creating("Sending the request…")
            self.requests += 1
            try:
                async with self._session.client_factory(self._session.token) as client:
                    created = await client.create_images(**request.client_kwargs(urls))
            except ValueError as exc:
                form.failed(f"Not sent: {exc}.")
                return
            except ApiError as exc:
                form.failed(str(exc), maybe_created=isinstance(exc, CreateOutcomeUnknown))
                return
            if self._balance is not None:
                self._balance.refresh()
            await self._track(created.task_id, form.origin)
            form.dismiss(created.task_id)
            self._host.notify(
                f"{truncate(one_line(request.prompt), 80)}\nWatching it; it appears at the top.",
                title=f"Created {short_id(created.task_id)}…",
                timeout=6,
            )
        finally:
            self.creating = False

    async def _track(self, task_id: str, parent_id: str | None) -> None:
        from nbtui.tracking.store import StoreError

        try:
            await self._tracker.track([task_id], parent_id=parent_id)
        except StoreError as exc:
            self._host.notify(
                f"{one_line(exc)}\nAdd it by hand (a): {task_id}",
                title="Created, but not tracked",
                severity="error",
                timeout=30,
            )
