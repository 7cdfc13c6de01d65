"""Importing the service's recent tasks (`I`), tracked through the one `track` path."""

from __future__ import annotations

from collections.abc import Callable

from nbtui.api.errors import ApiError, RequestRejected
from nbtui.textsafe import one_line
from nbtui.tui.commands import Host
from nbtui.tui.commands.tracking import Tracker
from nbtui.tui.session import Session

__all__ = ["IMPORT_LIMIT", "Importer"]

#: How many recent tasks one import asks for.
IMPORT_LIMIT = 50


class Importer:
    """Asks the service for the recent tasks and tracks them with their records."""

    def __init__(
        self, host: Host, session: Session, tracker: Tracker, *, can_call: Callable[[], bool]
    ) -> None:
        """`can_call()`: a token (or the demo) is there to ask the service with."""
        self._host = host
        self._session = session
        self._tracker = tracker
        self._can_call = can_call
        #: Why the service refused to list recent tasks (then import stays off).
        self.listing_refused: str | None = None

    def start(self) -> None:
        if self.listing_refused is not None:
            self._host.notify(
                "Importing recent tasks is off for this session: the service refused the list "
                "request. Add task ids by hand (a).",
                severity="warning",
                timeout=5,
            )
            return
        if not self._can_call():
            self._host.notify("Set a token first (t).", severity="warning")
            return
        self._host.notify("Asking the service for your recent tasks…", timeout=3)
        self._host.run_worker(
            self._import(),
            group="import",
            description="import recent tasks",
            exclusive=True,
            exit_on_error=False,
        )

    async def _import(self) -> None:
        from nbtui.tracking.store import StoreError

        host = self._host
        try:
            async with self._session.client_factory(self._session.token) as client:
                tasks = await client.list_recent(limit=IMPORT_LIMIT)
        except RequestRejected as exc:
            self.listing_refused = one_line(exc)
            host.notify(
                f"{one_line(exc)}\nImport stays off for this session; add ids by hand (a).",
                title="The service does not list recent tasks",
                severity="warning",
                timeout=15,
            )
            return
        except ApiError as exc:
            host.notify(one_line(exc), title="Could not import", severity="error", timeout=10)
            return
        ids = [task.id for task in tasks]
        try:
            new = await self._tracker.track(ids, records=tasks)
        except StoreError as exc:
            host.notify(one_line(exc), title="Could not import", severity="error", timeout=10)
            return
        known = len(ids) - len(new)
        if not ids:
            host.notify("The service lists no recent image tasks.", timeout=5)
            return
        more = f"; {known} already tracked" if known else ""
        host.notify(f"Imported {len(new)} task{'s' if len(new) != 1 else ''}{more}.", timeout=5)
