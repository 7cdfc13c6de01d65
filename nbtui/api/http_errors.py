"""From an answer to a typed error: the HTTP status and API code table of docs/api.md
("Errors"), error bodies inside a 2xx answer, and answers that are not the promised JSON.

Every error made here is complete when made: it names the request's method and URL (from
the `Answer`), and a create's error is never retryable. `redact` hides the token if a server
echoed it back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from nbtui.api.answers import Answer, NotJson, json_or_none, parse_json
from nbtui.api.backoff import parse_retry_after
from nbtui.api.errors import (
    ApiError,
    AuthError,
    ProtocolError,
    RateLimited,
    RequestRejected,
    ServerError,
)

__all__ = [
    "Redact",
    "describe",
    "error_fields",
    "http_error",
    "is_missing_task",
    "not_json_error",
    "ok_json",
    "raise_embedded_error",
    "request_facts",
    "shape_error",
]

#: Hides the token in a text (the client's, which holds it).
Redact = Callable[[str], str]


def is_missing_task(body: Any) -> bool:
    """Whether a 404 body on `retrieve` says "no such task".

    Only the API's own error body does: an `error` object or message, or a top-level `code`,
    whatever the code (the simulator's is `not_found`; nothing documents the real one) except
    `no_api`, which, like a proxy's HTML page or `{"detail": ...}`, means a wrong base URL and
    must not mark every task not found.
    """
    if not isinstance(body, Mapping):
        return False
    error = body.get("error")
    api_error = (
        isinstance(error, Mapping)
        or (isinstance(error, str) and bool(error.strip()))
        or isinstance(body.get("code"), str)
    )
    return api_error and error_fields(body)[0] != "no_api"


def error_fields(body: Any) -> tuple[str | None, str | None, str | None]:
    """(code, message, trace_id) from `{success, error: {code, message}, trace_id}`, leniently."""
    if not isinstance(body, Mapping):
        return None, None, None
    error = body.get("error")
    code: Any = None
    message: Any = None
    if isinstance(error, Mapping):
        code, message = error.get("code"), error.get("message")
    elif isinstance(error, str):
        message = error
    code = code if code is not None else body.get("code")
    message = message if message is not None else body.get("message") or body.get("detail")
    trace_id = body.get("trace_id")
    return (
        str(code) if isinstance(code, str | int) and str(code) else None,
        message if isinstance(message, str) and message.strip() else None,
        trace_id if isinstance(trace_id, str) and trace_id else None,
    )


def _trace_id(answer: Answer) -> str | None:
    return error_fields(json_or_none(answer.content))[2]


_SET_CREDENTIAL_HINT: Final = (
    "Set a token with `nbtui token set` or the ACEDATACLOUD_API_TOKEN variable"
)
_CODE_WORDS: Final[dict[str, tuple[str, str | None]]] = {
    "token_mismatched": (
        "The token is not valid for this API",
        "Use a token created for the Nano Banana service in the AceData Cloud console",
    ),
    "bad_request": (
        "The service rejected the request as malformed",
        "Check the task ids and options; nbtui does not retry this",
    ),
    "api_not_implemented": (
        "The service does not implement this call",
        "The base URL may point at a different service or version",
    ),
    "disabled": (
        "The token or this API is disabled",
        "Enable it in the AceData Cloud console, or use another token",
    ),
    "no_token": ("No API token was sent", _SET_CREDENTIAL_HINT),
    "invalid_token": ("The API token is not valid", None),
    "token_expired": ("The API token has expired", None),
    "used_up": (
        "Your AceData Cloud balance is used up",
        "Top up the balance in the AceData Cloud console, then try again",
    ),
    "forbidden": (
        "The provider's safety filter refused this request",
        "Change the prompt or the images; refused requests are not charged",
    ),
    "no_api": (
        "There is no such API at this address: the base URL or path is wrong",
        "Check the base URL (the default is https://api.acedata.cloud)",
    ),
    "request_too_large": (
        "The request is too large for the service",
        "Use images up to 10 MB each, or pass image URLs instead of data: URLs",
    ),
    "too_many_requests": ("The service is rate limiting requests (too many requests)", None),
}


def describe(
    status: int, code: str | None, *, creating: bool
) -> tuple[type[ApiError], str, str | None]:
    """(error class, summary, hint) for an HTTP status and API code; hint None = class default.

    `forbidden` means the safety filter only when creating images; on a read it is a refusal.
    """
    if status == 401:
        cls: type[ApiError] = AuthError
        summary = "The API token was refused"
    elif status == 429:
        cls, summary = RateLimited, "The service is rate limiting requests (too many requests)"
    elif status >= 500:
        cls, summary = ServerError, "The service had a temporary problem"
    elif status == 403:
        cls, summary = RequestRejected, "The service refused the request"
    elif status == 404:
        cls, summary = RequestRejected, "Nothing answers at this address"
    elif status == 413:
        cls, summary = RequestRejected, "The request is too large for the service"
    elif 400 <= status < 500:
        cls, summary = RequestRejected, "The service rejected the request"
    else:
        cls, summary = ProtocolError, "The server answered with an unexpected HTTP status"
    hint: str | None = None
    if status == 404 and code != "no_api":
        hint = "Check the base URL (the default is https://api.acedata.cloud)"
    if code == "forbidden" and not creating:
        summary, hint = "The service refused access", "The token may not be allowed to do this"
    elif code in _CODE_WORDS and cls is not ServerError:
        summary, hint = _CODE_WORDS[code]
    if cls is RequestRejected and hint is None:
        hint = "Check the request; nbtui does not retry it"
    return cls, summary, hint


def raise_embedded_error(data: Mapping[str, Any], answer: Answer, *, redact: Redact) -> None:
    """A 2xx answer that is an error body (`success: false` + `error`): raise it, typed by code."""
    if data.get("success") is not False and not isinstance(data.get("error"), Mapping):
        return
    code, server_message, trace_id = error_fields(data)
    status = {
        "invalid_token": 401,
        "token_expired": 401,
        "too_many_requests": 429,
        "api_error": 500,
        "used_up": 403,
        "forbidden": 403,
        "no_api": 404,
        "request_too_large": 413,
    }.get(code or "", 400)
    cls, summary, hint = describe(status, code, creating=answer.creating)
    message = f"{summary}: {server_message}" if server_message else summary
    raise cls(
        redact(message),
        status=answer.status,
        code=code,
        trace_id=trace_id,
        hint=hint,
        **request_facts(answer),
    )


def request_facts(answer: Answer) -> dict[str, Any]:
    """What every error made from `answer` says about its request: method, URL, and (for a
    create, never retried since a retry can bill a second task) that it is not retryable."""
    facts: dict[str, Any] = {"method": answer.method, "url": answer.url}
    if answer.creating:
        facts["retryable"] = False
    return facts


def ok_json(answer: Answer, *, host: str, redact: Redact, now: float) -> Any:
    """The JSON of a 2xx answer; any other status or a non-JSON body raises."""
    if not 200 <= answer.status < 300:
        raise http_error(answer, host=host, redact=redact, now=now)
    try:
        return parse_json(answer.content, answer.headers)
    except NotJson as problem:
        raise not_json_error(answer, problem, host=host, redact=redact) from None


def shape_error(answer: Answer, detail: str, *, redact: Redact) -> ProtocolError:
    """A JSON answer that does not hold what the contract promises."""
    return ProtocolError(
        redact(f"The answer does not have the shape the API promises: {detail}"),
        status=answer.status,
        trace_id=_trace_id(answer),
        **request_facts(answer),
    )


def not_json_error(answer: Answer, problem: NotJson, *, host: str, redact: Redact) -> ProtocolError:
    """An answer that is not JSON at all: empty, an HTML page, cut off."""
    if problem.kind == "empty":
        message = "The server answered with an empty body instead of JSON"
    elif problem.kind == "html":
        message = (
            "The server answered with an HTML page instead of JSON: a proxy or gateway "
            f"in front of {host} may be failing"
        )
    else:
        message = "The answer is not valid JSON (it may have been cut off)"
        if problem.detail:
            message += f": {problem.detail}"
    return ProtocolError(redact(message), status=answer.status, **request_facts(answer))


def http_error(answer: Answer, *, host: str, redact: Redact, now: float) -> ApiError:
    """Map a non-2xx answer to the error table of docs/api.md ("Errors"); `now` (Unix
    seconds) dates a `Retry-After` given as an HTTP date."""
    status = answer.status
    body: Any = None
    problem: NotJson | None = None
    try:
        body = parse_json(answer.content, answer.headers)
    except NotJson as exc:
        problem = exc
    code, server_message, trace_id = error_fields(body)
    if 500 <= status < 600 and problem is not None:
        return not_json_error(answer, problem, host=host, redact=redact)
    facts = request_facts(answer)
    if 300 <= status < 400:
        location = answer.headers.get("location", "")
        where = f" to {location}" if location else ""
        return RequestRejected(
            redact(
                f"The server answered with a redirect{where}; nbtui does not follow "
                "redirects, so the token is never sent anywhere else"
            ),
            status=status,
            code=code,
            trace_id=trace_id,
            hint="Set the base URL to the address the API really answers at",
            **facts,
        )
    cls, summary, hint = describe(status, code, creating=answer.creating)
    if problem is not None and problem.kind == "html" and status != 429:
        summary += " (the answer was an HTML page, not the API's JSON)"
    message = summary
    if server_message and server_message.strip().rstrip(".") != summary.rstrip("."):
        message = f"{summary}: {server_message.strip()}"
    kwargs: dict[str, Any] = {"status": status, "code": code, "trace_id": trace_id, **facts}
    if hint is not None:
        kwargs["hint"] = redact(hint)
    if cls is RateLimited:
        retry_after = parse_retry_after(answer.headers.get("retry-after"), now)
        return RateLimited(redact(message), retry_after=retry_after, **kwargs)
    return cls(redact(message), **kwargs)
