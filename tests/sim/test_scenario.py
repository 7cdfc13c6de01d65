"""Scenario files (`nbtui sim --scenario`, docs/simulator.md): the example plays every shape and
every error code, and a bad file is refused with a message naming the key (exit 2)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
import pytest

from nbtui.api.state import TaskState, derive_state
from nbtui.cli import main
from nbtui.sim import SimState, in_process
from nbtui.sim.config import SHAPES
from nbtui.sim.scenario import ScenarioError, load_scenario

from .conftest import AUTH, T0, FakeClock

EXAMPLE = Path(__file__).parents[2] / "docs" / "scenarios" / "every-shape.toml"
TASKS = "/nano-banana/tasks"
BRIEF_CODES = ("token_mismatched", "no_token", "disabled", "api_not_implemented")


def played(clock: FakeClock) -> tuple[SimState, list[str]]:
    scenario = load_scenario(EXAMPLE)
    state = SimState(dataclasses.replace(scenario.config(), clock=clock))
    return state, scenario.apply(state)


def test_the_example_plays_every_shape_and_state(clock: FakeClock) -> None:
    state, ids = played(clock)
    shapes = {task.shape for i in ids if (task := state.task(i)) is not None}
    assert shapes == set(SHAPES)
    states = {derive_state(state.record(i)) for i in ids}
    assert states == {TaskState.PENDING, TaskState.RUNNING, TaskState.SUCCEEDED, TaskState.FAILED}
    clock.advance(600)  # the phases hold: nothing in the example changes in ten minutes
    assert {i: derive_state(state.record(i)) for i in ids} == {
        i: derive_state(state.record(i)) for i in ids
    }


async def test_the_example_answers_every_error_code(clock: FakeClock) -> None:
    scenario = load_scenario(EXAMPLE)
    sim = in_process(scenario.config())
    scenario.apply(sim.state)
    seen: dict[str, tuple[int, bool]] = {}
    async with sim.client() as client:
        for fault in scenario.faults:
            for _ in range(2):  # every time, not once
                response = await client.post(TASKS, json={"id": fault["id"], "action": "retrieve"})
            body = response.json()
            seen[body["error"]["code"]] = (response.status_code, "success" in body)
        unknown = await client.post(TASKS, json={"id": "nope", "action": "retrieve"})
        too_large = await client.post(
            "/nano-banana/images", json={"action": "generate", "prompt": "x" * 1_100_000}
        )
    assert set(BRIEF_CODES) | {"request_too_large"} <= set(seen)
    assert seen["disabled"] == (400, False)  # the published examples' body: no success key
    assert seen["request_too_large"] == (413, True)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert too_large.status_code == 413


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[sim]\ntoken = 5\n", "sim.token: must be a string, not 5"),
        ("[sim]\nspeed = 1\n", "sim.speed: unknown key"),
        ("[sim]\nshapes = ['acepted']\n", "sim.shapes: 'acepted' is not a shape"),
        ("[sim]\nfailure_ratio = 2\n", "sim.failure_ratio: must be between 0 and 1"),
        ("[[tasks]]\nshape = 'acepted'\n", "tasks[0].shape: 'acepted' is not one"),
        ("[[tasks]]\noutcome = 'won'\n", "tasks[0].outcome"),
        ("[[tasks]]\nage = -1\n", "tasks[0].age: must not be negative"),
        ("[[tasks]]\ncount = 9\n", "tasks[0].count: must be from 1 to 4"),
        ("[[tasks]]\npending_seconds = true\n", "tasks[0].pending_seconds: must be a number"),
        ("[[tasks]]\nraw = {}\nshape = 'words'\n", "tasks[0].shape: does not apply"),
        ("[[tasks]]\ntimeline = [{after = 1}]\n", "tasks[0].timeline[0]: needs a record"),
        ("[[tasks]]\nid = 'a'\n[[tasks]]\nid = 'A'\n", "tasks[1].id: 'A' is already used"),
        ("[[faults]]\ncode = 'teapot'\n", "faults[0].code: 'teapot' is not a fault"),
        ("[[faults]]\ntimes = 2\n", "faults[0]: give the fault's kind"),
        ("[[faults]]\ncode = 'disabled'\nendpoint = 'videos'\n", "faults[0].endpoint"),
        ("[[faults]]\ncode = 'disabled'\nstatus = 200\n", "faults[0].status"),
        ("tasks = 3\n", "tasks: must be a list"),
        ("[extra]\n", "extra: unknown section"),
        ("[sim\n", "not valid TOML"),
    ],
)
def test_bad_scenarios_name_the_key(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert words in str(caught.value) and str(path) in str(caught.value)


def test_json_scenarios_too(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"tasks": [{"id": "x-1", "shape": "accepted", "outcome": "never"}]}')
    scenario = load_scenario(path)
    state = SimState(scenario.config())
    assert scenario.apply(state) == ["x-1"] and state.task("x-1").shape == "accepted"  # type: ignore[union-attr]
    path.write_text('{"tasks": [{"age": NaN}]}')
    with pytest.raises(ScenarioError, match="not valid JSON"):
        load_scenario(path)


@pytest.mark.parametrize("name", ["bad.toml", "missing.toml"])
def test_nbtui_sim_refuses_a_bad_scenario_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    path = tmp_path / name
    if name == "bad.toml":
        path.write_text("[[tasks]]\nshape = 'acepted'\n")
    assert main(["sim", "--port", "0", "--scenario", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert ("tasks[0].shape" in err) if name == "bad.toml" else ("cannot read" in err)


async def test_a_scenario_task_is_served_over_http(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "s.toml"
    path.write_text("[[tasks]]\nid = 'ABC'\nshape = 'progress'\nage = 3\nrunning_seconds = 10\n")
    scenario = load_scenario(path)
    sim = in_process(dataclasses.replace(scenario.config(), clock=clock))
    assert scenario.apply(sim.state) == ["abc"]
    clock.now = T0 + 5  # 8 s old: 2 s pending (the default), then 6 s into a 10 s run
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as client:
        response = await client.post(TASKS, json={"id": "ABC", "action": "retrieve"}, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["response"]["progress"] == 60
