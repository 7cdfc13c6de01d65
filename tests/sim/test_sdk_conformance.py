"""The provider's own Python SDK as a second opinion (docs/sdk-conformance.md).

The simulator plays docs/scenarios/every-shape.toml on a loopback port; for every task in it
(every record shape the simulator plays, in every phase) the SDK retrieves the record and its
`task_status` gives its verdict, and nbtui's client retrieves it and `derive_state` gives
nbtui's. They must agree, except where docs/sdk-conformance.md lists a deliberate
disagreement: its table is the one place the expected disagreements live, so a new
disagreement (or a listed one that went away) fails this test. The SDK's `wait` is not used:
it polls for up to 600 s.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from acedatacloud import AceDataCloud
from acedatacloud._runtime.errors import APIError
from acedatacloud._runtime.tasks import task_status

from nbtui.api.client import NanoBananaClient
from nbtui.api.state import TaskState
from nbtui.sim import SimServer, SimState
from nbtui.sim.scenario import load_scenario

ROOT = Path(__file__).parents[2]
SCENARIO = ROOT / "docs" / "scenarios" / "every-shape.toml"
TABLE = ROOT / "docs" / "sdk-conformance.md"
UNKNOWN_ID = "11111111-2222-4333-8444-555555555555"
_ROW = re.compile(r"^\|\s*`([0-9a-f-]{36})`\s*\|[^|]*\|\s*([a-z ]+?)\s*\|\s*([a-z ]+?)\s*\|")


def expected_disagreements() -> dict[str, tuple[str, str]]:
    """task id -> (SDK verdict, nbtui verdict), from the table in docs/sdk-conformance.md."""
    rows: dict[str, tuple[str, str]] = {}
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if match:
            rows[match[1]] = (match[2], match[3])
    assert rows, f"no disagreement rows found in {TABLE}"
    return rows


def sdk_verdict(status: str) -> str:
    """The SDK's `task_status`: succeeded, failed, or "" (keep waiting)."""
    return status or "running"


def nbtui_verdict(state: TaskState) -> str:
    """nbtui's state, with pending folded into running: the SDK has no word for it."""
    return "running" if state is TaskState.PENDING else state.label


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[SimServer, list[str]]]:
    scenario = load_scenario(SCENARIO)
    state = SimState(scenario.config())
    ids = scenario.apply(state)
    with SimServer(state=state) as server:
        yield server, ids


async def test_the_sdk_and_nbtui_agree_except_where_the_table_says(
    served: tuple[SimServer, list[str]],
) -> None:
    server, ids = served
    token = server.config.token
    sdk = AceDataCloud(api_token=token, base_url=server.base_url, max_retries=0, timeout=10)
    verdicts: dict[str, tuple[str, str]] = {}
    async with NanoBananaClient(server.base_url, token, max_attempts=1) as client:
        for task_id in [*ids, UNKNOWN_ID]:
            try:
                record = sdk.tasks.get(task_id, service="nano-banana")
                sdk_says = sdk_verdict(task_status(record))
            except APIError as exc:
                assert exc.status_code == 404, exc
                sdk_says = "not found"
            task = await client.retrieve(task_id)
            verdicts[task_id] = (sdk_says, nbtui_verdict(task.state))
    sdk.close()

    differ = {task_id: pair for task_id, pair in verdicts.items() if pair[0] != pair[1]}
    assert differ == expected_disagreements()
    # The comparison covered every phase: both sides saw each verdict somewhere.
    assert {pair[1] for pair in verdicts.values()} == {
        "running",
        "succeeded",
        "failed",
        "not found",
    }
    assert verdicts[UNKNOWN_ID] == ("not found", "not found")
