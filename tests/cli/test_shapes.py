"""The same state for the shapes the provider's clients know, in `get`, `watch` and `list`
(docs/api.md, "The task's state": rows 6 and 8), against the simulator on loopback."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from nbtui.sim import SimServer
from tests.helpers import TOKEN, CliRunner

ACCEPTED = "7a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d"
FAILOVER = "7a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3e"
WORKING = "7a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3f"
PNG = "https://cdn.example.org/failover.png"


def accepted(task_id: str = ACCEPTED) -> dict[str, Any]:
    """The async create call's accepted answer copied into the record: still running."""
    return {"id": task_id, "response": {"success": True, "task_id": task_id, "trace_id": "t-1"}}


def failover() -> dict[str, Any]:
    """Images and no success key (a failover write dropped the flag): done."""
    return {"id": FAILOVER, "response": {"task_id": FAILOVER, "data": [{"image_url": PNG}]}}


def working() -> dict[str, Any]:
    return {"id": WORKING, "response": {"status": "processing", "progress": 0.45}}


@pytest.fixture
def api(sim_server: SimServer, monkeypatch: pytest.MonkeyPatch) -> SimServer:
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", TOKEN)
    monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", sim_server.base_url)
    for record in (accepted(), failover(), working()):
        sim_server.state.add_raw(record)
    return sim_server


def test_get_json_gives_the_tables_state(cli: CliRunner, api: SimServer) -> None:
    run = cli("get", "--json", ACCEPTED, FAILOVER, WORKING)
    assert run.code == 0, run.err
    items = {item["id"]: item for item in json.loads(run.out)}
    assert items[ACCEPTED]["state"] == "running"
    assert items[ACCEPTED]["images"] == [] and items[ACCEPTED]["error"] is None
    assert items[FAILOVER]["state"] == "succeeded"
    assert items[FAILOVER]["images"] == [PNG]
    assert items[WORKING]["state"] == "running"


def test_get_lines_show_the_progress_where_the_record_gives_it(
    cli: CliRunner, api: SimServer
) -> None:
    run = cli("get", ACCEPTED, FAILOVER, WORKING)
    assert run.code == 0, run.err
    lines = {line.split()[0]: line.split(maxsplit=1)[1] for line in run.lines}
    assert lines[WORKING].split() == ["running", "0", "images", "45%", "done"]
    assert lines[ACCEPTED].split() == ["running", "0", "images", "-"]  # no figure, no bar
    assert lines[FAILOVER].split() == ["succeeded", "1", "image", PNG]


def test_watch_keeps_waiting_on_an_accepted_task(cli: CliRunner, api: SimServer) -> None:
    run = cli("watch", "--json", "--interval", "1", "--timeout", "3.5", ACCEPTED)
    assert run.code == 1
    assert json.loads(run.out)[0]["state"] == "running"
    assert "timed out after 3.5 s with 1 task(s) not finished" in run.err
    assert len(api.state.api_requests()) >= 2  # asked again: not taken as done


def test_watch_follows_an_accepted_task_to_its_images(cli: CliRunner, api: SimServer) -> None:
    done = {
        "id": ACCEPTED,
        "finished_at": 1790000000.0,
        "response": {"success": True, "task_id": ACCEPTED, "data": [{"image_url": PNG}]},
    }

    def finish_once_polled() -> None:
        while not api.state.api_requests():
            threading.Event().wait(0.01)
        api.state.add_raw(done)

    finisher = threading.Thread(target=finish_once_polled, daemon=True)
    finisher.start()
    run = cli("watch", "--json", "--interval", "1", "--timeout", "30", ACCEPTED)
    finisher.join(5)
    assert run.code == 0, run.err
    (item,) = json.loads(run.out)
    assert item["state"] == "succeeded" and item["images"] == [PNG]
    assert len(api.state.api_requests()) >= 2


def test_watch_ends_at_once_on_a_failover_record(cli: CliRunner, api: SimServer) -> None:
    run = cli("watch", "--json", FAILOVER)
    assert run.code == 0, run.err
    assert json.loads(run.out)[0]["state"] == "succeeded"
    assert len(api.state.api_requests()) == 1


def test_list_json_gives_the_tables_state(cli: CliRunner, api: SimServer) -> None:
    assert cli("add", ACCEPTED, FAILOVER, WORKING).code == 0
    assert cli("get", ACCEPTED, FAILOVER, WORKING).code == 0  # refreshes the tracked tasks
    run = cli("list", "--json")
    assert run.code == 0, run.err
    items = {item["id"]: item for item in json.loads(run.out)}
    assert items[ACCEPTED]["state"] == "running" and items[ACCEPTED]["error"] is None
    assert items[FAILOVER]["state"] == "succeeded" and items[FAILOVER]["images"] == [PNG]
    assert items[WORKING]["state"] == "running"
