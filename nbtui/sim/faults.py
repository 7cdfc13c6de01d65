"""Misbehaviour on demand: the fault kinds, the API error codes the simulator can answer with,
and the book of queued, scheduled and targeted faults (docs/simulator.md, "Faults")."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal, get_args

__all__ = [
    "ALL_FAULT_KINDS",
    "ENDPOINTS",
    "ERROR_CODES",
    "TRANSIENT_FAULT_KINDS",
    "Fault",
    "FaultBook",
    "FaultKind",
]

FaultKind = Literal[
    "429",
    "500",
    "502_html",
    "503_html",
    "504",
    "empty",
    "truncated",
    "wrong_shape",
    "missing_id",
    "huge",
    "slow",
    "401",
    "403_used_up",
    "reset",
]

#: Every API error code of docs/api.md ("Errors"), with the HTTP status and the message the
#: simulator answers it with. A fault named by one of these codes answers that error body.
#: `token_mismatched` is published under both 400 and 401; 401 is the default here.
ERROR_CODES: dict[str, tuple[int, str]] = {
    "bad_request": (400, "The request is not valid."),
    "token_mismatched": (401, "The specified token is not matched with API."),
    "api_not_implemented": (400, "The API is not implemented."),
    "disabled": (
        400,
        "Your application has been disabled due to abnormal usage behavior, please contact "
        "support to get more information.",
    ),
    "no_token": (400, "No token specified for the request."),
    "invalid_token": (401, "The specified token is invalid or wrong."),
    "token_expired": (401, "The API token has expired or was revoked."),
    "used_up": (403, "Your balance is used up: top up your account to continue."),
    "forbidden": (403, "The request was refused."),
    "no_api": (404, "API does not exist, please make sure url is correct."),
    "not_found": (404, "No such task."),
    "request_too_large": (413, "Request body is too large."),
    "too_many_requests": (429, "Too many requests: slow down."),
    "api_error": (500, "fetch failed"),
}

ALL_FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind)) | frozenset(ERROR_CODES)
#: What the random-fault mode picks from by default: what a flaky network or proxy produces.
TRANSIENT_FAULT_KINDS: tuple[str, ...] = (
    "429",
    "500",
    "502_html",
    "503_html",
    "504",
    "empty",
    "truncated",
    "reset",
)
#: Which API route a fault may be limited to.
ENDPOINTS: dict[str, str] = {"tasks": "/nano-banana/tasks", "images": "/nano-banana/images"}


@dataclass(frozen=True, slots=True)
class Fault:
    """One queued misbehaviour. `retry_after` may be seconds or an HTTP date string.

    `endpoint` ("tasks"/"images") and `task_id` limit it to matching requests (others pass it
    by); `status`, `message` and `success_key` override what an error-code fault answers.
    """

    kind: str
    retry_after: float | str | None = None
    delay: float = 0.0
    endpoint: str | None = None
    task_id: str | None = None
    status: int | None = None
    message: str | None = None
    success_key: bool | None = None

    def matches(self, path: str, task_ids: frozenset[str]) -> bool:
        if self.endpoint is not None and ENDPOINTS.get(self.endpoint) != path:
            return False
        return self.task_id is None or self.task_id in task_ids


def check_fault(kind: str, times: int) -> None:
    """Refuse an unknown kind or a count below one, naming what is allowed."""
    if kind not in ALL_FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; use one of {sorted(ALL_FAULT_KINDS)}")
    if times < 1:
        raise ValueError("times must be at least 1")


@dataclass
class _Queued:
    """A fault and how many more requests suffer it (one entry, however many times)."""

    fault: Fault
    times: int


@dataclass
class _Scheduled:
    after_requests: int
    faults: list[_Queued] = field(default_factory=list)


class FaultBook:
    """Queued faults (in order), faults scheduled after a number of API requests, and the
    seeded random-fault mode. Not thread-safe by itself: `SimState` holds the lock."""

    def __init__(self, seed: int | None) -> None:
        self._rng = random.Random(None if seed is None else f"{seed}:faults")
        self._queue: list[_Queued] = []
        self._scheduled: list[_Scheduled] = []
        self._requests = 0

    @property
    def queue(self) -> list[Fault]:
        """The queued faults in order, one entry per request that will suffer it."""
        return [entry.fault for entry in self._queue for _ in range(entry.times)]

    @property
    def pending(self) -> int:
        return sum(entry.times for entry in self._queue)

    def add(self, fault: Fault, times: int) -> None:
        self._queue.append(_Queued(fault, times))

    def schedule(self, after_requests: int, fault: Fault, times: int) -> None:
        self._scheduled.append(_Scheduled(after_requests, [_Queued(fault, times)]))

    def clear(self) -> None:
        self._queue.clear()
        self._scheduled.clear()

    def take(
        self,
        path: str,
        task_ids: frozenset[str],
        *,
        rate: float,
        kinds: tuple[str, ...],
        slow_delay: float,
    ) -> Fault | None:
        """The fault this API request must suffer, if any: the first queued one that matches
        it (targeted faults wait for their request), else maybe a random one."""
        due = [s for s in self._scheduled if s.after_requests <= self._requests]
        if due:
            self._scheduled = [s for s in self._scheduled if s not in due]
            self._queue[:0] = [entry for s in due for entry in s.faults]
        self._requests += 1
        for index, entry in enumerate(self._queue):
            if entry.fault.matches(path, task_ids):
                entry.times -= 1
                if entry.times <= 0:
                    del self._queue[index]
                return entry.fault
        if rate > 0 and kinds and self._rng.random() < rate:
            kind = self._rng.choice(kinds)
            retry_after = 1 if kind == "429" and self._rng.random() < 0.5 else None
            return Fault(kind, retry_after, slow_delay if kind == "slow" else 0.0)
        return None
