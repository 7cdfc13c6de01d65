"""Every fault kind, through httpx.ASGITransport (see test_server.py for the socket side)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from nbtui.sim import InProcessSim

from .conftest import AUTH

TASKS = "/nano-banana/tasks"


async def batch(client: httpx.AsyncClient, ids: list[str]) -> httpx.Response:
    return await client.post(TASKS, json={"ids": ids, "action": "retrieve_batch"})


@pytest.mark.parametrize(("retry_after", "header"), [(3, "3"), (1.5, "1.5"), (None, None)])
async def test_429_with_and_without_retry_after(
    sim: InProcessSim,
    client: httpx.AsyncClient,
    retry_after: float | None,
    header: str | None,
) -> None:
    sim.state.inject_fault("429", retry_after=retry_after)
    response = await batch(client, [])
    assert response.status_code == 429
    assert response.headers.get("retry-after") == header
    assert response.json()["error"]["code"] == "too_many_requests"
    assert (await batch(client, [])).status_code == 200


async def test_429_with_an_http_date(sim: InProcessSim, client: httpx.AsyncClient) -> None:
    sim.state.inject_fault("429", retry_after="Wed, 21 Oct 2015 07:28:00 GMT")
    response = await batch(client, [])
    assert response.headers["retry-after"] == "Wed, 21 Oct 2015 07:28:00 GMT"


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("500", 500, "api_error"),
        ("504", 504, "api_error"),
        ("401", 401, "token_expired"),
        ("403_used_up", 403, "used_up"),
    ],
)
async def test_json_error_faults(
    sim: InProcessSim, client: httpx.AsyncClient, kind: str, status: int, code: str
) -> None:
    sim.state.inject_fault(kind)
    response = await batch(client, [])
    assert response.status_code == status
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == code and body["trace_id"]


@pytest.mark.parametrize(("kind", "status"), [("502_html", 502), ("503_html", 503)])
async def test_html_error_pages(
    sim: InProcessSim, client: httpx.AsyncClient, kind: str, status: int
) -> None:
    sim.state.inject_fault(kind, retry_after=7 if status == 503 else None)
    response = await batch(client, [])
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<html>") and str(status) in response.text
    assert response.headers.get("retry-after") == ("7" if status == 503 else None)
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_empty_body(sim: InProcessSim, client: httpx.AsyncClient) -> None:
    sim.state.inject_fault("empty")
    response = await batch(client, [])
    assert response.status_code == 200 and response.content == b""


async def test_truncated_json(sim: InProcessSim, client: httpx.AsyncClient) -> None:
    ids = sim.state.seed(3)
    sim.state.inject_fault("truncated")
    response = await batch(client, ids)
    assert response.status_code == 200
    assert response.content.startswith(b'{"items":[')
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_wrong_shape(sim: InProcessSim, client: httpx.AsyncClient) -> None:
    sim.state.inject_fault("wrong_shape")
    response = await batch(client, sim.state.seed(2))
    assert response.status_code == 200
    assert not isinstance(response.json()["items"], list)


async def test_missing_id_in_a_batch_and_a_single_record(
    sim: InProcessSim, client: httpx.AsyncClient
) -> None:
    ids = sim.state.seed(3)
    sim.state.inject_fault("missing_id", times=3)
    items = (await batch(client, ids)).json()["items"]
    assert "id" not in items[0] and items[0]["request"]
    assert [item["id"] for item in items[1:]] == ids[1:]

    single = await client.post(TASKS, json={"id": ids[0], "action": "retrieve"})
    assert single.status_code == 200 and "id" not in single.json()

    empty = (await batch(client, [])).json()["items"]
    assert len(empty) == 1 and "id" not in empty[0]


async def test_huge_answer_is_valid_json(sim: InProcessSim, client: httpx.AsyncClient) -> None:
    ids = sim.state.seed(2)
    sim.state.inject_fault("huge")
    response = await batch(client, ids)
    assert response.status_code == 200
    assert len(response.content) > 10_000_000
    assert [item["id"] for item in response.json()["items"]] == ids


async def test_slow_answers_normally_after_the_delay(
    sim: InProcessSim, client: httpx.AsyncClient
) -> None:
    ids = sim.state.seed(1)
    sim.state.inject_fault("slow", delay=0.01)
    response = await batch(client, ids)
    assert response.status_code == 200 and response.json()["items"][0]["id"] == ids[0]
    assert sim.state.pending_faults == []


async def test_reset_reaches_an_asgi_client_as_a_read_error(
    sim: InProcessSim, client: httpx.AsyncClient
) -> None:
    sim.state.inject_fault("reset")
    with pytest.raises(httpx.ReadError):
        await batch(client, sim.state.seed(2))
    assert (await batch(client, [])).status_code == 200


async def test_faults_apply_in_order_to_the_next_api_requests(
    sim: InProcessSim, client: httpx.AsyncClient
) -> None:
    sim.state.inject_fault("500", times=2)
    sim.state.inject_fault("429")
    statuses = []
    for _ in range(4):
        statuses.append((await batch(client, [])).status_code)
    create = await client.post(
        "/nano-banana/images", json={"action": "generate", "prompt": "x", "async": True}
    )
    assert statuses == [500, 500, 429, 200]
    assert create.status_code == 200


async def test_faults_hit_the_images_api_too(sim: InProcessSim, client: httpx.AsyncClient) -> None:
    sim.state.inject_fault("503_html")
    create = await client.post(
        "/nano-banana/images", json={"action": "generate", "prompt": "x", "async": True}
    )
    assert create.status_code == 503
    assert len(sim.state) == 0  # the proxy answered: no task was made


async def test_faults_spare_admin_and_image_routes(
    sim: InProcessSim, client: httpx.AsyncClient
) -> None:
    sim.state.inject_fault("500")
    assert (await client.get("/images/abc-0.png")).status_code == 200
    assert (await client.get("/_sim/requests")).status_code == 200
    assert [fault.kind for fault in sim.state.pending_faults] == ["500"]


async def test_a_fault_comes_before_the_token_check(
    sim: InProcessSim,
) -> None:
    sim.state.inject_fault("502_html")
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as client:
        assert (await batch(client, [])).status_code == 502
        assert (await batch(client, [])).status_code == 400  # no_token


async def test_random_fault_mode(make_sim: Callable[..., InProcessSim]) -> None:
    sim = make_sim(fault_rate=1.0, fault_kinds=("500", "504"))
    async with sim.client() as client:
        statuses = {(await batch(client, [])).status_code for _ in range(12)}
    assert statuses == {500, 504}


async def test_the_demo_rate_limit_episode(sim: InProcessSim, client: httpx.AsyncClient) -> None:
    ids = sim.state.seed_demo()
    statuses = [(await batch(client, ids)).status_code for _ in range(8)]
    assert statuses == [200] * 6 + [429, 200]


async def test_latency_setting_still_answers(make_sim: Callable[..., InProcessSim]) -> None:
    sim = make_sim(latency=0.005)
    async with httpx.AsyncClient(
        transport=sim.transport(), base_url=sim.base_url, headers=AUTH
    ) as client:
        assert (await batch(client, [])).status_code == 200
