"""Record shapes, error-code faults and robustness of the simulator (docs/simulator.md).

Each shape is checked against nbtui's own state rules (docs/api.md, "The task's state"): the
simulator must play what the real service serves, and nbtui must read it as the table says.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from nbtui.api.state import TaskState, derive_state, extract_images, is_tentative_failure
from nbtui.sim import InProcessSim, SimConfig, SimState
from nbtui.sim.config import REAL_SHAPE_MIX, SHAPES, Outcome
from nbtui.sim.faults import ERROR_CODES

from .conftest import AUTH, T0, FakeClock

TASKS = "/nano-banana/tasks"
IMAGES = "/nano-banana/images"


def make_state(clock: FakeClock, **config: Any) -> SimState:
    return SimState(SimConfig(clock=clock, **config))


def life(state: SimState, clock: FakeClock, task_id: str, at: list[float]) -> list[Any]:
    """The task's record at each of `at` seconds after T0."""
    out = []
    for moment in at:
        clock.now = T0 + moment
        out.append(state.record(task_id))
    return out


def test_every_shape_is_listed_and_the_real_mix_draws_from_all() -> None:
    assert set(REAL_SHAPE_MIX) == set(SHAPES)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("outcome", ["succeeded", "failed"])
def test_every_shape_goes_pending_running_finished(
    clock: FakeClock, shape: str, outcome: Outcome
) -> None:
    state = make_state(clock)
    task_id = state.add_task(
        shape=shape, outcome=outcome, pending_seconds=10, running_seconds=30, created_at=T0
    )
    pending, running, finished = life(state, clock, task_id, [5, 11, 100])
    assert "response" not in pending and derive_state(pending) is TaskState.PENDING
    assert derive_state(running) is TaskState.RUNNING, running
    wanted = TaskState.SUCCEEDED if outcome == "succeeded" else TaskState.FAILED
    assert derive_state(finished) is wanted, finished
    if outcome == "succeeded":
        assert len(extract_images(finished)) == 1


def test_accepted_shape_holds_the_create_answer_while_running(clock: FakeClock) -> None:
    state = make_state(clock)
    task_id = state.add_task(shape="accepted", pending_seconds=0, running_seconds=30, created_at=T0)
    [running] = life(state, clock, task_id, [10])
    assert set(running["response"]) == {"success", "task_id", "trace_id"}
    assert running["response"]["success"] is True and "finished_at" not in running
    assert derive_state(running) is TaskState.RUNNING


def test_no_success_flag_shape_drops_the_flag_only_when_done(clock: FakeClock) -> None:
    state = make_state(clock)
    task_id = state.add_task(
        shape="no_success_flag", outcome="succeeded", running_seconds=5, created_at=T0
    )
    [done] = life(state, clock, task_id, [60])
    assert "success" not in done["response"] and done["response"]["data"]
    assert derive_state(done) is TaskState.SUCCEEDED


@pytest.mark.parametrize("key", ["status", "state"])
def test_words_shape_puts_words_inside_response(clock: FakeClock, key: str) -> None:
    state = make_state(clock)
    task_id = state.add_task(
        shape="words", word_key=key, outcome="failed", pending_seconds=0, running_seconds=10
    )
    running, failed = life(state, clock, task_id, [5, 60])
    assert running["response"][key] == "processing"
    assert failed["response"][key] == "failed" and "status" not in failed
    assert derive_state(failed) is TaskState.FAILED


def test_progress_rises_over_the_run_and_reaches_100(clock: FakeClock) -> None:
    state = make_state(clock)
    task_id = state.add_task(
        shape="progress", pending_seconds=0, running_seconds=100, created_at=T0
    )
    records = life(state, clock, task_id, [0, 25, 50, 99.9, 100])
    figures = [record["response"].get("progress") for record in records]
    assert figures == [0, 25, 50, 99, 100]
    assert [derive_state(r) for r in records[:-1]] == [TaskState.RUNNING] * 4


def test_iso_times_shape_serves_strings(clock: FakeClock) -> None:
    state = make_state(clock)
    task_id = state.add_task(shape="iso_times", pending_seconds=1, running_seconds=2, created_at=T0)
    [done] = life(state, clock, task_id, [10])
    assert done["created_at"] == "2025-09-06T18:23:56.000Z"
    assert done["finished_at"] == "2025-09-06T18:23:59.000Z"
    assert isinstance(done["elapsed"], float)


def test_no_times_shape_has_no_started_finished_or_elapsed(clock: FakeClock) -> None:
    state = make_state(clock)
    task_id = state.add_task(shape="no_times", pending_seconds=1, running_seconds=2, created_at=T0)
    for record in life(state, clock, task_id, [2, 10]):
        assert not {"started_at", "finished_at", "elapsed"} & set(record)
        assert isinstance(record["created_at"], float)


def test_tentative_failure_in_the_middle_third_then_recovers(clock: FakeClock) -> None:
    state = make_state(clock)
    task_id = state.add_task(
        shape="tentative", outcome="succeeded", pending_seconds=0, running_seconds=30
    )
    before, hiccup, after, done = life(state, clock, task_id, [5, 15, 25, 40])
    assert hiccup["response"] == {"success": False, "error": "temporary"}
    assert derive_state(hiccup) is TaskState.FAILED and is_tentative_failure(hiccup)
    assert derive_state(before) is derive_state(after) is TaskState.RUNNING
    assert derive_state(done) is TaskState.SUCCEEDED


def test_shapes_are_drawn_from_the_config_by_seed(clock: FakeClock) -> None:
    def shapes(seed: int) -> list[str]:
        state = make_state(clock, seed=seed, shapes=REAL_SHAPE_MIX)
        return [state.task(i).shape for i in state.seed(200)]  # type: ignore[union-attr]

    assert shapes(3) == shapes(3) != shapes(4)
    assert set(shapes(3)) == set(SHAPES)
    # The default config keeps the documented record, and draws the same outcomes as before.
    plain = make_state(clock)
    assert {plain.task(i).shape for i in plain.seed(50)} == {"documented"}  # type: ignore[union-attr]


def test_the_demo_mixes_shapes(clock: FakeClock) -> None:
    state = make_state(clock)
    shapes = {state.task(i).shape for i in state.seed_demo()}  # type: ignore[union-attr]
    assert {"documented", "progress", "accepted", "words", "no_success_flag"} <= shapes


def test_timeline_serves_literal_records_in_turn(clock: FakeClock) -> None:
    state = make_state(clock)
    task_id = "4d320ead-4af4-4a55-8f3e-f2afebdf4fd0"
    state.add_timeline(
        task_id,
        [(5, {"id": task_id, "response": {"status": "processing"}}), (20, {"id": task_id})],
        created_at=T0,
    )
    clock.now = T0
    assert not state.known(task_id)
    early, middle, late = life(state, clock, task_id, [0, 10, 30])
    assert early is None and state.known(task_id)
    assert middle == {"id": task_id, "response": {"status": "processing"}}
    assert late == {"id": task_id}
    assert state.records([task_id, task_id]) == [late]


# ---------------------------------------------------------------------- error codes


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("token_mismatched", 401),
        ("no_token", 400),
        ("disabled", 400),
        ("api_not_implemented", 400),
        ("request_too_large", 413),
    ],
)
async def test_error_code_faults(
    sim: InProcessSim, client: httpx.AsyncClient, code: str, status: int
) -> None:
    sim.state.inject_fault(code)
    response = await client.post(TASKS, json={"ids": [], "action": "retrieve_batch"})
    assert response.status_code == status == ERROR_CODES[code][0]
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == code and body["trace_id"]


async def test_a_fault_can_override_status_and_drop_the_success_key(
    sim: InProcessSim, client: httpx.AsyncClient
) -> None:
    sim.state.inject_fault("token_mismatched", status=400, success_key=False, message="nope")
    response = await client.post(TASKS, json={"ids": [], "action": "retrieve_batch"})
    assert response.status_code == 400
    assert set(response.json()) == {"error", "trace_id"}
    assert response.json()["error"] == {"code": "token_mismatched", "message": "nope"}


async def test_error_bodies_without_success_key_when_configured(
    make_sim: Callable[..., InProcessSim],
) -> None:
    sim = make_sim(error_success_key=False)
    async with sim.client() as client:
        unknown = await client.post(TASKS, json={"id": "nope", "action": "retrieve"})
        bad = await client.post(IMAGES, json={"action": "draw"})
        sim.state.inject_fault("500")
        fault = await client.post(TASKS, json={"ids": [], "action": "retrieve_batch"})
        ok = await client.post(TASKS, json={"ids": [], "action": "retrieve_batch"})
    for response, status in ((unknown, 404), (bad, 400), (fault, 500)):
        assert response.status_code == status
        assert set(response.json()) == {"error", "trace_id"}, response.text
    assert ok.json() == {"items": [], "count": 0}


async def test_faults_aimed_at_a_task_or_an_endpoint_wait_for_their_request(
    sim: InProcessSim, client: httpx.AsyncClient
) -> None:
    target = sim.state.add_task()
    other = sim.state.add_task()
    sim.state.inject_fault("disabled", task_id=target.upper())
    sim.state.inject_fault("api_not_implemented", endpoint="images")
    retrieve = {"action": "retrieve"}
    assert (await client.post(TASKS, json={**retrieve, "id": other})).status_code == 200
    hit = await client.post(TASKS, json={"ids": [other, target], "action": "retrieve_batch"})
    assert hit.json()["error"]["code"] == "disabled"
    assert (await client.post(TASKS, json={**retrieve, "id": target})).status_code == 200
    create = await client.post(IMAGES, json={"action": "generate", "prompt": "x", "async": True})
    assert create.json()["error"]["code"] == "api_not_implemented"
    assert sim.state.pending_faults == []


# ---------------------------------------------------------------------- robustness


@pytest.mark.parametrize(
    "body",
    [
        {"action": "generate", "prompt": "x", "aspect_ratio": {}},
        {"action": "generate", "prompt": "x", "resolution": ["2K"]},
        {"action": "generate", "prompt": "x", "callback_url": None},
        {"action": "generate", "prompt": "x", "count": None},
        {"action": "generate", "prompt": "x", "model": None},
        {"action": "generate", "prompt": "x", "async": None},
        {"action": "generate", "prompt": "x", "image_urls": None},
        {"action": {}, "prompt": "x"},
        {"action": "generate", "prompt": "x", "image_urls": ["http://a", 7]},
    ],
)
async def test_odd_image_requests_are_400_json(
    sim: InProcessSim, client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post(IMAGES, json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "bad_request"
    assert len(sim.state) == 0


@pytest.mark.parametrize(
    "raw",
    [
        b'{"action": "generate", "prompt": NaN}',
        b'{"action": "retrieve", "id": Infinity}',
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 100 + b"1" + b"}" * 100,
        b"\xff\xfe",
    ],
)
@pytest.mark.parametrize("path", [TASKS, IMAGES])
async def test_bodies_that_are_not_plain_json_are_400(
    client: httpx.AsyncClient, raw: bytes, path: str
) -> None:
    response = await client.post(path, content=raw)
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize("key", ["created_at_min", "created_at_max"])
async def test_listing_with_a_number_too_big_for_a_float_is_400(
    client: httpx.AsyncClient, key: str
) -> None:
    response = await client.post(
        TASKS, content=json.dumps({"action": "retrieve_batch", key: 10**400}).encode()
    )
    assert response.status_code == 400 and key in response.json()["error"]["message"]


async def test_sync_create_answers_the_images_api_whatever_the_record_shape(
    make_sim: Callable[..., InProcessSim],
) -> None:
    sim = make_sim(
        shapes=("no_success_flag",),
        pending_seconds=0,
        running_seconds=0,
        failure_ratio=0,
        moderation_ratio=0,
    )
    async with sim.client() as client:
        response = await client.post(IMAGES, json={"action": "generate", "prompt": "x"})
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["data"][0]["image_url"]
    assert "success" not in sim.state.record(body["task_id"])["response"]  # type: ignore[index]


async def test_unknown_models_pass_through(client: httpx.AsyncClient) -> None:
    body = {"action": "generate", "prompt": "x", "model": "nano-banana-9:future", "async": True}
    response = await client.post(IMAGES, json=body, headers=AUTH)
    assert response.status_code == 200 and set(response.json()) == {
        "success",
        "task_id",
        "trace_id",
    }
