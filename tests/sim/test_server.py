"""The simulator over a real loopback socket (uvicorn in a thread), and the blocking runner."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import httpx
import pytest

from nbtui.api.models import Task, TaskState, derive_state
from nbtui.sim import SimConfig, SimInfo, SimServer, run_sim

from .conftest import AUTH

TASKS = "/nano-banana/tasks"


def test_shared_fixture_serves_the_api(sim_server: SimServer) -> None:
    task_id = sim_server.state.add_task(outcome="succeeded", pending_seconds=0, running_seconds=0)
    assert sim_server.base_url.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=sim_server.base_url, headers=AUTH) as client:
        response = client.post(TASKS, json={"id": task_id, "action": "retrieve"})
        unauthorised = client.post(
            TASKS, json={"id": task_id, "action": "retrieve"}, headers={"authorization": "x"}
        )
    assert derive_state(response.json()) is TaskState.SUCCEEDED
    assert Task.from_raw(response.json()).image_urls[0].startswith(sim_server.base_url + "/images/")
    assert unauthorised.status_code == 401
    assert [r.auth_ok for r in sim_server.state.requests] == [True, False]


async def test_async_client_over_the_socket(sim_server: SimServer) -> None:
    async with httpx.AsyncClient(base_url=sim_server.base_url, headers=AUTH) as client:
        created = await client.post(
            "/nano-banana/images", json={"action": "generate", "prompt": "x", "async": True}
        )
        task_id = created.json()["task_id"]
        batch = await client.post(TASKS, json={"ids": [task_id], "action": "retrieve_batch"})
    assert [item["id"] for item in batch.json()["items"]] == [task_id]


def test_reset_drops_the_connection_mid_body(sim_server: SimServer) -> None:
    ids = sim_server.state.seed(5)
    sim_server.state.inject_fault("reset")
    with httpx.Client(base_url=sim_server.base_url, headers=AUTH) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(TASKS, json={"ids": ids, "action": "retrieve_batch"})
        after = client.post(TASKS, json={"ids": ids, "action": "retrieve_batch"})
    assert len(after.json()["items"]) == 5


@pytest.mark.parametrize("kind", ["truncated", "empty", "502_html", "huge", "missing_id"])
def test_body_faults_over_the_socket(sim_server: SimServer, kind: str) -> None:
    ids = sim_server.state.seed(2)
    sim_server.state.inject_fault(kind)
    with httpx.Client(base_url=sim_server.base_url, headers=AUTH) as client:
        response = client.post(TASKS, json={"ids": ids, "action": "retrieve_batch"})
    if kind in ("truncated", "empty", "502_html"):
        with pytest.raises(json.JSONDecodeError):
            response.json()
    elif kind == "huge":
        assert len(response.content) > 10_000_000 and len(response.json()["items"]) == 2
    else:
        assert "id" not in response.json()["items"][0]


def test_separate_image_host_never_sees_the_token() -> None:
    config = SimConfig(pending_seconds=0, running_seconds=0, failure_ratio=0, moderation_ratio=0)
    with SimServer(config, separate_image_host=True) as sim:
        assert sim.image_base_url != sim.base_url
        task_id = sim.state.add_task(count=2)
        with httpx.Client(base_url=sim.base_url, headers=AUTH) as api:
            record = api.post(TASKS, json={"id": task_id, "action": "retrieve"}).json()
        urls = Task.from_raw(record).image_urls
        assert len(urls) == 2 and all(url.startswith(sim.image_base_url) for url in urls)
        with httpx.Client() as images:
            pngs = [images.get(url) for url in urls]
        assert all(p.status_code == 200 and p.content.startswith(b"\x89PNG") for p in pngs)
        image_log = sim.state.image_requests()
        assert len(image_log) == 2 and not any(r.had_auth for r in image_log)
        assert {r.host for r in image_log} == {sim.image_base_url.removeprefix("http://")}


def test_stop_is_idempotent_and_closes_the_port() -> None:
    server = SimServer().start()
    url = server.base_url
    assert server.start() is server
    server.stop()
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.post(url + TASKS, json={"action": "retrieve_batch"})
    with pytest.raises(RuntimeError):
        _ = server.base_url


def test_run_sim_blocks_until_stopped() -> None:
    ready = threading.Event()
    infos: list[SimInfo] = []

    def on_ready(info: SimInfo) -> None:
        infos.append(info)
        ready.set()

    runner = threading.Thread(
        target=run_sim,
        kwargs={"host": "127.0.0.1", "port": 0, "seed_tasks": 5, "on_ready": on_ready},
        daemon=True,
    )
    runner.start()
    assert ready.wait(10)
    info = infos[0]
    assert info.token == "sim-token" and len(info.task_ids) >= 15
    with httpx.Client(base_url=info.base_url, headers=AUTH) as client:
        response = client.post(TASKS, json={"ids": info.task_ids, "action": "retrieve_batch"})
    assert len(response.json()["items"]) == len(info.task_ids)
    info.stop()
    runner.join(10)
    assert not runner.is_alive()


def test_run_sim_reports_a_taken_port(sim_server: SimServer) -> None:
    with pytest.raises(OSError):
        run_sim("127.0.0.1", sim_server.port, demo=False)


def test_the_simulator_never_imports_textual_and_nbtui_never_imports_it() -> None:
    code = (
        "import sys, nbtui\n"
        "assert 'nbtui.sim' not in sys.modules and 'starlette' not in sys.modules\n"
        "import nbtui.sim\n"
        "assert 'starlette' not in sys.modules\n"
        "from nbtui.sim import SimServer, create_app\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'textual']\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
