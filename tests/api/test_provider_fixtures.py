"""Every task-record shape the provider's own public code knows, and nbtui's verdict on it.

Each case names where the shape comes from (repository and path in the AceDataCloud
organisation on GitHub) and what that code makes of it. The values are ours; the shapes are
theirs. Where a source's verdict differs from the state table in docs/api.md ("The task's
state"), the table decides and the case says why; docs/api.md ("Where the sources disagree")
lists the same disagreements, which the last test checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from nbtui.api.state import TaskState, derive_state, extract_error, is_tentative_failure

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"

TASK = "0b7e4c1d-5a2f-4e8b-9c3d-6f1a2b3c4d5e"
TRACE = "e2d4f6a8-1b3c-4d5e-8f90-a1b2c3d4e5f6"
PNG = "https://cdn.example.org/nanobanana/fixture-one.png"
MP4 = "https://cdn.example.org/video/fixture-two.mp4"
WHEN = 1790000000.5
WHEN_ISO = "2026-09-21T10:13:20Z"

SDK_PY = "AceDataCloud/SDK python/tests/test_tasks.py"
SDK_PY_PROVIDERS = "AceDataCloud/SDK python/tests/test_providers.py"
SDK_PY_CLIENT = "AceDataCloud/SDK python/tests/test_sdk.py"
SDK_TS = "AceDataCloud/SDK typescript/tests/tasks.test.ts"
SDK_GO = "AceDataCloud/SDK go/client_test.go"
NEXIOR_TEST = "AceDataCloud/Nexior src/components/nanobanana/task/Preview.test.ts"
NEXIOR_VUE = "AceDataCloud/Nexior src/components/nanobanana/task/Preview.vue"
GUIDE_TASKS = "AceDataCloud/NanoBananaAPI docs/nano_banana_tasks_api_integration_guide.md"
GUIDE_IMAGES = "AceDataCloud/NanoBananaAPI docs/nano_banana_images_api_integration_guide.md"
CLI_TESTS = "AceDataCloud/NanoBananaCli tests/conftest.py"
CLI_TASK = "AceDataCloud/NanoBananaCli nanobanana_cli/commands/task.py"
MCP_TESTS = "AceDataCloud/NanoBananaMCP tests/conftest.py"
MCP_UTILS = "AceDataCloud/NanoBananaMCP tests/test_utils.py"
MCP_TOOLS = "AceDataCloud/NanoBananaMCP tools/task_tools.py"


@dataclass(frozen=True)
class Fixture:
    """A shape from the provider's code: where, what it says, what nbtui says."""

    source: str
    what: str
    record: dict[str, Any]
    theirs: str
    ours: TaskState
    #: Why nbtui answers otherwise, where it does (None: the verdicts agree).
    why: str | None = None
    #: Whether the monitor keeps polling it for a while although it is failed.
    tentative: bool = False


def task(**fields: Any) -> dict[str, Any]:
    """A record as the Tasks API returns it; only the fields each source shows."""
    return {"id": TASK, **fields}


def image(url: str = PNG, **fields: Any) -> dict[str, Any]:
    return {"prompt": "a lighthouse at dusk", "image_url": url, **fields}


DONE_WORD_NO_IMAGE = (
    "a done word with no image is succeeded with no images (row 3); the SDK calls it failed"
)
TRANSIENT = (
    "a failure flag is failed (row 5); with no coded error and no finished_at the monitor "
    "keeps polling it for 10 minutes, so a transient hiccup still recovers"
)
WORD_WITH_FINISH = (
    "a non-final word with finished_at falls through to the flags (row 4 needs no "
    "finished_at): success true and finished_at is succeeded (row 7)"
)

FIXTURES: list[Fixture] = [
    # -- the official SDK, Python ----------------------------------------------------------
    Fixture(
        SDK_PY,
        "waits through accepted responses: the first poll holds the accepted answer",
        task(response={"success": True, "task_id": TASK}),
        "keeps waiting",
        TaskState.RUNNING,
    ),
    Fixture(
        SDK_PY,
        "waits through accepted responses: then finished_at (a number) and an image",
        task(finished_at=WHEN, response={"success": True, "task_id": TASK, "data": [image()]}),
        "done",
        TaskState.SUCCEEDED,
    ),
    Fixture(
        SDK_PY,
        "async wait: the finished record carries no task_id in its response",
        task(finished_at=WHEN, response={"success": True, "data": [image()]}),
        "done",
        TaskState.SUCCEEDED,
    ),
    Fixture(
        SDK_PY,
        "an explicit status word succeeded, with no image",
        task(response={"status": "succeeded"}),
        "completed, as failed (no artifact)",
        TaskState.SUCCEEDED,
        why=DONE_WORD_NO_IMAGE,
    ),
    Fixture(
        SDK_PY,
        "waits: success true with an empty data list",
        task(response={"success": True, "data": []}),
        "keeps waiting",
        TaskState.RUNNING,
    ),
    Fixture(
        SDK_PY,
        "waits: success true with data null",
        task(response={"success": True, "data": None}),
        "keeps waiting",
        TaskState.RUNNING,
    ),
    Fixture(
        SDK_PY,
        "waits: success false with a bare string error",
        task(response={"success": False, "error": "temporary"}),
        "keeps waiting",
        TaskState.FAILED,
        why=TRANSIENT,
        tentative=True,
    ),
    Fixture(
        SDK_PY,
        "waits: success false with error null",
        task(response={"success": False, "error": None}),
        "keeps waiting",
        TaskState.FAILED,
        why=TRANSIENT,
        tentative=True,
    ),
    Fixture(
        SDK_PY,
        "waits: response null",
        task(response=None),
        "keeps waiting",
        TaskState.PENDING,
    ),
    Fixture(
        SDK_PY,
        "waits: status processing with success true and finished_at",
        task(finished_at=WHEN, response={"status": "processing", "success": True}),
        "keeps waiting (up to its 600 s limit)",
        TaskState.SUCCEEDED,
        why=WORD_WITH_FINISH,
    ),
    Fixture(
        SDK_PY,
        "statusless terminal: finished_at, success true, data null",
        task(finished_at=WHEN, response={"success": True, "data": None}),
        "completed, succeeded",
        TaskState.SUCCEEDED,
    ),
    Fixture(
        SDK_PY,
        "statusless terminal: finished_at inside response, success false",
        task(response={"finished_at": WHEN, "success": False}),
        "completed, failed",
        TaskState.FAILED,
    ),
    Fixture(
        SDK_PY,
        "statusless: finished_at with success null",
        task(finished_at=WHEN, response={"success": None}),
        "keeps waiting (up to its 600 s limit)",
        TaskState.FAILED,
        why="a finished record with no result, no flag and no word is failed with code "
        "no_result (row 9): the service says it ended, so waiting cannot change it",
    ),
    Fixture(
        SDK_PY,
        "statusless terminal: finished_at, status succeeded, success false",
        task(finished_at=WHEN, response={"status": "succeeded", "success": False}),
        "completed, as failed (no artifact)",
        TaskState.SUCCEEDED,
        why=DONE_WORD_NO_IMAGE,
    ),
    Fixture(
        SDK_PY,
        "statusless terminal: a top-level status succeeded and response null",
        task(status="succeeded", response=None),
        "completed, as failed (no artifact)",
        TaskState.SUCCEEDED,
        why=DONE_WORD_NO_IMAGE,
    ),
    Fixture(
        SDK_PY_PROVIDERS,
        "the create call answered with the image at once (copied into the record)",
        task(response={"success": True, "task_id": TASK, "data": [image()]}),
        "done",
        TaskState.SUCCEEDED,
    ),
    Fixture(
        SDK_PY_PROVIDERS,
        "success false with an artifact (a video_url: the flag decides, whatever the service)",
        task(response={"success": False, "video_url": MP4}),
        "failed",
        TaskState.FAILED,
        tentative=True,
    ),
    Fixture(
        SDK_PY_PROVIDERS,
        "a structured error with no finished_at (finished_at null)",
        task(
            finished_at=None,
            response={
                "success": False,
                "error": {"code": "api_error", "message": "no channel for this model"},
                "task_id": TASK,
            },
        ),
        "failed",
        TaskState.FAILED,
    ),
    Fixture(
        SDK_PY_PROVIDERS,
        "get records a terminal state: finished_at inside response, with an image",
        task(response={"success": True, "finished_at": WHEN, "data": [image()]}),
        "done",
        TaskState.SUCCEEDED,
    ),
    Fixture(
        SDK_PY_PROVIDERS,
        "get leaves a running task alone: status processing",
        task(response={"status": "processing"}),
        "keeps waiting",
        TaskState.RUNNING,
    ),
    Fixture(
        SDK_PY_CLIENT,
        "tasks.get: status succeeded with an image",
        task(response={"status": "succeeded", "data": [image()]}),
        "succeeded",
        TaskState.SUCCEEDED,
    ),
    # -- the official SDK, TypeScript (times as ISO strings) -------------------------------
    Fixture(
        SDK_TS,
        "waits through accepted responses: the first poll holds the accepted answer",
        task(response={"success": True, "task_id": TASK}),
        "keeps waiting",
        TaskState.RUNNING,
    ),
    Fixture(
        SDK_TS,
        "waits through accepted responses: then finished_at (an ISO string) and an image",
        task(finished_at=WHEN_ISO, response={"success": True, "task_id": TASK, "data": [image()]}),
        "done",
        TaskState.SUCCEEDED,
    ),
    Fixture(
        SDK_TS,
        "recognizes explicit terminal status: succeeded, with no image",
        task(response={"status": "succeeded"}),
        "completed, as failed (no artifact)",
        TaskState.SUCCEEDED,
        why=DONE_WORD_NO_IMAGE,
    ),
    Fixture(
        SDK_TS,
        "waits: success false with a bare string error",
        task(response={"success": False, "error": "temporary"}),
        "keeps waiting",
        TaskState.FAILED,
        why=TRANSIENT,
        tentative=True,
    ),
    Fixture(
        SDK_TS,
        "waits: status processing with success true and an ISO finished_at",
        task(finished_at=WHEN_ISO, response={"status": "processing", "success": True}),
        "keeps waiting (up to its 600 s limit)",
        TaskState.SUCCEEDED,
        why=WORD_WITH_FINISH,
    ),
    Fixture(
        SDK_TS,
        "terminal shape: an ISO finished_at, success true, data null",
        task(finished_at=WHEN_ISO, response={"success": True, "data": None}),
        "completed, succeeded",
        TaskState.SUCCEEDED,
    ),
    Fixture(
        SDK_TS,
        "terminal shape: an ISO finished_at inside response, success false",
        task(response={"finished_at": WHEN_ISO, "success": False}),
        "completed, failed",
        TaskState.FAILED,
    ),
    Fixture(
        SDK_TS,
        "terminal shape: an ISO finished_at with success null",
        task(finished_at=WHEN_ISO, response={"success": None}),
        "keeps waiting (up to its 600 s limit)",
        TaskState.FAILED,
        why="a finished record with no result, no flag and no word is failed with code "
        "no_result (row 9): the service says it ended, so waiting cannot change it",
    ),
    Fixture(
        SDK_TS,
        "get() records a terminal state: an ISO finished_at inside response, an image",
        task(response={"success": True, "finished_at": WHEN_ISO, "data": [image()]}),
        "done",
        TaskState.SUCCEEDED,
    ),
    Fixture(
        SDK_TS,
        "success:false without finished_at: a structured error is terminal",
        task(response={"success": False, "error": {"code": "api_error", "message": "no channel"}}),
        "failed",
        TaskState.FAILED,
    ),
    # -- the official SDK, Go (the same normaliser; its artifacts may sit in `url`) ---------
    Fixture(
        SDK_GO,
        "Wait: status succeeded with the artifact in response.url",
        task(response={"status": "succeeded", "url": PNG}),
        "succeeded, one artifact",
        TaskState.SUCCEEDED,
    ),
    # -- the web app -----------------------------------------------------------------------
    Fixture(
        NEXIOR_TEST,
        "shows task metadata before the first response arrives",
        task(created_at=1, request={"prompt": "a lighthouse", "model": "nano-banana-pro"}),
        "pending",
        TaskState.PENDING,
    ),
    Fixture(
        NEXIOR_TEST,
        "labels an unfinished response (task_id only) as pending rather than failed",
        task(created_at=1, response={"task_id": TASK}),
        "pending (the app has one word for not finished)",
        TaskState.RUNNING,
    ),
    Fixture(
        NEXIOR_TEST,
        "keeps explicit failures on failure semantics (an error with a message, no code)",
        task(response={"success": False, "task_id": TASK, "error": {"message": "it broke"}}),
        "failure",
        TaskState.FAILED,
        tentative=True,
    ),
    Fixture(
        NEXIOR_TEST,
        "keeps error-only legacy responses on failure semantics (no success key)",
        task(response={"task_id": TASK, "error": {"message": "the provider said no"}}),
        "failure",
        TaskState.FAILED,
        tentative=True,
    ),
    Fixture(
        NEXIOR_VUE,
        "showResult: images and no success key (a failover write dropped the flag)",
        task(response={"task_id": TASK, "trace_id": TRACE, "data": [image()]}),
        "result shown (done)",
        TaskState.SUCCEEDED,
    ),
    Fixture(
        NEXIOR_VUE,
        "showResult: success true alone (the create call's accepted answer)",
        task(response={"success": True, "task_id": TASK, "trace_id": TRACE}),
        "result shown (done, no images)",
        TaskState.RUNNING,
        why="success true alone is the async create call's accepted answer (row 8): the SDKs "
        "keep waiting, and calling it done would stop polling a task that is still working",
    ),
    Fixture(
        NEXIOR_VUE,
        "explicit success false wins over images",
        task(response={"success": False, "data": [image()]}),
        "failure",
        TaskState.FAILED,
        tentative=True,
    ),
    # -- the integration guides ------------------------------------------------------------
    Fixture(
        GUIDE_TASKS,
        "retrieve example: a finished record with no started_at, finished_at or elapsed",
        task(
            _id="5f0c9a1b2c3d4e5f60718293",
            api_id="a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d",
            created_at=WHEN,
            type="images",
            trace_id=TRACE,
            request={"action": "generate", "prompt": "a lighthouse at dusk"},
            response={"success": True, "task_id": TASK, "trace_id": TRACE, "data": [image()]},
        ),
        "completed (the response is written once the task completes)",
        TaskState.SUCCEEDED,
    ),
    Fixture(
        GUIDE_TASKS,
        "an error body (success false, a coded error, a trace id) as a record's response",
        task(
            response={
                "success": False,
                "error": {"code": "api_error", "message": "fetch failed"},
                "trace_id": TRACE,
            }
        ),
        "the call failed",
        TaskState.FAILED,
    ),
    Fixture(
        GUIDE_IMAGES,
        "the synchronous answer (and the callback payload, same shape) copied into the record",
        task(response={"success": True, "task_id": TASK, "trace_id": TRACE, "data": [image()]}),
        "success",
        TaskState.SUCCEEDED,
    ),
    # -- the dedicated CLI -----------------------------------------------------------------
    Fixture(
        CLI_TESTS,
        "an image answer whose data items carry a state word, copied into the record",
        task(response={"success": True, "task_id": TASK, "data": [image(state="succeeded")]}),
        "completed",
        TaskState.SUCCEEDED,
    ),
    Fixture(
        CLI_TESTS,
        "a task answer with the result at the top level (data[] beside success, no response)",
        {
            "success": True,
            "data": [{"id": TASK, "status": "completed", "state": "succeeded", "image_url": PNG}],
        },
        "completed",
        TaskState.PENDING,
        why="the Tasks API puts results in response.data (its guide and every other client); a "
        "record with no response and no top-level word has not been answered yet (row 1)",
    ),
    Fixture(
        CLI_TASK,
        "wait: a data item whose state is failed (read inside response here)",
        task(response={"data": [{"state": "failed"}]}),
        "failed",
        TaskState.FAILED,
    ),
    Fixture(
        CLI_TASK,
        "wait: a data item still processing",
        task(response={"data": [{"status": "processing"}]}),
        "keeps waiting",
        TaskState.RUNNING,
    ),
    # -- the MCP server --------------------------------------------------------------------
    Fixture(
        MCP_TESTS,
        "a task record with created_at and an image, no finished_at",
        task(
            created_at=WHEN,
            type="images",
            request={"action": "generate", "prompt": "a lighthouse at dusk"},
            response={"success": True, "task_id": TASK, "data": [image()]},
        ),
        "success",
        TaskState.SUCCEEDED,
    ),
    Fixture(
        MCP_UTILS,
        "an async submission (success true, empty data) copied into the record",
        task(response={"success": True, "task_id": TASK, "data": []}),
        "submitted: poll until the task completes",
        TaskState.RUNNING,
    ),
    Fixture(
        MCP_TOOLS,
        "batch summary of a record with images and no success key",
        task(response={"task_id": TASK, "data": [image()]}),
        "Success: False (a missing flag reads as false)",
        TaskState.SUCCEEDED,
        why="images with no success key are done (row 6): a failover write can drop the "
        "flag, and the web app shows these as done",
    ),
]


def _case_id(fixture: Fixture) -> str:
    return f"{fixture.source}: {fixture.what}"


@pytest.mark.parametrize("fixture", FIXTURES, ids=[_case_id(f) for f in FIXTURES])
def test_provider_fixture(fixture: Fixture) -> None:
    assert derive_state(fixture.record) is fixture.ours
    assert is_tentative_failure(fixture.record) is fixture.tentative
    error = extract_error(fixture.record)
    assert (error is not None) is (fixture.ours is TaskState.FAILED)


def test_every_source_is_heard() -> None:
    sources = {fixture.source.split(" ")[0] for fixture in FIXTURES}
    assert sources == {
        "AceDataCloud/SDK",
        "AceDataCloud/Nexior",
        "AceDataCloud/NanoBananaAPI",
        "AceDataCloud/NanoBananaCli",
        "AceDataCloud/NanoBananaMCP",
    }


def test_finished_with_nothing_is_named_no_result() -> None:
    record = task(finished_at=WHEN_ISO, response={"success": None})
    error = extract_error(record)
    assert error is not None and error.code == "no_result"


def test_every_disagreement_is_in_the_docs() -> None:
    """docs/api.md lists each disagreement: the source's path and the shape's description."""
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"^## Where the sources disagree$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match is not None, "docs/api.md has no 'Where the sources disagree' section"
    section = " ".join(match.group(1).split())
    missing = [
        _case_id(fixture)
        for fixture in FIXTURES
        if fixture.why is not None
        and (fixture.source.split(" ")[1] not in section or fixture.what not in section)
    ]
    assert not missing, f"disagreements missing from docs/api.md: {missing}"
