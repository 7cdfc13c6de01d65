"""What the simulator can be told: its settings, the task outcomes and record shapes it plays,
and the requests it keeps a note of. Pure data: no HTTP, no clock of its own."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from nbtui.sim.faults import TRANSIENT_FAULT_KINDS

__all__ = [
    "API_ID",
    "MODERATION_MESSAGE",
    "OUTCOMES",
    "REAL_SHAPE_MIX",
    "SHAPES",
    "WORD_KEYS",
    "Outcome",
    "Shape",
    "SimConfig",
    "SimRequest",
]

Outcome = Literal["succeeded", "failed", "moderated", "never"]
OUTCOMES: frozenset[str] = frozenset(get_args(Outcome))

#: How a task's record looks over its life (docs/simulator.md, "Record shapes"):
#: - documented: the record of docs/api.md, with started_at/finished_at/elapsed.
#: - no_times: no started_at, finished_at nor elapsed (the integration guide's example).
#: - accepted: while running, `response` holds the async create call's answer
#:   `{success: true, task_id, trace_id}` (no images, no finished_at).
#: - no_success_flag: a finished success whose `response` has images but no `success` key
#:   (a failover write can drop it).
#: - words: a `status` (or `state`) word inside `response`: `processing` while running,
#:   `succeeded` or `failed` at the end.
#: - progress: while running, `response.progress` rises from 0 to 99 (100 once done).
#: - iso_times: created_at/started_at/finished_at as ISO 8601 strings, not numbers.
#: - tentative: in the middle third of the run, `response` is
#:   `{"success": false, "error": "temporary"}`; then the task recovers and ends as drawn.
Shape = Literal[
    "documented",
    "no_times",
    "accepted",
    "no_success_flag",
    "words",
    "progress",
    "iso_times",
    "tentative",
]
SHAPES: tuple[str, ...] = get_args(Shape)
WORD_KEYS: tuple[str, ...] = ("status", "state")

#: What `nbtui sim` and the demo draw new tasks' shapes from: mostly the documented record,
#: and every other shape the provider's own clients know, by seed.
REAL_SHAPE_MIX: tuple[str, ...] = (
    "documented",
    "documented",
    "documented",
    "documented",
    "no_times",
    "accepted",
    "accepted",
    "no_success_flag",
    "words",
    "progress",
    "progress",
    "iso_times",
    "tentative",
)

MODERATION_MESSAGE = (
    "The request was refused by the safety filter: no image was generated and you were not charged."
)
#: The id of the Nano Banana images API on the provider's side (constant, like the real one).
API_ID = "9d8a117e-31ca-4322-a0fd-1771296ec610"


@dataclass
class SimConfig:
    """How the simulator behaves. Durations are seconds of `clock()` time.

    `allow_listing=False` makes `retrieve_batch` without ids (the unofficial list mode) refused
    with `listing_refusal_status` (400 `bad_request` or 403 `forbidden`), so clients can test
    their fallback. `fault_rate` > 0 turns on seeded random faults drawn from `fault_kinds`
    (used by soak tests) whenever no fault is queued. `shapes` is what new tasks' record
    shapes are drawn from (by seed); `error_success_key=False` drops `success` from error
    bodies, as the published OpenAPI examples show them.
    """

    token: str | None = "sim-token"  # noqa: S105 - the simulator's own, public demo token
    pending_seconds: float = 2.0
    running_seconds: float = 6.0
    failure_ratio: float = 0.15
    moderation_ratio: float = 0.05
    seed: int | None = 0
    latency: float = 0.0
    image_base_url: str | None = None
    clock: Callable[[], float] = time.time
    allow_listing: bool = True
    listing_refusal_status: int = 400
    list_default_limit: int = 20
    list_max_limit: int = 100
    sync_wait_cap: float = 30.0
    max_body_bytes: int = 40 * 1024 * 1024
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = TRANSIENT_FAULT_KINDS
    slow_delay: float = 0.5
    #: The side of the square pictures served at /images/ (nbtui.sim.images).
    image_size: int = 512
    #: Seconds after creation during which the Tasks API does not know a task yet, as an
    #: eventually consistent service might answer right after an async create.
    listing_delay: float = 0.0
    shapes: tuple[str, ...] = ("documented",)
    error_success_key: bool = True


@dataclass(frozen=True, slots=True)
class SimRequest:
    """One request the simulator received. The token itself is never kept."""

    at: float
    method: str
    path: str
    body: Any
    had_auth: bool
    auth_ok: bool
    host: str = ""
