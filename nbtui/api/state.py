"""A task's state, images and error, derived from its raw record (docs/api.md, "The task's state").

No pydantic here (importing it and building models costs 50+ ms and ~10 MB), so opening the
store and painting the task list stay cheap. `nbtui.api.models` holds the pydantic
`TaskRecord`, which `Task.record` builds on first access, and re-exports these names.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbtui.api.models import TaskRecord

__all__ = [
    "FAILURE_WORDS",
    "RULES_VERSION",
    "SUCCESS_WORDS",
    "ErrorInfo",
    "ImageResult",
    "Task",
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


class TaskState(enum.StrEnum):
    """What a task is doing, as nbtui understands it (docs/api.md, "The task's state")."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    NOT_FOUND = "not_found"

    @property
    def is_finished(self) -> bool:
        """Finished tasks are never polled again unless the user asks."""
        return self in (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.NOT_FOUND)

    @property
    def label(self) -> str:
        return "not found" if self is TaskState.NOT_FOUND else self.value


#: The revision of the rules below (state, images, error, progress). Raise it whenever any of
#: them answers differently for some record: the store then re-derives every stored task from
#: its raw record when it is next opened (docs/api.md, "Stored tasks"). 1: the first table;
#: 2: the revised table (the accepted answer is running, images without a flag are done,
#: words inside `response` count) and progress figures.
RULES_VERSION = 2

FAILURE_WORDS = frozenset({"failed", "failure", "error", "cancelled", "canceled", "rejected"})
SUCCESS_WORDS = frozenset(
    {"succeed", "succeeded", "success", "completed", "complete", "finished", "done"}
)

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_ID_SPLIT_RE = re.compile(r"[\s,;]+")


@dataclass(slots=True)
class ImageResult:
    """One generated image: `response.data[]`."""

    image_url: str | None = None
    prompt: str | None = None


@dataclass(slots=True)
class ErrorInfo:
    """An API error: `{code, message}` in an error body or in a failed task's response."""

    code: str = "unknown"
    message: str = ""

    @property
    def is_moderation(self) -> bool:
        """The provider's safety filter refused every image (not charged)."""
        return self.code == "forbidden"


_WORD_KEYS = ("state", "status")
_WORD_DEPTH = 6


def _words_in(node: Any, depth: int, out: list[str]) -> None:
    """Collect `state`/`status` words from `node` down to `_WORD_DEPTH` levels (iteratively
    bounded, so a hostile deep record cannot blow the stack)."""
    if depth > _WORD_DEPTH:
        return
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in _WORD_KEYS and isinstance(value, str):
                if value.strip():
                    out.append(value.strip().lower())
            else:
                _words_in(value, depth + 1, out)
    elif isinstance(node, list):
        for item in node:
            _words_in(item, depth + 1, out)


def status_words(record: Mapping[str, Any]) -> list[str]:
    """Every state/status word of a record: the record's own, then those in `response`.

    Top-level words count even when `response` exists (docs/api.md, "Where the sources
    disagree")."""
    words = [
        value.strip().lower()
        for key in _WORD_KEYS
        if isinstance(value := record.get(key), str) and value.strip()
    ]
    response = record.get("response")
    if isinstance(response, (Mapping, list)):
        _words_in(response, 0, words)
    return words


def _success_flag(response: Mapping[str, Any]) -> bool | None:
    """`response.success` as a bool, tolerating the strings a proxy might produce."""
    if "success" not in response:
        return None
    value = response["success"]
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, int):
        return bool(value)
    return None


def finished_at(record: Mapping[str, Any]) -> Any:
    """`finished_at` at the top level or in `response`: any non-null value counts."""
    value = record.get("finished_at")
    if value is None:
        response = record.get("response")
        if isinstance(response, Mapping):
            value = response.get("finished_at")
    return value


def _legacy_error(response: Mapping[str, Any]) -> bool:
    """An `error` beside no `success` key: the legacy failure shape (even `"error": {}`)."""
    error = response.get("error")
    return isinstance(error, Mapping) or bool(error)


class _Row(enum.IntEnum):
    """The row of the state table (docs/api.md, "The task's state") that decided."""

    NO_RESPONSE = 1
    FAILURE_WORD = 2
    DONE_WORD = 3
    OTHER_WORD = 4
    FAILURE_FLAG = 5
    IMAGES = 6
    SUCCESS_FINISHED = 7
    ACCEPTED = 8
    FINISHED_NO_RESULT = 9
    ANYTHING_ELSE = 10
    NOT_FOUND = 11


def _decide(record: Mapping[str, Any] | None) -> tuple[TaskState, _Row]:
    """The state of a record and the table row that decided it; the first row that applies
    wins (docs/api.md, "The task's state")."""
    if record is None:
        return TaskState.NOT_FOUND, _Row.NOT_FOUND
    response = record.get("response")
    words = status_words(record)
    if response is None and not words:
        return TaskState.PENDING, _Row.NO_RESPONSE
    if any(word in FAILURE_WORDS for word in words):
        return TaskState.FAILED, _Row.FAILURE_WORD
    if any(word in SUCCESS_WORDS for word in words):
        return TaskState.SUCCEEDED, _Row.DONE_WORD
    finished = finished_at(record) is not None
    if words and not finished:
        return TaskState.RUNNING, _Row.OTHER_WORD
    if isinstance(response, Mapping):
        success = _success_flag(response)
        if success is False or ("success" not in response and _legacy_error(response)):
            return TaskState.FAILED, _Row.FAILURE_FLAG
        if extract_images(record):
            return TaskState.SUCCEEDED, _Row.IMAGES
        if success is True:
            if finished:
                return TaskState.SUCCEEDED, _Row.SUCCESS_FINISHED
            return TaskState.RUNNING, _Row.ACCEPTED
    if finished:
        return TaskState.FAILED, _Row.FINISHED_NO_RESULT
    return TaskState.RUNNING, _Row.ANYTHING_ELSE


def derive_state(record: Mapping[str, Any] | None) -> TaskState:
    """Derive a task's state from its raw record (docs/api.md, "The task's state").

    `None` means the task was asked for and not returned: not found, which is not failed.
    `success: true` alone is not succeeded: it is the async create call's "accepted" answer,
    and the task is still running until images or `finished_at` arrive.
    """
    return _decide(record)[0]


def is_tentative_failure(record: Mapping[str, Any] | None) -> bool:
    """A failure by flag with neither a coded error nor `finished_at` (e.g. `{"success":
    false, "error": "temporary"}`): possibly a transient hiccup, so the monitor keeps polling
    it for a while and the state follows what the service says next."""
    if record is None:
        return False
    state, row = _decide(record)
    if state is not TaskState.FAILED or row is not _Row.FAILURE_FLAG:
        return False
    response = record.get("response")
    error = response.get("error") if isinstance(response, Mapping) else None
    coded = isinstance(error, Mapping) and error.get("code") not in (None, "")
    return not coded and finished_at(record) is None


def extract_images(record: Mapping[str, Any] | None) -> list[ImageResult]:
    """The result images of a record, skipping entries that are not image objects."""
    if record is None:
        return []
    response = record.get("response")
    if not isinstance(response, Mapping):
        return []
    data = response.get("data")
    if isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, list):
        return []
    images: list[ImageResult] = []
    for item in data:
        if isinstance(item, Mapping) and isinstance(item.get("image_url"), str):
            prompt = item.get("prompt")
            if prompt is not None and not isinstance(prompt, str):
                continue  # the lenient model refused these too: a prompt must be text
            images.append(ImageResult(image_url=item["image_url"], prompt=prompt))
    return images


def extract_error(record: Mapping[str, Any] | None) -> ErrorInfo | None:
    """The error of a failed task, or a synthesized one where the record says nothing useful."""
    if record is None:
        return ErrorInfo(code="not_found", message="The service does not know this task.")
    state, row = _decide(record)
    if state is not TaskState.FAILED:
        return None
    response = record.get("response")
    error: Any = response.get("error") if isinstance(response, Mapping) else None
    if isinstance(error, Mapping):
        code = error.get("code")
        message = error.get("message")
        return ErrorInfo(
            code=str(code) if code not in (None, "") else "unknown",
            message=str(message) if message not in (None, "") else "",
        )
    if isinstance(error, str) and error:
        return ErrorInfo(code="unknown", message=error)
    if row is _Row.FAILURE_WORD:
        word = next(word for word in status_words(record) if word in FAILURE_WORDS)
        return ErrorInfo(code=word, message=f"The service reports the task as {word}.")
    if row is _Row.FINISHED_NO_RESULT:
        return ErrorInfo(code="no_result", message="The task finished without a result.")
    return ErrorInfo(code="unknown", message="The service reports the task as failed.")


_PROGRESS_KEYS = frozenset({"progress", "percent", "percentage"})


def _percent(value: Any) -> int | None:
    """A progress figure as a whole percent: a number in (0, 1] is a fraction, "45%" is a
    percent, the rest is clamped to 0..100; booleans and non-finite numbers mean nothing."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        fraction_allowed = not text.endswith("%")
        try:
            number = float(text.removesuffix("%").strip())
        except ValueError:
            return None
    elif isinstance(value, int | float):
        number, fraction_allowed = float(value), True
    else:
        return None
    if not math.isfinite(number):
        return None
    if fraction_allowed and 0 < number <= 1:
        number *= 100
    return max(0, min(100, round(number)))


def _progress_in(node: Any, depth: int) -> int | None:
    if depth > _WORD_DEPTH:
        return None
    if isinstance(node, Mapping):
        for key, value in node.items():
            found = _percent(value) if key in _PROGRESS_KEYS else _progress_in(value, depth + 1)
            if found is not None:
                return found
    elif isinstance(node, list):
        for item in node:
            found = _progress_in(item, depth + 1)
            if found is not None:
                return found
    return None


def extract_progress(record: Mapping[str, Any] | None) -> int | None:
    """The percent done a record reports (`progress`, `percent` or `percentage`, at the top
    level or anywhere in `response` down to 6 levels), or None where it gives no figure:
    then a caller says "running" rather than draw a bar stuck at zero."""
    if record is None:
        return None
    for key in ("progress", "percent", "percentage"):
        if key in record and (found := _percent(record[key])) is not None:
            return found
    response = record.get("response")
    return _progress_in(response, 0) if isinstance(response, Mapping | list) else None


class _Unparsed(enum.Enum):
    """`Task.record` is parsed from `raw` when first read (a picklable sentinel)."""

    TOKEN = 0


_UNPARSED = _Unparsed.TOKEN


def _parse_record(raw: Mapping[str, Any] | None) -> TaskRecord | None:
    """The pydantic record of `raw`, or None where its fields have odd types."""
    if raw is None:
        return None
    from pydantic import ValidationError

    from nbtui.api.models import TaskRecord

    try:
        return TaskRecord.model_validate(dict(raw))
    except ValidationError:
        return None


@dataclass(frozen=True, slots=True, init=False)
class Task:
    """A task as nbtui knows it: the raw record (if any), its derived state, images and error.

    `record`, the typed pydantic view of `raw`, is built on first access unless one is given:
    it is a function of `raw`, and nothing on the start-up path reads it, so building a task
    never imports pydantic. `dataclasses.replace` works (the record follows the new `raw`).
    """

    id: str
    raw: dict[str, Any] | None
    state: TaskState
    images: list[ImageResult]
    error: ErrorInfo | None
    _record: TaskRecord | _Unparsed | None = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        id: str,
        raw: dict[str, Any] | None,
        state: TaskState,
        record: TaskRecord | _Unparsed | None = _UNPARSED,
        images: list[ImageResult] | None = None,
        error: ErrorInfo | None = None,
    ) -> None:
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "raw", raw)
        object.__setattr__(self, "state", state)
        object.__setattr__(self, "images", [] if images is None else images)
        object.__setattr__(self, "error", error)
        object.__setattr__(self, "_record", None if raw is None else record)

    @property
    def record(self) -> TaskRecord | None:
        """The parsed record, or None where it could not be parsed (its raw JSON is kept)."""
        record = self._record
        if isinstance(record, _Unparsed):
            record = _parse_record(self.raw)
            object.__setattr__(self, "_record", record)
        return record

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> Task:
        """Derive a task from its raw record; a record whose fields have odd types still
        gets its state, images and error (only `record` is None then)."""
        raw_dict = dict(raw)
        return cls(
            id=str(raw_dict.get("id", "")),
            raw=raw_dict,
            state=derive_state(raw_dict),
            images=extract_images(raw_dict),
            error=extract_error(raw_dict),
        )

    @classmethod
    def not_found(cls, task_id: str) -> Task:
        return cls(id=task_id, raw=None, state=TaskState.NOT_FOUND, error=extract_error(None))

    @property
    def image_urls(self) -> list[str]:
        return [image.image_url for image in self.images if image.image_url]


def normalize_task_id(text: str) -> str:
    return text.strip().lower()


def is_valid_task_id(text: str) -> bool:
    """Task ids are UUIDs (`4d320ead-4af4-4a55-8f3e-f2afebdf4fd0`)."""
    return bool(_UUID_RE.match(normalize_task_id(text)))


def parse_task_ids(texts: Iterable[str], *, unique: bool = True) -> tuple[list[str], list[str]]:
    """Split pasted text into (valid ids, rejected tokens), separated by spaces, commas or lines.

    Valid ids are normalized and, unless `unique` is false, de-duplicated keeping their
    first order (the CLI answers once per id asked for, repeats included).
    """
    valid: list[str] = []
    rejected: list[str] = []
    seen: set[str] = set()
    for text in texts:
        for token in _ID_SPLIT_RE.split(text):
            if not token:
                continue
            if is_valid_task_id(token):
                task_id = normalize_task_id(token)
                if task_id not in seen or not unique:
                    seen.add(task_id)
                    valid.append(task_id)
            else:
                rejected.append(token)
    return valid, rejected
