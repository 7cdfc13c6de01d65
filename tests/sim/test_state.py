"""SimState on its own: tasks progressing on a clock, outcomes, seeding, faults bookkeeping."""

from __future__ import annotations

from collections import Counter

import pytest

from nbtui.api.models import Task, TaskState, derive_state, extract_error
from nbtui.sim import ALL_FAULT_KINDS, SimConfig, SimState
from nbtui.sim.faults import ERROR_CODES

from .conftest import T0, FakeClock


def make_state(clock: FakeClock, **overrides: object) -> SimState:
    return SimState(SimConfig(clock=clock, **overrides))  # type: ignore[arg-type]


def test_a_succeeding_task_moves_through_every_phase(clock: FakeClock) -> None:
    state = make_state(clock)
    task_id = state.add_task(
        prompt="a white siamese cat",
        outcome="succeeded",
        pending_seconds=2,
        running_seconds=6,
        count=2,
        model="nano-banana-pro",
    )

    pending = state.record(task_id)
    assert pending is not None
    assert derive_state(pending) is TaskState.PENDING
    assert "response" not in pending and "started_at" not in pending
    assert pending["request"] == {
        "action": "generate",
        "prompt": "a white siamese cat",
        "count": 2,
        "model": "nano-banana-pro",
    }
    assert pending["created_at"] == T0 and pending["type"] == "images"
    for key in ("_id", "api_id", "application_id", "credential_id", "user_id", "trace_id"):
        assert isinstance(pending[key], str) and pending[key]

    clock.advance(2)
    running = state.record(task_id)
    assert running is not None
    assert derive_state(running) is TaskState.RUNNING
    assert running["started_at"] == T0 + 2
    assert running["response"] == {"task_id": task_id, "trace_id": running["trace_id"]}
    assert "finished_at" not in running and "elapsed" not in running

    clock.advance(5.999)
    assert derive_state(state.record(task_id)) is TaskState.RUNNING

    clock.advance(0.001)
    done = state.record(task_id)
    assert done is not None
    assert derive_state(done) is TaskState.SUCCEEDED
    assert done["finished_at"] == pytest.approx(T0 + 8)
    assert done["elapsed"] == pytest.approx(8)
    response = done["response"]
    assert response["success"] is True and response["task_id"] == task_id
    assert [item["prompt"] for item in response["data"]] == ["a white siamese cat"] * 2
    task = Task.from_raw(done)
    assert task.state is TaskState.SUCCEEDED
    assert task.image_urls == [
        f"http://sim.test/images/{task_id}-0.png",
        f"http://sim.test/images/{task_id}-1.png",
    ]


def test_failed_and_moderated_tasks_derive_as_failed(clock: FakeClock) -> None:
    state = make_state(clock, pending_seconds=1, running_seconds=1)
    failed = state.add_task(outcome="failed")
    moderated = state.add_task(outcome="moderated")
    clock.advance(2)

    failed_record = state.record(failed)
    assert derive_state(failed_record) is TaskState.FAILED
    assert failed_record is not None and failed_record["response"]["success"] is False
    error = extract_error(failed_record)
    assert error is not None and error.code == "api_error" and error.message

    moderated_record = state.record(moderated)
    assert derive_state(moderated_record) is TaskState.FAILED
    error = extract_error(moderated_record)
    assert error is not None and error.is_moderation


def test_never_stays_running_forever(clock: FakeClock) -> None:
    state = make_state(clock)
    task_id = state.add_task(outcome="never")
    clock.advance(10**7)
    record = state.record(task_id)
    assert derive_state(record) is TaskState.RUNNING
    assert record is not None and "finished_at" not in record


def test_fewer_images_than_asked_and_custom_errors(clock: FakeClock) -> None:
    state = make_state(clock, pending_seconds=0, running_seconds=0)
    partial = state.add_task(outcome="succeeded", count=4, delivered=3)
    custom = state.add_task(outcome="failed", error_code="disabled", error_message="nope")
    assert len(Task.from_raw(state.record(partial) or {}).images) == 3
    error = extract_error(state.record(custom))
    assert error is not None and (error.code, error.message) == ("disabled", "nope")


def test_unknown_outcome_is_refused(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="unknown outcome"):
        make_state(clock).add_task(outcome="exploded")  # type: ignore[arg-type]


def test_outcomes_follow_the_ratios_and_the_seed(clock: FakeClock) -> None:
    all_failed = make_state(clock, failure_ratio=1.0, moderation_ratio=0.0)
    all_moderated = make_state(clock, failure_ratio=0.0, moderation_ratio=1.0)
    assert {all_failed.task(i).outcome for i in all_failed.seed(20)} == {"failed"}  # type: ignore[union-attr]
    assert {all_moderated.task(i).outcome for i in all_moderated.seed(20)} == {"moderated"}  # type: ignore[union-attr]

    first, second = make_state(clock, seed=7), make_state(clock, seed=7)
    ids = first.seed(30)
    assert ids == second.seed(30)
    assert [first.record(i) for i in ids] == [second.record(i) for i in ids]
    assert make_state(clock, seed=8).seed(30) != ids


def test_seed_handles_fifty_thousand_mixed_tasks(clock: FakeClock) -> None:
    state = make_state(clock)
    ids = state.seed(50_000)
    assert len(set(ids)) == 50_000 == len(state)
    states = Counter(derive_state(state.record(i)) for i in ids[:2_000])
    assert states[TaskState.SUCCEEDED] > states[TaskState.FAILED] > 0
    assert states[TaskState.PENDING] + states[TaskState.RUNNING] > 0
    page, total = state.list_records(limit=100)
    assert total == 50_000 and len(page) == 100
    created = [record["created_at"] for record in page]
    assert created == sorted(created, reverse=True)


def test_seed_demo_covers_every_state(clock: FakeClock) -> None:
    state = make_state(clock)
    ids = state.seed_demo()
    assert 10 <= len(ids) <= 14
    records = [state.record(i) for i in ids]
    assert all(r is not None for r in records)
    states = Counter(derive_state(r) for r in records)
    for wanted in (TaskState.PENDING, TaskState.RUNNING, TaskState.SUCCEEDED, TaskState.FAILED):
        assert states[wanted] >= 1, wanted
    prompts = [r["request"]["prompt"] for r in records if r]
    assert any(len(p) > 300 for p in prompts)
    assert any("[bold]" in p for p in prompts)
    assert any(
        r["request"].get("action") == "edit" and r["request"]["image_urls"] for r in records if r
    )
    assert len({r["request"].get("model", "nano-banana") for r in records if r}) >= 3
    assert any(2 <= len(Task.from_raw(r).images) <= 4 for r in records if r)
    errors = [extract_error(r) for r in records if derive_state(r) is TaskState.FAILED]
    assert any(e is not None and e.is_moderation for e in errors)

    running = [i for i, r in zip(ids, records, strict=True) if derive_state(r) is TaskState.RUNNING]
    clock.advance(9)
    assert all(derive_state(state.record(i)) is TaskState.RUNNING for i in running)
    clock.advance(32)
    after = Counter(derive_state(state.record(i)) for i in running)
    assert after[TaskState.RUNNING] == 0
    assert after[TaskState.FAILED] == 1 and after[TaskState.SUCCEEDED] >= 1
    clock.advance(3600)
    assert all(derive_state(state.record(i)).is_finished for i in ids)

    # The scheduled rate-limit episode: the seventh API request gets a 429 with Retry-After.
    faults = [state.take_fault() for _ in range(8)]
    assert faults[:6] == [None] * 6
    assert faults[6] is not None and faults[6].kind == "429" and faults[6].retry_after == 3
    assert faults[7] is None


def test_seed_demo_can_skip_the_rate_limit_episode(clock: FakeClock) -> None:
    state = make_state(clock)
    state.seed_demo(rate_limit_after=None)
    assert [state.take_fault() for _ in range(20)] == [None] * 20


def test_add_raw_keeps_odd_records_verbatim(clock: FakeClock) -> None:
    state = make_state(clock)
    legacy_id = "11111111-2222-4333-8444-555555555555"
    legacy: dict[str, object] = {
        "id": legacy_id,
        "created_at": T0 - 5,
        "response": {"error": {"code": "api_error", "message": "legacy"}},
        "surprise": [1, 2, 3],
    }
    state.add_raw(legacy)
    state.add_raw({"created_at": T0 - 10, "request": {"prompt": "no id at all"}})
    legacy["surprise"] = "mutated afterwards"

    record = state.record(legacy_id.upper())  # ids are matched case-insensitively
    assert record is not None and record["surprise"] == [1, 2, 3]
    assert derive_state(record) is TaskState.FAILED
    page, total = state.list_records(limit=10)
    assert total == 2 and "id" not in page[1]
    assert state.task_ids() == [legacy_id]


def test_record_is_a_copy(clock: FakeClock) -> None:
    state = make_state(clock)
    task_id = state.add_task(image_urls=["https://example.com/a.png"])
    record = state.record(task_id)
    assert record is not None
    record["request"]["image_urls"].append("tampered")
    assert state.record(task_id)["request"]["image_urls"] == ["https://example.com/a.png"]  # type: ignore[index]


def test_records_skip_unknown_and_duplicate_ids(clock: FakeClock) -> None:
    state = make_state(clock)
    a, b = state.add_task(), state.add_task()
    unknown = "00000000-0000-4000-8000-000000000000"
    assert [r["id"] for r in state.records([b, unknown, a, b])] == [b, a]


def test_image_base_url_from_config_wins(clock: FakeClock) -> None:
    state = make_state(
        clock, pending_seconds=0, running_seconds=0, image_base_url="http://cdn.test/"
    )
    task_id = state.add_task(outcome="succeeded")
    assert Task.from_raw(state.record(task_id, base_url="http://api.test") or {}).image_urls == [
        f"http://cdn.test/images/{task_id}-0.png"
    ]


def test_fault_queue_order_validation_and_clear(clock: FakeClock) -> None:
    state = make_state(clock)
    with pytest.raises(ValueError, match="unknown fault kind"):
        state.inject_fault("418")
    with pytest.raises(ValueError, match="times"):
        state.inject_fault("500", times=0)
    state.inject_fault("500", times=2)
    state.inject_fault("429", retry_after=5)
    assert [f.kind for f in state.pending_faults] == ["500", "500", "429"]
    assert [state.take_fault().kind for _ in range(3)] == ["500", "500", "429"]  # type: ignore[union-attr]
    assert state.take_fault() is None
    state.inject_fault("slow", delay=2)
    state.schedule_fault("401", after_requests=1)
    state.clear_faults()
    assert [state.take_fault() for _ in range(3)] == [None] * 3
    assert "reset" in ALL_FAULT_KINDS and len(ALL_FAULT_KINDS) == 14 + len(ERROR_CODES)


def test_scheduled_faults_jump_the_queue(clock: FakeClock) -> None:
    state = make_state(clock)
    state.schedule_fault(
        "429", after_requests=2, times=2, retry_after="Wed, 21 Oct 2015 07:28:00 GMT"
    )
    state.inject_fault("500", times=3)
    kinds = [getattr(state.take_fault(), "kind", None) for _ in range(6)]
    assert kinds == ["500", "500", "429", "429", "500", None]


def test_random_faults_are_seeded(clock: FakeClock) -> None:
    def draw(seed: int) -> list[str | None]:
        state = make_state(clock, seed=seed, fault_rate=0.5)
        return [getattr(state.take_fault(), "kind", None) for _ in range(200)]

    first = draw(3)
    assert first == draw(3)
    hits = [kind for kind in first if kind is not None]
    assert 50 < len(hits) < 150
    assert set(hits) <= set(SimConfig().fault_kinds)
    assert [make_state(clock).take_fault() for _ in range(50)] == [None] * 50


def test_reset_forgets_everything_but_the_config(clock: FakeClock) -> None:
    state = make_state(clock, token="other")
    state.seed(5)
    state.inject_fault("500")
    state.reset()
    assert len(state) == 0 and state.pending_faults == [] and state.requests == []
    assert state.config.token == "other"


def test_a_raw_record_with_an_uppercase_id_is_found_by_its_lowercase_id(
    clock: FakeClock,
) -> None:
    # nbtui normalizes ids to lowercase before asking; a raw record was only found by the
    # exact spelling it was stored with, so `nbtui get` reported it as not found.
    state = make_state(clock)
    upper = "ABCDEF12-2222-4333-8444-555555555555"
    state.add_raw({"id": upper, "response": {"success": True, "data": []}})
    (record,) = state.records([upper.lower()])
    assert record["id"] == upper  # still served verbatim
    assert state.record(upper) is not None
