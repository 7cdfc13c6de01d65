"""`summarize`: the one reading of prompt, model, action, times and images for every caller."""

from __future__ import annotations

from typing import Any

import pytest

from nbtui.api.summary import Summary, summarize, timestamp

URL = "https://cdn.example/a.png"


def test_a_documented_record() -> None:
    raw: dict[str, Any] = {
        "id": "x",
        "created_at": 10.5,
        "started_at": 11,
        "finished_at": 20.25,
        "request": {"action": "generate", "prompt": "a cat", "model": "nano-banana-pro"},
        "response": {"success": True, "data": [{"image_url": URL, "prompt": "a cat"}] * 2},
    }
    assert summarize(raw) == Summary(
        prompt="a cat",
        model="nano-banana-pro",
        action="generate",
        image_count=2,
        created_at=10.5,
        started_at=11.0,
        finished_at=20.25,
    )


def test_no_record_and_odd_fields_give_an_empty_summary() -> None:
    assert summarize(None) == Summary()
    odd = {"request": ["not", "a", "dict"], "created_at": "yesterday", "response": 7}
    assert summarize(odd) == Summary()
    blank = {"request": {"prompt": "   ", "model": 42, "action": None}}
    assert summarize(blank) == Summary()


def test_the_prompt_falls_back_to_the_first_image_prompt() -> None:
    raw = {
        "request": {"action": "edit"},
        "response": {"data": [{"image_url": URL, "prompt": ""}, {"image_url": URL, "prompt": "b"}]},
    }
    summary = summarize(raw)
    assert summary.prompt == "b"
    assert summary.image_count == 2


def test_times_in_response_and_as_iso_strings() -> None:
    raw = {
        "created_at": "2025-09-06T18:23:56Z",
        "response": {"success": True, "finished_at": "2025-09-06T18:24:08.500+00:00"},
    }
    summary = summarize(raw)
    assert summary.created_at == 1757183036.0
    assert summary.finished_at == 1757183048.5


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), -float("inf"), 10**400, True, "", "x" * 100, "not a date", None],
)
def test_timestamps_refuse_what_is_not_a_time(value: object) -> None:
    assert timestamp(value) is None


def test_a_naive_iso_time_is_read_as_utc() -> None:
    assert timestamp("1970-01-01T00:01:00") == 60.0
