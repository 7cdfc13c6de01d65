"""Every row of the error table in docs/api.md ("Errors"), answered by a scripted ASGI app,
mapped to the right typed error.

The simulator produces most of these too (see test_client_sim.py); this table covers the codes
it has no reason to produce and pins the exact class, status, code, retry and wording.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nbtui.api.client import NanoBananaClient
from nbtui.api.errors import (
    ApiError,
    AuthError,
    CreateOutcomeUnknown,
    ProtocolError,
    RateLimited,
    RequestRejected,
    ServerError,
)

from .conftest import TOKEN, Scripted

TASK_ID = "4d320ead-4af4-4a55-8f3e-f2afebdf4fd0"
Build = Callable[..., NanoBananaClient]


@pytest.mark.parametrize(
    ("status", "code", "cls", "words"),
    [
        (400, "token_mismatched", RequestRejected, "not valid for this API"),
        (400, "bad_request", RequestRejected, "malformed"),
        (400, "api_not_implemented", RequestRejected, "does not implement"),
        (400, "disabled", RequestRejected, "disabled"),
        (400, "no_token", RequestRejected, "No API token was sent"),
        (401, "invalid_token", AuthError, "not valid"),
        (401, "token_expired", AuthError, "expired"),
        (401, "token_mismatched", AuthError, "not valid for this API"),
        (403, "used_up", RequestRejected, "balance is used up"),
        (403, "forbidden", RequestRejected, "refused access"),
        (404, "no_api", RequestRejected, "base URL or path is wrong"),
        (413, "request_too_large", RequestRejected, "too large"),
        (418, "teapot", RequestRejected, "rejected the request"),
    ],
)
async def test_4xx_rows_are_typed_and_never_retried(
    script: Scripted,
    scripted_client: Build,
    status: int,
    code: str,
    cls: type[ApiError],
    words: str,
) -> None:
    script.error(status, code, "server words here", trace_id="trace-123")
    client = scripted_client()
    with pytest.raises(ApiError) as caught:
        await _retrieve_raising(client)
    error = caught.value
    assert type(error) is cls
    assert (error.status, error.code, error.trace_id) == (status, code, "trace-123")
    assert words in str(error)
    assert "server words here" in str(error)
    assert f"HTTP {status}" in str(error) and "Trace id trace-123" in str(error)
    assert error.hint  # says what to do
    assert len(script.seen) == 1 and client.request_count == 1
    assert client.fake_sleep.delays == []  # type: ignore[attr-defined]
    assert error.method == "POST" and error.url == "https://api.example.test/nano-banana/tasks"


async def _retrieve_raising(client: NanoBananaClient) -> None:
    """retrieve() turns a 404 with an ordinary code into not_found, so use a batch for 404."""
    result = await client.retrieve_batch([TASK_ID])
    result.raise_first()


@pytest.mark.parametrize(
    ("code_status", "words"),
    [(403, "balance is used up"), (401, "not valid")],
)
async def test_used_up_and_invalid_token_hints(
    script: Scripted, scripted_client: Build, code_status: int, words: str
) -> None:
    script.error(code_status, "used_up" if code_status == 403 else "invalid_token", "x")
    with pytest.raises(ApiError) as caught:
        await scripted_client().retrieve(TASK_ID)
    assert words in str(caught.value)
    if code_status == 403:
        assert "Top up" in str(caught.value)
    else:
        assert "nbtui token set" in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_json_is_server_error_retried_to_the_limit(
    script: Scripted, scripted_client: Build, status: int
) -> None:
    script.error(status, "api_error", "fetch failed", trace_id="t-5")
    client = scripted_client(max_attempts=3)
    with pytest.raises(ServerError) as caught:
        await client.retrieve(TASK_ID)
    assert caught.value.status == status and caught.value.code == "api_error"
    assert "fetch failed" in str(caught.value) and caught.value.attempts == 3
    assert len(script.seen) == 3 == client.request_count
    assert len(client.fake_sleep.delays) == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("raw", "headers", "words"),
    [
        (
            b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            {"content-type": "text/html"},
            "HTML page instead of JSON: a proxy or gateway",
        ),
        (b"<!DOCTYPE html><title>oops</title>", {}, "HTML page"),
        (b"", {}, "empty body"),
        (b'{"items": [{"id": "4d32', {"content-type": "application/json"}, "not valid JSON"),
        (b"\xff\xfe garbage", {}, "not valid JSON"),
    ],
)
@pytest.mark.parametrize("status", [200, 502])
async def test_unreadable_bodies_are_protocol_errors(
    script: Scripted,
    scripted_client: Build,
    raw: bytes,
    headers: dict[str, str],
    words: str,
    status: int,
) -> None:
    script.add(status, raw=raw, headers=headers)
    client = scripted_client(max_attempts=2)
    with pytest.raises(ProtocolError) as caught:
        await client.retrieve(TASK_ID)
    assert words in str(caught.value)
    assert caught.value.status == status and f"HTTP {status}" in str(caught.value)
    assert client.request_count == 2  # retried: a proxy hiccup is usually transient


@pytest.mark.parametrize(
    "body",
    [["not", "an", "object"], {"foo": 1}, "just a string", 42, None, {"id": 7}],
)
async def test_wrong_shapes_on_retrieve(
    script: Scripted, scripted_client: Build, body: Any
) -> None:
    script.add(200, body)
    with pytest.raises(ProtocolError) as caught:
        await scripted_client(max_attempts=1).retrieve(TASK_ID)
    assert "shape" in str(caught.value)


async def test_html_404_is_a_wrong_base_url_not_a_missing_task(
    script: Scripted, scripted_client: Build
) -> None:
    script.add(404, raw=b"<html>Not Found</html>", headers={"content-type": "text/html"})
    with pytest.raises(RequestRejected) as caught:
        await scripted_client().retrieve(TASK_ID)
    assert "HTML page" in str(caught.value) and "base URL" in str(caught.value)
    assert len(script.seen) == 1


async def test_404_no_api_on_retrieve_is_not_not_found(
    script: Scripted, scripted_client: Build
) -> None:
    script.error(404, "no_api", "no api")
    with pytest.raises(RequestRejected, match="base URL"):
        await scripted_client().retrieve(TASK_ID)


async def test_404_with_another_code_on_retrieve_is_not_found(
    script: Scripted, scripted_client: Build
) -> None:
    script.error(404, "not_found", "no such task")
    task = await scripted_client().retrieve(TASK_ID)
    assert task.state == "not_found" and task.id == TASK_ID


async def test_error_body_without_success_key_is_read(
    script: Scripted, scripted_client: Build
) -> None:
    script.add(403, {"error": {"code": "used_up", "message": "no credit"}, "trace_id": "t"})
    with pytest.raises(RequestRejected) as caught:
        await scripted_client().retrieve(TASK_ID)
    assert caught.value.code == "used_up" and caught.value.trace_id == "t"


async def test_error_body_inside_a_200_is_typed_by_code(
    script: Scripted, scripted_client: Build
) -> None:
    script.add(200, {"success": False, "error": {"code": "token_expired", "message": "old"}})
    with pytest.raises(AuthError, match="expired"):
        await scripted_client().retrieve(TASK_ID)


async def test_429_with_and_without_retry_after(script: Scripted, scripted_client: Build) -> None:
    script.add(429, {"error": {"code": "too_many_requests"}}, headers={"retry-after": "7"})
    script.add(429, {"error": {"code": "too_many_requests"}})
    script.add(200, {"id": TASK_ID, "request": {}, "response": {"task_id": TASK_ID}})
    client = scripted_client()
    task = await client.retrieve(TASK_ID)
    assert task.state == "running"  # a response with only task_id: still running
    delays = client.fake_sleep.delays  # type: ignore[attr-defined]
    assert delays[0] == 7.0  # Retry-After honoured exactly
    assert 0.5 <= delays[1] <= 1.0  # second retry: backoff ceiling 1 s, equal jitter
    assert client.request_count == 3


async def test_redirect_is_not_followed(script: Scripted, scripted_client: Build) -> None:
    script.add(307, raw=b"", headers={"location": "https://elsewhere.test/nano-banana/tasks"})
    client = scripted_client()
    with pytest.raises(RequestRejected) as caught:
        await client.retrieve(TASK_ID)
    assert "elsewhere.test" in str(caught.value) and "does not follow redirects" in str(
        caught.value
    )
    assert [seen["host"] for seen in script.seen] == ["api.example.test"]


async def test_a_server_echoing_the_token_never_gets_it_into_a_message(
    script: Scripted, scripted_client: Build
) -> None:
    script.add(400, raw=b'{"error": {"code": "bad_request", "message": "bad {AUTH}"}}')
    client = scripted_client()
    with pytest.raises(RequestRejected) as caught:
        await client.retrieve(TASK_ID)
    assert script.seen[0]["authorization"] == f"Bearer {TOKEN}"
    for text in (str(caught.value), repr(caught.value), caught.value.short, repr(client)):
        assert TOKEN not in text
    assert "[token hidden]" in str(caught.value)


async def test_forbidden_on_create_is_the_safety_filter(
    script: Scripted, scripted_client: Build
) -> None:
    script.error(403, "forbidden", "refused by the filter")
    client = scripted_client()
    with pytest.raises(RequestRejected) as caught:
        await client.create_images(prompt="something edgy")
    assert "safety filter" in str(caught.value) and "not charged" in str(caught.value)
    assert caught.value.url == "https://api.example.test/nano-banana/images"
    assert client.request_count == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"success": True, "task_id": "t-1", "trace_id": "x"}, "t-1"),
        ({"data": {"task_id": "t-2"}}, "t-2"),
        ({"id": "t-3"}, "t-3"),
        ({"task_id": "", "data": {"task_id": "t-4"}, "id": "t-5"}, "t-4"),
    ],
)
async def test_created_task_id_is_read_from_each_documented_place(
    script: Scripted, scripted_client: Build, body: dict[str, Any], expected: str
) -> None:
    script.add(200, body)
    created = await scripted_client().create_images(prompt="a cat")
    assert created.task_id == expected and created.raw == body
    assert script.seen[0]["body"] == {"action": "generate", "prompt": "a cat", "async": True}


async def test_create_answer_without_a_task_id(script: Scripted, scripted_client: Build) -> None:
    script.add(200, {"success": True})
    client = scripted_client()
    with pytest.raises(CreateOutcomeUnknown) as caught:
        await client.create_images(prompt="a cat")
    assert isinstance(caught.value.cause, ProtocolError)
    assert "may or may not have been created" in str(caught.value)
    assert "recent tasks" in str(caught.value)
    assert client.request_count == 1


async def test_a_proxy_404_json_does_not_mark_the_task_not_found(
    script: Scripted, scripted_client: Build
) -> None:
    script.add(404, {"detail": "Not Found"})
    with pytest.raises(RequestRejected, match="base URL"):
        await scripted_client().retrieve(TASK_ID)


async def test_broken_compression_is_a_protocol_error(
    script: Scripted, scripted_client: Build
) -> None:
    script.add(
        200,
        raw=b"definitely not gzip",
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    client = scripted_client(max_attempts=1)
    with pytest.raises(ProtocolError, match="could not be decoded"):
        await client.retrieve(TASK_ID)


async def test_batch_answer_with_junk_items(script: Scripted, scripted_client: Build) -> None:
    """Non-objects and records without a string id are skipped; ids not asked are ignored;
    the ids the junk could have been are unknown (errors), not not_found."""
    other = "11111111-2222-4333-8444-555555555555"
    stranger = "99999999-2222-4333-8444-555555555555"
    script.add(
        200,
        {
            "items": [
                "junk",
                None,
                {"id": 42, "response": {"success": True}},
                {
                    "id": other.upper(),
                    "finished_at": 2.0,
                    "response": {"success": True, "data": []},
                },
                {"id": stranger, "response": {"success": True}},
            ],
            "count": 999,
        },
    )
    result = await scripted_client().retrieve_batch([TASK_ID, other])
    assert list(result.tasks) == [other] and result.tasks[other].state == "succeeded"
    assert list(result.errors) == [TASK_ID]
    assert isinstance(result.errors[TASK_ID], ProtocolError)
    assert "3 records without a task id" in str(result.errors[TASK_ID])


async def test_batch_trusts_items_not_count(script: Scripted, scripted_client: Build) -> None:
    script.add(200, {"items": [], "count": 2})
    result = await scripted_client().retrieve_batch([TASK_ID])
    assert result.tasks[TASK_ID].state == "not_found" and result.errors == {}


def test_retry_event_message_words() -> None:
    from nbtui.api.client import RetryEvent

    limited = RetryEvent(1, 8.0, RateLimited("slow down", status=429))
    assert limited.message == "Rate limited; retrying in 8 s (attempt 2)"
    server = RetryEvent(2, 0.74, ServerError("The service had a problem", code="api_error"))
    assert server.message == "The service had a problem (api_error); retrying in 0.7 s (attempt 3)"
