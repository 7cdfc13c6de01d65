"""From the monitor to the main screen: its callbacks become messages (handled in the screen's
queue, in order), and the toasts and terminal notifications for tasks seen finishing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from textual.message import Message

from nbtui.api.state import TaskState
from nbtui.textsafe import one_line, truncate
from nbtui.tui.formatting import short_id

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from nbtui.notify import Notifier
    from nbtui.tracking.monitor import CycleReport, MonitorProblem, TaskUpdate

__all__ = [
    "CycleDone",
    "Finishes",
    "ProblemChanged",
    "TasksChanged",
    "TasksRemoved",
]


class TasksChanged(Message):
    """The monitor saw these tasks change (or appear); `in_cycle`: one step of a refresh
    cycle, more may follow before its `CycleDone`."""

    def __init__(self, updates: list[TaskUpdate], *, in_cycle: bool = False) -> None:
        super().__init__()
        self.updates = updates
        self.in_cycle = in_cycle


class TasksRemoved(Message):
    """Another process stopped tracking these ids."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__()
        self.ids = ids


class CycleDone(Message):
    """A refresh cycle finished."""

    def __init__(self, report: CycleReport) -> None:
        super().__init__()
        self.report = report


class ProblemChanged(Message):
    """The monitor's current problem changed (None: all is well)."""

    def __init__(self, problem: MonitorProblem | None) -> None:
        super().__init__()
        self.problem = problem


class Notify(Protocol):
    def __call__(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
    ) -> None: ...


class Finishes:
    """Tasks seen finishing, gathered until they are announced: a cycle reports its changes
    a step (500 tasks) at a time, and "N tasks finished" must count the whole cycle. Only the
    first four are kept, which is enough to choose between toasts and a summary."""

    def __init__(self) -> None:
        self._first: list[TaskUpdate] = []
        self._count = 0
        self._succeeded = 0

    def add(self, updates: list[TaskUpdate]) -> None:
        for update in updates:
            # A task answered for the first time was not watched finishing: no toast for it.
            if (
                update.first_answer
                or update.previous is None
                or update.previous.is_finished
                or not update.task.state.is_finished
            ):
                continue
            self._count += 1
            self._succeeded += update.task.state is TaskState.SUCCEEDED
            if len(self._first) <= 3:
                self._first.append(update)

    def announce(self, notify: Notify, notifier: Notifier | None) -> None:
        """A toast (and the configured terminal notification) for each task gathered; one
        summary instead of a wall of toasts when more than three finished."""
        count, ok, first = self._count, self._succeeded, self._first
        self._first, self._count, self._succeeded = [], 0, 0
        if count > 3:
            title = f"{count} tasks finished"
            body = f"{ok} succeeded, {count - ok} failed or not found"
            notify(f"{body}.", title=title, timeout=8)
            if notifier is not None:
                notifier.notify(f"nbtui: {title}", body)
            return
        for update in first:
            _announce(update, notify, notifier)


def _announce(update: TaskUpdate, notify: Notify, notifier: Notifier | None) -> None:
    task = update.task
    prompt = truncate(one_line(task.prompt or task.label or ""), 60)
    what = f"{short_id(task.id)} {task.state.label}"
    if task.state is TaskState.SUCCEEDED:
        count = task.image_count
        noun = "image" if count == 1 else "images"
        notify(f"{prompt}\n{count} {noun} · o opens", title=f"✔ {what}", timeout=8)
    else:
        reason = one_line(task.error_message or task.error_code or "")
        notify(
            f"{prompt}\n{truncate(reason, 120)}",
            title=f"✘ {what}",
            severity="error" if task.state is TaskState.FAILED else "warning",
            timeout=10,
        )
    if notifier is not None:
        notifier.task_finished(task.to_task())
