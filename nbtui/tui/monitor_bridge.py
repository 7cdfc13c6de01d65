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
    "ProblemChanged",
    "TasksChanged",
    "TasksRemoved",
    "announce_finished",
]


class TasksChanged(Message):
    """The monitor saw these tasks change (or appear)."""

    def __init__(self, updates: list[TaskUpdate]) -> None:
        super().__init__()
        self.updates = updates


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


def announce_finished(updates: list[TaskUpdate], notify: Notify, notifier: Notifier | None) -> None:
    """A toast (and the configured terminal notification) for each task watched finishing;
    one summary instead of a wall of toasts when more than three finish at once."""
    finished = [
        update
        for update in updates
        # A task answered for the first time was not watched finishing: no toast for it.
        if not update.first_answer
        and update.previous is not None
        and not update.previous.is_finished
        and update.task.state.is_finished
    ]
    if len(finished) > 3:
        ok = sum(1 for update in finished if update.task.state is TaskState.SUCCEEDED)
        title = f"{len(finished)} tasks finished"
        body = f"{ok} succeeded, {len(finished) - ok} failed or not found"
        notify(f"{body}.", title=title, timeout=8)
        if notifier is not None:
            notifier.notify(f"nbtui: {title}", body)
        return
    for update in finished:
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
