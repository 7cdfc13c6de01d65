"""The client against the simulator, in-process (ASGITransport) and over a loopback socket.

Retry spacing is measured without waiting: the client's `sleep` is a recorder, so the delays
it asked for are exactly the spacing a real run would have, and the simulator's request log
gives the exact number of requests.
"""

from __future__ import annotations

import random
import socket
import time
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from nbtui import __version__
from nbtui.api.backoff import Backoff
from nbtui.api.client import NanoBananaClient, RetryEvent
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
from nbtui.api.models import TaskState
from nbtui.config import Settings

from .conftest import SEED, TOKEN, SimEnv

NOW = 1_757_183_036.0


def expected_backoff(n: int) -> list[float]:
    """The delays a client seeded with SEED draws for its first n retries."""
    rng = random.Random(SEED)
    return [Backoff().delay(attempt, rng) for attempt in range(1, n + 1)]


def finished_task(env: SimEnv, outcome: str = "succeeded", **kw: object) -> str:
    return env.state.add_task(
        outcome=outcome,  # type: ignore[arg-type]
        created_at=time.time() - 100,
        pending_seconds=1,
        running_seconds=1,
        **kw,  # type: ignore[arg-type]
    )


def unknown_id() -> str:
    return str(uuid.uuid4())


# ---------------------------------------------------------------------- the happy paths


async def test_retrieve_speaks_the_contract(env: SimEnv) -> None:
    task_id = finished_task(env, count=2)
    transport = env.counting()
    async with env.client(transport=transport) as client:
        task = await client.retrieve(task_id)
    assert task.state is TaskState.SUCCEEDED and len(task.image_urls) == 2
    assert task.raw is not None and task.raw["id"] == task_id
    [request] = env.api_requests()
    assert request.path == "/nano-banana/tasks"
    assert request.body == {"id": task_id, "action": "retrieve"}
    assert request.had_auth and request.auth_ok
    [headers] = transport.headers
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/json"
    assert headers["user-agent"] == f"nbtui/{__version__}"
    assert client.request_count == 1


async def test_retrieve_unknown_id_is_not_found(env: SimEnv) -> None:
    task_id = unknown_id()
    task = await env.client().retrieve(task_id)
    assert task.state is TaskState.NOT_FOUND and task.id == task_id and task.raw is None
    assert len(env.api_requests()) == 1


async def test_retrieve_failed_and_moderated_tasks(env: SimEnv) -> None:
    failed = finished_task(env, "failed", error_message="fetch failed")
    moderated = finished_task(env, "moderated")
    client = env.client()
    task = await client.retrieve(failed)
    assert task.state is TaskState.FAILED and task.error is not None
    task = await client.retrieve(moderated)
    assert task.state is TaskState.FAILED and task.error is not None and task.error.is_moderation


async def test_list_recent_uses_the_unofficial_filters(env: SimEnv) -> None:
    env.state.seed(6)
    tasks = await env.client().list_recent(limit=4, offset=1, created_at_min=0.0)
    assert len(tasks) == 4 and all(task.raw for task in tasks)
    [request] = env.api_requests()
    assert request.body == {
        "action": "retrieve_batch",
        "type": "images",
        "limit": 4,
        "offset": 1,
        "created_at_min": 0.0,
    }


@pytest.mark.parametrize(("status", "code"), [(400, "bad_request"), (403, "forbidden")])
async def test_list_recent_refused_says_to_add_ids_by_hand(
    env: SimEnv, status: int, code: str
) -> None:
    env.state.config.allow_listing = False
    env.state.config.listing_refusal_status = status
    with pytest.raises(RequestRejected) as caught:
        await env.client().list_recent()
    assert caught.value.status == status and caught.value.code == code
    assert "add task ids by hand" in str(caught.value)
    assert "safety filter" not in str(caught.value)
    assert len(env.api_requests()) == 1


async def test_create_images_async(env: SimEnv) -> None:
    client = env.client()
    created = await client.create_images(
        prompt="a red fox sim:succeed",
        model="nano-banana-2",
        count=2,
        aspect_ratio="16:9",
        resolution="2K",
    )
    assert env.state.task(created.task_id) is not None
    assert created.raw["task_id"] == created.task_id
    [request] = env.api_requests()
    assert request.path == "/nano-banana/images"
    assert request.body == {
        "action": "generate",
        "prompt": "a red fox sim:succeed",
        "async": True,
        "model": "nano-banana-2",
        "count": 2,
        "aspect_ratio": "16:9",
        "resolution": "2K",
    }
    task = await client.retrieve(created.task_id)
    assert task.state is TaskState.PENDING


async def test_create_edit_with_images(env: SimEnv) -> None:
    created = await env.client().create_images(
        prompt="make it night", action="edit", image_urls=["https://example.com/a.png"]
    )
    sim_task = env.state.task(created.task_id)
    assert sim_task is not None and sim_task.request["image_urls"] == ["https://example.com/a.png"]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"prompt": "   "}, "prompt must not be empty"),
        ({"prompt": "x", "action": "paint"}, "action must be"),
        ({"prompt": "x", "action": "edit"}, "needs at least one image URL"),
        ({"prompt": "x", "count": 5}, "from 1 to 4"),
        ({"prompt": "x", "count": 0}, "from 1 to 4"),
        ({"prompt": "x", "count": True}, "whole number"),
        ({"prompt": "x", "image_urls": ["ftp://x/y.png"]}, "http(s) URLs"),
        ({"prompt": "x", "image_urls": "https://x/y.png"}, "not one string"),
    ],
)
async def test_create_is_validated_locally(
    env: SimEnv, kwargs: dict[str, object], words: str
) -> None:
    client = env.client()
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        await client.create_images(**kwargs)  # type: ignore[arg-type]
    assert client.request_count == 0 and env.api_requests() == []


# ---------------------------------------------------------------------- errors, not retried


async def test_wrong_token_is_auth_error_never_retried(env: SimEnv) -> None:
    secret = "wrong-token-0123456789abcdef"
    client = env.client(token=secret)
    with pytest.raises(AuthError) as caught:
        await client.retrieve(finished_task(env))
    error = caught.value
    assert (error.status, error.code) == (401, "invalid_token")
    assert "nbtui token set" in str(error)
    assert len(env.api_requests()) == 1 and env.sleep.delays == []
    for text in (str(error), repr(error), error.short, repr(client), str(vars(client))):
        assert secret not in text


async def test_no_token_sends_no_header_and_gets_no_token(env: SimEnv) -> None:
    """A missing token is answered 400 `no_token`, as the published OpenAPI file lists it."""
    client = env.client(token=None)
    with pytest.raises(RequestRejected) as caught:
        await client.retrieve(unknown_id())
    assert (caught.value.status, caught.value.code) == (400, "no_token")
    assert "nbtui token set" in str(caught.value)
    [request] = env.api_requests()
    assert not request.had_auth
    assert "token=<no token>" in repr(client)


@pytest.mark.parametrize(
    ("kind", "cls", "status", "code", "words"),
    [
        ("401", AuthError, 401, "token_expired", "expired"),
        ("403_used_up", RequestRejected, 403, "used_up", "balance is used up"),
    ],
)
async def test_refusals_are_never_retried(
    env: SimEnv, kind: str, cls: type[ApiError], status: int, code: str, words: str
) -> None:
    env.state.inject_fault(kind, times=5)
    client = env.client()
    with pytest.raises(cls) as caught:
        await client.retrieve(finished_task(env))
    assert (caught.value.status, caught.value.code) == (status, code)
    assert words in str(caught.value) and caught.value.trace_id
    assert len(env.api_requests()) == 1 == client.request_count
    assert env.sleep.delays == [] and env.events == []


async def test_wrong_base_path_is_no_api(env: SimEnv) -> None:
    client = env.client(base_url=env.base_url + "/v9")
    with pytest.raises(RequestRejected) as caught:
        await client.retrieve(unknown_id())
    assert (caught.value.status, caught.value.code) == (404, "no_api")
    assert "base URL" in str(caught.value)
    assert client.request_count == 1


async def test_bad_request_from_the_service(env: SimEnv) -> None:
    client = env.client()
    with pytest.raises(RequestRejected) as caught:
        await client.create_images(prompt="x", aspect_ratio="5:1")
    assert (caught.value.status, caught.value.code) == (400, "bad_request")
    assert "aspect_ratio" in str(caught.value)
    assert client.request_count == 1


async def test_request_too_large(env: SimEnv) -> None:
    env.state.config.max_body_bytes = 2_000
    client = env.client()
    data_url = "data:image/png;base64," + "A" * 3_000
    with pytest.raises(RequestRejected) as caught:
        await client.create_images(prompt="x", action="edit", image_urls=[data_url])
    assert (caught.value.status, caught.value.code) == (413, "request_too_large")
    assert "too large" in str(caught.value) and "10 MB" in str(caught.value)
    assert client.request_count == 1


# ---------------------------------------------------------------------- retries


async def test_429_honours_retry_after_seconds(env: SimEnv) -> None:
    env.state.inject_fault("429", times=2, retry_after=3)
    task_id = finished_task(env)
    client = env.client()
    task = await client.retrieve(task_id)
    assert task.state is TaskState.SUCCEEDED
    assert len(env.api_requests()) == 3 == client.request_count
    assert env.sleep.delays == [3.0, 3.0]
    assert [(e.attempt, e.delay) for e in env.events] == [(1, 3.0), (2, 3.0)]
    assert all(isinstance(e.error, RateLimited) for e in env.events)
    assert env.events[0].message == "Rate limited; retrying in 3 s (attempt 2)"


async def test_429_honours_retry_after_http_date(env: SimEnv) -> None:
    when = format_datetime(datetime.fromtimestamp(NOW + 5, UTC), usegmt=True)
    env.state.inject_fault("429", retry_after=when)
    client = env.client(clock=lambda: NOW)
    await client.retrieve(finished_task(env))
    assert env.sleep.delays == [5.0]


async def test_429_without_retry_after_backs_off_with_jitter(env: SimEnv) -> None:
    env.state.inject_fault("429", times=3)
    client = env.client()
    await client.retrieve(finished_task(env))
    assert len(env.api_requests()) == 4
    assert env.sleep.delays == expected_backoff(3)
    for attempt, delay in enumerate(env.sleep.delays, start=1):
        ceiling = Backoff().ceiling(attempt)
        assert ceiling / 2 <= delay <= ceiling  # 0.5, 1, 2 s ceilings, equal jitter


async def test_429_with_a_long_retry_after_is_left_to_the_caller(env: SimEnv) -> None:
    env.state.inject_fault("429", times=5, retry_after=120)
    client = env.client()
    with pytest.raises(RateLimited) as caught:
        await client.retrieve(finished_task(env))
    assert caught.value.retry_after == 120.0
    assert len(env.api_requests()) == 1 and env.sleep.delays == []


async def test_429_exhausts_attempts(env: SimEnv) -> None:
    env.state.inject_fault("429", times=10)
    client = env.client(max_attempts=4)
    with pytest.raises(RateLimited) as caught:
        await client.retrieve(finished_task(env))
    assert caught.value.attempts == 4 and caught.value.retry_after is None
    assert len(env.api_requests()) == 4 and env.sleep.delays == expected_backoff(3)


TRANSIENT = [
    ("500", ServerError, "fetch failed"),
    ("502_html", ProtocolError, "HTML page instead of JSON: a proxy or gateway"),
    ("503_html", ProtocolError, "HTML page"),
    ("504", ServerError, "timed out"),
    ("empty", ProtocolError, "empty body"),
    ("truncated", ProtocolError, "not valid JSON"),
    ("wrong_shape", ProtocolError, "shape"),
    ("missing_id", ProtocolError, "shape"),
    ("reset", TransportError, "connection"),
]


@pytest.mark.parametrize(("kind", "cls", "words"), TRANSIENT)
async def test_transient_fault_is_retried_once(
    env: SimEnv, kind: str, cls: type[ApiError], words: str
) -> None:
    env.state.inject_fault(kind)
    task_id = finished_task(env)
    client = env.client()
    task = await client.retrieve(task_id)
    assert task.state is TaskState.SUCCEEDED
    assert len(env.api_requests()) == 2 == client.request_count
    assert env.sleep.delays == expected_backoff(1)
    [event] = env.events
    assert isinstance(event.error, cls) and words in str(event.error)


@pytest.mark.parametrize(("kind", "cls", "words"), TRANSIENT)
async def test_transient_fault_gives_up_after_max_attempts(
    env: SimEnv, kind: str, cls: type[ApiError], words: str
) -> None:
    env.state.inject_fault(kind, times=3)
    client = env.client(max_attempts=3)
    with pytest.raises(cls) as caught:
        await client.retrieve(finished_task(env))
    assert words in str(caught.value) and caught.value.attempts == 3
    assert len(env.api_requests()) == 3 == client.request_count
    assert env.sleep.delays == expected_backoff(2)
    assert [e.attempt for e in env.events] == [1, 2]


async def test_slow_answer_times_out(env: SimEnv) -> None:
    env.state.inject_fault("slow", delay=1)
    client = env.client(timeout=0.2, max_attempts=1)
    with pytest.raises(TransportError) as caught:
        await client.retrieve(finished_task(env))
    assert "No answer from" in str(caught.value) and "within 0.2 s" in str(caught.value)


async def test_slow_answer_within_the_timeout_is_fine(env: SimEnv) -> None:
    env.state.inject_fault("slow", delay=0.05)
    task = await env.client(timeout=10).retrieve(finished_task(env))
    assert task.state is TaskState.SUCCEEDED and env.sleep.delays == []


async def test_a_10_mb_answer_is_read(env: SimEnv) -> None:
    env.state.inject_fault("huge")
    task = await env.client().retrieve(finished_task(env))
    assert task.raw is not None and len(task.raw["_padding"]) == 10 * 1024 * 1024


async def test_an_answer_over_the_cap_is_refused_and_not_retried(env: SimEnv) -> None:
    env.state.inject_fault("huge", times=3)
    client = env.client(max_body_bytes=1024 * 1024)
    with pytest.raises(ProtocolError) as caught:
        await client.retrieve(finished_task(env))
    assert "larger than nbtui reads" in str(caught.value)
    assert client.request_count == 1 and env.sleep.delays == []


async def test_connection_refused_is_a_transport_error(env: SimEnv) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = env.client(base_url=f"http://127.0.0.1:{port}", transport=None, max_attempts=2)
    with pytest.raises(TransportError) as caught:
        await client.retrieve(unknown_id())
    assert f"Could not connect to 127.0.0.1:{port}: connection refused" in str(caught.value)
    assert client.request_count == 2 and env.sleep.delays == expected_backoff(1)
    with pytest.raises(TransportError, match="the task was not created"):
        await client.create_images(prompt="x")


# ---------------------------------------------------------------------- batches


async def test_batch_chunks_and_merges(env: SimEnv) -> None:
    ids = env.state.seed(118)
    missing = [unknown_id(), unknown_id()]
    asked = [*ids, *missing, ids[0], ids[1]]  # duplicates are asked once
    client = env.client(batch_size=50)
    result = await client.retrieve_batch(asked)
    requests = env.api_requests()
    assert len(requests) == 3 == client.request_count
    assert sorted(len(r.body["ids"]) for r in requests) == [20, 50, 50]
    assert all(r.body["action"] == "retrieve_batch" for r in requests)
    assert {i for r in requests for i in r.body["ids"]} == {*ids, *missing}
    assert list(result.tasks) == [*ids, *missing] and result.errors == {}
    assert all(result.tasks[i].state is not TaskState.NOT_FOUND for i in ids)
    assert all(result.tasks[i].state is TaskState.NOT_FOUND for i in missing)


async def test_batch_two_spellings_of_one_id_both_get_its_record(env: SimEnv) -> None:
    # Ids match case-insensitively; the upper-case spelling used to come back not found
    # when the lower-case one was asked in the same call.
    task_id = finished_task(env)
    result = await env.client().retrieve_batch([task_id.upper(), task_id])
    assert set(result.tasks) == {task_id.upper(), task_id}
    assert all(t.state is TaskState.SUCCEEDED for t in result.tasks.values())
    assert result.errors == {}


async def test_batch_concurrency_is_bounded(env: SimEnv) -> None:
    env.state.config.latency = 0.02
    ids = env.state.seed(50)
    transport = env.counting()
    client = env.client(batch_size=5, max_concurrency=3, transport=transport)
    result = await client.retrieve_batch(ids)
    assert len(result.tasks) == 50 and client.request_count == 10
    assert transport.max_in_flight == 3


async def test_empty_batch_sends_nothing(env: SimEnv) -> None:
    client = env.client()
    result = await client.retrieve_batch([])
    assert result.tasks == {} and result.errors == {} and client.request_count == 0
    assert (await client.retrieve_batch(["", "  "])).tasks == {}
    assert env.api_requests() == []


async def test_record_without_id_does_not_spoil_the_batch(env: SimEnv) -> None:
    ids = [finished_task(env) for _ in range(4)]
    env.state.inject_fault("missing_id")  # the first record of the answer loses its id
    result = await env.client().retrieve_batch(ids)
    assert len(env.api_requests()) == 1
    assert set(result.tasks) == set(ids[1:])
    assert all(t.state is TaskState.SUCCEEDED for t in result.tasks.values())
    [(lost, error)] = result.errors.items()
    assert lost == ids[0] and isinstance(error, ProtocolError)
    assert "without a task id" in str(error)
    with pytest.raises(ProtocolError):
        result.raise_first()


async def test_items_not_a_list_fails_the_chunk_after_retries(env: SimEnv) -> None:
    ids = [finished_task(env) for _ in range(4)]
    env.state.inject_fault("wrong_shape", times=2)
    client = env.client(batch_size=2, max_concurrency=1, max_attempts=2)
    result = await client.retrieve_batch(ids)
    assert set(result.errors) == set(ids[:2]) and set(result.tasks) == set(ids[2:])
    assert "`items` is an object, not a list" in str(result.errors[ids[0]])
    assert client.request_count == 3


async def test_a_failed_chunk_keeps_the_others(env: SimEnv) -> None:
    ids = [finished_task(env) for _ in range(6)]
    env.state.inject_fault("500", times=4)
    client = env.client(batch_size=2, max_concurrency=1, max_attempts=4)
    result = await client.retrieve_batch(ids)
    assert set(result.errors) == set(ids[:2])
    assert all(isinstance(e, ServerError) for e in result.errors.values())
    assert set(result.tasks) == set(ids[2:])
    assert client.request_count == 6 and len(env.sleep.delays) == 3
    assert not result.ok


async def test_auth_error_stops_further_chunks(env: SimEnv) -> None:
    ids = [finished_task(env) for _ in range(6)]
    env.state.inject_fault("401")
    client = env.client(batch_size=2, max_concurrency=1)
    result = await client.retrieve_batch(ids)
    assert client.request_count == 1 and len(env.api_requests()) == 1
    assert set(result.errors) == set(ids) and result.tasks == {}
    assert all(isinstance(e, AuthError) for e in result.errors.values())
    with pytest.raises(AuthError):
        result.raise_first()


async def test_batch_retries_are_reported(env: SimEnv) -> None:
    ids = [finished_task(env) for _ in range(3)]
    env.state.inject_fault("503_html")
    events: list[RetryEvent] = []
    result = await env.client(on_retry=events.append).retrieve_batch(ids)
    assert set(result.tasks) == set(ids) and len(events) == 1
    assert events[0].delay == env.sleep.delays[0]


# ---------------------------------------------------------------------- create is never retried


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("500", ServerError),
        ("502_html", ProtocolError),
        ("truncated", ProtocolError),
        ("reset", None),
    ],
)
async def test_create_is_never_retried(env: SimEnv, kind: str, cls: type[ApiError] | None) -> None:
    """The outcome of a create whose answer was lost is unknown: its own type, whatever hid it."""
    env.state.inject_fault(kind, times=3)
    client = env.client()
    with pytest.raises(CreateOutcomeUnknown) as caught:
        await client.create_images(prompt="a cat")
    assert caught.value.cause is None if cls is None else isinstance(caught.value.cause, cls)
    assert client.request_count == 1 and len(env.api_requests()) == 1
    assert env.sleep.delays == [] and env.events == []
    assert "may or may not have been created" in str(caught.value)
    assert "recent tasks" in str(caught.value) and not caught.value.retryable


async def test_create_timeout_says_the_task_may_exist(env: SimEnv) -> None:
    env.state.inject_fault("slow", delay=1)
    client = env.client(timeout=0.2)
    with pytest.raises(CreateOutcomeUnknown) as caught:
        await client.create_images(prompt="a cat")
    message = str(caught.value)
    assert "No answer from" in message and "within 0.2 s" in message
    assert "may or may not have been created" in message and "recent tasks" in message
    assert client.request_count == 1


async def test_create_rate_limited_is_not_retried(env: SimEnv) -> None:
    env.state.inject_fault("429", retry_after=1)
    client = env.client()
    with pytest.raises(RateLimited) as caught:
        await client.create_images(prompt="a cat")
    assert client.request_count == 1 and env.sleep.delays == []
    # Complete when raised: the create's request, and no promise of a retry.
    assert caught.value.method == "POST" and not caught.value.retryable
    assert str(caught.value.url).endswith("/nano-banana/images")


@pytest.mark.parametrize("kind", ["500", "502_html", "truncated", "reset", "401", "429"])
async def test_every_read_error_names_its_request_and_attempts(env: SimEnv, kind: str) -> None:
    """The error raised, and the error of every retry event, say which request failed and
    on which attempt; an earlier event's error is not changed by the attempts after it."""
    env.state.inject_fault(kind, times=4)
    client = env.client(max_attempts=3)
    with pytest.raises(ApiError) as caught:
        await client.retrieve(unknown_id())
    error = caught.value
    assert error.method == "POST" and str(error.url).endswith("/nano-banana/tasks")
    assert error.attempts == client.request_count
    assert [event.error.attempts for event in env.events] == [event.attempt for event in env.events]
    assert all(event.error is not error for event in env.events)
    assert all(str(event.error.url).endswith("/nano-banana/tasks") for event in env.events)


# ---------------------------------------------------------------------- the token


async def test_token_is_never_in_reprs_or_messages(env: SimEnv) -> None:
    client = env.client()
    assert TOKEN not in repr(client) and TOKEN not in str(vars(client))
    assert "token=<token set>" in repr(client)
    errors: list[ApiError] = []
    for kind in ("500", "502_html", "empty", "truncated", "reset", "401", "403_used_up", "429"):
        env.state.inject_fault(kind, times=4)
        with pytest.raises(ApiError) as caught:
            await client.retrieve(unknown_id())
        env.state.clear_faults()
        errors.append(caught.value)
    for error in errors:
        for text in (str(error), repr(error), error.short, error.hint, str(error.url)):
            assert TOKEN not in text


async def test_token_is_not_sent_on_a_redirect_to_another_host(socket_env: SimEnv) -> None:
    """A host that redirects to the simulator: the client stops, nothing reaches the sim."""
    from starlette.applications import Starlette
    from starlette.responses import RedirectResponse
    from starlette.routing import Route

    target = socket_env.base_url + "/nano-banana/tasks"

    async def redirect(request: object) -> RedirectResponse:
        return RedirectResponse(target, status_code=307)

    redirector = Starlette(routes=[Route("/{p:path}", redirect, methods=["POST"])])

    class ByHost(httpx.AsyncBaseTransport):
        """The redirecting host in-process; every other host over the real network."""

        def __init__(self) -> None:
            self.local = httpx.ASGITransport(app=redirector)
            self.network = httpx.AsyncHTTPTransport()

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.host == "redirector.test":
                return await self.local.handle_async_request(request)
            return await self.network.handle_async_request(request)

    client = socket_env.client(base_url="http://redirector.test", transport=ByHost())
    with pytest.raises(RequestRejected) as caught:
        await client.retrieve(unknown_id())
    assert caught.value.status == 307 and target in str(caught.value)
    assert socket_env.state.requests == []  # the simulator never saw the token, or anything
    assert client.request_count == 1


# ---------------------------------------------------------------------- construction


async def test_from_settings() -> None:
    settings = Settings(
        base_url="http://127.0.0.1:9/", batch_size=7, max_concurrency=2, timeout=3, max_attempts=2
    )
    async with NanoBananaClient.from_settings(settings, "tok", max_attempts=5) as client:
        assert client.base_url == "http://127.0.0.1:9"
        assert (client.batch_size, client.max_concurrency, client.timeout) == (7, 2, 3)
        assert client.max_attempts == 5  # keyword arguments override the settings


@pytest.mark.parametrize(
    "base_url", ["ftp://example.com", "example.com", "https://user:pw@example.com"]
)
def test_bad_base_urls_are_refused(base_url: str) -> None:
    with pytest.raises(ValueError):
        NanoBananaClient(base_url, "tok")


async def test_a_dead_proxy_is_named_not_the_api_host(
    env: SimEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTPS_PROXY points at nothing: the error names the proxy (never its password), not
    the API host refusing connections."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for name in ("ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", f"http://alice:s3cret-pw@127.0.0.1:{port}")
    client = env.client(base_url="https://api.example.invalid", transport=None, max_attempts=1)
    with pytest.raises(TransportError) as caught:
        await client.retrieve(unknown_id())
    text = str(caught.value)
    assert f"the proxy http://127.0.0.1:{port} (from HTTPS_PROXY)" in text
    assert "for api.example.invalid: connection refused" in text
    assert "Check that proxy" in text
    assert "s3cret-pw" not in text and "alice" not in text
    # NO_PROXY exempting the host: no proxy is named.
    monkeypatch.setenv("NO_PROXY", ".example.invalid")
    assert env.client(base_url="https://api.example.invalid", transport=None).proxy is None
