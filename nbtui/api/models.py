"""The pydantic view of a task record (with its images and error body), for callers that
want typed fields.

The published schema promises only `id`, `request` and `response`, so `TaskRecord` is
lenient: unknown fields are kept, everything else is optional, and the raw JSON travels beside
it so nothing the service sent is ever lost.

Task state, images, errors and ids (docs/api.md, "The task's state") are derived in
`nbtui.api.state`, which does not import pydantic: start-up uses only that. `Task.record`
builds a `TaskRecord` on first access. The names below are re-exported from there so
`nbtui.api.models` keeps working.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from nbtui.api.state import (
    FAILURE_WORDS,
    RULES_VERSION,
    SUCCESS_WORDS,
    ErrorInfo,
    ImageResult,
    Task,
    TaskState,
    derive_state,
    extract_error,
    extract_images,
    extract_progress,
    finished_at,
    is_tentative_failure,
    is_valid_task_id,
    normalize_task_id,
    parse_task_ids,
    status_words,
)

__all__ = [
    "FAILURE_WORDS",
    "RULES_VERSION",
    "SUCCESS_WORDS",
    "ErrorBody",
    "ErrorInfo",
    "ImageData",
    "ImageResult",
    "Task",
    "TaskRecord",
    "TaskResponse",
    "TaskState",
    "derive_state",
    "extract_error",
    "extract_images",
    "extract_progress",
    "finished_at",
    "is_tentative_failure",
    "is_valid_task_id",
    "normalize_task_id",
    "parse_task_ids",
    "status_words",
]


class ImageData(BaseModel):
    """One generated image as the service sends it (`response.data[]`)."""

    model_config = ConfigDict(extra="allow")

    image_url: str | None = None
    prompt: str | None = None


class ErrorBody(BaseModel):
    """An error as the service sends it: `{code, message}` in a failed task's response or in
    the body of a refused request."""

    model_config = ConfigDict(extra="allow")

    code: str | None = None
    message: str | None = None


class TaskResponse(BaseModel):
    """A record's `response`: what the generation returned, or why it failed."""

    model_config = ConfigDict(extra="allow")

    success: bool | None = None
    task_id: str | None = None
    trace_id: str | None = None
    data: list[ImageData] | None = None
    error: ErrorBody | None = None


class TaskRecord(BaseModel):
    """A task record as returned by the Tasks API. Only `id` is needed to track it.

    These are the record's fields as sent; what nbtui derives from them (the state, the
    images, the error, legacy shapes included) comes from `nbtui.api.state`.
    """

    model_config = ConfigDict(extra="allow")

    id: str
    type: str | None = None
    trace_id: str | None = None
    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    elapsed: float | None = None
    request: dict[str, Any] | None = None
    response: TaskResponse | None = None
