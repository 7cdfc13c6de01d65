"""Plain-text formatting for the TUI: times, durations and the state glyphs (no Textual import).

The state symbols and styles live here, not in a widget, so the list, the detail pane, the
status bar and the help screen share them without importing each other.

Every relative time is computed from a `now` the caller passes in (the app's injected clock),
so snapshots and tests are stable.
"""

from __future__ import annotations

import math
import time

from nbtui.api.state import TaskState

__all__ = [
    "STATE_STYLES",
    "STATE_SYMBOLS",
    "absolute",
    "age_cell",
    "ago",
    "compact_duration",
    "short_id",
]

#: A symbol per state, so state never depends on colour alone.
STATE_SYMBOLS: dict[TaskState, str] = {
    TaskState.PENDING: "◌",
    TaskState.RUNNING: "◐",
    TaskState.SUCCEEDED: "✔",
    TaskState.FAILED: "✘",
    TaskState.NOT_FOUND: "?",
}

#: Colours for state words outside the list (the list takes its colours from CSS).
STATE_STYLES: dict[TaskState, str] = {
    TaskState.PENDING: "dim",
    TaskState.RUNNING: "bold yellow",
    TaskState.SUCCEEDED: "bold green",
    TaskState.FAILED: "bold red",
    TaskState.NOT_FOUND: "bold magenta",
}


#: Beyond this many seconds (about 3,000 years) a duration or an age is nonsense from the
#: service, not something to spell out (and `int()` of an infinity would raise).
_ABSURD = 1e11


def _usable(value: object) -> bool:
    """A real, finite number: records may hold NaN, infinities, strings or huge integers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too big for a float
        return False


def compact_duration(seconds: float | None) -> str:
    """`42s`, `3m`, `3m05s` style, at most two units, for table cells."""
    if seconds is None or not _usable(seconds):
        return "—"
    seconds = float(seconds)
    if seconds > _ABSURD:
        return "?"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s" if seconds >= 10 else f"{seconds:.1f}s".replace(".0s", "s")
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s" if minutes < 10 else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h" if days < 10 else f"{days}d"


def ago(timestamp: float | None, now: float) -> str:
    """How long ago `timestamp` was: `just now`, `12s ago`, `3m ago`, `2h ago`."""
    if timestamp is None:
        return "never"
    if not _usable(timestamp) or not _usable(now):
        return "unknown time"
    delta = float(now) - float(timestamp)
    if delta < 1:
        return "just now"
    return f"{_coarse(delta)} ago"


def _coarse(seconds: float) -> str:
    """One unit: `12s`, `3m`, `2h`, `4d` (`?` for a span no clock can have)."""
    if not _usable(seconds) or seconds > _ABSURD:
        return "?"
    if seconds < 60:
        return f"{int(seconds)}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def age_cell(timestamp: float | None, now: float) -> str:
    """Age for a table cell: `12s`, `3m`, `2h`, `4d`, or `—`."""
    if timestamp is None:
        return "—"
    if not _usable(timestamp) or not _usable(now):
        return "?"
    return _coarse(max(0.0, float(now) - float(timestamp)))


def absolute(timestamp: float | None) -> str:
    """A local wall-clock time with the date, or `—`."""
    if timestamp is None or not _usable(timestamp):
        return "—"
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(timestamp)))
    except (OverflowError, OSError, ValueError):
        return "—"


def short_id(task_id: str) -> str:
    """The first block of a UUID: enough to tell tasks apart at a glance."""
    return task_id[:8] if isinstance(task_id, str) else "?"
