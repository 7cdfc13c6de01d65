"""The detail pane: everything a person wants about one task, formatted and safe to print.

Every value comes from the raw record through `nbtui.textsafe`, rendered as Rich `Text`
(never as markup), so a prompt full of brackets or escape sequences shows as written.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from nbtui.api.state import Task, TaskState
from nbtui.api.summary import summarize
from nbtui.textsafe import clip, more_characters, one_line, safe_text, truncate
from nbtui.tui.formatting import (
    STATE_STYLES,
    STATE_SYMBOLS,
    absolute,
    ago,
    compact_duration,
    short_id,
)
from nbtui.tui.tasklist_model import TaskRow

log = logging.getLogger(__name__)

__all__ = ["PREVIEW_CHARS", "TaskDetail", "full_prompt", "render_detail"]

#: A long value (a prompt, an error) shows this many characters, then "…N more characters":
#: cleaning, wrapping and drawing cost grows with the text, so it is cut before any of them.
#: The pane is redrawn on every layout pass, and 2,000 characters already fill it.
PREVIEW_CHARS = 2_000
#: Short fields (model, options, ids, URLs) are cut far sooner: they fit on a line or two.
_SHORT = 300
#: At most this many source or result URLs are listed.
_MAX_URLS = 20

_MODERATION = (
    "The provider's safety filter refused every image of this task. "
    "Moderated tasks are not charged; rephrase the prompt and try again."
)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _blank(value: Any) -> bool:
    """None or an empty string (`value in (None, "")` would compare a list or dict with ==)."""
    return value is None or (isinstance(value, str) and not value)


def _number(value: Any) -> float | None:
    """A finite float, or None: NaN, infinities and integers too big for a float are no time."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _when(timestamp: float | None, now: float) -> Text:
    if timestamp is None:
        return Text("—", style="dim")
    return Text.assemble(absolute(timestamp), (f"  ({ago(timestamp, now)})", "dim"))


def _short(value: Any) -> str:
    """A field that belongs on one line, cut to `_SHORT` characters before it is cleaned."""
    text, more = clip(value, _SHORT)
    return one_line(text) + ("…" if more else "")


def _long(value: Any, style: str = "") -> Text:
    """A long value (a prompt, an error message): a bounded preview, and what was left out."""
    text, more = clip(value, PREVIEW_CHARS)
    shown = Text(safe_text(text), style=style)
    if more:
        shown.append(f"\n{more_characters(more)} (f shows it all)", style="dim italic")
    return shown


def full_prompt(task: Task | None) -> str | None:
    """The whole prompt of `task` when it is text (what `f` shows), else None."""
    return summarize(task.raw).prompt if task is not None else None


def _url_text(url: Any) -> Text:
    """A URL on one line; long `data:` URLs are summarised rather than dumped."""
    if isinstance(url, str) and url.startswith("data:"):
        head = one_line(url[:60].split(",", 1)[0])
        return Text(f"{truncate(head, 40)},… ({len(url) // 1024} KB inline)", style="dim")
    return Text(_short(url), style="underline")


def _urls(urls: list[Any], numbered: bool) -> Text:
    lines = [
        Text.assemble((f"{n}. ", "dim"), _url_text(url)) if numbered else _url_text(url)
        for n, url in enumerate(urls[:_MAX_URLS], 1)
    ]
    if len(urls) > _MAX_URLS:
        lines.append(Text(f"…{len(urls) - _MAX_URLS:,} more", style="dim italic"))
    return Text("\n").join(lines)


def render_detail(
    task: Task, row: TaskRow | None, now: float, *, parent_key: str = ""
) -> RenderableType:
    """The detail of `task` as a Rich renderable (a two-column grid); `parent_key`: the key
    that selects the task it came from, named beside it."""
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

    summary = summarize(raw)
    state_text = Text(f"{STATE_SYMBOLS[task.state]} {task.state.label}")
    state_text.stylize(STATE_STYLES[task.state])
    if not task.state.is_finished and summary.progress is not None:
        state_text.append(f" · {summary.progress}% done")
    add("State", state_text)
    if task.error is not None:
        error = Text.assemble(
            (_short(task.error.code), "bold red"), ": ", _long(task.error.message)
        )
        if task.error.is_moderation:
            error.append("\n" + _MODERATION, style="italic")
        add("Error", error)
    if row is not None and row.last_error:
        add("Refresh", Text(f"last refresh failed: {_short(row.last_error)}", style="yellow"))
    add("Task id", Text(_short(task.id)))
    if row is not None and row.parent_id:
        hint = f"  ({one_line(parent_key)} goes there)" if parent_key else ""
        add("From", Text.assemble(one_line(short_id(row.parent_id)), (hint, "dim")))
    if row is not None and row.label:
        add("Labels", Text(_short(row.label)))
    if summary.prompt is not None:
        add("Prompt", _long(summary.prompt))
    add("Action", _short(summary.action) if summary.action else None)
    add("Model", _short(summary.model) if summary.model else None)
    options = [
        f"{name}={_short(request[name])}"
        for name in ("count", "aspect_ratio", "resolution")
        if not _blank(request.get(name))
    ]
    add("Options", "  ".join(options) or None)
    sources = request.get("image_urls")
    if isinstance(sources, list) and sources:
        add("Sources", _urls(sources, numbered=False))
    urls = task.image_urls
    if urls:
        add("Images", _urls(list(urls), numbered=True))
    elif task.state is TaskState.SUCCEEDED:
        add("Images", Text("the task succeeded but returned no image URL", style="yellow"))
    created, started, finished = summary.created_at, summary.started_at, summary.finished_at
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
    add("Trace id", _short(trace) if trace else None)
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
        #: The key that selects the task this one came from (the main screen's, remapped).
        self.parent_key = ""

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
        try:
            body: RenderableType = Group(
                render_detail(self._shown, self._row, self._clock(), parent_key=self.parent_key)
            )
        except Exception as exc:  # a record no formatter foresaw must not end the app
            log.exception("cannot show task %s", self._shown.id)
            body = Text(
                f"This task's record cannot be shown ({type(exc).__name__}); "
                "the JSON pane has it as it came.",
                style="yellow",
            )
        self._body.update(body, layout=not same_task)
