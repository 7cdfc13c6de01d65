"""The detail pane: everything a person wants about one task, formatted and safe to print.

Every value comes from the raw record through `nbtui.textsafe`, rendered as Rich `Text`
(never as markup), so a prompt full of brackets or escape sequences shows as written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from nbtui.api.state import Task, TaskState, extract_progress
from nbtui.textsafe import one_line, safe_text, truncate
from nbtui.tui.formatting import absolute, ago, compact_duration
from nbtui.tui.tasklist_model import TaskRow
from nbtui.tui.widgets.task_list import STATE_SYMBOLS

__all__ = ["STATE_STYLES", "TaskDetail", "render_detail"]

#: Colours for state words outside the list (the list takes its colours from CSS).
STATE_STYLES: dict[TaskState, str] = {
    TaskState.PENDING: "dim",
    TaskState.RUNNING: "bold yellow",
    TaskState.SUCCEEDED: "bold green",
    TaskState.FAILED: "bold red",
    TaskState.NOT_FOUND: "bold magenta",
}

_MODERATION = (
    "The provider's safety filter refused every image of this task. "
    "Moderated tasks are not charged; rephrase the prompt and try again."
)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _when(timestamp: float | None, now: float) -> Text:
    if timestamp is None:
        return Text("—", style="dim")
    return Text.assemble(absolute(timestamp), (f"  ({ago(timestamp, now)})", "dim"))


def _url_text(url: Any) -> Text:
    """A URL on one line; long `data:` URLs are summarised rather than dumped."""
    text = one_line(url)
    if text.startswith("data:"):
        head = text.split(",", 1)[0]
        return Text(f"{truncate(head, 40)},… ({len(text) // 1024} KB inline)", style="dim")
    return Text(text, style="underline")


def render_detail(task: Task, row: TaskRow | None, now: float) -> RenderableType:
    """The detail of `task` as a Rich renderable (a two-column grid)."""
    raw = _mapping(task.raw)
    request = _mapping(raw.get("request"))
    response = _mapping(raw.get("response"))
    grid = Table.grid(padding=(0, 2), expand=True)
    grid.add_column(style="bold", no_wrap=True, width=10)
    grid.add_column(ratio=1, overflow="fold")

    def add(name: str, value: RenderableType | str | None) -> None:
        if value is None or value == "":
            return
        grid.add_row(name, value if not isinstance(value, str) else Text(value))

    state_text = Text(f"{STATE_SYMBOLS[task.state]} {task.state.label}")
    state_text.stylize(STATE_STYLES[task.state])
    if not task.state.is_finished and (percent := extract_progress(task.raw)) is not None:
        state_text.append(f" · {percent}% done")
    add("State", state_text)
    if task.error is not None:
        error = Text.assemble(
            (one_line(task.error.code), "bold red"), ": ", safe_text(task.error.message)
        )
        if task.error.is_moderation:
            error.append("\n" + _MODERATION, style="italic")
        add("Error", error)
    if row is not None and row.last_error:
        add("Refresh", Text(f"last refresh failed: {one_line(row.last_error)}", style="yellow"))
    add("Task id", Text(one_line(task.id)))
    if row is not None and row.label:
        add("Label", Text(one_line(row.label)))
    prompt = request.get("prompt")
    if prompt is not None:
        add("Prompt", Text(safe_text(prompt)))
    add("Action", one_line(request.get("action") or "") or None)
    add("Model", one_line(request.get("model") or "") or None)
    options = [
        f"{name}={one_line(request[name])}"
        for name in ("count", "aspect_ratio", "resolution")
        if request.get(name) not in (None, "")
    ]
    add("Options", "  ".join(options) or None)
    sources = request.get("image_urls")
    if isinstance(sources, list) and sources:
        add("Sources", Text("\n").join(_url_text(url) for url in sources))
    urls = task.image_urls
    if urls:
        numbered = [
            Text.assemble((f"{n}. ", "dim"), _url_text(url)) for n, url in enumerate(urls, 1)
        ]
        add("Images", Text("\n").join(numbered))
    elif task.state is TaskState.SUCCEEDED:
        add("Images", Text("the task succeeded but returned no image URL", style="yellow"))
    created = _number(raw.get("created_at"))
    started = _number(raw.get("started_at"))
    finished = _number(raw.get("finished_at"))
    add("Created", _when(created, now))
    add("Started", _when(started, now))
    add("Finished", _when(finished, now))
    elapsed = _number(raw.get("elapsed"))
    begin = started if started is not None else created
    if elapsed is None and finished is not None and begin is not None:
        elapsed = finished - begin
    if elapsed is not None:
        add("Elapsed", compact_duration(elapsed))
    elif not task.state.is_finished and begin is not None:
        add("Elapsed", Text(f"{compact_duration(now - begin)} so far", style="dim"))
    trace = raw.get("trace_id") or response.get("trace_id")
    add("Trace id", one_line(trace) if trace else None)
    if row is not None:
        add("Tracked", _when(row.first_seen, now))
        add("Refreshed", _when(row.last_refreshed, now))
    return grid


class TaskDetail(VerticalScroll, can_focus=True):
    """Shows one task; the app calls `show()` when the selection or the task changes."""

    DEFAULT_CSS = """
    TaskDetail { padding: 0 1; }
    TaskDetail > Static { width: 100%; }
    """

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._clock = clock
        self._body = Static(Text("No task selected.", style="dim italic"), id="detail-body")
        self._shown: Task | None = None
        self._row: TaskRow | None = None

    def compose(self) -> Any:
        yield self._body

    @property
    def shown_task(self) -> Task | None:
        return self._shown

    def show(self, task: Task | None, row: TaskRow | None) -> None:
        """Display `task` (None: nothing selected)."""
        self._shown = task
        self._row = row
        self.redraw()

    def redraw(self, *, same_task: bool = False) -> None:
        """Re-render; `same_task` when only the clock moved on (relative times, elapsed).

        Then the lines keep their number, so the screen is not laid out again: a layout pass
        covers every widget on screen and costs far more than this pane's repaint.
        """
        if self._shown is None:
            self._body.update(Text("No task selected.", style="dim italic"))
            return
        body = Group(render_detail(self._shown, self._row, self._clock()))
        self._body.update(body, layout=not same_task)
