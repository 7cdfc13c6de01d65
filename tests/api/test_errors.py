"""What an error tells the user: status, code, trace id and what to do, never the token."""

from __future__ import annotations

from nbtui.api.errors import AuthError, CreateOutcomeUnknown, RateLimited, ServerError


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


def test_an_error_is_complete_when_made() -> None:
    """Method, URL, attempts and retryability are given to the constructor, not added later."""
    error = ServerError(
        "The service failed",
        status=503,
        method="POST",
        url="https://api.example.test/nano-banana/tasks",
        attempts=3,
        retryable=False,
    )
    assert (error.method, error.url, error.attempts) == (
        "POST",
        "https://api.example.test/nano-banana/tasks",
        3,
    )
    assert not error.retryable and ServerError.retryable  # the instance, not the class
    assert ServerError("x").attempts == 1 and ServerError("x").url is None


def test_with_attempts_is_a_new_error_and_leaves_the_first_unchanged() -> None:
    first = RateLimited("Rate limited", status=429, retry_after=5, url="https://h/p")
    later = first.with_attempts(4)
    assert later is not first and type(later) is RateLimited
    assert (first.attempts, later.attempts) == (1, 4)
    assert (later.message, later.status, later.url, later.retry_after) == (
        "Rate limited",
        429,
        "https://h/p",
        5,
    )
    assert "gave up after 4 attempts" in later.final()
    assert "gave up" not in first.final() and str(first) == str(later)


def test_final_words_leave_the_error_as_it_was() -> None:
    error = ServerError("The service failed", attempts=3)
    hint = error.hint
    assert "try again in a little while; gave up after 3 attempts" in error.final()
    assert error.hint == hint and "nbtui retries reads by itself" in str(error)


def test_with_hint_replaces_only_the_hint() -> None:
    error = AuthError("Token rejected", status=401, code="invalid_token")
    other = error.with_hint("Do something else")
    assert other.hint == "Do something else" and "nbtui token set" in error.hint
    assert (other.message, other.status, other.code) == ("Token rejected", 401, "invalid_token")


def test_an_unknown_create_outcome_says_where_to_look_by_itself() -> None:
    """Its hint is its own (the type says what happened), whoever raises it."""
    text = str(CreateOutcomeUnknown("No answer; the task may or may not have been created"))
    assert "no second task is created and billed" in text and "recent tasks" in text
