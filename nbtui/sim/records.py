"""Task records as the service would serve them: a live task's record at a given moment, in
one of the shapes the provider's own clients know, and literal records (docs/simulator.md).

Tasks progress lazily: a record is built from the time it is asked for, so a test that moves
an injected clock sees a task go pending -> running -> succeeded/failed with no timers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nbtui.sim.config import API_ID, Outcome

__all__ = ["Account", "RawEntry", "SimTask", "build_record", "sync_answer"]


@dataclass(slots=True)
class Account:
    application_id: str
    credential_id: str
    user_id: str


@dataclass(slots=True)
class SimTask:
    """A live simulated task: its whole future is fixed when it is made."""

    id: str
    created_at: float
    pending_seconds: float
    running_seconds: float
    outcome: Outcome
    request: dict[str, Any]
    trace_id: str
    object_id: str
    delivered: int
    error_code: str
    error_message: str
    shape: str = "documented"
    word_key: str = "status"

    @property
    def started_at(self) -> float:
        return self.created_at + self.pending_seconds

    @property
    def finished_at(self) -> float | None:
        if self.outcome == "never":
            return None
        return self.started_at + self.running_seconds

    def is_finished(self, now: float) -> bool:
        finished = self.finished_at
        return finished is not None and now >= finished


@dataclass(slots=True)
class RawEntry:
    """Literal records, served verbatim: `steps` are (seconds after `created_at`, record),
    in order; before the first step's time the service does not know the task yet."""

    steps: list[tuple[float, dict[str, Any]]]
    created_at: float

    @property
    def record(self) -> dict[str, Any]:
        """The last record (what listing filters read)."""
        return self.steps[-1][1]

    def at(self, now: float) -> dict[str, Any] | None:
        current: dict[str, Any] | None = None
        for after, record in self.steps:
            if now >= self.created_at + after:
                current = record
            else:
                break
        return current


def _round(value: float) -> float:
    return round(value, 3)


def _iso(value: float) -> str:
    stamp = datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def _images(task: SimTask, image_base: str) -> list[dict[str, Any]]:
    prompt = task.request.get("prompt", "")
    return [
        {"prompt": prompt, "image_url": f"{image_base}/images/{task.id}-{i}.png"}
        for i in range(task.delivered)
    ]


def _running_response(task: SimTask, now: float) -> dict[str, Any]:
    ids: dict[str, Any] = {"task_id": task.id, "trace_id": task.trace_id}
    shape = task.shape
    into = now - task.started_at
    if shape == "accepted":
        return {"success": True, **ids}
    if shape == "words":
        return {**ids, task.word_key: "processing"}
    if shape == "progress":
        share = into / task.running_seconds if task.running_seconds > 0 else 0.0
        return {**ids, "progress": max(0, min(99, int(share * 100)))}
    if shape == "tentative" and task.running_seconds / 3 <= into < 2 * task.running_seconds / 3:
        return {"success": False, "error": "temporary"}
    return ids


def _final_response(task: SimTask, image_base: str) -> dict[str, Any]:
    ids: dict[str, Any] = {"task_id": task.id, "trace_id": task.trace_id}
    shape = task.shape
    if task.outcome == "succeeded":
        response: dict[str, Any] = {"success": True, **ids, "data": _images(task, image_base)}
        if shape == "no_success_flag":
            del response["success"]
        elif shape == "words":
            response[task.word_key] = "succeeded"
        elif shape == "progress":
            response["progress"] = 100
        return response
    response = {
        "success": False,
        **ids,
        "error": {"code": task.error_code, "message": task.error_message},
    }
    if shape == "words":
        response[task.word_key] = "failed"
    return response


def build_record(
    entry: SimTask | RawEntry, now: float, image_base: str, account: Account
) -> dict[str, Any] | None:
    """The record of `entry` at `now` (None: not known yet). Raw records are not copied."""
    if isinstance(entry, RawEntry):
        return entry.at(now)
    task = entry
    stamp = _iso if task.shape == "iso_times" else _round
    timed = task.shape != "no_times"
    record: dict[str, Any] = {
        "_id": task.object_id,
        "id": task.id,
        "api_id": API_ID,
        "application_id": account.application_id,
        "credential_id": account.credential_id,
        "user_id": account.user_id,
        "type": "images",
        "trace_id": task.trace_id,
        "created_at": stamp(task.created_at),
    }
    started = task.started_at
    if now >= started and timed:
        record["started_at"] = stamp(started)
    finished = task.finished_at
    done = finished is not None and now >= finished
    if done and timed:
        assert finished is not None
        record["finished_at"] = stamp(finished)
        record["elapsed"] = _round(finished - task.created_at)
    record["request"] = task.request
    if not done:
        if now >= started:
            # Running: the service already knows the task id but has no result yet.
            record["response"] = _running_response(task, now)
        return record
    record["response"] = _final_response(task, image_base)
    return record


def sync_answer(task: SimTask, image_base: str) -> tuple[int, dict[str, Any]]:
    """What a synchronous create call answers once its task ended: the Images API's own
    answer (docs/api.md), whatever shape the task's record takes."""
    ids: dict[str, Any] = {"task_id": task.id, "trace_id": task.trace_id}
    if task.outcome == "succeeded":
        return 200, {"success": True, **ids, "data": _images(task, image_base)}
    body = {
        "success": False,
        **ids,
        "error": {"code": task.error_code, "message": task.error_message},
    }
    return (403 if task.outcome == "moderated" else 500), body
