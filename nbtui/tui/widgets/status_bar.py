"""The status bar: counts per state, refresh timing, the current problem, host, DEMO badge."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from rich.text import Text
from textual.widget import Widget

from nbtui.api.state import TaskState
from nbtui.textsafe import one_line
from nbtui.tui.formatting import STATE_STYLES, STATE_SYMBOLS, ago, compact_duration

__all__ = ["StatusBar", "StatusInfo"]

_ORDER = (
    TaskState.RUNNING,
    TaskState.PENDING,
    TaskState.SUCCEEDED,
    TaskState.FAILED,
    TaskState.NOT_FOUND,
)


@dataclass(frozen=True)
class StatusInfo:
    """Everything the status bar shows; the app replaces it whenever something changes."""

    host: str = ""
    demo: bool = False
    counts: Counter[TaskState] = field(default_factory=Counter)
    shown: int = 0
    total: int = 0
    last_refresh: float | None = None
    next_at: float | None = None
    interval: float = 5.0
    paused: bool = False
    refreshing: bool = False
    problem: str | None = None
    loading: bool = False
    #: What a slow call is waiting for ("the keyring", "the service"), and since when.
    waiting_for: str | None = None
    waiting_since: float | None = None
    #: A write the user asked for is waiting for the database (locked, or the disk full).
    store_waiting: str | None = None


class StatusBar(Widget):
    """One line at the bottom; recomputed from `StatusInfo` and the clock on every refresh."""

    DEFAULT_CSS = """
    StatusBar { height: 1; width: 100%; background: $panel; color: $text; }
    """

    def __init__(self, clock: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._clock = clock
        self.info = StatusInfo()

    def set_info(self, **changes: Any) -> None:
        """Change some fields and redraw."""
        self.info = replace(self.info, **changes)
        self.refresh()

    def render(self) -> Text:
        info = self.info
        now = self._clock()
        wide = self.size.width >= 110
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        if info.demo:
            text.append(" DEMO ", style="bold reverse yellow")
            text.append(" ")
        if info.problem:
            text.append(f" ⚠ {one_line(info.problem)} ", style="bold white on dark_red")
            text.append(" ")
        if info.store_waiting:
            text.append(f" {one_line(info.store_waiting)}… ", style="bold black on yellow")
            text.append(" ")
        if info.loading:
            text.append("loading stored tasks…  ", style="dim")
        else:
            parts = []
            for state in _ORDER:
                count = info.counts.get(state, 0)
                if count or state in (TaskState.RUNNING, TaskState.SUCCEEDED):
                    label = f" {state.label}" if wide else ""
                    parts.append((f"{STATE_SYMBOLS[state]} {count}{label}", STATE_STYLES[state]))
            for index, (part, style) in enumerate(parts):
                if index:
                    text.append("  ")
                text.append(part, style=style)
            if info.shown != info.total:
                text.append(f"  (showing {info.shown} of {info.total})", style="italic")
        text.append("  │ ", style="dim")
        if info.refreshing:
            text.append("refreshing…", style="italic")
        else:
            text.append(f"refreshed {ago(info.last_refresh, now)}")
        text.append(" · ", style="dim")
        if info.paused:
            text.append("paused", style="bold yellow")
        elif info.waiting_for is not None:
            waited = max(0, int(now - (info.waiting_since or now)))
            text.append(f"waiting for {info.waiting_for} ({waited} s)", style="bold yellow")
        elif info.next_at is not None:
            wait = max(0.0, info.next_at - now)
            text.append(f"next in {compact_duration(wait) if wait >= 1 else 'now'}")
        else:
            text.append("waiting", style="dim")
        text.append(f" (every {compact_duration(info.interval)})", style="dim")
        host = one_line(info.host)
        # The host is also in the top bar: show it here only when it fits whole.
        if host and text.cell_len + 4 + len(host) <= self.size.width:
            text.append("  │ ", style="dim")
            text.append(host, style="dim")
        return text
