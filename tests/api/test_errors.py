"""What an error tells the user: status, code, trace id and what to do, never the token."""

from __future__ import annotations

from nbtui.api.errors import AuthError, RateLimited, ServerError


def test_rate_limited_says_how_long_the_service_asked_to_wait() -> None:
    error = RateLimited("Rate limited", status=429, code="too_many_requests", retry_after=3600)
    assert str(error) == (
        "Rate limited (HTTP 429, code too_many_requests). "
        "The service asks to wait 3600 s before trying again."
    )


def test_rate_limited_without_a_wait_does_not_promise_a_retry_it_will_not_make() -> None:
    text = str(RateLimited("Rate limited", status=429))
    assert "Wait a little before trying again" in text
    assert "retries by itself" not in text


def test_full_message_has_trace_id_and_hint() -> None:
    error = ServerError("The service failed", status=502, code="api_error", trace_id="t-123")
    assert str(error) == (
        "The service failed (HTTP 502, code api_error). Trace id t-123. "
        "This is usually temporary; nbtui retries reads by itself."
    )
    assert error.short == "The service failed (api_error)"
    assert "nbtui token set" in str(AuthError("Token rejected", status=401))
