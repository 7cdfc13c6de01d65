"""`retrieve` of an id the service does not know: a 404 with an API error body is *not found*;
a 404 that means a wrong base URL (`no_api`, a proxy's page) is an error (docs/api.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nbtui.api.client import NanoBananaClient
from nbtui.api.errors import RequestRejected
from nbtui.api.state import TaskState

from .conftest import Scripted, SimEnv

TASK_ID = "4d320ead-4af4-4a55-8f3e-f2afebdf4fd0"
Build = Callable[..., NanoBananaClient]


@pytest.mark.parametrize("success_key", [True, False])
async def test_the_simulators_404_is_not_found_with_or_without_success(
    env: SimEnv, success_key: bool
) -> None:
    env.state.config.error_success_key = success_key
    task = await env.client().retrieve(TASK_ID)
    assert task.state is TaskState.NOT_FOUND and task.id == TASK_ID


async def test_a_404_no_api_from_the_simulator_is_a_wrong_base_url(env: SimEnv) -> None:
    env.state.inject_fault("no_api", success_key=False)
    with pytest.raises(RequestRejected, match="base URL"):
        await env.client().retrieve(TASK_ID)


@pytest.mark.parametrize(
    "body",
    [
        {"error": "task not found", "trace_id": "t"},
        {"code": "task_not_exist", "message": "no such task"},
        {"error": {"message": "no such task"}},
    ],
)
async def test_other_api_error_bodies_on_404_are_not_found(
    script: Scripted, scripted_client: Build, body: dict[str, Any]
) -> None:
    script.add(404, body)
    task = await scripted_client().retrieve(TASK_ID)
    assert task.state is TaskState.NOT_FOUND


@pytest.mark.parametrize(
    "body", [{"detail": "Not Found"}, {"error": ""}, {"code": "no_api"}, {}, ["x"]]
)
async def test_404_bodies_that_are_not_an_api_error_are_not_not_found(
    script: Scripted, scripted_client: Build, body: Any
) -> None:
    script.add(404, body)
    with pytest.raises(RequestRejected):
        await scripted_client().retrieve(TASK_ID)
