"""The async client for the Nano Banana Tasks and Images APIs (docs/api.md), over one httpx client.

Design points, each for a reason:

- One `httpx.AsyncClient` per `NanoBananaClient`: pooled HTTP/1.1 keep-alive connections,
  explicit timeouts, and an injectable transport (the simulator plugs in through
  `httpx.ASGITransport`).
- Redirects are never followed, so the token can only ever reach the configured base URL's
  host; a redirect becomes a `RequestRejected` naming where the server wanted to send us.
- Reads (`retrieve`, `retrieve_batch`, `list_recent`) retry 429, 5xx, timeouts, connection
  errors and unreadable answers with `Retry-After` or capped exponential backoff; creates are
  never retried, since a retry can create and bill a second task.
- Answers are streamed and capped (`max_body_bytes`), so a runaway proxy cannot eat the memory.
- Every error is one of `nbtui.api.errors`, with words a user can act on. The token lives only
  in the Authorization header of requests to the base URL; it is scrubbed from every message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar

import httpx

from nbtui import __version__
from nbtui.api.backoff import Backoff, parse_retry_after
from nbtui.api.errors import (
    ApiError,
    AuthError,
    CreateOutcomeUnknown,
    ProtocolError,
    RateLimited,
    RequestRejected,
    ServerError,
    TransportError,
)
from nbtui.api.state import Task

if TYPE_CHECKING:
    from nbtui.config import Settings

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "IMAGES_PATH",
    "TASKS_PATH",
    "USER_AGENT",
    "BatchResult",
    "CreatedTask",
    "NanoBananaClient",
    "RetryEvent",
]

log = logging.getLogger(__name__)

TASKS_PATH: Final = "/nano-banana/tasks"
IMAGES_PATH: Final = "/nano-banana/images"
USER_AGENT: Final = f"nbtui/{__version__}"
#: The biggest answer nbtui reads. A batch of 50 records is a few hundred kB; 32 MB leaves
#: room for odd records (e.g. data: URLs echoed back in `request`) but not for a runaway.
DEFAULT_MAX_BODY_BYTES: Final = 32 * 1024 * 1024
#: A `Retry-After` longer than this is not slept through inside one call: the call fails with
#: `RateLimited(retry_after=...)` at once and the caller (the monitor) schedules the wait.
DEFAULT_MAX_RETRY_WAIT: Final = 30.0
#: Words shown instead of the token if a server ever echoes it back.
_REDACTED: Final = "[token hidden]"
_ACTIONS: Final = ("generate", "edit")
_IMAGE_URL_PREFIXES: Final = ("http://", "https://", "data:image/")
_CREATE_MAYBE_HINT: Final = (
    "nbtui did not retry, so that no second task is created and billed; look at your recent "
    "tasks (the AceData Cloud console, or nbtui's recent-task list) before trying again"
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryEvent:
    """A read failed and will be tried again after `delay` seconds (shown in the status bar)."""

    attempt: int  #: the attempt that failed, 1-based
    delay: float
    error: ApiError

    @property
    def message(self) -> str:
        """e.g. "Rate limited; retrying in 8 s (attempt 2)"."""
        what = "Rate limited" if isinstance(self.error, RateLimited) else self.error.short
        delay = self.delay
        when = f"{delay:.0f}" if delay >= 10 or delay.is_integer() else f"{delay:.1f}"
        return f"{what}; retrying in {when} s (attempt {self.attempt + 1})"


@dataclass(slots=True)
class BatchResult:
    """The merged answer of a `retrieve_batch`: every requested id lands in exactly one map."""

    #: Every requested id that was answered; asked-for-but-missing ids are `Task.not_found`.
    tasks: dict[str, Task] = field(default_factory=dict)
    #: Ids whose state is unknown (their chunk failed after retries, or the answer held
    #: records nbtui could not attribute): callers keep their last good data.
    errors: dict[str, ApiError] = field(default_factory=dict)

    def raise_first(self) -> None:
        """Raise the first error, if any (for callers that want all-or-nothing)."""
        for error in self.errors.values():
            raise error

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True, slots=True)
class CreatedTask:
    """A task the Images API accepted with `async: true`; poll it with the Tasks API."""

    task_id: str
    raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Answer:
    """One HTTP answer, fully read (within the size cap)."""

    status: int
    headers: httpx.Headers
    content: bytes
    path: str = TASKS_PATH


class _Secret:
    """Holds the token so that no repr, vars() dump or debugger summary shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None) -> None:
        self._value = value

    def reveal(self) -> str | None:
        return self._value

    def __repr__(self) -> str:
        return "<token set>" if self._value else "<no token>"

    __str__ = __repr__


class _NotJson(Exception):
    """The body is not JSON; `kind` says what it is instead (empty, html, invalid)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind)
        self.kind = kind
        self.detail = detail


class NanoBananaClient:
    """Async client for the Nano Banana API. Use as `async with NanoBananaClient(...) as c:`."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = 30.0,
        batch_size: int = 50,
        max_concurrency: int = 4,
        max_attempts: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff: Backoff | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_retry: Callable[[RetryEvent], None] | None = None,
        rng: random.Random | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        url = httpx.URL(base_url.strip().rstrip("/"))
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base URL must be an http:// or https:// address, not {base_url!r}")
        if url.userinfo:
            raise ValueError("base URL must not contain a user name or password")
        self.base_url = str(url)
        self.host = url.netloc.decode("ascii", "replace")
        #: The proxy httpx takes from the environment for this URL, as words (no credentials).
        self.proxy = _proxy_for(url) if transport is None else None
        self._token = _Secret(token or None)
        self.timeout = timeout
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency
        self.max_attempts = max_attempts
        self.max_body_bytes = max_body_bytes
        self.max_retry_wait = max_retry_wait
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self._on_retry = on_retry
        self._rng = rng or random.Random()  # jitter, not cryptography
        self._clock = clock
        #: Total HTTP requests sent (every attempt counts).
        self.request_count = 0
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(
                max_connections=max_concurrency + 2,
                max_keepalive_connections=max_concurrency + 2,
                keepalive_expiry=30.0,
            ),
            headers={
                "accept": "application/json",
                "content-type": "application/json",
                "user-agent": USER_AGENT,
            },
            follow_redirects=False,
            http1=True,
            http2=False,
            transport=transport,
            trust_env=True,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        token: str | None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        **kw: Any,
    ) -> NanoBananaClient:
        """A client configured from the user's settings; keyword arguments override them."""
        options: dict[str, Any] = {
            "timeout": settings.timeout,
            "batch_size": settings.batch_size,
            "max_concurrency": settings.max_concurrency,
            "max_attempts": settings.max_attempts,
        }
        options.update(kw)
        return cls(settings.base_url, token, transport=transport, **options)

    def __repr__(self) -> str:
        return (
            f"NanoBananaClient(base_url={self.base_url!r}, token={self._token!r}, "
            f"requests={self.request_count})"
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def has_token(self) -> bool:
        return self._token.reveal() is not None

    # ------------------------------------------------------------------ the public calls

    async def retrieve(self, task_id: str) -> Task:
        """One task by id; a 404 that carries an API error (any code but `no_api`, with or
        without `success`) means the service does not know it (docs/api.md, "Errors")."""
        task_id = task_id.strip()
        if not task_id:
            raise ValueError("a task id is needed")
        wanted = task_id.lower()

        def interpret(answer: _Answer) -> Task:
            if answer.status == 404 and _is_missing_task(_json_or_none(answer.content)):
                return Task.not_found(task_id)
            data = self._ok_json(answer)
            if isinstance(data, Mapping) and _too_deep(data, MAX_RECORD_DEPTH + 2):
                error = self._unreadable_record(
                    f"it is nested more than {MAX_RECORD_DEPTH} levels deep"
                )
                error.retryable, error.hint = False, ""
                raise error
            if isinstance(data, Mapping):
                if isinstance(data.get("id"), str):
                    if data["id"].strip().lower() != wanted:
                        raise self._shape_error(
                            answer, f"it describes task {data['id']!r}, not the one asked for"
                        )
                    return Task.from_raw(data)
                items = data.get("items")
                if isinstance(items, list):
                    for item in items:
                        item_id = item.get("id") if isinstance(item, Mapping) else None
                        if isinstance(item_id, str) and item_id.strip().lower() == wanted:
                            return Task.from_raw(item)
                    return Task.not_found(task_id)
                _raise_embedded_error(data, answer, self)
            raise self._shape_error(answer, f"expected a task record but got {_kind(data)}")

        return await self._read(TASKS_PATH, {"id": task_id, "action": "retrieve"}, interpret)

    async def retrieve_batch(self, ids: Sequence[str]) -> BatchResult:
        """Many tasks: de-duplicated, chunked by `batch_size`, at most `max_concurrency` chunks
        in flight, merged. Every requested id ends up in `tasks` or in `errors`, never both.
        """
        unique = list(dict.fromkeys(i.strip() for i in ids if i and i.strip()))
        result = BatchResult()
        if not unique:
            return result
        chunks = [unique[i : i + self.batch_size] for i in range(0, len(unique), self.batch_size)]
        gate = asyncio.Semaphore(self.max_concurrency)
        stopped: list[AuthError] = []
        found: dict[str, Task] = {}
        errors: dict[str, ApiError] = {}

        async def run(chunk: list[str]) -> None:
            async with gate:
                if stopped:
                    errors.update(dict.fromkeys(chunk, stopped[0]))
                    return
                try:
                    tasks, unknown = await self._retrieve_chunk(chunk)
                except AuthError as error:
                    stopped.append(error)
                    errors.update(dict.fromkeys(chunk, error))
                except ApiError as error:
                    errors.update(dict.fromkeys(chunk, error))
                else:
                    found.update(tasks)
                    errors.update(unknown)

        await _run_all([run(chunk) for chunk in chunks])
        for task_id in unique:
            if task_id in found:
                result.tasks[task_id] = found[task_id]
            elif task_id in errors:
                result.errors[task_id] = errors[task_id]
        return result

    async def list_recent(
        self, *, limit: int = 50, offset: int = 0, created_at_min: float | None = None
    ) -> list[Task]:
        """The account's recent image tasks, through the unofficial list filters of
        `retrieve_batch` (docs/api.md, "Tasks API"). The service may refuse them for API
        tokens: then this raises the typed error and callers fall back to ids entered by hand.
        """
        if not 1 <= limit <= 1000:
            raise ValueError("limit must be between 1 and 1000")
        if offset < 0:
            raise ValueError("offset must not be negative")
        body: dict[str, Any] = {
            "action": "retrieve_batch",
            "type": "images",
            "limit": limit,
            "offset": offset,
        }
        if created_at_min is not None:
            body["created_at_min"] = created_at_min

        def interpret(answer: _Answer) -> list[Task]:
            items = self._items(answer)
            return [
                Task.from_raw(item)
                for item in items
                if isinstance(item, Mapping) and isinstance(item.get("id"), str) and item["id"]
            ]

        try:
            return await self._read(TASKS_PATH, body, interpret)
        except RequestRejected as error:
            error.hint = (
                "Listing recent tasks uses filters the service does not document and may not "
                "allow for API tokens; add task ids by hand instead"
            )
            raise

    async def create_images(
        self,
        *,
        prompt: str,
        action: str = "generate",
        model: str | None = None,
        image_urls: Sequence[str] | None = None,
        count: int | None = None,
        aspect_ratio: str | None = None,
        resolution: str | None = None,
    ) -> CreatedTask:
        """Start an image task (`async: true`) and return its id. Never retried: a retry can
        create and bill a second task. Raises `ValueError` for a request that cannot be valid.
        """
        body = _create_body(
            prompt=prompt,
            action=action,
            model=model,
            image_urls=image_urls,
            count=count,
            aspect_ratio=aspect_ratio,
            resolution=resolution,
        )
        try:
            answer = await self._send(IMAGES_PATH, body, creating=True)
            data = self._ok_json(answer)
            if isinstance(data, Mapping):
                task_id = _created_task_id(data)
                if task_id is not None:
                    return CreatedTask(task_id=task_id, raw=dict(data))
                _raise_embedded_error(data, answer, self)
            raise self._shape_error(
                answer, f"no task id in it (looked at task_id, data.task_id and id): {_kind(data)}"
            )
        except (ServerError, ProtocolError) as error:
            self._tag(error, IMAGES_PATH)
            unknown = CreateOutcomeUnknown(
                f"{error.message.rstrip('.')}; the task may or may not have been created",
                cause=error,
                status=error.status,
                code=error.code,
                trace_id=error.trace_id,
                hint=_CREATE_MAYBE_HINT,
            )
            self._tag(unknown, IMAGES_PATH)
            unknown.attempts = error.attempts
            raise unknown from error
        except ApiError as error:
            error.retryable = False
            self._tag(error, IMAGES_PATH)
            raise

    # ------------------------------------------------------------------ internals

    async def _retrieve_chunk(
        self, chunk: list[str]
    ) -> tuple[dict[str, Task], dict[str, ApiError]]:
        """One `retrieve_batch` request (with retries), split into found, not found, unknown."""
        items = await self._read(
            TASKS_PATH, {"ids": chunk, "action": "retrieve_batch"}, self._items
        )
        # Ids match whatever their case; two spellings of one id both get its record.
        wanted: dict[str, list[str]] = {}
        for task_id in chunk:
            wanted.setdefault(task_id.lower(), []).append(task_id)
        tasks: dict[str, Task] = {}
        bad: dict[str, ApiError] = {}
        unreadable = 0
        for item in items:
            if isinstance(item, _Unreadable):
                if item.task_id is None:
                    unreadable += 1
                for asked in wanted.get((item.task_id or "").strip().lower(), ()):
                    bad.setdefault(asked, self._unreadable_record(item.reason))
                continue
            item_id = item.get("id") if isinstance(item, Mapping) else None
            if not isinstance(item_id, str) or not item_id.strip():
                unreadable += 1
                continue
            for asked in wanted.get(item_id.strip().lower(), ()):
                if asked not in tasks:
                    tasks[asked] = Task.from_raw(item)
        for asked in tasks:
            bad.pop(asked, None)  # a readable copy of the same record wins
        missing = [task_id for task_id in chunk if task_id not in tasks and task_id not in bad]
        if not unreadable:
            tasks.update({task_id: Task.not_found(task_id) for task_id in missing})
            return tasks, bad
        noun = "record" if unreadable == 1 else "records"
        error = ProtocolError(
            f"The service returned {unreadable} {noun} without a task id, so the state of "
            f"{len(missing)} task(s) in this batch is unknown",
            status=200,
            hint="The other tasks of the batch were read; nbtui keeps the last known state",
        )
        error.method, error.url = "POST", self.base_url + TASKS_PATH
        return tasks, {**bad, **dict.fromkeys(missing, error)}

    def _unreadable_record(self, reason: str) -> ProtocolError:
        """The error of one task whose record in an otherwise good answer could not be read."""
        error = ProtocolError(
            f"Unreadable answer: the service's record of this task could not be read ({reason})",
            status=200,
            hint="The other tasks of the batch were read; nbtui keeps this one's last known "
            "state and asks again at the next refresh",
        )
        error.method, error.url = "POST", self.base_url + TASKS_PATH
        return error

    def _items(self, answer: _Answer) -> list[Any]:
        """The elements of `items`; one that cannot be read becomes `_Unreadable` in its place
        (the body is then split at the top level and each element parsed alone)."""
        try:
            data = self._ok_json(answer)
        except ProtocolError:
            split = _split_items(answer.content) if 200 <= answer.status < 300 else None
            if split is None:
                raise
            return [_read_item(item) for item in split]
        if isinstance(data, Mapping):
            items = data.get("items")
            if isinstance(items, list):
                return [_checked_item(item) for item in items]
            if "items" not in data:
                _raise_embedded_error(data, answer, self)
            raise self._shape_error(answer, f"`items` is {_kind(items)}, not a list")
        raise self._shape_error(answer, f"expected an object with `items` but got {_kind(data)}")

    async def _read(
        self, path: str, body: Mapping[str, Any], interpret: Callable[[_Answer], T]
    ) -> T:
        """POST with retries: transient errors are retried up to `max_attempts` attempts."""
        attempt = 1
        while True:
            try:
                answer = await self._send(path, body)
                return interpret(answer)
            except ApiError as error:
                error.attempts = attempt
                self._tag(error, path)
                delay = self._retry_delay(error, attempt)
                if delay is None:
                    raise
                event = RetryEvent(attempt=attempt, delay=delay, error=error)
                log.info("%s %s: %s", "POST", path, event.message)
                if self._on_retry is not None:
                    try:
                        self._on_retry(event)
                    except Exception:
                        log.exception("on_retry callback failed")
                await self._sleep(delay)
                attempt += 1

    def _retry_delay(self, error: ApiError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None to give up now."""
        if not error.retryable or attempt >= self.max_attempts:
            return None
        if isinstance(error, RateLimited) and error.retry_after is not None:
            if error.retry_after > self.max_retry_wait:
                return None  # too long to hold a call open; the caller schedules it
            return error.retry_after
        return self.backoff.delay(attempt, self._rng)

    async def _send(self, path: str, body: Mapping[str, Any], *, creating: bool = False) -> _Answer:
        """One HTTP request, its answer read within the size cap and the overall timeout."""
        headers: dict[str, str] = {}
        token = self._token.reveal()
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        request = self._http.build_request("POST", path, content=content, headers=headers)
        url = str(request.url)
        self.request_count += 1
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._http.send(request, stream=True)
                try:
                    data = await self._read_body(response)
                finally:
                    await response.aclose()
        except ApiError as error:
            error.method, error.url = "POST", url
            raise
        except httpx.DecodingError:
            failure: ApiError = ProtocolError(
                "The answer could not be decoded (its compression is broken)",
                status=response.status_code,
            )
            failure.method, failure.url = "POST", url
            raise failure from None
        except (TimeoutError, httpx.RequestError) as exc:
            failure = self._transport_error(exc, creating=creating)
            failure.method, failure.url = "POST", url
            raise failure from None
        return _Answer(response.status_code, response.headers, data, path)

    async def _read_body(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise self._too_big(response.status_code, int(declared))
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_big(response.status_code, None)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_big(self, status: int, declared: int | None) -> ProtocolError:
        limit = self.max_body_bytes // (1024 * 1024)
        size = f" ({declared // (1024 * 1024)} MB)" if declared else ""
        error = ProtocolError(
            f"The answer is larger than nbtui reads{size}; it stopped after {limit} MB",
            status=status,
            hint="A proxy or the service sent far more than a task list; check the base URL",
        )
        error.retryable = False  # the same request would get the same flood
        return error

    def _ok_json(self, answer: _Answer) -> Any:
        """The JSON of a 2xx answer; any other status or a non-JSON body raises."""
        if not 200 <= answer.status < 300:
            raise self._http_error(answer)
        try:
            return _parse_json(answer.content, answer.headers)
        except _NotJson as problem:
            raise self._not_json_error(answer, problem) from None

    def _shape_error(self, answer: _Answer, detail: str) -> ProtocolError:
        return ProtocolError(
            self._redact(f"The answer does not have the shape the API promises: {detail}"),
            status=answer.status,
            trace_id=_trace_id(answer),
        )

    def _not_json_error(self, answer: _Answer, problem: _NotJson) -> ProtocolError:
        if problem.kind == "empty":
            message = "The server answered with an empty body instead of JSON"
        elif problem.kind == "html":
            message = (
                "The server answered with an HTML page instead of JSON: a proxy or gateway "
                f"in front of {self.host} may be failing"
            )
        else:
            message = "The answer is not valid JSON (it may have been cut off)"
            if problem.detail:
                message += f": {problem.detail}"
        return ProtocolError(self._redact(message), status=answer.status)

    def _http_error(self, answer: _Answer) -> ApiError:
        """Map a non-2xx answer to the error table of docs/api.md ("Errors")."""
        status = answer.status
        body: Any = None
        problem: _NotJson | None = None
        try:
            body = _parse_json(answer.content, answer.headers)
        except _NotJson as exc:
            problem = exc
        code, server_message, trace_id = _error_fields(body)
        if 500 <= status < 600 and problem is not None:
            return self._not_json_error(answer, problem)
        if 300 <= status < 400:
            location = answer.headers.get("location", "")
            where = f" to {location}" if location else ""
            return RequestRejected(
                self._redact(
                    f"The server answered with a redirect{where}; nbtui does not follow "
                    "redirects, so the token is never sent anywhere else"
                ),
                status=status,
                code=code,
                trace_id=trace_id,
                hint="Set the base URL to the address the API really answers at",
            )
        cls, summary, hint = _describe(status, code, creating=answer.path == IMAGES_PATH)
        if problem is not None and problem.kind == "html" and status != 429:
            summary += " (the answer was an HTML page, not the API's JSON)"
        message = summary
        if server_message and server_message.strip().rstrip(".") != summary.rstrip("."):
            message = f"{summary}: {server_message.strip()}"
        kwargs: dict[str, Any] = {"status": status, "code": code, "trace_id": trace_id}
        if hint is not None:
            kwargs["hint"] = self._redact(hint)
        if cls is RateLimited:
            retry_after = parse_retry_after(answer.headers.get("retry-after"), self._clock())
            return RateLimited(self._redact(message), retry_after=retry_after, **kwargs)
        return cls(self._redact(message), **kwargs)

    def _transport_error(self, exc: BaseException, *, creating: bool) -> ApiError:
        """Human words for a network failure; for a create, whether the task may exist."""
        host = self.host
        limit = f"{self.timeout:g} s"
        sent = True
        via = self.proxy
        if via is not None and isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            # The connection that failed is the one to the proxy: say so, not "the API host".
            reason = (
                f"no connection within {limit}"
                if isinstance(exc, httpx.ConnectTimeout)
                else _connect_reason(exc)
            )
            message, sent = f"Could not connect to the proxy {via} for {host}: {reason}", False
        elif isinstance(exc, httpx.ConnectTimeout):
            message, sent = f"Could not connect to {host} within {limit}", False
        elif isinstance(exc, httpx.PoolTimeout):
            message, sent = f"No free connection to {host} within {limit}", False
        elif isinstance(exc, httpx.ConnectError):
            message, sent = f"Could not connect to {host}: {_connect_reason(exc)}", False
        elif isinstance(exc, TimeoutError | httpx.TimeoutException):
            message = f"No answer from {host} within {limit}"
        elif isinstance(exc, httpx.RemoteProtocolError):
            message = f"{host} closed the connection without a complete answer"
        elif isinstance(exc, httpx.ReadError):
            message = f"The connection to {host} broke while reading the answer"
        elif isinstance(exc, httpx.WriteError):
            message = f"The connection to {host} broke while sending the request"
        elif isinstance(exc, httpx.UnsupportedProtocol):
            message, sent = f"The base URL's scheme is not supported: {exc}", False
        elif isinstance(exc, httpx.ProxyError):
            where = f" {via}" if via is not None else ""
            message, sent = f"The proxy{where} refused the connection to {host}: {exc}", False
        else:
            message = f"Network error talking to {host}: {exc or type(exc).__name__}"
        hint: str | None = None
        if via is not None and not sent:
            hint = "Check that proxy, or the proxy variables in nbtui's environment"
        if creating and sent:
            return CreateOutcomeUnknown(
                self._redact(f"{message}; the task may or may not have been created"),
                hint=_CREATE_MAYBE_HINT,
            )
        if creating:
            message += "; the task was not created"
        return TransportError(self._redact(message), hint=hint)

    def _tag(self, error: ApiError, path: str) -> None:
        """Attach the failed request's method and URL (never its headers) to the error."""
        if error.url is None:
            error.method, error.url = "POST", self.base_url + path

    def _redact(self, text: str) -> str:
        """Hide the token if a server echoed it back; a one-letter test token would garble
        every message, and no real token is that short."""
        token = self._token.reveal()
        if token and len(token) >= _MIN_REDACTED_LENGTH and token in text:
            text = text.replace(token, _REDACTED)
        return text


# ---------------------------------------------------------------------- helpers

_MIN_REDACTED_LENGTH = 6


async def _run_all(coros: list[Awaitable[None]]) -> None:
    """Run coroutines together; a bug in one cancels the rest and is raised as itself."""
    try:
        async with asyncio.TaskGroup() as group:
            for coro in coros:
                group.create_task(_as_coroutine(coro))
    except BaseExceptionGroup as failure:
        raise failure.exceptions[0] from None


async def _as_coroutine(awaitable: Awaitable[None]) -> None:
    await awaitable


def _parse_json(content: bytes, headers: httpx.Headers) -> Any:
    text = content.strip()
    if not text:
        raise _NotJson("empty")
    content_type = headers.get("content-type", "").lower()
    if "html" in content_type or text[:1] == b"<":
        raise _NotJson("html")
    try:
        return _loads(text)
    except UnicodeDecodeError:
        raise _NotJson("invalid", "it is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise _NotJson("invalid", f"{exc.msg} at character {exc.pos}") from None
    except RecursionError:
        raise _NotJson("invalid", "it is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise _NotJson("invalid", str(exc)) from None


def _finite_float(text: str) -> float | None:
    number = float(text)
    return number if math.isfinite(number) else None


def _loads(text: bytes | str) -> Any:
    """JSON as RFC 8259 has it: `NaN`, `Infinity` and numbers too big for a float (`1e400`)
    are not numbers, so they are read as null. Stored as floats they would crash formatting,
    make a record never equal to itself (NaN != NaN) and be written back as invalid JSON."""
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)


def _no_constant(_name: str) -> None:
    return None


#: Records nested deeper than this are not read: real ones are a few levels deep, and every
#: consumer (store, JSON viewer, `--json` output) would otherwise need unbounded recursion.
MAX_RECORD_DEPTH: Final = 100

# A JSON string (escapes included) or one structural character: enough to find where the
# elements of `items` begin and end without parsing them.
_JSON_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}:,]', re.DOTALL)
_QUOTE, _COLON, _COMMA = ord('"'), ord(":"), ord(",")
_OPEN_LIST, _OPEN_OBJECT = ord("["), ord("{")
_CLOSING = {ord("]"): _OPEN_LIST, ord("}"): _OPEN_OBJECT}


def _split_items(content: bytes) -> list[bytes] | None:
    """The elements of the top-level `items` array as raw bytes, or None when the body is not
    an object holding such an array. Scans strings and brackets only (no recursion), so one
    element Python's parser cannot read (nested 5,000 levels deep, a bad number) is isolated
    from the rest of the batch."""
    if not content.lstrip().startswith(b"{"):
        return None
    stack: list[int] = []
    items: list[bytes] | None = None
    previous = 0  # the last structural character seen at depth 1 (a key follows `{` or `,`)
    key = b""
    in_items = False
    start = 0
    for match in _JSON_TOKEN.finditer(content):
        token = match.group()
        first = token[0]
        depth = len(stack)
        if first == _QUOTE:
            if depth == 1 and previous in (_OPEN_OBJECT, _COMMA):
                key = token
            continue
        if first in _CLOSING:
            if not stack or stack[-1] != _CLOSING[first]:
                return None
            stack.pop()
            if in_items and len(stack) == 1:
                in_items = False
                last = content[start : match.start()]
                if items is not None and (last.strip() or items):
                    items.append(last)
            if not stack:
                return items if not content[match.end() :].strip() else None
        elif first in (_OPEN_LIST, _OPEN_OBJECT):
            if depth == 1 and first == _OPEN_LIST and previous == _COLON and key == b'"items"':
                in_items, start, items = True, match.end(), []
            stack.append(first)
        elif first == _COMMA and in_items and depth == 2 and items is not None:
            items.append(content[start : match.start()])
            start = match.end()
        if len(stack) == 1:
            previous = first
    return None


def _item_id(content: bytes) -> str | None:
    """The `id` of one raw record that could not be parsed, read from its first level."""
    depth = 0
    after_key = 0  # 1: saw "id" as a key, 2: and its colon
    for match in _JSON_TOKEN.finditer(content):
        token = match.group()
        first = token[0]
        if first in (_OPEN_LIST, _OPEN_OBJECT):
            depth += 1
        elif first in _CLOSING:
            depth -= 1
        elif depth == 1 and first == _QUOTE:
            if after_key == 2:
                try:
                    value = json.loads(token)
                except ValueError:
                    return None
                return value if isinstance(value, str) and value.strip() else None
            after_key = 1 if token == b'"id"' else 0
            continue
        elif depth == 1 and first == _COLON and after_key == 1:
            after_key = 2
            continue
        after_key = 0
    return None


def _too_deep(value: Any, limit: int = MAX_RECORD_DEPTH) -> bool:
    """Whether `value` nests lists/objects more than `limit` levels (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        children = current.values() if isinstance(current, dict) else current
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


@dataclass(frozen=True, slots=True)
class _Unreadable:
    """One element of `items` that could not be read; `task_id` when its id could be found."""

    task_id: str | None
    reason: str


def _read_item(content: bytes) -> Any:
    """One raw element of `items`: its value, or `_Unreadable` saying why not."""
    try:
        value = _loads(content)
    except RecursionError:
        return _Unreadable(_item_id(content), "it is nested too deeply to read")
    except ValueError as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        return _Unreadable(_item_id(content), f"it is not valid JSON ({detail})")
    return _checked_item(value)


def _checked_item(value: Any) -> Any:
    """`value`, or `_Unreadable` when it nests deeper than any consumer may safely follow."""
    if isinstance(value, dict | list) and _too_deep(value):
        task_id = value.get("id") if isinstance(value, dict) else None
        return _Unreadable(
            task_id if isinstance(task_id, str) and task_id.strip() else None,
            f"it is nested more than {MAX_RECORD_DEPTH} levels deep",
        )
    return value


def _json_or_none(content: bytes) -> Any:
    try:
        return _loads(content)
    except (ValueError, RecursionError):
        return None


def _is_missing_task(body: Any) -> bool:
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
    return api_error and _error_fields(body)[0] != "no_api"


def _error_fields(body: Any) -> tuple[str | None, str | None, str | None]:
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


def _trace_id(answer: _Answer) -> str | None:
    return _error_fields(_json_or_none(answer.content))[2]


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


def _describe(
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


def _raise_embedded_error(
    data: Mapping[str, Any], answer: _Answer, client: NanoBananaClient
) -> None:
    """A 2xx answer that is an error body (`success: false` + `error`): raise it, typed by code."""
    if data.get("success") is not False and not isinstance(data.get("error"), Mapping):
        return
    code, server_message, trace_id = _error_fields(data)
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
    cls, summary, hint = _describe(status, code, creating=answer.path == IMAGES_PATH)
    message = f"{summary}: {server_message}" if server_message else summary
    error = (
        RateLimited(client._redact(message), status=answer.status, code=code, trace_id=trace_id)
        if cls is RateLimited
        else cls(client._redact(message), status=answer.status, code=code, trace_id=trace_id)
    )
    if hint is not None:
        error.hint = hint
    raise error


def _proxy_for(url: httpx.URL) -> str | None:
    """The proxy the environment sets for `url` (as httpx with `trust_env` picks it), named
    with the variable it came from and without any user name or password; None if none."""
    import urllib.request

    proxies = urllib.request.getproxies_environment()
    scheme = url.scheme
    proxy = proxies.get(scheme)
    variable = f"{scheme.upper()}_PROXY"
    if not proxy:
        proxy, variable = proxies.get("all"), "ALL_PROXY"
    if not proxy:
        return None
    host = url.host.lower()
    for entry in (proxies.get("no") or "").split(","):
        entry = entry.strip().lower().lstrip(".")
        if "://" in entry:
            entry = entry.split("://", 1)[1]
        entry = entry.split(":", 1)[0] if entry.count(":") == 1 else entry  # host:port
        if entry == "*" or (entry and (host == entry or host.endswith("." + entry))):
            return None  # NO_PROXY exempts this host
    if "://" not in proxy:
        proxy = "http://" + proxy
    try:
        parsed = httpx.URL(proxy)
    except httpx.InvalidURL:
        return f"from {variable}"
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.scheme}://{parsed.host}{port} (from {variable})"


def _connect_reason(exc: httpx.ConnectError | httpx.ConnectTimeout) -> str:
    text = str(exc)
    lowered = text.lower()
    if "refused" in lowered or "all connection attempts failed" in lowered:
        return "connection refused"
    if "name or service not known" in lowered or "nodename" in lowered or "getaddrinfo" in lowered:
        return "the host name could not be resolved"
    if "certificate" in lowered or "ssl" in lowered or "tls" in lowered:
        return f"the TLS handshake failed ({text})"
    if "unreachable" in lowered:
        return "the network is unreachable"
    return text or "the connection failed"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


def _created_task_id(data: Mapping[str, Any]) -> str | None:
    """The id of a created task: `task_id`, then `data.task_id`, then `id` (docs/api.md,
    "Images API")."""
    candidates: list[Any] = [data.get("task_id")]
    inner = data.get("data")
    if isinstance(inner, Mapping):
        candidates.append(inner.get("task_id"))
    candidates.append(data.get("id"))
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return None


def _create_body(
    *,
    prompt: str,
    action: str,
    model: str | None,
    image_urls: Sequence[str] | None,
    count: int | None,
    aspect_ratio: str | None,
    resolution: str | None,
) -> dict[str, Any]:
    """The Images API body, validated locally (docs/api.md, "Images API") so nothing is billed
    for a typo."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("the prompt must not be empty")
    if action not in _ACTIONS:
        raise ValueError(f"action must be 'generate' or 'edit', not {action!r}")
    urls = list(image_urls or [])
    if isinstance(image_urls, str):
        raise ValueError("image_urls must be a list of URLs, not one string")
    if action == "edit" and not urls:
        raise ValueError("an edit needs at least one image URL (image_urls)")
    for url in urls:
        if not isinstance(url, str) or not url.startswith(_IMAGE_URL_PREFIXES):
            raise ValueError(
                f"image URLs must be http(s) URLs or data:image/... URLs, not {str(url)[:60]!r}"
            )
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
        raise ValueError("count must be a whole number from 1 to 4")
    if count is not None and not 1 <= count <= 4:
        raise ValueError(f"count must be from 1 to 4, not {count}")
    body: dict[str, Any] = {"action": action, "prompt": prompt, "async": True}
    if model:
        body["model"] = model
    if urls:
        body["image_urls"] = urls
    if count is not None:
        body["count"] = count
    if aspect_ratio:
        body["aspect_ratio"] = aspect_ratio
    if resolution:
        body["resolution"] = resolution
    return body
