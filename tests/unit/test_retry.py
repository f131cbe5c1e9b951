"""The retry policy: what is tried again, and how long it waits first."""

from __future__ import annotations

from email.utils import formatdate

import httpx
import pytest

from reconciler.remote.retry import (
    MAX_RESET_WAIT,
    RetryPolicy,
    backoff,
    parse_reset,
    parse_retry_after,
    throttled_until,
)
from support.clock import T0, FixedRandom

REQUEST = httpx.Request("GET", "https://app.launchdarkly.test/")


def ms(t: float) -> str:
    return str(int(t * 1000))


def test_backoff_doubles_up_to_the_cap_and_full_jitter_stays_below_the_ceiling() -> None:
    top = FixedRandom(1.0)
    assert [backoff(a, 60.0, top) for a in range(9)] == [0.5, 1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff(3, 60.0, FixedRandom(0.0)) == 0.0
    assert backoff(10_000, 5.0, top) == 5.0


def test_backoff_with_equal_jitter_never_waits_less_than_half_the_ceiling() -> None:
    assert backoff(3, 60.0, FixedRandom(0.0), full_jitter=False) == 2.0
    assert backoff(3, 60.0, FixedRandom(1.0), full_jitter=False) == 4.0


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    assert parse_retry_after("7", T0) == 7.0
    assert parse_retry_after(formatdate(T0 + 30, usegmt=True), T0) == pytest.approx(30.0)


@pytest.mark.parametrize("value", [None, "", "soon", "-3", formatdate(T0 - 30, usegmt=True)])
def test_unusable_retry_after_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, T0) is None


def test_absurd_retry_after_is_capped() -> None:
    assert parse_retry_after("86400", T0) == MAX_RESET_WAIT


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectError("refused", request=REQUEST), httpx.PoolTimeout("pool", request=REQUEST)],
)
def test_an_error_before_the_request_left_is_retried_for_every_method(error: Exception) -> None:
    assert RetryPolicy().retries_error("POST", error)
    assert RetryPolicy().retries_error("GET", error)


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("slow", request=REQUEST),
        httpx.RemoteProtocolError("dropped", request=REQUEST),
    ],
)
def test_an_error_after_sending_is_retried_only_for_a_method_that_may_go_twice(
    error: Exception,
) -> None:
    assert RetryPolicy().retries_error("GET", error)
    assert not RetryPolicy().retries_error("POST", error)
    assert RetryPolicy(idempotent=frozenset({"PATCH"})).retries_error("PATCH", error)


def test_a_429_is_always_retried_a_5xx_only_when_safe_and_a_409_never() -> None:
    policy = RetryPolicy()
    assert policy.retries_status("POST", 429)
    assert policy.retries_status("GET", 429)
    assert policy.retries_status("GET", 503)
    assert not policy.retries_status("POST", 503)
    assert not any(policy.retries_status(m, 409) for m in ("GET", "POST"))
    assert not policy.retries_status("GET", 404)


def test_the_policy_gives_up_after_max_retries_and_waits_at_least_what_the_server_asked() -> None:
    policy = RetryPolicy(max_retries=2, max_backoff=3.0)
    assert [policy.gives_up(a) for a in range(3)] == [False, False, True]
    assert policy.pause(10, FixedRandom(1.0)) == 3.0
    assert policy.pause(10, FixedRandom(1.0), at_least=7.0) == 7.0


def test_a_429_waits_for_the_latest_of_retry_after_and_the_resets() -> None:
    assert throttled_until({"Retry-After": "2", "X-Ratelimit-Reset": ms(T0 + 9)}, T0) == T0 + 9
    assert throttled_until({"Retry-After": "5"}, T0) == T0 + 5
    token = {"X-Ratelimit-Auth-Token-Reset": ms(T0 + 6)}
    assert throttled_until(token, T0) is None  # the token's budget is not said to be spent
    spent = {**token, "X-Ratelimit-Auth-Token-Remaining": "0"}
    assert throttled_until(spent, T0) == T0 + 6
    assert throttled_until({}, T0) is None


@pytest.mark.parametrize("reset", [T0 - 60, T0 + 3600])
def test_a_reset_that_looks_like_clock_skew_is_not_believed(reset: float) -> None:
    assert parse_reset(ms(reset), T0) is None
