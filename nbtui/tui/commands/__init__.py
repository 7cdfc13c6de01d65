"""The commands behind the main screen's keys that do more than move the cursor: tracking
(add, untrack, and the ids a create or an import brings), creating, images (preview, save),
importing. Each is a plain object that gets what it needs passed in: the session, the list
model, and a `Host` (the screen) to run workers on and to speak through."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from textual.app import App
    from textual.notifications import SeverityLevel
    from textual.worker import Worker

__all__ = ["Host"]


class Host(Protocol):
    """Where a command runs its workers and says what happened (the main screen)."""

    @property
    def app(self) -> App[Any]: ...

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None: ...

    def run_worker(
        self,
        work: Coroutine[Any, Any, Any] | Callable[[], Coroutine[Any, Any, Any]],
        name: str | None = "",
        group: str = "default",
        description: str = "",
        exit_on_error: bool = True,
        start: bool = True,
        exclusive: bool = False,
        thread: bool = False,
    ) -> Worker[Any]: ...
