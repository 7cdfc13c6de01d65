"""The simulator's API through httpx.ASGITransport: tasks, images, auth, validation, listing."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from nbtui.api.models import Task, TaskState, derive_state
from nbtui.sim import InProcessSim

from .conftest import AUTH, T0, FakeClock

TASKS = "/nano-banana/tasks"
IMAGES = "/nano-banana/images"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["trace_id"], str) and body["trace_id"]
    return body  # type: ignore[no-any-return]


# ---------------------------------------------------------------------- tasks: retrieve


async def test_retrieve_follows_the_clock(
    sim: InProcessSim, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    task_id = sim.state.add_task(outcome="succeeded", pending_seconds=2, running_seconds=3)
    seen = []
    for step in (0, 2, 3):
        clock.advance(step)
        response = await client.post(TASKS, json={"id": task_id, "action": "retrieve"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == sim.state.record(task_id)
        seen.append(derive_state(response.json()))
    assert seen == [TaskState.PENDING, TaskState.RUNNING, TaskState.SUCCEEDED]


async def test_retrieve_unknown_id_is_404_not_found(client: httpx.AsyncClient) -> None:
    response = await client.post(TASKS, json={"id": UNKNOWN, "action": "retrieve"})
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("body", [{"action": "retrieve"}, {"action": "retrieve", "id": 7}])
async def test_retrieve_without_an_id_is_a_bad_request(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    assert_error(await client.post(TASKS, json=body), 400, "bad_request")


# ---------------------------------------------------------------------- tasks: batch


async def test_batch_returns_known_ids_and_skips_unknown(
    sim: InProcessSim, client: httpx.AsyncClient
) -> None:
    a = sim.state.add_task(prompt="first")
    b = sim.state.add_task(prompt="second")
    response = await client.post(TASKS, json={"ids": [a, UNKNOWN, b], "action": "retrieve_batch"})
    assert response.status_code == 200
    body = response.json()
    assert [item["id"] for item in body["items"]] == [a, b]
    assert body["count"] == 2


async def test_batch_with_no_ids_asked_is_empty(client: httpx.AsyncClient) -> None:
    response = await client.post(TASKS, json={"ids": [], "action": "retrieve_batch"})
    assert response.json() == {"items": [], "count": 0}


@pytest.mark.parametrize("ids", ["abc", [1, 2], {"a": 1}])
async def test_batch_with_malformed_ids_is_a_bad_request(
    client: httpx.AsyncClient, ids: object
) -> None:
    response = await client.post(TASKS, json={"ids": ids, "action": "retrieve_batch"})
    assert_error(response, 400, "bad_request")


@pytest.mark.parametrize(
    "content",
    [b"", b"{not json", b"[1, 2]", b'"retrieve"', b'{"id": "x"}', b'{"action": "delete"}'],
)
async def test_malformed_task_requests_are_bad_requests(
    client: httpx.AsyncClient, content: bytes
) -> None:
    response = await client.post(
        TASKS, content=content, headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "bad_request")


# ---------------------------------------------------------------------- tasks: listing


async def test_list_mode_newest_first_with_filters(
    sim: InProcessSim, client: httpx.AsyncClient
) -> None:
    ids = [sim.state.add_task(prompt=f"task {i}", created_at=T0 - 100 * i) for i in range(10)]
    sim.state.add_raw({"id": "raw-video", "type": "videos", "created_at": T0 - 150})

    async def listing(**filters: Any) -> dict[str, Any]:
        response = await client.post(TASKS, json={"action": "retrieve_batch", **filters})
        assert response.status_code == 200
        return response.json()  # type: ignore[no-any-return]

    everything = await listing(limit=50)
    assert [item["id"] for item in everything["items"]] == [
        *ids[:2],
        "raw-video",
        *ids[2:],
    ]
    assert everything["count"] == 11

    page = await listing(limit=3, offset=2, type="images")
    assert [item["id"] for item in page["items"]] == ids[2:5]
    assert page["count"] == 10  # count is the total that match, as the web app reads it

    window = await listing(limit=50, created_at_min=T0 - 450, created_at_max=T0 - 150)
    assert [item["id"] for item in window["items"]] == ["raw-video", *ids[2:5]]

    mine = await listing(limit=50, user_id=sim.state.account.user_id, type="images")
    assert len(mine["items"]) == 10
    assert (await listing(user_id="someone-else"))["items"] == []

    default = await listing()
    assert len(default["items"]) == 11  # fewer than the default limit of 20


async def test_list_mode_caps_the_limit(make_sim: Callable[..., InProcessSim]) -> None:
    sim = make_sim(list_max_limit=5)
    sim.state.seed(12)
    async with sim.client() as client:
        response = await client.post(TASKS, json={"action": "retrieve_batch", "limit": 1000})
    assert len(response.json()["items"]) == 5
    assert response.json()["count"] == 12


@pytest.mark.parametrize(
    "filters",
    [
        {"limit": -1},
        {"limit": "ten"},
        {"offset": 1.5},
        {"created_at_min": "yesterday"},
        {"type": 3},
    ],
)
async def test_list_mode_rejects_bad_filters(
    client: httpx.AsyncClient, filters: dict[str, Any]
) -> None:
    response = await client.post(TASKS, json={"action": "retrieve_batch", **filters})
    assert_error(response, 400, "bad_request")


@pytest.mark.parametrize(("status", "code"), [(400, "bad_request"), (403, "forbidden")])
async def test_list_mode_can_be_refused(
    make_sim: Callable[..., InProcessSim], status: int, code: str
) -> None:
    sim = make_sim(allow_listing=False, listing_refusal_status=status)
    task_id = sim.state.add_task()
    async with sim.client() as client:
        refused = await client.post(TASKS, json={"action": "retrieve_batch", "limit": 10})
        assert_error(refused, status, code)
        by_id = await client.post(TASKS, json={"action": "retrieve_batch", "ids": [task_id]})
        assert [item["id"] for item in by_id.json()["items"]] == [task_id]


# ---------------------------------------------------------------------- auth


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        # No token at all: 400 `no_token`, as the published OpenAPI file lists it.
        ({}, 400, "no_token"),
        ({"authorization": ""}, 400, "no_token"),
        ({"authorization": "Bearer wrong"}, 401, "invalid_token"),
        ({"authorization": "sim-token"}, 401, "invalid_token"),
    ],
)
async def test_a_missing_token_is_400_no_token_and_a_wrong_one_401_invalid_token(
    sim: InProcessSim, headers: dict[str, str], status: int, code: str
) -> None:
    task_id = sim.state.add_task()
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as client:
        for path, body in (
            (TASKS, {"id": task_id, "action": "retrieve"}),
            (IMAGES, {"action": "generate", "prompt": "x", "async": True}),
        ):
            assert_error(await client.post(path, json=body, headers=headers), status, code)
    assert len(sim.state) == 1  # the refused create made nothing
    assert [r.auth_ok for r in sim.state.requests] == [False, False]
    assert [r.had_auth for r in sim.state.requests] == [bool(headers)] * 2


async def test_the_right_token_is_accepted_in_any_scheme_case(sim: InProcessSim) -> None:
    task_id = sim.state.add_task()
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as client:
        response = await client.post(
            TASKS,
            json={"id": task_id, "action": "retrieve"},
            headers={"authorization": "bearer sim-token"},
        )
    assert response.status_code == 200
    request = sim.state.requests[0]
    assert (request.method, request.path, request.had_auth, request.auth_ok) == (
        "POST",
        TASKS,
        True,
        True,
    )
    assert request.body == {"id": task_id, "action": "retrieve"}
    assert "sim-token" not in repr(request)


async def test_no_token_configured_means_no_check(make_sim: Callable[..., InProcessSim]) -> None:
    sim = make_sim(token=None)
    async with sim.client(token=None) as client:
        response = await client.post(TASKS, json={"ids": [], "action": "retrieve_batch"})
    assert response.status_code == 200
    assert sim.state.requests[0].had_auth is False and sim.state.requests[0].auth_ok is True


# ---------------------------------------------------------------------- images API


async def test_async_create_answers_at_once_and_records_the_request(
    sim: InProcessSim, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    body = {
        "action": "generate",
        "prompt": "a white siamese cat",
        "model": "nano-banana-pro",
        "count": 2,
        "aspect_ratio": "16:9",
        "resolution": "2K",
        "async": True,
    }
    response = await client.post(IMAGES, json=body)
    assert response.status_code == 200
    answer = response.json()
    assert answer["success"] is True and set(answer) == {"success", "task_id", "trace_id"}
    record = sim.state.record(answer["task_id"])
    assert record is not None
    assert record["request"] == body
    assert record["trace_id"] == answer["trace_id"]
    assert record["created_at"] == clock.now
    assert derive_state(record) is TaskState.PENDING


async def test_callback_url_answers_at_once_and_is_kept(
    sim: InProcessSim, client: httpx.AsyncClient
) -> None:
    body = {"action": "generate", "prompt": "x", "callback_url": "https://hooks.example/cb"}
    response = await client.post(IMAGES, json=body)
    record = sim.state.record(response.json()["task_id"])
    assert record is not None and record["request"]["callback_url"] == "https://hooks.example/cb"


async def test_edit_with_source_images(sim: InProcessSim, client: httpx.AsyncClient) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(b"\x89PNG tiny").decode()
    body = {
        "action": "edit",
        "prompt": "make it blue",
        "image_urls": ["https://example.com/a.jpg", data_url],
        "model": "some-future-model",  # unknown models are let through
        "async": True,
    }
    response = await client.post(IMAGES, json=body)
    assert response.status_code == 200
    record = sim.state.record(response.json()["task_id"])
    assert record is not None and record["request"]["image_urls"][1] == data_url


async def test_sync_create_waits_and_answers_the_final_response(
    make_sim: Callable[..., InProcessSim],
) -> None:
    sim = make_sim(pending_seconds=0, running_seconds=0, failure_ratio=0, moderation_ratio=0)
    async with sim.client() as client:
        response = await client.post(
            IMAGES, json={"action": "generate", "prompt": "a fox", "count": 3}
        )
    assert response.status_code == 200
    answer = response.json()
    assert answer["success"] is True
    assert [item["prompt"] for item in answer["data"]] == ["a fox"] * 3
    assert all(item["image_url"].startswith("http://sim.test/images/") for item in answer["data"])
    record = sim.state.record(answer["task_id"])
    assert derive_state(record) is TaskState.SUCCEEDED
    assert record is not None and record["response"] == answer


async def test_sync_create_waits_through_a_real_short_run(
    make_sim: Callable[..., InProcessSim],
) -> None:
    import time

    sim = make_sim(clock=time.time, pending_seconds=0.01, running_seconds=0.02)
    async with sim.client() as client:
        response = await client.post(
            IMAGES, json={"action": "generate", "prompt": "sim:succeed quickly"}
        )
    assert response.status_code == 200 and response.json()["success"] is True


@pytest.mark.parametrize(
    ("prompt", "status", "code"),
    [("sim:fail please", 500, "api_error"), ("sim:moderate please", 403, "forbidden")],
)
async def test_sync_create_of_a_failing_task(
    make_sim: Callable[..., InProcessSim], prompt: str, status: int, code: str
) -> None:
    sim = make_sim(pending_seconds=0, running_seconds=0)
    async with sim.client() as client:
        response = await client.post(IMAGES, json={"action": "generate", "prompt": prompt})
    assert response.status_code == status
    answer = response.json()
    assert answer["success"] is False and answer["error"]["code"] == code
    assert derive_state(sim.state.record(answer["task_id"])) is TaskState.FAILED


async def test_sync_create_gives_up_at_the_cap(make_sim: Callable[..., InProcessSim]) -> None:
    sim = make_sim(sync_wait_cap=0.02)
    async with sim.client() as client:
        response = await client.post(IMAGES, json={"action": "generate", "prompt": "sim:never"})
    body = assert_error(response, 504, "api_error")
    assert derive_state(sim.state.record(body["task_id"])) is TaskState.PENDING


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": "no action"},
        {"action": "upscale", "prompt": "x"},
        {"action": "generate"},
        {"action": "generate", "prompt": "   "},
        {"action": "generate", "prompt": 42},
        {"action": "edit", "prompt": "x"},
        {"action": "edit", "prompt": "x", "image_urls": []},
        {"action": "edit", "prompt": "x", "image_urls": "https://example.com/a.png"},
        {"action": "edit", "prompt": "x", "image_urls": ["ftp://example.com/a.png"]},
        {"action": "generate", "prompt": "x", "count": 0},
        {"action": "generate", "prompt": "x", "count": 5},
        {"action": "generate", "prompt": "x", "count": True},
        {"action": "generate", "prompt": "x", "count": "2"},
        {"action": "generate", "prompt": "x", "aspect_ratio": "5:4"},
        {"action": "generate", "prompt": "x", "resolution": "8K"},
        {"action": "generate", "prompt": "x", "model": 3},
        {"action": "generate", "prompt": "x", "async": "yes"},
        {"action": "generate", "prompt": "x", "callback_url": "ftp://x"},
    ],
)
async def test_invalid_create_requests_are_bad_requests(
    sim: InProcessSim, client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    assert_error(await client.post(IMAGES, json=body), 400, "bad_request")
    assert len(sim.state) == 0


@pytest.mark.parametrize("aspect", ["1:1", "3:2", "2:3", "16:9", "9:16", "4:3", "3:4"])
async def test_every_documented_aspect_ratio_is_accepted(
    client: httpx.AsyncClient, aspect: str
) -> None:
    response = await client.post(
        IMAGES,
        json={"action": "generate", "prompt": "x", "aspect_ratio": aspect, "async": True},
    )
    assert response.status_code == 200


async def test_an_oversized_source_image_is_413(client: httpx.AsyncClient) -> None:
    huge = "data:image/png;base64," + "A" * (10 * 1024 * 1024 + 1)
    response = await client.post(
        IMAGES, json={"action": "edit", "prompt": "x", "image_urls": [huge], "async": True}
    )
    assert_error(response, 413, "request_too_large")


async def test_an_oversized_body_is_413(make_sim: Callable[..., InProcessSim]) -> None:
    sim = make_sim(max_body_bytes=100)
    async with sim.client() as client:
        response = await client.post(IMAGES, json={"action": "generate", "prompt": "x" * 200})
    assert_error(response, 413, "request_too_large")


# ---------------------------------------------------------------------- other routes


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/nano-banana/videos"), ("GET", "/nano-banana"), ("POST", "/")]
)
async def test_unknown_routes_are_404_no_api(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    assert_error(await client.request(method, path, headers=AUTH), 404, "no_api")


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", [TASKS, IMAGES])
async def test_another_method_on_an_api_route_is_405_with_allow_post(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    """The route exists, only the method is wrong: 405 (it used to be 404 `no_api`)."""
    response = await client.request(method, path, headers=AUTH)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"


async def test_image_urls_follow_the_host_asked(sim: InProcessSim, clock: FakeClock) -> None:
    task_id = sim.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    transport = sim.transport()
    async with httpx.AsyncClient(
        transport=transport, base_url="http://other.test:8080", headers=AUTH
    ) as client:
        response = await client.post(TASKS, json={"id": task_id, "action": "retrieve"})
    assert Task.from_raw(response.json()).image_urls == [
        f"http://other.test:8080/images/{task_id}-0.png"
    ]


async def test_shared_sim_app_fixture(sim_app: InProcessSim) -> None:
    task_id = sim_app.state.add_task()
    async with httpx.AsyncClient(
        transport=sim_app.transport(), base_url=sim_app.base_url, headers=AUTH
    ) as client:
        response = await client.post(TASKS, json={"id": task_id, "action": "retrieve"})
    assert response.status_code == 200 and response.json()["id"] == task_id
