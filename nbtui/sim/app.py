"""The simulator's HTTP face: the Nano Banana API of `API.md`, plus image hosting and admin.

Routes:
- `POST /nano-banana/tasks` — `retrieve` (one record; an unknown id answers 404 with code
  `not_found`, since API.md names no code for it) and `retrieve_batch` (`{"items", "count"}`,
  unknown ids simply missing). `retrieve_batch` without `ids` is the unofficial list mode
  (`limit`, `offset`, `created_at_min`, `created_at_max`, `type`, `application_id`,
  `user_id`): the account's tasks, newest first, `count` holding the total that match (as the
  provider's web app reads it). With `SimConfig.allow_listing=False` it is refused: 400
  `bad_request` or 403 `forbidden` (`listing_refusal_status`).
- `POST /nano-banana/images` — `generate`/`edit`, validated as API.md §2. `async: true` or a
  `callback_url` answers at once `{"success": true, "task_id", "trace_id"}` (the callback is
  recorded in the request, never called); otherwise the call waits until the task ends (at most
  `sync_wait_cap` s, then 504) and answers its `response` (failed: 500 `api_error`, moderated:
  403 `forbidden`).
- `GET /images/{name}.png` — a small generated PNG; no token needed (one that arrives anyway is
  recorded, so tests can prove it never does).
- `/_sim/...` — admin routes for tests in other processes; no token, never faulted.
- anything else — 404 `no_api`.

API routes check `Authorization: Bearer <token>` when `SimConfig.token` is set: a missing
header and a wrong token both answer 401 `invalid_token` (the status a client must treat as
"ask for a new token"). Error bodies are `{"success": false, "error": {"code", "message"},
"trace_id"}` as API.md §3.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, get_args

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from nbtui.sim.images import png_for_name
from nbtui.sim.state import Fault, Outcome, SimConfig, SimRequest, SimState

__all__ = [
    "ASPECT_RATIOS",
    "RESOLUTIONS",
    "InProcessSim",
    "create_app",
    "image_app",
    "in_process",
]

ASPECT_RATIOS = frozenset({"1:1", "3:2", "2:3", "16:9", "9:16", "4:3", "3:4"})
RESOLUTIONS = frozenset({"1K", "2K", "4K"})
MAX_IMAGE_URL_BYTES = 10 * 1024 * 1024
HUGE_PADDING_BYTES = 10 * 1024 * 1024
_JSON = "application/json"
_IMAGE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

_HTML_PAGES = {
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
}


class _Invalid:
    """Marks a request body that is not JSON."""


_INVALID = _Invalid()


@dataclass
class _Answer:
    """What an API handler wants to say, before faults get their hands on it."""

    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        return _dumps(self.payload)

    def response(self) -> Response:
        return Response(self.encode(), self.status, self.headers, media_type=_JSON)


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _error(status: int, code: str, message: str, **headers: str) -> _Answer:
    body = {
        "success": False,
        "error": {"code": code, "message": message},
        "trace_id": str(uuid.uuid4()),
    }
    return _Answer(status, body, dict(headers))


def _bad_request(message: str) -> _Answer:
    return _error(400, "bad_request", message)


def _state(request: Request) -> SimState:
    state = request.app.state.sim
    assert isinstance(state, SimState)
    return state


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _auth(request: Request, token: str | None) -> tuple[bool, bool, _Answer | None]:
    """(had a header, token accepted, the 401 to answer if refused)."""
    header = request.headers.get("authorization")
    had_auth = header is not None
    if token is None:
        return had_auth, True, None
    if not header:
        return (
            had_auth,
            False,
            _error(
                401,
                "invalid_token",
                "No API token was sent: add an `Authorization: Bearer <token>` header.",
            ),
        )
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or value.strip() != token:
        return had_auth, False, _error(401, "invalid_token", "The API token is not valid.")
    return had_auth, True, None


def _parse_body(raw: bytes) -> Any:
    if not raw.strip():
        return _INVALID
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _INVALID


def _retry_after_header(value: float | str | None) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        return {"retry-after": value}
    if float(value).is_integer():
        return {"retry-after": str(int(value))}
    return {"retry-after": f"{value:g}"}


# ---------------------------------------------------------------------- faults


class _ResetResponse(Response):
    """Promise a body, send part of it, then drop the connection.

    Over uvicorn the raised error makes the server close the socket mid-body (the client sees
    an incomplete read); through `httpx.ASGITransport` it reaches the client as the
    `httpx.ReadError` a real reset would have raised.
    """

    def __init__(self, body: bytes) -> None:
        super().__init__(status_code=200, media_type=_JSON)
        self.full = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", _JSON.encode()),
                    (b"content-length", str(len(self.full) + 1024).encode()),
                ],
            }
        )
        partial = self.full[: max(1, len(self.full) // 2)]
        await send({"type": "http.response.body", "body": partial, "more_body": True})
        raise httpx.ReadError(SIM_RESET_MESSAGE)


SIM_RESET_MESSAGE = "connection reset by the nbtui simulator (injected fault)"


def _html(status: int, retry_after: float | str | None) -> Response:
    title = _HTML_PAGES[status]
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return Response(page, status, _retry_after_header(retry_after), media_type="text/html")


def _early_fault(fault: Fault) -> Response | None:
    """Faults that replace the answer outright, as a proxy or an overloaded service would."""
    kind = fault.kind
    if kind == "429":
        return _error(
            429,
            "too_many_requests",
            "Too many requests: slow down.",
            **_retry_after_header(fault.retry_after),
        ).response()
    if kind == "500":
        return _error(500, "api_error", "fetch failed").response()
    if kind == "502_html":
        return _html(502, fault.retry_after)
    if kind == "503_html":
        return _html(503, fault.retry_after)
    if kind == "504":
        return _error(504, "api_error", "The upstream service timed out.").response()
    if kind == "empty":
        return Response(b"", 200, media_type=_JSON)
    if kind == "wrong_shape":
        return Response(_dumps({"items": {"oops": 1}, "count": "many"}), 200, media_type=_JSON)
    if kind == "401":
        return _error(401, "token_expired", "The API token has expired or was revoked.").response()
    if kind == "403_used_up":
        return _error(
            403, "used_up", "Your balance is used up: top up your account to continue."
        ).response()
    return None


def _late_fault(fault: Fault, answer: _Answer) -> Response:
    """Faults that spoil the real answer: cut it, bloat it, drop a field, drop the line."""
    kind = fault.kind
    if kind == "truncated":
        body = answer.encode()
        return Response(body[: max(1, len(body) // 2)], 200, media_type=_JSON)
    if kind == "reset":
        return _ResetResponse(answer.encode())
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
    return _Answer(answer.status, payload, answer.headers).response()


# ---------------------------------------------------------------------- the API

_Handler = Callable[[SimState, Any, Request], Awaitable[_Answer]]


async def _serve_api(request: Request, handler: _Handler) -> Response:
    state = _state(request)
    config = state.config
    raw = await request.body()
    body = _parse_body(raw) if len(raw) <= config.max_body_bytes else _INVALID
    had_auth, auth_ok, refusal = _auth(request, config.token)
    state.log_request(
        SimRequest(
            at=state.now(),
            method=request.method,
            path=request.url.path,
            body=None if body is _INVALID else body,
            had_auth=had_auth,
            auth_ok=auth_ok,
            host=request.url.netloc,
        )
    )
    if config.latency > 0:
        await asyncio.sleep(config.latency)
    fault = state.take_fault()
    if fault is not None and fault.kind == "slow":
        await asyncio.sleep(fault.delay)
        fault = None
    if fault is not None:
        early = _early_fault(fault)
        if early is not None:
            return early
    if refusal is not None:
        answer = refusal
    elif len(raw) > config.max_body_bytes:
        answer = _error(413, "request_too_large", "The request body is too large.")
    elif body is _INVALID:
        answer = _bad_request("The request body must be JSON.")
    elif not isinstance(body, dict):
        answer = _bad_request("The request body must be a JSON object.")
    else:
        answer = await handler(state, body, request)
    if fault is not None:
        return _late_fault(fault, answer)
    return answer.response()


def _optional_number(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"`{key}` must be a number.")
    return float(value)


def _optional_int(body: dict[str, Any], key: str, default: int) -> int:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"`{key}` must be a non-negative integer.")
    return value


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"`{key}` must be a string.")
    return value


async def _answer_tasks(state: SimState, body: Any, request: Request) -> _Answer:
    action = body.get("action")
    base = _origin(request)
    if action is None:
        return _bad_request("`action` is required: `retrieve` or `retrieve_batch`.")
    if action == "retrieve":
        task_id = body.get("id")
        if not isinstance(task_id, str) or not task_id.strip():
            return _bad_request("`id` is required for `retrieve`.")
        records = state.records([task_id], base_url=base)
        if not records:
            return _error(404, "not_found", f"No task with id {task_id}.")
        return _Answer(200, records[0])
    if action == "retrieve_batch":
        ids = body.get("ids")
        if ids is None:
            return _list_tasks(state, body, base)
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return _bad_request("`ids` must be a list of task id strings.")
        items = state.records(ids, base_url=base)
        return _Answer(200, {"items": items, "count": len(items)})
    return _bad_request(f"Unknown action {action!r}: use `retrieve` or `retrieve_batch`.")


def _list_tasks(state: SimState, body: dict[str, Any], base: str) -> _Answer:
    config = state.config
    if not config.allow_listing:
        if config.listing_refusal_status == 403:
            return _error(403, "forbidden", "Listing tasks is not allowed for this token.")
        return _bad_request("`ids` is required for `retrieve_batch`.")
    try:
        limit = min(_optional_int(body, "limit", config.list_default_limit), config.list_max_limit)
        offset = _optional_int(body, "offset", 0)
        created_min = _optional_number(body, "created_at_min")
        created_max = _optional_number(body, "created_at_max")
        type_ = _optional_str(body, "type")
        application_id = _optional_str(body, "application_id")
        user_id = _optional_str(body, "user_id")
    except ValueError as exc:
        return _bad_request(str(exc))
    items, total = state.list_records(
        limit=limit,
        offset=offset,
        created_at_min=created_min,
        created_at_max=created_max,
        type_=type_,
        application_id=application_id,
        user_id=user_id,
        base_url=base,
    )
    return _Answer(200, {"items": items, "count": total})


def _validate_image_request(body: dict[str, Any]) -> _Answer | None:
    """API.md §2, field by field; unknown models and extra fields are let through."""
    action = body.get("action")
    if action not in ("generate", "edit"):
        return _bad_request("`action` is required: `generate` or `edit`.")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return _bad_request("`prompt` is required.")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        return _bad_request("`model` must be a string.")
    image_urls = body.get("image_urls")
    if image_urls is not None:
        if not isinstance(image_urls, list) or not all(isinstance(u, str) for u in image_urls):
            return _bad_request("`image_urls` must be a list of URLs.")
        for url in image_urls:
            if not url.startswith(("http://", "https://", "data:image/")):
                return _bad_request(
                    "`image_urls` entries must be http(s) URLs or data:image/... URIs."
                )
            if len(url.encode("utf-8")) > MAX_IMAGE_URL_BYTES:
                return _error(413, "request_too_large", "An image is larger than 10 MB.")
    if action == "edit" and not image_urls:
        return _bad_request("`image_urls` is required for `edit`.")
    count = body.get("count")
    if count is not None and (
        isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 4
    ):
        return _bad_request("`count` must be an integer from 1 to 4.")
    aspect = body.get("aspect_ratio")
    if aspect is not None and aspect not in ASPECT_RATIOS:
        return _bad_request(f"`aspect_ratio` must be one of {', '.join(sorted(ASPECT_RATIOS))}.")
    resolution = body.get("resolution")
    if resolution is not None and resolution not in RESOLUTIONS:
        return _bad_request("`resolution` must be 1K, 2K or 4K.")
    if "async" in body and not isinstance(body["async"], bool):
        return _bad_request("`async` must be true or false.")
    callback = body.get("callback_url")
    if callback is not None and (
        not isinstance(callback, str) or not callback.startswith(("http://", "https://"))
    ):
        return _bad_request("`callback_url` must be an http(s) URL.")
    return None


async def _answer_images(state: SimState, body: Any, request: Request) -> _Answer:
    problem = _validate_image_request(body)
    if problem is not None:
        return problem
    task = state.create_from_request(body)
    if body.get("async") is True or body.get("callback_url"):
        return _Answer(200, {"success": True, "task_id": task.id, "trace_id": task.trace_id})
    # Synchronous: keep the connection open until the task ends, as the real service does.
    cap = state.config.sync_wait_cap
    deadline = time.monotonic() + cap
    while True:
        now = state.now()
        finished = task.finished_at
        if finished is not None and now >= finished:
            break
        left = deadline - time.monotonic()
        if left <= 0:
            answer = _error(
                504,
                "api_error",
                f"The task did not finish within {cap:g} s; retrieve it by its task id.",
            )
            answer.payload["task_id"] = task.id
            return answer
        wait = (finished - now) if finished is not None else left
        await asyncio.sleep(min(max(wait, 0.005), 0.25, left))
    record = state.records([task.id], base_url=_origin(request))[0]
    response = record["response"]
    if response.get("success") is True:
        return _Answer(200, response)
    return _Answer(403 if task.outcome == "moderated" else 500, response)


async def _tasks_route(request: Request) -> Response:
    return await _serve_api(request, _answer_tasks)


async def _images_route(request: Request) -> Response:
    return await _serve_api(request, _answer_images)


async def _image_file(request: Request) -> Response:
    """A generated PNG; image hosts need no token, and one arriving here is a leak."""
    state = _state(request)
    header = request.headers.get("authorization")
    token = state.config.token
    state.log_request(
        SimRequest(
            at=state.now(),
            method=request.method,
            path=request.url.path,
            body=None,
            had_auth=header is not None,
            auth_ok=bool(header and token and header.partition(" ")[2].strip() == token),
            host=request.url.netloc,
        )
    )
    name = request.path_params["name"]
    if not _IMAGE_NAME_RE.match(name):
        return Response(b"not found", 404, media_type="text/plain")
    return Response(
        png_for_name(name, state.config.image_size),
        200,
        {"cache-control": "public, max-age=31536000, immutable"},
        media_type="image/png",
    )


async def _no_api(request: Request) -> Response:
    return _error(404, "no_api", f"No API at {request.url.path}.").response()


# ---------------------------------------------------------------------- admin


def _admin_json(payload: Any, status: int = 200) -> Response:
    return Response(_dumps(payload), status, media_type=_JSON)


async def _admin_body(request: Request) -> dict[str, Any] | None:
    raw = await request.body()
    if not raw.strip():
        return {}
    body = _parse_body(raw)
    return body if isinstance(body, dict) else None


async def _admin_faults(request: Request) -> Response:
    state = _state(request)
    body = await _admin_body(request)
    if body is None:
        return _admin_json({"ok": False, "error": "body must be a JSON object"}, 400)
    try:
        kind = str(body["kind"])
        times = int(body.get("times", 1))
        if times > 100_000:
            raise ValueError("times must be at most 100000")
        retry_after = body.get("retry_after")
        if retry_after is not None and not isinstance(retry_after, str):
            retry_after = float(retry_after)
        delay = float(body.get("delay", 0))
        after = body.get("after_requests")
        if after is None:
            state.inject_fault(kind, times=times, retry_after=retry_after, delay=delay)
        else:
            state.schedule_fault(
                kind, after_requests=int(after), times=times, retry_after=retry_after, delay=delay
            )
    except (KeyError, TypeError, ValueError) as exc:
        return _admin_json({"ok": False, "error": f"bad fault: {exc}"}, 400)
    return _admin_json({"ok": True, "pending": len(state.pending_faults)})


async def _admin_clear_faults(request: Request) -> Response:
    _state(request).clear_faults()
    return _admin_json({"ok": True})


_SPEC_KEYS = frozenset(
    {
        "prompt",
        "outcome",
        "pending_seconds",
        "running_seconds",
        "created_at",
        "task_id",
        "count",
        "delivered",
        "error_code",
        "error_message",
        "action",
        "model",
        "aspect_ratio",
        "resolution",
        "image_urls",
    }
)


async def _admin_tasks(request: Request) -> Response:
    """`{"count": n}` seeds n mixed tasks; `{"demo": true}` the demo set; `{"spec": {...}}` or
    `{"specs": [...]}` makes tasks with `add_task` keywords; `{"raw": {...}}` stores a record."""
    state = _state(request)
    body = await _admin_body(request)
    if body is None:
        return _admin_json({"ok": False, "error": "body must be a JSON object"}, 400)
    ids: list[str] = []
    try:
        if body.get("demo"):
            after = body.get("rate_limit_after", 6)
            if after is not None and (isinstance(after, bool) or not isinstance(after, int)):
                raise TypeError("rate_limit_after must be an integer or null")
            ids += state.seed_demo(rate_limit_after=after)
        if "count" in body:
            ids += state.seed(int(body["count"]))
        specs = body.get("specs", [])
        if "spec" in body:
            specs = [body["spec"], *specs]
        if not isinstance(specs, list):
            raise TypeError("specs must be a list")
        for spec in specs:
            if not isinstance(spec, dict) or not set(spec) <= _SPEC_KEYS:
                raise ValueError(f"a spec may hold only {sorted(_SPEC_KEYS)}")
            outcome = spec.get("outcome")
            if outcome is not None and outcome not in get_args(Outcome):
                raise ValueError(f"unknown outcome {outcome!r}")
            ids.append(state.add_task(**spec))
        raw = body.get("raw")
        if raw is not None:
            if not isinstance(raw, dict):
                raise TypeError("raw must be an object")
            state.add_raw(raw)
            if isinstance(raw.get("id"), str):
                ids.append(raw["id"])
    except (TypeError, ValueError) as exc:
        return _admin_json({"ok": False, "error": str(exc)}, 400)
    return _admin_json({"ok": True, "ids": ids})


async def _admin_task(request: Request) -> Response:
    state = _state(request)
    record = state.record(request.path_params["task_id"], base_url=_origin(request))
    if record is None:
        return _admin_json({"ok": False, "error": "no such task"}, 404)
    return _admin_json(record)


async def _admin_requests(request: Request) -> Response:
    state = _state(request)
    summary = state.request_summary()
    summary["requests"] = [
        {
            "at": r.at,
            "method": r.method,
            "path": r.path,
            "had_auth": r.had_auth,
            "auth_ok": r.auth_ok,
            "host": r.host,
        }
        for r in state.requests[-500:]
    ]
    return _admin_json(summary)


async def _admin_reset(request: Request) -> Response:
    _state(request).reset()
    return _admin_json({"ok": True})


_CONFIG_KEYS: dict[str, type] = {
    "token": str,
    "allow_listing": bool,
    "listing_refusal_status": int,
    "latency": float,
    "fault_rate": float,
    "pending_seconds": float,
    "running_seconds": float,
    "failure_ratio": float,
    "moderation_ratio": float,
    "sync_wait_cap": float,
}


async def _admin_config(request: Request) -> Response:
    """Change a few settings of a running simulator (e.g. refuse listing, add latency)."""
    state = _state(request)
    body = await _admin_body(request)
    if body is None or not set(body) <= set(_CONFIG_KEYS):
        return _admin_json({"ok": False, "error": f"settable: {sorted(_CONFIG_KEYS)}"}, 400)
    for key, value in body.items():
        kind = _CONFIG_KEYS[key]
        if value is None and key == "token":
            state.config.token = None
            continue
        if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            return _admin_json({"ok": False, "error": f"{key} must be {kind.__name__}"}, 400)
        setattr(state.config, key, value)
    return _admin_json({"ok": True})


def _image_route() -> Route:
    return Route("/images/{name}.png", _image_file, methods=["GET"])


def create_app(config: SimConfig | None = None, *, state: SimState | None = None) -> Starlette:
    """The whole simulator as an ASGI app; its memory is `app.state.sim` (a `SimState`)."""
    sim = state if state is not None else SimState(config)
    app = Starlette(
        routes=[
            Route("/nano-banana/tasks", _tasks_route, methods=["POST"]),
            Route("/nano-banana/images", _images_route, methods=["POST"]),
            _image_route(),
            Route("/_sim/faults", _admin_faults, methods=["POST"]),
            Route("/_sim/faults/clear", _admin_clear_faults, methods=["POST"]),
            Route("/_sim/tasks", _admin_tasks, methods=["POST"]),
            Route("/_sim/tasks/{task_id}", _admin_task, methods=["GET"]),
            Route("/_sim/requests", _admin_requests, methods=["GET"]),
            Route("/_sim/reset", _admin_reset, methods=["POST"]),
            Route("/_sim/config", _admin_config, methods=["POST"]),
            Route("/{path:path}", _no_api, methods=_ALL_METHODS),
        ]
    )
    app.state.sim = sim
    return app


def image_app(state: SimState | None = None, config: SimConfig | None = None) -> Starlette:
    """Only the image route, for serving images from a second host or port.

    Pass the API app's `state` so both share one request log.
    """
    sim = state if state is not None else SimState(config)
    app = Starlette(routes=[_image_route()])
    app.state.sim = sim
    return app


@dataclass(frozen=True)
class InProcessSim:
    """A simulator app and its state for in-process use through `httpx.ASGITransport`."""

    app: Starlette
    state: SimState
    base_url: str = "http://sim.test"

    def transport(self) -> httpx.ASGITransport:
        return httpx.ASGITransport(app=self.app)

    def client(self, token: str | None = "sim-token") -> httpx.AsyncClient:  # noqa: S107
        """A plain httpx client on this app (for tests of the simulator itself)."""
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(
            transport=self.transport(), base_url=self.base_url, headers=headers
        )


def in_process(
    config: SimConfig | None = None, *, base_url: str = "http://sim.test"
) -> InProcessSim:
    """Build an app whose image URLs point at `base_url` (the client's base URL)."""
    state = SimState(config, base_url=base_url)
    return InProcessSim(create_app(state=state), state, base_url)
