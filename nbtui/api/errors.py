"""One exception hierarchy for everything that can go wrong talking to the API.

Every error carries what a user needs to act on it: what happened, the HTTP status and API
code, the trace id when the service gave one, and what to do next. None of them ever holds
the token: messages are built from the response, never from the request headers.
"""

from __future__ import annotations

from typing import Self

__all__ = [
    "ApiError",
    "AuthError",
    "CreateOutcomeUnknown",
    "ProtocolError",
    "RateLimited",
    "RequestRejected",
    "ServerError",
    "TransportError",
]


class ApiError(Exception):
    """Base class: something went wrong between nbtui and the API host.

    An error is complete when raised: the failed request's method and URL (never its headers)
    and how many attempts were made are given to the constructor, kept out of the message so
    `str(err)` stays readable. Nothing edits an error after it was raised; a caller that
    learns more (the retry loop, the attempt count) raises a copy (`with_attempts`).
    """

    #: Whether a read that failed this way may be retried (the class's default; an instance
    #: may say otherwise, e.g. an answer too big to read twice).
    retryable: bool = False
    #: A short hint of what the user can do.
    default_hint: str = ""
    #: The hint once nobody will try again (the CLI's last word): the default hint of a
    #: retryable error promises a retry. None: the hint holds as it is.
    final_hint: str | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        trace_id: str | None = None,
        hint: str | None = None,
        method: str | None = None,
        url: str | None = None,
        attempts: int = 1,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.trace_id = trace_id
        self.hint = self.default_hint if hint is None else hint
        self.method = method
        self.url = url
        self.attempts = attempts
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        return self._render(self.hint)

    def _render(self, hint: str) -> str:
        parts = [self.message]
        details = []
        if self.status is not None:
            details.append(f"HTTP {self.status}")
        if self.code:
            details.append(f"code {self.code}")
        if details:
            parts[0] = f"{self.message} ({', '.join(details)})"
        if self.trace_id:
            parts.append(f"Trace id {self.trace_id}")
        if hint:
            parts.append(hint)
        return ". ".join(p.rstrip(".") for p in parts) + "."

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status={self.status!r}, "
            f"code={self.code!r}, trace_id={self.trace_id!r})"
        )

    def with_attempts(self, attempts: int) -> Self:
        """This error as it stands after `attempts` attempts: a new error, this one unchanged
        (it may already be in a retry event or a batch result)."""
        return self._copy(attempts=attempts)

    def with_hint(self, hint: str) -> Self:
        """This error with a hint its caller knows better: a new error, this one unchanged."""
        return self._copy(hint=hint)

    def _copy(self, **changes: object) -> Self:
        clone = type(self).__new__(type(self))
        clone.args = self.args
        clone.__dict__.update(self.__dict__)
        clone.__dict__.update(changes)
        return clone

    def final(self) -> str:
        """The error as a last word, after the retries (if any) ran out: no promise of a
        retry that will not come, and how many attempts were made."""
        hint = self.hint
        if self.final_hint is not None and self.hint == self.default_hint:
            hint = self.final_hint
        if self.retryable and self.attempts > 1:
            hint = f"{hint.rstrip('.')}; gave up after {self.attempts} attempts".lstrip("; ")
        return self._render(hint)

    @property
    def short(self) -> str:
        """One line for a status bar: the message and the code, no hint."""
        return f"{self.message} ({self.code})" if self.code else self.message


class AuthError(ApiError):
    """401: the token is missing, wrong or expired. Polling stops until the user acts."""

    default_hint = "Set a new token with `nbtui token set` (or press t in the app)"


class RateLimited(ApiError):
    """429: too many requests. `retry_after` is the wait the service asked for, if any."""

    retryable = True
    default_hint = (
        "Wait a little before trying again; the app and `nbtui watch` back off by themselves"
    )

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        if retry_after is not None and kwargs.get("hint") is None:
            # Said by the service: more useful than a generic "wait a little".
            kwargs["hint"] = f"The service asks to wait {retry_after:.0f} s before trying again"
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class RequestRejected(ApiError):
    """400/403/404/413 and other 4xx: the request, scope or balance is wrong; never retried."""


class ServerError(ApiError):
    """5xx: a transient problem on the service's side; reads are retried with backoff."""

    retryable = True
    default_hint = "This is usually temporary; nbtui retries reads by itself"
    final_hint = "This is usually temporary; try again in a little while"


class TransportError(ApiError):
    """No usable answer: timeout, refused or reset connection, DNS failure."""

    retryable = True
    default_hint = "Check your network connection and the base URL"


class ProtocolError(ApiError):
    """An answer that is not the JSON the contract promises: HTML, empty, truncated, wrong shape."""

    retryable = True
    default_hint = "A proxy or the service answered something unexpected; nbtui will retry"
    final_hint = "A proxy or the service answered something unexpected; check the base URL"


class CreateOutcomeUnknown(ApiError):
    """A create call went out and its answer was lost or unreadable: the task may or may not
    exist now. Never retried (a retry can create and bill a second task); `cause` is the
    error that hid the outcome."""

    default_hint = (
        "nbtui did not retry, so that no second task is created and billed; look at your "
        "recent tasks (the AceData Cloud console, or nbtui's recent-task list) before trying "
        "again"
    )

    def __init__(self, message: str, *, cause: ApiError | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.cause = cause
