"""How long to wait before retrying a read: `Retry-After` parsing and capped exponential backoff.

Pure functions and data, no I/O and no clock of their own: the caller passes `now` and the
random generator, so every delay is reproducible in tests.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC

__all__ = ["MAX_RETRY_AFTER", "Backoff", "parse_retry_after"]

#: A `Retry-After` longer than this is treated as this: a misconfigured proxy asking for a day
#: must not freeze polling for a day.
MAX_RETRY_AFTER = 300.0


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` header, or `None` when absent or unreadable.

    Accepts both forms RFC 9110 allows: delta-seconds (`"8"`; a decimal is tolerated) and an
    HTTP-date (`"Wed, 21 Oct 2015 07:28:00 GMT"`), which is measured from `now` (Unix seconds).
    A wait in the past or a negative delta means "now" (0). Values are capped at
    `MAX_RETRY_AFTER`.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    seconds: float | None
    try:
        seconds = float(text)
    except ValueError:
        seconds = _seconds_until_http_date(text, now)
    if seconds is None or math.isnan(seconds):
        return None
    if math.isinf(seconds):
        return None if seconds < 0 else MAX_RETRY_AFTER
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _seconds_until_http_date(text: str, now: float) -> float | None:
    # Imported here: only a Retry-After date needs it, and `email` costs the app's start 2 ms.
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        # RFC 9110 dates are always GMT; obsolete forms without a zone are read as GMT too.
        when = when.replace(tzinfo=UTC)
    try:
        return when.timestamp() - now
    except (OverflowError, OSError, ValueError):
        return None


@dataclass
class Backoff:
    """Capped exponential backoff with *equal jitter*.

    For retry number `attempt` (1 for the first retry), the ceiling is
    `min(cap, base * factor ** (attempt - 1))`, and the delay is drawn uniformly from
    `[ceiling / 2, ceiling]`. Equal jitter (rather than full jitter, `[0, ceiling]`) keeps a
    guaranteed minimum wait, so a single client never hammers a failing server with
    near-zero delays, while still spreading clients that failed at the same moment.
    With the defaults the ceilings are 0.5, 1, 2, 4, 8, 8, ... seconds.
    """

    base: float = 0.5
    cap: float = 8.0
    factor: float = 2.0

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap <= 0 or self.factor < 1:
            raise ValueError("Backoff needs base > 0, cap > 0 and factor >= 1")

    def ceiling(self, attempt: int) -> float:
        """The longest delay for this retry (before jitter)."""
        exponent = max(attempt, 1) - 1
        # Stop growing once past the cap, so a huge attempt number cannot overflow.
        try:
            grown = self.base * self.factor**exponent
        except OverflowError:
            return self.cap
        return min(self.cap, grown)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        ceiling = self.ceiling(attempt)
        draw = rng.random() if rng is not None else random.random()
        return ceiling / 2 + draw * ceiling / 2
