"""Re-run a task (`x`), edit one of its results (`E`), and go to the task one came from (`u`).

Both open the create form filled in from the selected task's record (`nbtui.create`
reads it back, leniently: a record is API data) and record the selected task as the new
one's parent. Every "cannot" is said in words: no task, no record yet, not finished, no
image, no token.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from nbtui.api.state import Task
from nbtui.tui.commands import Host
from nbtui.tui.commands.create import Creator
from nbtui.tui.formatting import short_id
from nbtui.tui.links import is_openable
from nbtui.tui.tasklist_model import TaskListModel

__all__ = ["Rerun"]


class Rerun:
    """Opens the create form from a task (see the module docstring)."""

    def __init__(
        self,
        host: Host,
        creator: Creator,
        model: TaskListModel,
        *,
        current_task: Callable[[], Task | None],
        cursor_id: Callable[[], str | None],
        select: Callable[[str], bool],
        can_call: Callable[[], bool],
    ) -> None:
        """`current_task()`: the task under the cursor (read now if need be); `select(id)`:
        put the cursor on a task, False when the list does not show it; `can_call()`: a
        create can be sent (a token, the demo)."""
        self._host = host
        self._creator = creator
        self._model = model
        self._current_task = current_task
        self._cursor_id = cursor_id
        self._select = select
        self._can_call = can_call

    def _task(self) -> Task | None:
        task = self._current_task()
        if task is None:
            self._host.notify("No task selected.", severity="warning")
            return None
        if not self._can_call():
            self._host.notify(
                "Set a token first (t): creating a task needs one.", severity="warning"
            )
            return None
        return task

    def rerun(self) -> None:
        """`x`: the form filled in with the selected task's request."""
        from nbtui.create import rerun_request

        task = self._task()
        if task is None:
            return
        if task.raw is None:
            self._host.notify(
                "Nothing to re-run yet: nbtui has no record of this task from the service "
                "(r asks for it).",
                severity="warning",
            )
            return
        prefill = rerun_request(task.raw)
        if prefill is None:
            self._host.notify(
                "This task's record does not say what was asked (no request, no prompt), "
                "so there is nothing to re-run.",
                severity="warning",
            )
            return
        self._creator.open(prefill, title=f"Re-run {short_id(task.id)}", origin=task.id)

    def edit_result(self) -> None:
        """`E`: the form in edit mode with a result image of the selected task as the source
        (the chooser asks which when there are several)."""
        from nbtui.tui.screens.choose_url import ChooseUrlScreen

        task = self._task()
        if task is None:
            return
        urls = task.image_urls
        if not urls:
            if task.state.is_finished:
                message = "This task finished without images: there is no result to edit."
            else:
                message = "Not finished yet: there is no result to edit until it succeeds."
            self._host.notify(message, severity="warning")
            return
        usable = [url for url in urls if is_openable(url)]
        if not usable:
            self._host.notify(
                "The result is not an http(s) link, so it cannot be sent as a source.",
                severity="warning",
            )
            return
        if len(usable) == 1:
            self._edit(task, usable[0])
        else:
            self._host.app.push_screen(
                ChooseUrlScreen("Edit which image?", usable), partial(self._chosen, task)
            )

    def _chosen(self, task: Task, url: str | None) -> None:
        if url:
            self._edit(task, url)

    def _edit(self, task: Task, url: str) -> None:
        from nbtui.create import edit_request

        prefill = edit_request(task.raw, url)
        self._creator.open(prefill, title=f"Edit a result of {short_id(task.id)}", origin=task.id)

    def go_to_parent(self) -> None:
        """`u`: put the cursor on the task the selected one was re-run or edited from."""
        task_id = self._cursor_id()
        row = self._model.rows.get(task_id) if task_id is not None else None
        if row is None:
            self._host.notify("No task selected.", severity="warning")
            return
        parent = row.parent_id
        if parent is None:
            self._host.notify(
                "This task was not made from another one (x re-runs a task, E edits a result).",
                timeout=4,
            )
            return
        if parent not in self._model.rows:
            self._host.notify(
                f"The task it came from ({short_id(parent)}…) is no longer tracked.",
                severity="warning",
            )
            return
        if not self._select(parent):
            self._host.notify(
                f"The task it came from ({short_id(parent)}…) is hidden by the filter "
                "(escape clears it).",
                severity="warning",
            )
