"""Every row of the state table in docs/api.md, and the shapes the public clients get wrong."""

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


FAILED_CODED = {"success": False, "error": {"code": "api_error", "message": "fetch failed"}}

# (row of the table in docs/api.md "The task's state", name, record, expected state)
STATE_TABLE: list[tuple[int, str, dict[str, Any] | None, TaskState]] = [
    # 1: no response and no word
    (1, "no response at all", record(), TaskState.PENDING),
    (1, "response is null", record(response=None), TaskState.PENDING),
    (1, "started, no response yet", record(started_at=1757183036.8), TaskState.PENDING),
    # 2: a failure word, wherever it stands
    *[
        (2, f"status word {word!r} means failed", record(status=word), TaskState.FAILED)
        for word in ("failed", "failure", "error", "cancelled", "canceled", "rejected")
    ],
    (
        2,
        "a failure word inside response outranks success true and images",
        record(response={"success": True, "status": "FAILED", "data": [{"image_url": URL}]}),
        TaskState.FAILED,
    ),
    (
        2,
        "a failure word nested in response.data",
        record(response={"data": {"task": {"state": "cancelled"}}}),
        TaskState.FAILED,
    ),
    (
        2,
        "a top-level failure word counts even when response exists",
        record(status="failed", response={"success": True, "data": [{"image_url": URL}]}),
        TaskState.FAILED,
    ),
    # 3: a done word
    *[
        (3, f"state word {word!r} means done", record(state=word.upper()), TaskState.SUCCEEDED)
        for word in ("succeed", "succeeded", "success", "completed", "complete", "finished", "done")
    ],
    (
        3,
        "a done word outranks success false (a word outranks the flag)",
        record(status="completed", finished_at=3.0, response={"success": False}),
        TaskState.SUCCEEDED,
    ),
    (
        3,
        "a done word in response with no image is succeeded with no images",
        record(response={"status": "succeeded"}),
        TaskState.SUCCEEDED,
    ),
    # 4: another word and no finished_at
    (4, "status word processing", record(status="processing"), TaskState.RUNNING),
    (
        4,
        "a word in response outranks success false (a retryable hiccup mid-run)",
        record(response={"success": False, "status": "processing"}),
        TaskState.RUNNING,
    ),
    (
        4,
        "a word in response outranks images",
        record(response={"state": "queued", "data": [{"image_url": URL}]}),
        TaskState.RUNNING,
    ),
    (
        4,
        "a word with finished_at falls through to the flags",
        record(status="processing", finished_at=2.0, response={"success": True}),
        TaskState.SUCCEEDED,
    ),
    # 5: success false, or the legacy error with no success key
    (5, "success false with a coded error", record(response=FAILED_CODED), TaskState.FAILED),
    (
        5,
        "success false with finished_at",
        record(finished_at=2.0, response=FAILED_CODED),
        TaskState.FAILED,
    ),
    (5, "success false, no error object", record(response={"success": False}), TaskState.FAILED),
    (
        5,
        "success false beats images",
        record(response={"success": False, "data": [{"image_url": URL}]}),
        TaskState.FAILED,
    ),
    (
        5,
        "legacy failure: error and no success key",
        record(response={"error": {"code": "api_error", "message": "boom"}}),
        TaskState.FAILED,
    ),
    (
        5,
        "legacy failure with a plain string error",
        record(response={"error": "upstream exploded"}),
        TaskState.FAILED,
    ),
    (
        5,
        "legacy failure with an empty error object",
        record(response={"error": {}}),
        TaskState.FAILED,
    ),
    (5, "success as the string 'false'", record(response={"success": "false"}), TaskState.FAILED),
    (
        5,
        "moderation: forbidden",
        record(
            finished_at=2.0,
            response={"success": False, "error": {"code": "forbidden", "message": "unsafe"}},
        ),
        TaskState.FAILED,
    ),
    # 6: images, success not false
    (
        6,
        "success true with images",
        record(
            started_at=1.0,
            finished_at=2.0,
            response={"success": True, "data": [{"image_url": URL, "prompt": "cat"}]},
        ),
        TaskState.SUCCEEDED,
    ),
    (
        6,
        "success true with images, no finished_at yet",
        record(response={"success": True, "data": [{"image_url": URL}]}),
        TaskState.SUCCEEDED,
    ),
    (
        6,
        "images with no success key (a failover write dropped the flag)",
        record(response={"task_id": TASK_ID, "data": [{"image_url": URL}]}),
        TaskState.SUCCEEDED,
    ),
    (
        6,
        "images, no success key, finished",
        record(finished_at=2.0, response={"data": [{"image_url": URL}]}),
        TaskState.SUCCEEDED,
    ),
    # 7: success true and finished_at
    (
        7,
        "success true, finished, no images",
        record(finished_at=2.0, response={"success": True, "data": []}),
        TaskState.SUCCEEDED,
    ),
    (
        7,
        "finished_at inside response counts",
        record(response={"success": True, "finished_at": "2025-09-06T18:24:08Z"}),
        TaskState.SUCCEEDED,
    ),
    # 8: the async create call's "accepted" answer
    (
        8,
        "accepted: success true with task and trace ids only",
        record(response={"success": True, "task_id": TASK_ID, "trace_id": "t"}),
        TaskState.RUNNING,
    ),
    (
        8,
        "accepted: success true with an empty data list",
        record(response={"success": True, "data": []}),
        TaskState.RUNNING,
    ),
    # 9: finished_at and nothing above
    (
        9,
        "finished with nothing",
        record(finished_at=2.0, response={"task_id": TASK_ID}),
        TaskState.FAILED,
    ),
    (
        9,
        "finished (an ISO string) with a response that is not an object",
        record(finished_at="2025-09-06T18:24:08Z", response="weird"),
        TaskState.FAILED,
    ),
    # 10: anything else
    (10, "response holds only task_id", record(response={"task_id": TASK_ID}), TaskState.RUNNING),
    (
        10,
        "started, response with only task and trace ids",
        record(started_at=1.0, response={"task_id": TASK_ID, "trace_id": "t"}),
        TaskState.RUNNING,
    ),
    (10, "response is an empty object", record(response={}), TaskState.RUNNING),
    (10, "response is not an object", record(response="weird"), TaskState.RUNNING),
    (10, "error: null is no error", record(response={"error": None}), TaskState.RUNNING),
    # 11: asked for, not returned
    (11, "asked for, not returned", None, TaskState.NOT_FOUND),
]


def test_every_row_of_the_table_is_held() -> None:
    assert {row for row, *_ in STATE_TABLE} == set(range(1, 12))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(raw, expected) for _, _, raw, expected in STATE_TABLE],
    ids=[f"row {row}: {name}" for row, name, _, _ in STATE_TABLE],
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
    assert extract_error(record(finished_at=2.0, response={"success": True})) is None
    assert extract_error(record(response={"success": True})) is None  # accepted: running
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
    assert task.state is TaskState.RUNNING
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


def test_errors_name_what_decided() -> None:
    no_result = extract_error(record(finished_at=2.0, response={"task_id": TASK_ID}))
    assert no_result == state.ErrorInfo(
        code="no_result", message="The task finished without a result."
    )
    worded = extract_error(record(response={"status": "Cancelled"}))
    assert worded is not None and worded.code == "cancelled"
    coded = extract_error(record(response=FAILED_CODED))
    assert coded == state.ErrorInfo(code="api_error", message="fetch failed")


@pytest.mark.parametrize(
    ("raw", "tentative"),
    [
        (record(response={"success": False, "error": "temporary"}), True),
        (record(response={"success": False}), True),
        (record(response={"error": "upstream exploded"}), True),
        (record(response=FAILED_CODED), False),
        (record(finished_at=2.0, response={"success": False, "error": "temporary"}), False),
        (record(response={"success": False, "finished_at": 2.0}), False),
        (record(status="failed"), False),
        (record(response={"success": True, "data": [{"image_url": URL}]}), False),
        (None, False),
    ],
)
def test_tentative_failures_are_flag_failures_with_no_code_and_no_finish(
    raw: dict[str, Any] | None, tentative: bool
) -> None:
    assert state.is_tentative_failure(raw) is tentative


def test_status_words_are_bounded_in_depth() -> None:
    deep: dict[str, Any] = {"status": "failed"}
    for _ in range(7):
        deep = {"inner": deep}
    assert derive_state(record(response=deep)) is TaskState.RUNNING
    shallow: dict[str, Any] = {"status": "failed"}
    for _ in range(5):
        shallow = {"inner": shallow}
    assert derive_state(record(response=shallow)) is TaskState.FAILED


@pytest.mark.parametrize(
    ("raw", "percent"),
    [
        (record(response={"success": True, "progress": 45}), 45),
        (record(response={"task_id": TASK_ID, "percent": 0.45}), 45),
        (record(response={"data": {"job": {"percentage": "45%"}}}), 45),
        (record(response={"progress": " 12.6 % "}), 13),
        (record(response={"progress": "0.5"}), 50),
        (record(response={"progress": "1%"}), 1),
        (record(response={"progress": 1}), 100),
        (record(response={"progress": 0}), 0),
        (record(response={"progress": 250}), 100),
        (record(response={"progress": -3}), 0),
        (record(progress=30, response={"progress": 70}), 30),
        (record(response={"progress": True, "percent": 20}), 20),
        (record(response={"progress": float("nan")}), None),
        (record(response={"progress": float("inf")}), None),
        (record(response={"progress": "Infinity"}), None),
        (record(response={"progress": "almost"}), None),
        (record(response={"progress": None}), None),
        (record(response={"progress": {"value": 3}}), None),
        (record(response={"success": True, "task_id": TASK_ID}), None),
        (record(), None),
        (None, None),
    ],
)
def test_progress_is_read_where_the_record_gives_it(
    raw: dict[str, Any] | None, percent: int | None
) -> None:
    assert state.extract_progress(raw) == percent


def test_progress_is_bounded_in_depth() -> None:
    deep: dict[str, Any] = {"progress": 40}
    for _ in range(7):
        deep = {"inner": deep}
    assert state.extract_progress(record(response=deep)) is None
