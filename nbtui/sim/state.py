"""The simulator's memory: tasks that progress on a clock, faults, and the request log.

Nothing here knows HTTP; `nbtui.sim.app` turns it into the API of docs/api.md. Records are
built by `nbtui.sim.records` each time they are asked for, so a test that moves an injected
clock sees a task go pending -> running -> succeeded/failed with no timers. Every outcome
and shape is decided when the task is made (seeded RNG), so runs are reproducible.

All public methods take a lock: the state is shared between a test's thread and the uvicorn
thread of a `SimServer`.
"""

from __future__ import annotations

import copy
import random
import threading
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from nbtui.sim.config import (
    API_ID,
    MODERATION_MESSAGE,
    OUTCOMES,
    SHAPES,
    WORD_KEYS,
    Outcome,
    SimConfig,
    SimRequest,
)
from nbtui.sim.demo import ASPECTS, FAILURE_MESSAGES, MODELS, PROMPTS, demo_specs
from nbtui.sim.faults import (
    ALL_FAULT_KINDS,
    TRANSIENT_FAULT_KINDS,
    Fault,
    FaultBook,
    FaultKind,
    check_fault,
)
from nbtui.sim.records import Account, RawEntry, SimTask, build_record

__all__ = [
    "ALL_FAULT_KINDS",
    "API_ID",
    "MODERATION_MESSAGE",
    "TRANSIENT_FAULT_KINDS",
    "Fault",
    "FaultKind",
    "Outcome",
    "SimConfig",
    "SimRequest",
    "SimState",
    "SimTask",
]


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
        self._shape_rng = random.Random(None if seed is None else f"{seed}:shapes")
        self._faults = FaultBook(seed)
        self._tasks: dict[str, SimTask | RawEntry] = {}
        self._sorted: list[SimTask | RawEntry] | None = None
        self._raw_counter = 0
        #: Ids of tasks the Images API created, in order (the platform simulator bills them).
        self.created_ids: list[str] = []
        self.account = Account(self._new_id(), self._new_id(), self._new_id())

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

    def _pick_shape(self) -> str:
        shapes = self.config.shapes
        if len(shapes) <= 1:
            return shapes[0] if shapes else "documented"
        return self._shape_rng.choice(shapes)

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
        shape: str | None = None,
        word_key: str = "status",
        **request: Any,
    ) -> str:
        """Make one task and return its id.

        `count` is the number of images asked for (the request's `count`); `delivered` how many
        the result holds (may be fewer). `outcome=None` draws from the config ratios and
        `shape=None` from `config.shapes` (docs/simulator.md, "Record shapes").
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
                shape=shape,
                word_key=word_key,
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
        shape: str | None = None,
        word_key: str = "status",
    ) -> SimTask:
        if outcome is not None and outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; use one of {sorted(OUTCOMES)}")
        if shape is not None and shape not in SHAPES:
            raise ValueError(f"unknown shape {shape!r}; use one of {', '.join(SHAPES)}")
        if word_key not in WORD_KEYS:
            raise ValueError(f"unknown word key {word_key!r}; use status or state")
        created = self.now() if created_at is None else created_at
        chosen: Outcome = outcome if outcome is not None else self._pick_outcome()
        asked = body.get("count", 1)
        asked = asked if isinstance(asked, int) and not isinstance(asked, bool) else 1
        if chosen == "failed":
            code = error_code or "api_error"
            message = error_message or self._rng.choice(FAILURE_MESSAGES)
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
            shape=shape if shape is not None else self._pick_shape(),
            word_key=word_key,
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
            task = self._make_task(dict(body), outcome=forced)
            self.created_ids.append(task.id)
            return task

    def add_raw(self, record: Mapping[str, Any]) -> None:
        """Store an arbitrary record verbatim (legacy shapes, odd fields, even no `id`)."""
        created = record.get("created_at")
        created_at = (
            float(created)
            if isinstance(created, int | float) and not isinstance(created, bool)
            else 0.0
        )
        self.add_timeline(record.get("id"), [(0.0, record)], created_at=created_at)

    def add_timeline(
        self,
        task_id: Any,
        steps: Iterable[tuple[float, Mapping[str, Any]]],
        *,
        created_at: float | None = None,
    ) -> None:
        """Literal records served verbatim in turn: each step is (seconds after `created_at`,
        record). Before the first step's time the task is not known (docs/simulator.md)."""
        with self._lock:
            stored = sorted(
                ((float(after), copy.deepcopy(dict(record))) for after, record in steps),
                key=lambda step: step[0],
            )
            if not stored:
                raise ValueError("a timeline needs at least one record")
            if isinstance(task_id, str):
                # Found by any spelling of its id, as every other task is; served verbatim.
                key = task_id.strip().lower()
            else:
                self._raw_counter += 1
                key = f"\x00raw-{self._raw_counter}"
            start = self.now() if created_at is None else created_at
            self._tasks[key] = RawEntry(stored, start)
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
                    "prompt": rng.choice(PROMPTS),
                    "model": rng.choice(MODELS),
                    "aspect_ratio": rng.choice(ASPECTS),
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
        holds fewer images than asked for; their records come in a mix of shapes (progress,
        accepted, words, no success flag, no times). A rate-limit episode is
        scheduled too: the API request after the `rate_limit_after`-th answers 429 with
        `Retry-After: 3` (None: no episode).
        """
        now = self.now()
        specs = demo_specs()
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
    def image_base(self, base_url: str | None) -> str:
        """Where image URLs point: the config's image host, else the request's origin."""
        base = self.config.image_base_url or base_url or self.base_url
        return base.rstrip("/")

    def _build(
        self, entry: SimTask | RawEntry, now: float, image_base: str
    ) -> dict[str, Any] | None:
        return build_record(entry, now, image_base, self.account)

    def _lookup(self, task_id: str) -> SimTask | RawEntry | None:
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
            return copy.deepcopy(self._build(entry, self.now(), self.image_base(base_url)))

    def known(self, task_id: str) -> bool:
        """Whether the Tasks API would answer for this id now."""
        with self._lock:
            entry = self._lookup(task_id)
            return entry is not None and self._build(entry, self.now(), "") is not None

    def records(self, ids: Iterable[str], *, base_url: str | None = None) -> list[dict[str, Any]]:
        """Records of the known ids, in the order asked, each once; unknown ids are skipped."""
        with self._lock:
            now = self.now()
            base = self.image_base(base_url)
            seen: set[int] = set()
            out: list[dict[str, Any]] = []
            for task_id in ids:
                entry = self._lookup(task_id)
                if entry is None or id(entry) in seen:
                    continue
                record = self._build(entry, now, base)
                if record is None:
                    continue
                seen.add(id(entry))
                out.append(record)
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
            base = self.image_base(base_url)
            account = self.account
            out: list[dict[str, Any]] = []
            total = 0
            for entry in self._sorted:
                if created_at_max is not None and entry.created_at > created_at_max:
                    continue
                if created_at_min is not None and entry.created_at < created_at_min:
                    break  # sorted newest first: everything after is older still
                if isinstance(entry, RawEntry):
                    fields = entry.at(now)
                    if fields is None:
                        continue
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
                    record = self._build(entry, now, base)
                    if record is not None:
                        out.append(record)
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
        **target: Any,
    ) -> None:
        """Make the next `times` API requests misbehave as `kind` (queued in order).

        Kinds: 429 (Retry-After only when `retry_after` is given), 500, 502_html, 503_html,
        504, empty, truncated, wrong_shape, missing_id, huge (~10 MB of valid JSON),
        slow (waits `delay` s, then answers normally), 401, 403_used_up, reset, and every
        API error code (`disabled`, `no_token`, ...: its error body). `target` takes `Fault`'s
        `endpoint`, `task_id`, `status`, `message` and `success_key`.
        """
        check_fault(kind, times)
        with self._lock:
            fault = self._fault(kind, retry_after, delay, target)
            self._faults.add(fault, times)

    def schedule_fault(
        self,
        kind: str,
        *,
        after_requests: int,
        times: int = 1,
        retry_after: float | str | None = None,
        delay: float = 0,
        **target: Any,
    ) -> None:
        """Queue a fault that starts once `after_requests` API requests have been answered."""
        check_fault(kind, times)
        with self._lock:
            fault = self._fault(kind, retry_after, delay, target)
            self._faults.schedule(after_requests, fault, times)

    @staticmethod
    def _fault(
        kind: str, retry_after: float | str | None, delay: float, target: dict[str, Any]
    ) -> Fault:
        task_id = target.pop("task_id", None)
        if isinstance(task_id, str):
            task_id = task_id.strip().lower()
        return Fault(kind, retry_after, float(delay), task_id=task_id, **target)

    def clear_faults(self) -> None:
        """Forget queued and scheduled faults (the random-fault mode stays as configured)."""
        with self._lock:
            self._faults.clear()

    @property
    def pending_faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults.queue)

    @property
    def pending_fault_count(self) -> int:
        """How many requests the queued faults will spoil (cheap, unlike `pending_faults`)."""
        with self._lock:
            return self._faults.pending

    def take_fault(self, path: str = "", task_ids: Iterable[str] = ()) -> Fault | None:
        """Called once per API request: the fault it must suffer, if any. Faults limited to
        an endpoint or a task id wait for a request to that `path` about one of `task_ids`."""
        with self._lock:
            config = self.config
            return self._faults.take(
                path,
                frozenset(i.strip().lower() for i in task_ids),
                rate=config.fault_rate,
                kinds=config.fault_kinds,
                slow_delay=config.slow_delay,
            )

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
