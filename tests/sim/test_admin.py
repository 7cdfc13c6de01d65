"""Admin routes (/_sim/...): how tests in another process steer the simulator."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from nbtui.api.models import TaskState, derive_state
from nbtui.sim import InProcessSim


@pytest.fixture
async def admin(sim: InProcessSim) -> Any:
    """A client with no token at all: admin routes must not need one."""
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as client:
        yield client


async def test_admin_faults_queue_for_api_requests(
    sim: InProcessSim, admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    response = await admin.post("/_sim/faults", json={"kind": "429", "times": 2, "retry_after": 4})
    assert response.json() == {"ok": True, "pending": 2}
    first = await client.post("/nano-banana/tasks", json={"ids": [], "action": "retrieve_batch"})
    assert first.status_code == 429 and first.headers["retry-after"] == "4"

    await admin.post("/_sim/faults/clear")
    assert sim.state.pending_faults == []

    await admin.post("/_sim/faults", json={"kind": "500", "after_requests": 2})
    statuses = [
        (
            await client.post("/nano-banana/tasks", json={"ids": [], "action": "retrieve_batch"})
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 500, 200]  # two answered so far (the 429 counted), then the 500


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "teapot"},
        {},
        {"kind": "500", "times": 0},
        {"kind": "500", "times": "x"},
        {"kind": "500", "times": 10**9},
    ],
)
async def test_admin_faults_refuse_bad_input(
    admin: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await admin.post("/_sim/faults", json=body)
    assert response.status_code == 400 and response.json()["ok"] is False


async def test_admin_tasks_make_tasks_every_way(
    sim: InProcessSim, admin: httpx.AsyncClient
) -> None:
    seeded = (await admin.post("/_sim/tasks", json={"count": 5})).json()["ids"]
    assert len(seeded) == 5

    spec = {
        "prompt": "made by admin",
        "outcome": "failed",
        "pending_seconds": 0,
        "running_seconds": 0,
    }
    made = (await admin.post("/_sim/tasks", json={"spec": spec})).json()["ids"]
    assert derive_state(sim.state.record(made[0])) is TaskState.FAILED

    raw = {"id": "raw-1", "response": {"error": "legacy"}}
    assert (await admin.post("/_sim/tasks", json={"raw": raw})).json()["ids"] == ["raw-1"]

    demo = (await admin.post("/_sim/tasks", json={"demo": True, "rate_limit_after": None})).json()
    assert len(demo["ids"]) >= 10
    assert sim.state.pending_faults == []

    record = await admin.get(f"/_sim/tasks/{made[0]}")
    assert record.status_code == 200 and record.json()["request"]["prompt"] == "made by admin"
    assert (await admin.get("/_sim/tasks/nope")).status_code == 404
    assert len(sim.state) == 5 + 1 + 1 + len(demo["ids"])


@pytest.mark.parametrize(
    "body",
    [
        {"spec": {"prompt": "x", "bogus": 1}},
        {"spec": {"outcome": "maybe"}},
        {"specs": "x"},
        {"demo": True, "rate_limit_after": "soon"},
        {"raw": [1]},
    ],
)
async def test_admin_tasks_refuse_bad_specs(admin: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await admin.post("/_sim/tasks", json=body)
    assert response.status_code == 400 and response.json()["ok"] is False


async def test_admin_requests_counts_and_reset(
    sim: InProcessSim, admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    await client.post("/nano-banana/tasks", json={"ids": [], "action": "retrieve_batch"})
    await admin.post("/nano-banana/tasks", json={"ids": [], "action": "retrieve_batch"})
    await admin.get("/images/x-0.png")
    summary = (await admin.get("/_sim/requests")).json()
    assert summary["api"] == 2 and summary["api_with_auth"] == 1 and summary["api_auth_ok"] == 1
    assert summary["images"] == 1 and summary["images_with_auth"] == 0
    assert summary["by_path"]["/nano-banana/tasks"] == 2
    assert [r["path"] for r in summary["requests"]] == [
        "/nano-banana/tasks",
        "/nano-banana/tasks",
        "/images/x-0.png",
    ]
    assert all("token" not in str(r) for r in summary["requests"])

    sim.state.seed(3)
    assert (await admin.post("/_sim/reset")).json() == {"ok": True}
    assert len(sim.state) == 0
    assert (await admin.get("/_sim/requests")).json()["total"] == 0


async def test_admin_config_changes_a_running_simulator(
    sim: InProcessSim, admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    response = await admin.post(
        "/_sim/config", json={"allow_listing": False, "listing_refusal_status": 403, "latency": 0}
    )
    assert response.json() == {"ok": True}
    listing = await client.post("/nano-banana/tasks", json={"action": "retrieve_batch"})
    assert listing.status_code == 403

    await admin.post("/_sim/config", json={"token": "rotated"})
    assert (
        await client.post("/nano-banana/tasks", json={"ids": [], "action": "retrieve_batch"})
    ).status_code == 401
    assert (await admin.post("/_sim/config", json={"token": None})).json()["ok"] is True
    assert sim.state.config.token is None

    for bad in ({"clock": 1}, {"latency": "slow"}, {"allow_listing": 1}):
        assert (await admin.post("/_sim/config", json=bad)).status_code == 400
