"""The simulator's memory: its configuration, tasks that progress on a clock, faults, requests.

Nothing here knows HTTP; `nbtui.sim.app` turns it into the API of `API.md`. Tasks progress
lazily: a record is built from `config.clock()` each time it is asked for, so a test that moves
an injected clock sees a task go pending -> running -> succeeded/failed with no timers.
Every outcome is decided when the task is made (seeded RNG), so runs are reproducible.

All public methods take a lock: the state is shared between a test's thread and the uvicorn
thread of a `SimServer`.
"""

from __future__ import annotations

import copy
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

__all__ = [
    "ALL_FAULT_KINDS",
    "TRANSIENT_FAULT_KINDS",
    "Fault",
    "FaultKind",
    "Outcome",
    "SimConfig",
    "SimRequest",
    "SimState",
    "SimTask",
]

Outcome = Literal["succeeded", "failed", "moderated", "never"]
FaultKind = Literal[
    "429",
    "500",
    "502_html",
    "503_html",
    "504",
    "empty",
    "truncated",
    "wrong_shape",
    "missing_id",
    "huge",
    "slow",
    "401",
    "403_used_up",
    "reset",
]
ALL_FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))
#: What the random-fault mode picks from by default: what a flaky network or proxy produces.
TRANSIENT_FAULT_KINDS: tuple[str, ...] = (
    "429",
    "500",
    "502_html",
    "503_html",
    "504",
    "empty",
    "truncated",
    "reset",
)
_OUTCOMES: frozenset[str] = frozenset(get_args(Outcome))

_PROMPTS = (
    "a white siamese cat",
    "a lighthouse on a cliff at dusk, oil painting",
    "isometric pixel art of a tiny ramen shop",
    "a bowl of fruit in the style of a 1970s cookbook photo",
    "macro photo of dew on a spider web",
    "a cozy reading nook with a rainy window",
    "retro travel poster for the moon",
    "a red fox in fresh snow, watercolour",
)
_MODELS = ("nano-banana", "nano-banana", "nano-banana-2", "nano-banana-pro", "nano-banana-2-lite")
_ASPECTS = ("1:1", "1:1", "3:2", "2:3", "16:9", "9:16", "4:3", "3:4")
_FAILURE_MESSAGES = (
    "fetch failed",
    "The upstream model returned no image.",
    "Generation timed out upstream.",
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
    (used by soak tests) whenever no fault is queued.
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
    image_size: int = 64
    #: Seconds after creation during which the Tasks API does not know a task yet, as an
    #: eventually consistent service might answer right after an async create.
    listing_delay: float = 0.0


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


@dataclass(frozen=True, slots=True)
class Fault:
    """One queued misbehaviour. `retry_after` may be seconds or an HTTP date string."""

    kind: str
    retry_after: float | str | None = None
    delay: float = 0.0


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
class _RawEntry:
    record: dict[str, Any]
    created_at: float


@dataclass(slots=True)
class _Account:
    application_id: str
    credential_id: str
    user_id: str


@dataclass
class _Scheduled:
    after_requests: int
    faults: list[Fault] = field(default_factory=list)


def _round(value: float) -> float:
    return round(value, 3)


class SimState:
    """Tasks, faults and the request log of one simulator (`app.state.sim`)."""

    def __init__(self, config: SimConfig | None = None, *, base_url: str = "http://sim.test"):
        self.config = config if config is not None else SimConfig()
        #: Where image URLs point when neither `config.image_base_url` nor a request says.
        self.base_url = base_url
        self.requests: list[SimRequest] = []
        self._lock = threading.RLock()
        self._init_memory()

    def _init_memory(self) -> None:
        seed = self.config.seed
        self._rng = random.Random(seed)
        self._fault_rng = random.Random(None if seed is None else f"{seed}:faults")
        self._tasks: dict[str, SimTask | _RawEntry] = {}
        self._sorted: list[SimTask | _RawEntry] | None = None
        self._faults: list[Fault] = []
        self._scheduled: list[_Scheduled] = []
        self._api_requests = 0
        self._raw_counter = 0
        self.account = _Account(self._new_id(), self._new_id(), self._new_id())

    # ------------------------------------------------------------------ ids and time
    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _object_id(self, created_at: float) -> str:
        return f"{int(created_at) & 0xFFFFFFFF:08x}{self._rng.getrandbits(64):016x}"

    def now(self) -> float:
        return self.config.clock()

    def _pick_outcome(self) -> Outcome:
        roll = self._rng.random()
        if roll < self.config.moderation_ratio:
            return "moderated"
        if roll < self.config.moderation_ratio + self.config.failure_ratio:
            return "failed"
        return "succeeded"

    # ------------------------------------------------------------------ making tasks
    def add_task(
        self,
        *,
        prompt: str = "a white siamese cat",
        outcome: Outcome | None = None,
        pending_seconds: float | None = None,
        running_seconds: float | None = None,
        created_at: float | None = None,
        task_id: str | None = None,
        count: int = 1,
        delivered: int | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        action: str = "generate",
        **request: Any,
    ) -> str:
        """Make one task and return its id.

        `count` is the number of images asked for (the request's `count`); `delivered` how many
        the result holds (API.md: may be fewer). `outcome=None` draws from the config ratios.
        Extra keywords (`model`, `aspect_ratio`, `image_urls`, ...) go into the request body.
        """
        with self._lock:
            body: dict[str, Any] = {"action": action, "prompt": prompt}
            if count != 1:
                body["count"] = count
            body.update(request)
            return self._make_task(
                body,
                outcome=outcome,
                pending_seconds=pending_seconds,
                running_seconds=running_seconds,
                created_at=created_at,
                task_id=task_id,
                delivered=delivered,
                error_code=error_code,
                error_message=error_message,
            ).id

    def _make_task(
        self,
        body: dict[str, Any],
        *,
        outcome: Outcome | None = None,
        pending_seconds: float | None = None,
        running_seconds: float | None = None,
        created_at: float | None = None,
        task_id: str | None = None,
        delivered: int | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> SimTask:
        if outcome is not None and outcome not in _OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; use one of {sorted(_OUTCOMES)}")
        created = self.now() if created_at is None else created_at
        chosen: Outcome = outcome if outcome is not None else self._pick_outcome()
        asked = body.get("count", 1)
        asked = asked if isinstance(asked, int) and not isinstance(asked, bool) else 1
        if chosen == "failed":
            code = error_code or "api_error"
            message = error_message or self._rng.choice(_FAILURE_MESSAGES)
        elif chosen == "moderated":
            code = error_code or "forbidden"
            message = error_message or MODERATION_MESSAGE
        else:
            code, message = error_code or "", error_message or ""
        task = SimTask(
            id=task_id if task_id is not None else self._new_id(),
            created_at=created,
            pending_seconds=(
                self.config.pending_seconds if pending_seconds is None else pending_seconds
            ),
            running_seconds=(
                self.config.running_seconds if running_seconds is None else running_seconds
            ),
            outcome=chosen,
            request=body,
            trace_id=self._new_id(),
            object_id=self._object_id(created),
            delivered=max(0, asked if delivered is None else delivered),
            error_code=code,
            error_message=message,
        )
        self._tasks[task.id] = task
        self._sorted = None
        return task

    def create_from_request(self, body: Mapping[str, Any]) -> SimTask:
        """A task made by the Images API from a validated request body (kept verbatim).

        A prompt containing `sim:fail`, `sim:moderate`, `sim:never` or `sim:succeed` forces
        the outcome, so end-to-end tests can create a task whose fate they know.
        """
        prompt = str(body.get("prompt", ""))
        forced: Outcome | None = None
        for word, outcome in (
            ("sim:fail", "failed"),
            ("sim:moderate", "moderated"),
            ("sim:never", "never"),
            ("sim:succeed", "succeeded"),
        ):
            if word in prompt:
                forced = outcome  # type: ignore[assignment]
                break
        with self._lock:
            return self._make_task(dict(body), outcome=forced)

    def add_raw(self, record: Mapping[str, Any]) -> None:
        """Store an arbitrary record verbatim (legacy shapes, odd fields, even no `id`)."""
        with self._lock:
            stored = copy.deepcopy(dict(record))
            key = stored.get("id")
            if isinstance(key, str):
                # Found by any spelling of its id, as every other task is; served verbatim.
                key = key.strip().lower()
            else:
                self._raw_counter += 1
                key = f"\x00raw-{self._raw_counter}"
            created = stored.get("created_at")
            created_at = (
                float(created)
                if isinstance(created, int | float) and not isinstance(created, bool)
                else 0.0
            )
            self._tasks[key] = _RawEntry(stored, created_at)
            self._sorted = None

    def seed(self, n: int) -> list[str]:
        """Make `n` tasks with mixed outcomes, most finished, some still in flight.

        Fast enough for 50,000 (benchmarks): records are only built when asked for.
        """
        with self._lock:
            now = self.now()
            rng = self._rng
            config = self.config
            window = config.pending_seconds + config.running_seconds
            ids: list[str] = []
            for _ in range(n):
                in_flight = rng.random() < 0.1
                age = rng.uniform(0, window) if in_flight else rng.uniform(window, 3 * 86400.0)
                count = rng.choice((1, 1, 1, 2, 4))
                body: dict[str, Any] = {
                    "action": "generate",
                    "prompt": rng.choice(_PROMPTS),
                    "model": rng.choice(_MODELS),
                    "aspect_ratio": rng.choice(_ASPECTS),
                    "async": True,
                }
                if count != 1:
                    body["count"] = count
                delivered = count - 1 if count > 1 and rng.random() < 0.1 else count
                ids.append(self._make_task(body, created_at=now - age, delivered=delivered).id)
            return ids

    def seed_demo(self, *, rate_limit_after: int | None = 6) -> list[str]:
        """About a dozen realistic tasks in every state, for `--demo` and screenshots.

        Some finished long ago, three are running and end within ~10-40 s (one of them will
        fail), one waits to start, one was moderated, some are edits with source images, one
        holds fewer images than asked for. A rate-limit episode is scheduled too: the API
        request after the `rate_limit_after`-th answers 429 with `Retry-After: 3`
        (None: no episode).
        """
        now = self.now()
        long_prompt = (
            "A sweeping panoramic view of a floating archipelago at golden hour: terraced "
            "gardens spill over the edges of each island, waterfalls fall into the clouds "
            "below, tiny airships drift between lantern-lit bridges, and in the foreground an "
            "old cartographer in a patched coat sketches the scene on a drafting table covered "
            "with brass instruments, ink bottles and rolled maps; cinematic lighting, highly "
            "detailed, soft atmospheric haze, 35mm film grain"
        )
        specs: list[dict[str, Any]] = [
            dict(
                prompt="a white siamese cat sitting on a stack of old books, soft window light",
                outcome="succeeded",
                age=2 * 86400 + 3100,
                run=11.3,
            ),
            dict(
                prompt="a brutalist library interior in morning fog",
                outcome="succeeded",
                age=26 * 3600,
                run=18.0,
                model="nano-banana-2.1:official",
                aspect_ratio="4:3",
                resolution="4K",
            ),
            dict(
                prompt="isometric cutaway of a tiny bakery at dawn, warm colours",
                outcome="succeeded",
                age=3 * 3600,
                run=24.5,
                count=4,
                model="nano-banana-pro",
                aspect_ratio="16:9",
                resolution="2K",
            ),
            dict(
                prompt="a photorealistic street map of a city that does not exist",
                outcome="failed",
                age=65 * 60,
                run=31.0,
                error_message="fetch failed",
            ),
            dict(
                prompt=long_prompt,
                outcome="succeeded",
                age=40 * 60,
                run=14.2,
                count=2,
                aspect_ratio="3:2",
            ),
            dict(
                prompt="poster text: [bold]SALE[/bold] 50% off [red]today only[/red]",
                outcome="succeeded",
                age=20 * 60,
                run=9.8,
                model="nano-banana-2",
                aspect_ratio="9:16",
            ),
            dict(
                prompt="the same person, but as a graphic-novel villain in a dark alley",
                outcome="moderated",
                age=15 * 60,
                run=4.1,
                action="edit",
                image_urls=["https://example.com/uploads/portrait-4812.jpg"],
            ),
            dict(
                prompt="replace the grey sky with a dramatic sunset",
                outcome="succeeded",
                age=10 * 60,
                run=12.6,
                action="edit",
                image_urls=["https://example.com/photos/beach-0192.jpg"],
            ),
            dict(
                prompt="watercolour red fox in fresh snow",
                outcome="succeeded",
                age=6.0,
                run=5.0 + 12.0,
            ),
            dict(
                prompt="combine these two products into one studio shot on white",
                outcome="succeeded",
                age=9.0,
                run=8.0 + 25.0,
                count=2,
                action="edit",
                image_urls=[
                    "https://example.com/catalog/mug-blue.png",
                    "https://example.com/catalog/teapot-white.png",
                ],
                aspect_ratio="3:2",
            ),
            dict(
                prompt="a lighthouse made entirely of glass, stormy sea",
                outcome="failed",
                age=4.0,
                run=3.0 + 35.0,
                model="nano-banana-2-lite",
                error_message="Generation timed out upstream.",
            ),
            dict(
                prompt="four seasons of the same maple tree, as a 2x2 grid",
                outcome="succeeded",
                age=0.0,
                pending=8.0,
                run=28.0,
                count=4,
                delivered=3,
            ),
        ]
        ids: list[str] = []
        with self._lock:
            for spec in specs:
                spec = dict(spec)
                age = float(spec.pop("age"))
                run = float(spec.pop("run"))
                pending = float(spec.pop("pending", 1.0 if age < 60 else 0.4))
                running = run - pending
                ids.append(
                    self.add_task(
                        created_at=now - age,
                        pending_seconds=pending,
                        running_seconds=max(running, 0.1),
                        **spec,
                    )
                )
            if rate_limit_after is not None:
                self.schedule_fault("429", after_requests=rate_limit_after, retry_after=3)
        return ids

    # ------------------------------------------------------------------ reading tasks
    def _image_base(self, base_url: str | None) -> str:
        base = self.config.image_base_url or base_url or self.base_url
        return base.rstrip("/")

    def _build(self, entry: SimTask | _RawEntry, now: float, image_base: str) -> dict[str, Any]:
        if isinstance(entry, _RawEntry):
            return entry.record
        task = entry
        account = self.account
        record: dict[str, Any] = {
            "_id": task.object_id,
            "id": task.id,
            "api_id": API_ID,
            "application_id": account.application_id,
            "credential_id": account.credential_id,
            "user_id": account.user_id,
            "type": "images",
            "trace_id": task.trace_id,
            "created_at": _round(task.created_at),
        }
        started = task.started_at
        if now >= started:
            record["started_at"] = _round(started)
        finished = task.finished_at
        done = finished is not None and now >= finished
        if done:
            assert finished is not None
            record["finished_at"] = _round(finished)
            record["elapsed"] = _round(finished - task.created_at)
        record["request"] = task.request
        if not done:
            if now >= started:
                # Running: the service already knows the task id but has no result yet.
                record["response"] = {"task_id": task.id, "trace_id": task.trace_id}
            return record
        response: dict[str, Any] = {"task_id": task.id, "trace_id": task.trace_id}
        if task.outcome == "succeeded":
            prompt = task.request.get("prompt", "")
            response = {
                "success": True,
                **response,
                "data": [
                    {"prompt": prompt, "image_url": f"{image_base}/images/{task.id}-{i}.png"}
                    for i in range(task.delivered)
                ],
            }
        else:
            response = {
                "success": False,
                **response,
                "error": {"code": task.error_code, "message": task.error_message},
            }
        record["response"] = response
        return record

    def _lookup(self, task_id: str) -> SimTask | _RawEntry | None:
        entry = self._tasks.get(task_id)
        if entry is None:
            entry = self._tasks.get(task_id.strip().lower())
        delay = self.config.listing_delay
        if isinstance(entry, SimTask) and delay > 0 and self.now() < entry.created_at + delay:
            return None  # created, but not listed yet
        return entry

    def record(self, task_id: str, *, base_url: str | None = None) -> dict[str, Any] | None:
        """The raw record of a task as the API would serve it now (a copy), or None."""
        with self._lock:
            entry = self._lookup(task_id)
            if entry is None:
                return None
            return copy.deepcopy(self._build(entry, self.now(), self._image_base(base_url)))

    def records(self, ids: Iterable[str], *, base_url: str | None = None) -> list[dict[str, Any]]:
        """Records of the known ids, in the order asked, each once; unknown ids are skipped."""
        with self._lock:
            now = self.now()
            base = self._image_base(base_url)
            seen: set[int] = set()
            out: list[dict[str, Any]] = []
            for task_id in ids:
                entry = self._lookup(task_id)
                if entry is None or id(entry) in seen:
                    continue
                seen.add(id(entry))
                out.append(self._build(entry, now, base))
            return out

    def list_records(
        self,
        *,
        limit: int,
        offset: int = 0,
        created_at_min: float | None = None,
        created_at_max: float | None = None,
        type_: str | None = None,
        application_id: str | None = None,
        user_id: str | None = None,
        base_url: str | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """The account's tasks, newest first, filtered like the provider's web app asks.

        Returns the page and the total number of matching tasks (what the web app reads
        `count` as).
        """
        with self._lock:
            if self._sorted is None:
                self._sorted = sorted(
                    self._tasks.values(), key=lambda entry: entry.created_at, reverse=True
                )
            now = self.now()
            base = self._image_base(base_url)
            account = self.account
            out: list[dict[str, Any]] = []
            total = 0
            for entry in self._sorted:
                if created_at_max is not None and entry.created_at > created_at_max:
                    continue
                if created_at_min is not None and entry.created_at < created_at_min:
                    break  # sorted newest first: everything after is older still
                if isinstance(entry, _RawEntry):
                    fields = entry.record
                    kind, app, user = (
                        fields.get("type"),
                        fields.get("application_id"),
                        fields.get("user_id"),
                    )
                else:
                    kind, app, user = "images", account.application_id, account.user_id
                if type_ is not None and kind != type_:
                    continue
                if application_id is not None and app != application_id:
                    continue
                if user_id is not None and user != user_id:
                    continue
                total += 1
                if offset < total <= offset + limit:
                    out.append(self._build(entry, now, base))
            return out, total

    def task(self, task_id: str) -> SimTask | None:
        """The live task behind an id (None for unknown ids and raw records)."""
        with self._lock:
            entry = self._lookup(task_id)
            return entry if isinstance(entry, SimTask) else None

    def task_ids(self) -> list[str]:
        with self._lock:
            return [key for key in self._tasks if not key.startswith("\x00")]

    def __len__(self) -> int:
        with self._lock:
            return len(self._tasks)

    # ------------------------------------------------------------------ faults
    def inject_fault(
        self,
        kind: str,
        *,
        times: int = 1,
        retry_after: float | str | None = None,
        delay: float = 0,
    ) -> None:
        """Make the next `times` API requests misbehave as `kind` (queued in order).

        Kinds: 429 (Retry-After only when `retry_after` is given), 500, 502_html, 503_html,
        504, empty, truncated, wrong_shape, missing_id, huge (~10 MB of valid JSON),
        slow (waits `delay` s, then answers normally), 401, 403_used_up, reset.
        """
        self._check_fault(kind, times)
        with self._lock:
            self._faults.extend(Fault(kind, retry_after, float(delay)) for _ in range(times))

    def schedule_fault(
        self,
        kind: str,
        *,
        after_requests: int,
        times: int = 1,
        retry_after: float | str | None = None,
        delay: float = 0,
    ) -> None:
        """Queue a fault that starts once `after_requests` API requests have been answered."""
        self._check_fault(kind, times)
        with self._lock:
            faults = [Fault(kind, retry_after, float(delay)) for _ in range(times)]
            self._scheduled.append(_Scheduled(after_requests, faults))

    @staticmethod
    def _check_fault(kind: str, times: int) -> None:
        if kind not in ALL_FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {sorted(ALL_FAULT_KINDS)}")
        if times < 1:
            raise ValueError("times must be at least 1")

    def clear_faults(self) -> None:
        """Forget queued and scheduled faults (the random-fault mode stays as configured)."""
        with self._lock:
            self._faults.clear()
            self._scheduled.clear()

    @property
    def pending_faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take_fault(self) -> Fault | None:
        """Called once per API request: the fault it must suffer, if any."""
        with self._lock:
            due = [s for s in self._scheduled if s.after_requests <= self._api_requests]
            if due:
                self._scheduled = [s for s in self._scheduled if s not in due]
                front = [fault for s in due for fault in s.faults]
                self._faults[:0] = front
            self._api_requests += 1
            if self._faults:
                return self._faults.pop(0)
            config = self.config
            if (
                config.fault_rate > 0
                and config.fault_kinds
                and self._fault_rng.random() < config.fault_rate
            ):
                kind = self._fault_rng.choice(config.fault_kinds)
                retry_after = 1 if kind == "429" and self._fault_rng.random() < 0.5 else None
                return Fault(kind, retry_after, config.slow_delay if kind == "slow" else 0.0)
            return None

    # ------------------------------------------------------------------ requests and reset
    def log_request(self, entry: SimRequest) -> None:
        with self._lock:
            self.requests.append(entry)

    def api_requests(self) -> list[SimRequest]:
        """Requests to the API routes (`/nano-banana/...`), in arrival order."""
        with self._lock:
            return [r for r in self.requests if r.path.startswith("/nano-banana/")]

    def image_requests(self) -> list[SimRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith("/images/")]

    def request_summary(self) -> dict[str, Any]:
        """Counts for `GET /_sim/requests`: by path, and how many carried a token."""
        with self._lock:
            by_path: dict[str, int] = {}
            for r in self.requests:
                by_path[r.path] = by_path.get(r.path, 0) + 1
            api = [r for r in self.requests if r.path.startswith("/nano-banana/")]
            images = [r for r in self.requests if r.path.startswith("/images/")]
            return {
                "total": len(self.requests),
                "api": len(api),
                "api_with_auth": sum(r.had_auth for r in api),
                "api_auth_ok": sum(r.auth_ok for r in api),
                "images": len(images),
                "images_with_auth": sum(r.had_auth for r in images),
                "by_path": by_path,
            }

    def reset(self) -> None:
        """Forget every task, fault and request (the config stays)."""
        with self._lock:
            self.requests.clear()
            self._init_memory()
