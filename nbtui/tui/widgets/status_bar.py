"""The status bar: counts per state, refresh timing, the current problem, host, DEMO badge."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from nbtui.api.state import TaskState
from nbtui.textsafe import one_line
from nbtui.tui.formatting import STATE_STYLES, STATE_SYMBOLS, ago, compact_duration
from nbtui.tui.marks import MARK_GLYPH

__all__ = ["StatusBar"]

_ORDER = (
    TaskState.RUNNING,
    TaskState.PENDING,
    TaskState.SUCCEEDED,
    TaskState.FAILED,
    TaskState.NOT_FOUND,
)


class StatusBar(Widget):
    """One line at the bottom: each thing it shows is a reactive its screen sets; it redraws
    (from them and the clock) when one changes, and once a second for the ages."""

    DEFAULT_CSS = """
    StatusBar { height: 1; width: 100%; background: $panel; color: $text; }
    """

    host: reactive[str] = reactive("")
    """The API host (also in the top bar: shown here only when it fits whole)."""
    demo: reactive[bool] = reactive(False)
    """The demo's simulated service is in use (a DEMO badge)."""
    counts: reactive[Counter[TaskState]] = reactive(Counter, always_update=True)
    """Tracked tasks per state."""
    shown: reactive[int] = reactive(0)
    """Tasks the filter lets through."""
    total: reactive[int] = reactive(0)
    """Tasks tracked."""
    marked: reactive[int] = reactive(0)
    """Tasks marked (the ones a bulk action applies to)."""
    marked_hidden: reactive[int] = reactive(0)
    """Marked tasks the filter hides."""
    last_refresh: reactive[float | None] = reactive(None)
    """When the last cycle that got any answer ended."""
    next_at: reactive[float | None] = reactive(None)
    """When the monitor plans its next cycle (None: paused, stopped or not started)."""
    interval: reactive[float] = reactive(5.0)
    """The monitor's interval between cycles."""
    paused: reactive[bool] = reactive(False)
    """The monitor is paused."""
    refreshing: reactive[bool] = reactive(False)
    """A refresh the user asked for is under way."""
    problem: reactive[str | None] = reactive(None)
    """The monitor's current fault, in words."""
    reading_stored: reactive[bool] = reactive(False)
    """The stored list is being read at start-up (not `loading`: that is Widget's own,
    which swaps the widget for a loading indicator)."""
    waiting_for: reactive[str | None] = reactive(None)
    """What a slow call is waiting for ("the keyring", "the service")."""
    waiting_since: reactive[float | None] = reactive(None)
    """Since when `waiting_for` has waited."""
    store_waiting: reactive[str | None] = reactive(None)
    """A write the user asked for waits for the database (locked, or the disk full)."""

    def __init__(self, clock: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._clock = clock

    def render(self) -> Text:
        now = self._clock()
        wide = self.size.width >= 110
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        if self.demo:
            text.append(" DEMO ", style="bold reverse yellow")
            text.append(" ")
        if self.problem:
            text.append(f" ⚠ {one_line(self.problem)} ", style="bold white on dark_red")
            text.append(" ")
        if self.store_waiting:
            text.append(f" {one_line(self.store_waiting)}… ", style="bold black on yellow")
            text.append(" ")
        if self.reading_stored:
            text.append("loading stored tasks…  ", style="dim")
        else:
            parts = []
            for state in _ORDER:
                count = self.counts.get(state, 0)
                if count or state in (TaskState.RUNNING, TaskState.SUCCEEDED):
                    label = f" {state.label}" if wide else ""
                    parts.append((f"{STATE_SYMBOLS[state]} {count}{label}", STATE_STYLES[state]))
            for index, (part, style) in enumerate(parts):
                if index:
                    text.append("  ")
                text.append(part, style=style)
            if self.shown != self.total:
                text.append(f"  (showing {self.shown} of {self.total})", style="italic")
            if self.marked:
                text.append("  ")
                text.append(f"{MARK_GLYPH} {self.marked} marked", style="bold")
                if self.marked_hidden:
                    text.append(f" ({self.marked_hidden} hidden by the filter)", style="italic")
        text.append("  │ ", style="dim")
        if self.refreshing:
            text.append("refreshing…", style="italic")
        else:
            text.append(f"refreshed {ago(self.last_refresh, now)}")
        text.append(" · ", style="dim")
        if self.paused:
            text.append("paused", style="bold yellow")
        elif self.waiting_for is not None:
            waited = max(0, int(now - (self.waiting_since or now)))
            text.append(f"waiting for {self.waiting_for} ({waited} s)", style="bold yellow")
        elif self.next_at is not None:
            wait = max(0.0, self.next_at - now)
            text.append(f"next in {compact_duration(wait)}" if wait >= 1 else "refreshing now")
        else:
            text.append("waiting", style="dim")
        text.append(f" (every {compact_duration(self.interval)})", style="dim")
        host = one_line(self.host)
        # The host is also in the top bar: show it here only when it fits whole.
        if host and text.cell_len + 4 + len(host) <= self.size.width:
            text.append("  │ ", style="dim")
            text.append(host, style="dim")
        return text
