"""The simulator's HTTP face: the Nano Banana API of docs/api.md, plus image hosting and admin.

Routes:
- `POST /nano-banana/tasks` — `retrieve` (one record; an unknown id answers 404 with code
  `not_found`: nothing documents the real answer, docs/api.md says why this one) and
  `retrieve_batch` (`{"items", "count"}`, unknown ids simply missing). `retrieve_batch`
  without `ids` is the unofficial list mode (`limit`, `offset`, `created_at_min`,
  `created_at_max`, `type`, `application_id`, `user_id`): the account's tasks, newest first,
  `count` holding the total that match (as the provider's web app reads it). With
  `SimConfig.allow_listing=False` it is refused: 400 `bad_request` or 403 `forbidden`.
- `POST /nano-banana/images` — `generate`/`edit`, validated by `nbtui.sim.validation`.
  `async: true` or a `callback_url` answers at once `{"success": true, "task_id",
  "trace_id"}` (the callback is recorded in the request, never called); otherwise the call
  waits until the task ends (at most `sync_wait_cap` s, then 504) and answers the Images API's
  result (failed: 500 `api_error`, moderated: 403 `forbidden`).
- `GET /images/{name}.png` — a generated 512x512 landscape seeded by the task's prompt; no
  token needed (one that arrives anyway is recorded, so tests can prove it never does).
- `/_sim/...` — admin routes (`nbtui.sim.admin`) for tests in other processes.
- another method on an API route — 405 with an error body and `Allow: POST`.
- anything else — 404 `no_api`.

API routes check `Authorization: Bearer <token>` when `SimConfig.token` is set: no header
answers 400 `no_token` (as the published OpenAPI file lists it), a wrong token 401
`invalid_token`. Error bodies are `{"success": false, "error": {"code", "message"},
"trace_id"}`, without `success` when `SimConfig.error_success_key` is false.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nbtui.sim.admin import admin_routes
from nbtui.sim.answers import (
    SIM_RESET_MESSAGE,
    Answer,
    bad_request,
    early_fault,
    error,
    late_fault,
)
from nbtui.sim.config import SimConfig, SimRequest
from nbtui.sim.images import picture_png
from nbtui.sim.records import sync_answer
from nbtui.sim.state import SimState
from nbtui.sim.validation import (
    ASPECT_RATIOS,
    INVALID,
    RESOLUTIONS,
    optional_int,
    optional_number,
    optional_str,
    parse_body,
    validate_image_request,
)

__all__ = [
    "ASPECT_RATIOS",
    "RESOLUTIONS",
    "SIM_RESET_MESSAGE",
    "InProcessSim",
    "create_app",
    "image_app",
    "in_process",
]

_IMAGE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
_API_PATHS = ("/nano-banana/tasks", "/nano-banana/images")


def _state(request: Request) -> SimState:
    state = request.app.state.sim
    assert isinstance(state, SimState)
    return state


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _auth(request: Request, token: str | None) -> tuple[bool, bool, Answer | None]:
    """(had a header, token accepted, the error to answer if refused)."""
    header = request.headers.get("authorization")
    had_auth = header is not None
    if token is None:
        return had_auth, True, None
    if not header or not header.strip():
        return had_auth, False, error(400, "no_token", "No token specified for the request.")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or value.strip() != token:
        return had_auth, False, error(401, "invalid_token", "The API token is not valid.")
    return had_auth, True, None


def _ids_of(body: Any) -> list[str]:
    """The task ids a Tasks API request is about (for faults aimed at one task)."""
    if not isinstance(body, dict):
        return []
    ids = [body["id"]] if isinstance(body.get("id"), str) else []
    if isinstance(body.get("ids"), list):
        ids += [i for i in body["ids"] if isinstance(i, str)]
    return ids


def _without_success(answer: Answer) -> Answer:
    if answer.status >= 400 and isinstance(answer.payload, dict) and "error" in answer.payload:
        answer.payload.pop("success", None)
    return answer


# ---------------------------------------------------------------------- the API

_Handler = Callable[[SimState, Any, Request], Awaitable[Answer]]


async def _serve_api(request: Request, handler: _Handler) -> Response:
    state = _state(request)
    config = state.config
    raw = await request.body()
    too_large = len(raw) > config.max_body_bytes
    body = INVALID if too_large else parse_body(raw)
    had_auth, auth_ok, refusal = _auth(request, config.token)
    path = request.url.path
    state.log_request(
        SimRequest(
            at=state.now(),
            method=request.method,
            path=path,
            body=None if body is INVALID else body,
            had_auth=had_auth,
            auth_ok=auth_ok,
            host=request.url.netloc,
        )
    )
    if config.latency > 0:
        await asyncio.sleep(config.latency)
    fault = state.take_fault(path, _ids_of(body))
    if fault is not None and fault.kind == "slow":
        await asyncio.sleep(fault.delay)
        fault = None
    keep_success = config.error_success_key
    if fault is not None:
        if fault.success_key is not None:
            keep_success = fault.success_key
        early = early_fault(fault)
        if isinstance(early, Answer):
            return (early if keep_success else _without_success(early)).response()
        if early is not None:
            return early
    if refusal is not None:
        answer = refusal
    elif too_large:
        answer = error(413, "request_too_large", "Request body is too large.")
    elif body is INVALID:
        answer = bad_request("The request body must be JSON.")
    elif not isinstance(body, dict):
        answer = bad_request("The request body must be a JSON object.")
    else:
        answer = await handler(state, body, request)
    if not keep_success:
        answer = _without_success(answer)
    if fault is not None:
        return late_fault(fault, answer)
    return answer.response()


async def _answer_tasks(state: SimState, body: Any, request: Request) -> Answer:
    action = body.get("action")
    base = _origin(request)
    if action is None:
        return bad_request("`action` is required: `retrieve` or `retrieve_batch`.")
    if action == "retrieve":
        task_id = body.get("id")
        if not isinstance(task_id, str) or not task_id.strip():
            return bad_request("`id` is required for `retrieve`.")
        records = state.records([task_id], base_url=base)
        if not records:
            return error(404, "not_found", "No task with this id.")
        return Answer(200, records[0])
    if action == "retrieve_batch":
        ids = body.get("ids")
        if ids is None:
            return _list_tasks(state, body, base)
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return bad_request("`ids` must be a list of task id strings.")
        items = state.records(ids, base_url=base)
        return Answer(200, {"items": items, "count": len(items)})
    return bad_request("Unknown `action`: use `retrieve` or `retrieve_batch`.")


def _list_tasks(state: SimState, body: dict[str, Any], base: str) -> Answer:
    config = state.config
    if not config.allow_listing:
        if config.listing_refusal_status == 403:
            return error(403, "forbidden", "Listing tasks is not allowed for this token.")
        return bad_request("`ids` is required for `retrieve_batch`.")
    try:
        limit = min(optional_int(body, "limit", config.list_default_limit), config.list_max_limit)
        offset = optional_int(body, "offset", 0)
        created_min = optional_number(body, "created_at_min")
        created_max = optional_number(body, "created_at_max")
        type_ = optional_str(body, "type")
        application_id = optional_str(body, "application_id")
        user_id = optional_str(body, "user_id")
    except ValueError as exc:
        return bad_request(str(exc))
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
    return Answer(200, {"items": items, "count": total})


async def _answer_images(state: SimState, body: Any, request: Request) -> Answer:
    problem = validate_image_request(body)
    if problem is not None:
        return problem
    task = state.create_from_request(body)
    if body.get("async") is True or body.get("callback_url"):
        return Answer(200, {"success": True, "task_id": task.id, "trace_id": task.trace_id})
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
            answer = error(
                504,
                "api_error",
                f"The task did not finish within {cap:g} s; retrieve it by its task id.",
            )
            answer.payload["task_id"] = task.id
            return answer
        wait = (finished - now) if finished is not None else left
        await asyncio.sleep(min(max(wait, 0.005), 0.25, left))
    status, payload = sync_answer(task, state.image_base(_origin(request)))
    return Answer(status, payload)


async def _tasks_route(request: Request) -> Response:
    return await _serve_api(request, _answer_tasks)


async def _images_route(request: Request) -> Response:
    return await _serve_api(request, _answer_images)


async def _wrong_method(request: Request) -> Response:
    """Another method on an API route: 405, as any HTTP service says it (not `no_api`)."""
    answer = error(405, "method_not_allowed", f"Use POST for {request.url.path}.")
    if not _state(request).config.error_success_key:
        answer = _without_success(answer)
    response = answer.response()
    response.headers["allow"] = "POST"
    return response


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
    prompt, index = _picture_of(state, name)
    return Response(
        picture_png(prompt, index, state.config.image_size),
        200,
        {"cache-control": "public, max-age=31536000, immutable"},
        media_type="image/png",
    )


def _picture_of(state: SimState, name: str) -> tuple[str, int]:
    """What `{task id}-{index}` shows: image `index` drawn from that task's prompt, so a
    prompt's images look related; an unknown name is drawn from the name itself."""
    task_id, _, number = name.rpartition("-")
    task = state.task(task_id) if task_id and number.isdigit() else None
    prompt = task.request.get("prompt") if task is not None else None
    if isinstance(prompt, str) and prompt:
        return prompt, int(number)
    return name, 0


async def _no_api(request: Request) -> Response:
    answer = error(404, "no_api", f"No API at {request.url.path}.")
    if not _state(request).config.error_success_key:
        answer = _without_success(answer)
    return answer.response()


def _image_route() -> Route:
    return Route("/images/{name}.png", _image_file, methods=["GET"])


def create_app(config: SimConfig | None = None, *, state: SimState | None = None) -> Starlette:
    """The whole simulator as an ASGI app; its memory is `app.state.sim` (a `SimState`)."""
    sim = state if state is not None else SimState(config)
    others = [m for m in _ALL_METHODS if m != "POST"]
    app = Starlette(
        routes=[
            Route("/nano-banana/tasks", _tasks_route, methods=["POST"]),
            Route("/nano-banana/images", _images_route, methods=["POST"]),
            *(Route(path, _wrong_method, methods=others) for path in _API_PATHS),
            _image_route(),
            *admin_routes(),
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
