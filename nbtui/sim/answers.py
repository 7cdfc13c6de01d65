"""What the simulator's API answers with: JSON answers, error bodies, and the injected faults
that replace or spoil them (docs/simulator.md, "Faults")."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from nbtui.sim.faults import ERROR_CODES, Fault

__all__ = [
    "HUGE_PADDING_BYTES",
    "JSON",
    "SIM_RESET_MESSAGE",
    "Answer",
    "bad_request",
    "dumps",
    "early_fault",
    "error",
    "late_fault",
]

HUGE_PADDING_BYTES = 10 * 1024 * 1024
JSON = "application/json"
SIM_RESET_MESSAGE = "connection reset by the nbtui simulator (injected fault)"

_HTML_PAGES = {
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
}


@dataclass
class Answer:
    """What an API handler wants to say, before faults get their hands on it."""

    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        return dumps(self.payload)

    def response(self) -> Response:
        return Response(self.encode(), self.status, self.headers, media_type=JSON)


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error(status: int, code: str, message: str, **headers: str) -> Answer:
    body = {
        "success": False,
        "error": {"code": code, "message": message},
        "trace_id": str(uuid.uuid4()),
    }
    return Answer(status, body, dict(headers))


def bad_request(message: str) -> Answer:
    return error(400, "bad_request", message)


def retry_after_header(value: float | str | None) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        return {"retry-after": value}
    if float(value).is_integer():
        return {"retry-after": str(int(value))}
    return {"retry-after": f"{value:g}"}


# ---------------------------------------------------------------------- faults


class ResetResponse(Response):
    """Promise a body, send part of it, then drop the connection.

    Over uvicorn the raised error makes the server close the socket mid-body (the client sees
    an incomplete read); through `httpx.ASGITransport` it reaches the client as the
    `httpx.ReadError` a real reset would have raised.
    """

    def __init__(self, body: bytes) -> None:
        super().__init__(status_code=200, media_type=JSON)
        self.full = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", JSON.encode()),
                    (b"content-length", str(len(self.full) + 1024).encode()),
                ],
            }
        )
        partial = self.full[: max(1, len(self.full) // 2)]
        await send({"type": "http.response.body", "body": partial, "more_body": True})
        raise httpx.ReadError(SIM_RESET_MESSAGE)


def _html_page(status: int, retry_after: float | str | None) -> Response:
    title = _HTML_PAGES[status]
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return Response(page, status, retry_after_header(retry_after), media_type="text/html")


def early_fault(fault: Fault) -> Answer | Response | None:
    """Faults that replace the answer outright, as a proxy or an overloaded service would.

    JSON error bodies come back as an `Answer`, so the caller can still drop their `success`
    key when the simulator is told to (`SimConfig.error_success_key`)."""
    kind = fault.kind
    answer: Answer | None = None
    if kind == "429":
        answer = error(
            429,
            "too_many_requests",
            "Too many requests: slow down.",
            **retry_after_header(fault.retry_after),
        )
    elif kind == "500":
        answer = error(500, "api_error", "fetch failed")
    elif kind == "502_html":
        return _html_page(502, fault.retry_after)
    elif kind == "503_html":
        return _html_page(503, fault.retry_after)
    elif kind == "504":
        answer = error(504, "api_error", "The upstream service timed out.")
    elif kind == "empty":
        return Response(b"", 200, media_type=JSON)
    elif kind == "wrong_shape":
        return Response(dumps({"items": {"oops": 1}, "count": "many"}), 200, media_type=JSON)
    elif kind == "401":
        answer = error(401, "token_expired", "The API token has expired or was revoked.")
    elif kind == "403_used_up":
        answer = error(403, "used_up", "Your balance is used up: top up your account to continue.")
    elif kind in ERROR_CODES:
        status, message = ERROR_CODES[kind]
        answer = error(
            fault.status or status,
            kind,
            fault.message or message,
            **retry_after_header(fault.retry_after),
        )
    if answer is not None and fault.success_key is False:
        answer.payload.pop("success", None)
    return answer


def late_fault(fault: Fault, answer: Answer) -> Response:
    """Faults that spoil the real answer: cut it, bloat it, drop a field, drop the line."""
    kind = fault.kind
    if kind == "truncated":
        body = answer.encode()
        return Response(body[: max(1, len(body) // 2)], 200, media_type=JSON)
    if kind == "reset":
        return ResetResponse(answer.encode())
    payload = answer.payload
    if kind == "huge" and isinstance(payload, dict):
        payload = {**payload, "_padding": "x" * HUGE_PADDING_BYTES}
    elif kind == "missing_id" and isinstance(payload, dict):
        items = payload.get("items")
        if isinstance(items, list):
            if items and isinstance(items[0], dict):
                first = {k: v for k, v in items[0].items() if k != "id"}
                items = [first, *items[1:]]
            else:
                items = [{"type": "images", "request": {}, "created_at": time.time()}]
            payload = {**payload, "items": items}
        else:
            payload = {k: v for k, v in payload.items() if k != "id"}
    return Answer(answer.status, payload, answer.headers).response()
