"""Every row of API.md §1's state table, and the shapes the public clients get wrong."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from typing import Any

import pytest

from nbtui.api import models, state
from nbtui.api.state import (
    Task,
    TaskState,
    derive_state,
    extract_error,
    extract_images,
    is_valid_task_id,
    parse_task_ids,
)

TASK_ID = "4d320ead-4af4-4a55-8f3e-f2afebdf4fd0"
URL = "https://platform.cdn.acedata.cloud/nanobanana/7e7bd000.png"


def record(**fields: Any) -> dict[str, Any]:
    return {"id": TASK_ID, "request": {"action": "generate", "prompt": "cat"}, **fields}


STATE_TABLE: list[tuple[str, dict[str, Any] | None, TaskState]] = [
    # pending / running: no response, or a response with no success key, and no finished_at
    ("no response at all", record(), TaskState.PENDING),
    ("response is null", record(response=None), TaskState.PENDING),
    ("response holds only task_id", record(response={"task_id": TASK_ID}), TaskState.PENDING),
    ("started, no response", record(started_at=1757183036.8), TaskState.RUNNING),
    (
        "started, response with only task_id",
        record(started_at=1.0, response={"task_id": TASK_ID, "trace_id": "t"}),
        TaskState.RUNNING,
    ),
    ("status word says running", record(status="processing"), TaskState.RUNNING),
    # succeeded: response.success is true
    (
        "success true with images",
        record(
            started_at=1.0,
            finished_at=2.0,
            response={"success": True, "data": [{"image_url": URL, "prompt": "cat"}]},
        ),
        TaskState.SUCCEEDED,
    ),
    (
        "success true with fewer images than asked, even none",
        record(response={"success": True, "data": []}),
        TaskState.SUCCEEDED,
    ),
    (
        "success true without finished_at yet",
        record(response={"success": True, "data": [{"image_url": URL}]}),
        TaskState.SUCCEEDED,
    ),
    # failed: response.success is false
    (
        "success false with error and finished_at",
        record(
            finished_at=2.0,
            response={"success": False, "error": {"code": "api_error", "message": "fetch failed"}},
        ),
        TaskState.FAILED,
    ),
    (
        "success false without finished_at",
        record(response={"success": False, "error": {"code": "api_error", "message": "x"}}),
        TaskState.FAILED,
    ),
    ("success false, no error object", record(response={"success": False}), TaskState.FAILED),
    (
        "legacy failure: error and no success key",
        record(response={"error": {"code": "api_error", "message": "boom"}}),
        TaskState.FAILED,
    ),
    (
        "legacy failure with a plain string error",
        record(response={"error": "upstream exploded"}),
        TaskState.FAILED,
    ),
    (
        "legacy failure with an empty error object (a response.error is there)",
        record(response={"error": {}}),
        TaskState.FAILED,
    ),
    ("error: null is no error", record(response={"error": None}), TaskState.PENDING),
    # failed (moderation)
    (
        "moderation: forbidden",
        record(
            finished_at=2.0,
            response={"success": False, "error": {"code": "forbidden", "message": "unsafe"}},
        ),
        TaskState.FAILED,
    ),
    # status words confirm
    *[
        (f"status word {word!r} means failed", record(status=word), TaskState.FAILED)
        for word in ("failed", "failure", "error", "cancelled", "canceled", "rejected")
    ],
    *[
        (f"state word {word!r} means done", record(state=word.upper()), TaskState.SUCCEEDED)
        for word in ("succeed", "succeeded", "success", "completed", "complete", "finished")
    ],
    (
        "explicit success flag beats a contradicting status word",
        record(status="failed", response={"success": True, "data": [{"image_url": URL}]}),
        TaskState.SUCCEEDED,
    ),
    (
        "success false beats a 'completed' word (the dedicated CLI's bug)",
        record(status="completed", finished_at=3.0, response={"success": False}),
        TaskState.FAILED,
    ),
    # finished without a success key
    (
        "finished with images but no success key",
        record(finished_at=2.0, response={"data": [{"image_url": URL}]}),
        TaskState.SUCCEEDED,
    ),
    (
        "finished with nothing",
        record(finished_at=2.0, response={"task_id": TASK_ID}),
        TaskState.FAILED,
    ),
    # not found
    ("asked for, not returned", None, TaskState.NOT_FOUND),
    # lenient about odd values
    ("success as the string 'false'", record(response={"success": "false"}), TaskState.FAILED),
    ("response is not an object", record(response="weird"), TaskState.PENDING),
]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(raw, expected) for _, raw, expected in STATE_TABLE],
    ids=[name for name, _, _ in STATE_TABLE],
)
def test_state_table(raw: dict[str, Any] | None, expected: TaskState) -> None:
    assert derive_state(raw) is expected


def test_finished_states() -> None:
    assert {s for s in TaskState if s.is_finished} == {
        TaskState.SUCCEEDED,
        TaskState.FAILED,
        TaskState.NOT_FOUND,
    }
    assert TaskState.NOT_FOUND.label == "not found"


def test_moderation_error_is_recognised() -> None:
    raw = record(response={"success": False, "error": {"code": "forbidden", "message": "no"}})
    error = extract_error(raw)
    assert error is not None
    assert error.code == "forbidden"
    assert error.is_moderation


def test_error_of_a_success_is_none_and_of_missing_is_not_found() -> None:
    assert extract_error(record(response={"success": True})) is None
    missing = extract_error(None)
    assert missing is not None
    assert missing.code == "not_found"


def test_images_skip_entries_that_are_not_images() -> None:
    raw = record(
        response={
            "success": True,
            "data": [{"image_url": URL}, "junk", {"prompt": "no url"}, {"image_url": 42}],
        }
    )
    assert [image.image_url for image in extract_images(raw)] == [URL]


def test_task_keeps_raw_and_unknown_fields() -> None:
    raw = record(created_at=1.5, surprise={"nested": [1, 2]}, response={"success": True})
    task = Task.from_raw(raw)
    assert task.raw == raw
    assert task.state is TaskState.SUCCEEDED
    assert task.record is not None
    assert task.record.model_extra == {"surprise": {"nested": [1, 2]}}


def test_the_record_is_parsed_when_first_read_and_follows_raw() -> None:
    code = (
        "import sys\n"
        "from nbtui.api.state import Task\n"
        f"task = Task.from_raw({record(response={'success': True})!r})\n"
        "assert 'pydantic' not in sys.modules\n"
        f"assert task.record is not None and task.record.id == {TASK_ID!r}\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    task = Task.from_raw(record(created_at=1.5))
    moved = dataclasses.replace(task, raw=record(created_at=2.5))
    assert moved.record is not None and moved.record.created_at == 2.5
    assert Task.not_found(TASK_ID).record is None


def test_the_record_model_types_images_and_errors_and_keeps_the_rest() -> None:
    image = {"image_url": URL, "prompt": "a fox", "width": 1024}
    done = Task.from_raw(record(response={"success": True, "data": [image], "extra": 1}))
    assert done.record is not None and done.record.response is not None
    assert done.record.response.success is True
    assert done.record.response.data is not None
    assert done.record.response.data[0].image_url == URL
    assert done.record.response.data[0].model_extra == {"width": 1024}
    assert done.record.response.model_extra == {"extra": 1}
    failed = Task.from_raw(
        record(response={"success": False, "error": {"code": "forbidden", "message": "no"}})
    )
    assert failed.record is not None and failed.record.response is not None
    assert failed.record.response.error == models.ErrorBody(code="forbidden", message="no")
    # Only `id` is required: a record holding nothing else is still a record.
    assert Task.from_raw({"id": TASK_ID}).record == models.TaskRecord(id=TASK_ID)


def test_models_keeps_the_names_it_always_had() -> None:
    assert all(getattr(models, name) is getattr(state, name) for name in state.__all__)


def test_task_with_odd_field_types_still_derives() -> None:
    raw = record(created_at="yesterday", response={"success": False, "error": {"code": 7}})
    task = Task.from_raw(raw)
    assert task.record is None  # could not be parsed into the model...
    assert task.state is TaskState.FAILED  # ...but the state is still right
    assert task.error is not None
    assert task.error.code == "7"


def test_id_validation_and_parsing() -> None:
    assert is_valid_task_id(TASK_ID)
    assert is_valid_task_id(f"  {TASK_ID.upper()}\n")
    assert not is_valid_task_id("4d320ead")
    assert not is_valid_task_id("68bc7c3c550a4144a53d0e24")  # the `_id`, not the task id
    other = "1ebe4f2b-0000-4000-8000-000000000001"
    valid, rejected = parse_task_ids([f"{TASK_ID}, nope\n{other};{TASK_ID.upper()}  ../etc"])
    assert valid == [TASK_ID, other]
    assert rejected == ["nope", "../etc"]
