"""What the monitor reports as wrong: the kinds of fault, in words a status bar shows as is.

Kept apart from the schedule (`nbtui.tracking.monitor`) so that module stays about timing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from nbtui.api.errors import (
    ApiError,
    AuthError,
    ProtocolError,
    RateLimited,
    RequestRejected,
    ServerError,
    TransportError,
)

__all__ = ["MonitorProblem", "ProblemKind", "describe", "seconds", "worst"]

ProblemKind = Literal[
    "rate_limited", "server", "network", "protocol", "auth", "rejected", "store", "internal"
]


@dataclass(frozen=True, slots=True)
class MonitorProblem:
    """The current fault, in words a status bar can show as is."""

    kind: ProblemKind
    message: str
    retry_in: float | None
    #: The error behind it, for callers that want the full explanation (never holds the token).
    error: ApiError | None = field(default=None, compare=False)


def seconds(delay: float) -> int:
    return max(1, math.ceil(delay - 1e-9))


_SEVERITY: tuple[type[ApiError], ...] = (
    AuthError,
    RequestRejected,
    RateLimited,
    ServerError,
    TransportError,
    ProtocolError,
)


def worst(errors: Iterable[ApiError]) -> ApiError:
    """The error that decides what the monitor does: auth first, then refusals, then 429..."""

    def rank(error: ApiError) -> int:
        for index, kind in enumerate(_SEVERITY):
            if isinstance(error, kind):
                return index
        return len(_SEVERITY)

    return min(errors, key=rank)


def describe(error: ApiError, delay: float) -> MonitorProblem:
    wait = f"retrying in {seconds(delay)} s"
    if isinstance(error, RateLimited):
        return MonitorProblem("rate_limited", f"rate limited, {wait}", delay, error)
    if isinstance(error, ServerError):
        status = f" (HTTP {error.status})" if error.status else ""
        return MonitorProblem("server", f"server error{status}, {wait}", delay, error)
    if isinstance(error, TransportError):
        return MonitorProblem("network", f"network problem: {error.message}, {wait}", delay, error)
    return MonitorProblem("protocol", f"unexpected answer: {error.message}, {wait}", delay, error)
