"""Retry-After parsing and backoff delays: pure functions, no clock, no network."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbtui.api.backoff import MAX_RETRY_AFTER, Backoff, parse_retry_after

NOW = 1_757_183_036.0  # a fixed "now" (Unix seconds)


def http_date(offset: float) -> str:
    return format_datetime(datetime.fromtimestamp(NOW + offset, UTC), usegmt=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8", 8.0),
        ("  3  ", 3.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-4", 0.0),
        ("300", 300.0),
        ("301", MAX_RETRY_AFTER),
        ("86400", MAX_RETRY_AFTER),
        ("inf", MAX_RETRY_AFTER),
        ("1e400", MAX_RETRY_AFTER),
    ],
)
def test_delta_seconds(value: str, expected: float) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    "value", [None, "", "   ", "soon", "nan", "-inf", "8 seconds", "Thu, 99 Foo 2026", "[]"]
)
def test_garbage_is_none(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


def test_http_date_in_the_future() -> None:
    assert parse_retry_after(http_date(12), NOW) == pytest.approx(12.0)


def test_http_date_in_the_past_means_now() -> None:
    assert parse_retry_after(http_date(-60), NOW) == 0.0


def test_http_date_far_future_is_capped() -> None:
    assert parse_retry_after(http_date(7200), NOW) == MAX_RETRY_AFTER


def test_http_date_without_zone_is_read_as_gmt() -> None:
    # asctime form (RFC 9110 obsolete format) carries no zone
    when = datetime.fromtimestamp(NOW + 30, UTC).strftime("%a %b %d %H:%M:%S %Y")
    assert parse_retry_after(when, NOW) == pytest.approx(30.0)


def test_backoff_ceilings_grow_then_cap() -> None:
    backoff = Backoff()
    assert [backoff.ceiling(n) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 8, 8]
    assert backoff.ceiling(10_000) == 8.0  # no overflow for absurd attempt numbers


def test_backoff_equal_jitter_stays_between_half_and_full_ceiling() -> None:
    backoff = Backoff(base=1.0, cap=30.0, factor=3.0)
    rng = random.Random(7)
    for attempt in range(1, 8):
        ceiling = backoff.ceiling(attempt)
        delays = [backoff.delay(attempt, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling / 4  # really jittered, not constant


def test_backoff_is_reproducible_with_a_seeded_rng() -> None:
    backoff = Backoff()
    first = [backoff.delay(n, random.Random(1)) for n in range(1, 5)]
    second = [backoff.delay(n, random.Random(1)) for n in range(1, 5)]
    assert first == second


def test_backoff_extremes_of_the_draw() -> None:
    class Fixed(random.Random):
        def __init__(self, value: float) -> None:
            super().__init__()
            self.value = value

        def random(self) -> float:
            return self.value

    backoff = Backoff()
    assert backoff.delay(3, Fixed(0.0)) == 1.0
    assert backoff.delay(3, Fixed(0.999999)) == pytest.approx(2.0)


@pytest.mark.parametrize("kwargs", [{"base": 0}, {"cap": -1}, {"factor": 0.5}])
def test_backoff_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)


@given(st.text(max_size=60), st.floats(min_value=0, max_value=4e9))
def test_parse_retry_after_never_raises_and_stays_in_range(value: str, now: float) -> None:
    parsed = parse_retry_after(value, now)
    assert parsed is None or 0.0 <= parsed <= MAX_RETRY_AFTER


@given(st.integers(min_value=1, max_value=10_000), st.integers(min_value=0, max_value=2**32))
def test_backoff_delay_is_always_within_the_cap(attempt: int, seed: int) -> None:
    delay = Backoff().delay(attempt, random.Random(seed))
    assert 0.25 <= delay <= 8.0
