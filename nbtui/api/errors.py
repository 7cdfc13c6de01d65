"""One exception hierarchy for everything that can go wrong talking to the API.

Every error carries what a user needs to act on it: what happened, the HTTP status and API
code, the trace id when the service gave one, and what to do next. None of them ever holds
the token: messages are built from the response, never from the request headers.
"""

from __future__ import annotations

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
    """Base class: something went wrong between nbtui and the API host."""

    #: Whether a read that failed this way may be retried.
    retryable: bool = False
    #: A short hint of what the user can do.
    default_hint: str = ""
    #: The hint once nobody will try again (the CLI's last word): the default hint of a
    #: retryable error promises a retry. None: the hint holds as it is.
    final_hint: str | None = None
    #: Filled in by the client: the failed request's method and URL (never its headers) and
    #: how many attempts were made. Kept out of the message so `str(err)` stays readable.
    method: str | None = None
    url: str | None = None
    attempts: int = 1

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        trace_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.trace_id = trace_id
        self.hint = self.default_hint if hint is None else hint

    def __str__(self) -> str:
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
        if self.hint:
            parts.append(self.hint)
        return ". ".join(p.rstrip(".") for p in parts) + "."

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status={self.status!r}, "
            f"code={self.code!r}, trace_id={self.trace_id!r})"
        )

    def final(self) -> str:
        """The error as a last word, after the retries (if any) ran out: no promise of a
        retry that will not come, and how many attempts were made."""
        hint = self.hint
        if self.final_hint is not None and self.hint == self.default_hint:
            hint = self.final_hint
        if self.retryable and self.attempts > 1:
            hint = f"{hint.rstrip('.')}; gave up after {self.attempts} attempts".lstrip("; ")
        saved, self.hint = self.hint, hint
        try:
            return str(self)
        finally:
            self.hint = saved

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

    def __init__(self, message: str, *, cause: ApiError | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.cause = cause
