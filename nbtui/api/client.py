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
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar

import httpx

from nbtui import __version__
from nbtui.api.answers import (
    MAX_RECORD_DEPTH,
    Answer,
    Unreadable,
    checked_item,
    json_kind,
    json_or_none,
    read_item,
    split_items,
    too_deep,
)
from nbtui.api.backoff import Backoff
from nbtui.api.errors import (
    ApiError,
    AuthError,
    CreateOutcomeUnknown,
    ProtocolError,
    RateLimited,
    RequestRejected,
    ServerError,
)
from nbtui.api.http_errors import is_missing_task, ok_json, raise_embedded_error, shape_error
from nbtui.api.images import create_body, created_task_id
from nbtui.api.state import Task
from nbtui.api.transport import proxy_for, tls_context, transport_error

if TYPE_CHECKING:
    from nbtui.config import Settings

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "IMAGES_PATH",
    "MAX_RECORD_DEPTH",
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
        self.proxy = proxy_for(url) if transport is None else None
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
            verify=tls_context() if transport is None else True,
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

        def interpret(answer: Answer) -> Task:
            if answer.status == 404 and is_missing_task(json_or_none(answer.content)):
                return Task.not_found(task_id)
            data = self._ok_json(answer)
            if isinstance(data, Mapping) and too_deep(data, MAX_RECORD_DEPTH + 2):
                raise self._unreadable_record(
                    f"it is nested more than {MAX_RECORD_DEPTH} levels deep",
                    url=answer.url,
                    retryable=False,
                    hint="",
                )
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
                raise_embedded_error(data, answer, redact=self._redact)
            raise self._shape_error(answer, f"expected a task record but got {json_kind(data)}")

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

        def interpret(answer: Answer) -> list[Task]:
            items = self._items(answer)
            return [
                Task.from_raw(item)
                for item in items
                if isinstance(item, Mapping) and isinstance(item.get("id"), str) and item["id"]
            ]

        try:
            return await self._read(TASKS_PATH, body, interpret)
        except RequestRejected as error:
            raise error.with_hint(
                "Listing recent tasks uses filters the service does not document and may not "
                "allow for API tokens; add task ids by hand instead"
            ) from error

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
        body = create_body(
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
                task_id = created_task_id(data)
                if task_id is not None:
                    return CreatedTask(task_id=task_id, raw=dict(data))
                raise_embedded_error(data, answer, redact=self._redact)
            looked = "looked at task_id, data.task_id and id"
            raise self._shape_error(answer, f"no task id in it ({looked}): {json_kind(data)}")
        except (ServerError, ProtocolError) as error:
            # An answer that went wrong after the request went out: the task may exist.
            raise CreateOutcomeUnknown(
                f"{error.message.rstrip('.')}; the task may or may not have been created",
                cause=error,
                status=error.status,
                code=error.code,
                trace_id=error.trace_id,
                method=error.method,
                url=error.url,
                attempts=error.attempts,
            ) from error

    # ------------------------------------------------------------------ internals

    async def _retrieve_chunk(
        self, chunk: list[str]
    ) -> tuple[dict[str, Task], dict[str, ApiError]]:
        """One `retrieve_batch` request (with retries), split into found, not found, unknown."""
        items = await self._read(
            TASKS_PATH, {"ids": chunk, "action": "retrieve_batch"}, self._items
        )
        url = self.base_url + TASKS_PATH  # the request's, named by the errors made here
        # Ids match whatever their case; two spellings of one id both get its record.
        wanted: dict[str, list[str]] = {}
        for task_id in chunk:
            wanted.setdefault(task_id.lower(), []).append(task_id)
        tasks: dict[str, Task] = {}
        bad: dict[str, ApiError] = {}
        unreadable = 0
        for item in items:
            if isinstance(item, Unreadable):
                if item.task_id is None:
                    unreadable += 1
                for asked in wanted.get((item.task_id or "").strip().lower(), ()):
                    bad.setdefault(asked, self._unreadable_record(item.reason, url=url))
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
            method="POST",
            url=url,
        )
        return tasks, {**bad, **dict.fromkeys(missing, error)}

    @staticmethod
    def _unreadable_record(
        reason: str, *, url: str, retryable: bool | None = None, hint: str | None = None
    ) -> ProtocolError:
        """The error of one task whose record in an otherwise good answer could not be read."""
        return ProtocolError(
            f"Unreadable answer: the service's record of this task could not be read ({reason})",
            status=200,
            hint=(
                "The other tasks of the batch were read; nbtui keeps this one's last known "
                "state and asks again at the next refresh"
            )
            if hint is None
            else hint,
            method="POST",
            url=url,
            retryable=retryable,
        )

    def _items(self, answer: Answer) -> list[Any]:
        """The elements of `items`; one that cannot be read becomes `Unreadable` in its place
        (the body is then split at the top level and each element parsed alone)."""
        try:
            data = self._ok_json(answer)
        except ProtocolError:
            split = split_items(answer.content) if 200 <= answer.status < 300 else None
            if split is None:
                raise
            return [read_item(item) for item in split]
        if isinstance(data, Mapping):
            items = data.get("items")
            if isinstance(items, list):
                return [checked_item(item) for item in items]
            if "items" not in data:
                raise_embedded_error(data, answer, redact=self._redact)
            raise self._shape_error(answer, f"`items` is {json_kind(items)}, not a list")
        raise self._shape_error(
            answer, f"expected an object with `items` but got {json_kind(data)}"
        )

    async def _read(
        self, path: str, body: Mapping[str, Any], interpret: Callable[[Answer], T]
    ) -> T:
        """POST with retries: transient errors are retried up to `max_attempts` attempts."""
        attempt = 1
        while True:
            try:
                answer = await self._send(path, body)
                return interpret(answer)
            except ApiError as failed:
                # The error of attempt n says so: a new error, the raised one unchanged.
                error = failed if failed.attempts == attempt else failed.with_attempts(attempt)
                delay = self._retry_delay(error, attempt)
                if delay is None:
                    if error is failed:
                        raise
                    # The copy keeps the original's cause (and hides the retry machinery).
                    raise error from failed.__cause__
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

    async def _send(self, path: str, body: Mapping[str, Any], *, creating: bool = False) -> Answer:
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
                    data = await self._read_body(response, url)
                finally:
                    await response.aclose()
        except httpx.DecodingError:
            raise ProtocolError(
                "The answer could not be decoded (its compression is broken)",
                status=response.status_code,
                method="POST",
                url=url,
                retryable=False if creating else None,
            ) from None
        except (TimeoutError, httpx.RequestError) as exc:
            raise transport_error(
                exc,
                host=self.host,
                timeout=self.timeout,
                proxy=self.proxy,
                creating=creating,
                redact=self._redact,
                url=url,
            ) from None
        return Answer(response.status_code, response.headers, data, url, creating)

    async def _read_body(self, response: httpx.Response, url: str) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise self._too_big(response.status_code, int(declared), url)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_big(response.status_code, None, url)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_big(self, status: int, declared: int | None, url: str) -> ProtocolError:
        limit = self.max_body_bytes // (1024 * 1024)
        size = f" ({declared // (1024 * 1024)} MB)" if declared else ""
        return ProtocolError(
            f"The answer is larger than nbtui reads{size}; it stopped after {limit} MB",
            status=status,
            hint="A proxy or the service sent far more than a task list; check the base URL",
            method="POST",
            url=url,
            retryable=False,  # the same request would get the same flood
        )

    def _ok_json(self, answer: Answer) -> Any:
        """The JSON of a 2xx answer; any other status or a non-JSON body raises."""
        return ok_json(answer, host=self.host, redact=self._redact, now=self._clock())

    def _shape_error(self, answer: Answer, detail: str) -> ProtocolError:
        return shape_error(answer, detail, redact=self._redact)

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
