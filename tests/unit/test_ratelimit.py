"""Pacing by LaunchDarkly's rate-limit headers: waits before sending, never overshoots."""

from __future__ import annotations

import math
import random
import threading
from collections import Counter

import pytest

from reconciler.remote.ratelimit import WAKE_JITTER, WINDOW_SECONDS, RatePacer
from support.clock import T0, FakeTime

ROUTE = "POST /api/v2/flags/{projectKey}"
OTHER = "GET /api/v2/flags/{projectKey}"



def pacer_with(ft: FakeTime, seed: int = 0) -> RatePacer:
    return RatePacer(clock=ft.clock, sleep=ft.sleep, rng=random.Random(seed))


def unix_ms(t: float) -> str:
    return str(int(t * 1000))


def limit_headers(remaining: int, reset: float, *, limit: int | None = None) -> dict[str, str]:
    headers = {"X-Ratelimit-Route-Remaining": str(remaining), "X-Ratelimit-Reset": unix_ms(reset)}
    if limit is not None:
        headers["X-Ratelimit-Route-Limit"] = str(limit)
    return headers


GLOBAL_SPENT_UNTIL_3 = {"X-Ratelimit-Global-Remaining": "0", "X-Ratelimit-Reset": unix_ms(T0 + 3)}
TOKEN_SPENT_UNTIL_6 = {
    "X-Ratelimit-Auth-Token-Remaining": "0",
    "X-Ratelimit-Auth-Token-Reset": unix_ms(T0 + 6),
}


def test_without_rate_limit_headers_nothing_ever_waits() -> None:
    ft = FakeTime()
    pacer = pacer_with(ft)
    pacer.acquire(ROUTE)
    pacer.release(ROUTE, {})
    for _ in range(50):
        pacer.acquire(ROUTE)
    assert ft.sleeps == []


def test_remaining_above_zero_does_not_slow_down() -> None:
    ft = FakeTime()
    pacer = pacer_with(ft)
    for remaining in range(9, 0, -1):
        pacer.acquire(ROUTE)
        pacer.release(ROUTE, limit_headers(remaining, T0 + 10))
    assert ft.sleeps == []


def test_remaining_zero_waits_for_the_reset_plus_small_jitter_before_the_next_request() -> None:
    ft = FakeTime()
    pacer = pacer_with(ft)
    pacer.acquire(ROUTE)
    pacer.release(ROUTE, limit_headers(0, T0 + 4))
    slept = pacer.acquire(ROUTE)
    assert 4.0 <= slept <= 4.0 + WAKE_JITTER
    assert ft.now >= T0 + 4


@pytest.mark.parametrize(
    ("answers", "then", "least", "most"),
    [
        pytest.param(
            [(OTHER, {}), (ROUTE, limit_headers(0, T0 + 4))],
            OTHER,
            0.0,
            0.0,
            id="route exhaustion does not hold back other routes",
        ),
        pytest.param(
            [(OTHER, {}), (ROUTE, GLOBAL_SPENT_UNTIL_3)],
            OTHER,
            3.0,
            3.0 + WAKE_JITTER,
            id="global exhaustion holds back every route",
        ),
        pytest.param(
            [(ROUTE, TOKEN_SPENT_UNTIL_6)],
            OTHER,
            6.0,
            6.0 + WAKE_JITTER,
            id="token exhaustion waits for the token reset",
        ),
        pytest.param(
            # An answer sent earlier arrives late, still claiming room.
            [(ROUTE, limit_headers(0, T0 + 5)), (ROUTE, limit_headers(3, T0 + 5))],
            ROUTE,
            5.0,
            math.inf,
            id="out-of-order answers of one window keep the lowest remaining",
        ),
        pytest.param(
            [(ROUTE, limit_headers(4, T0 + 8)), (ROUTE, limit_headers(0, T0 + 1))],
            ROUTE,
            0.0,
            0.0,
            id="answers from an older window are ignored",
        ),
    ],
)
def test_the_wait_before_the_next_request_follows_the_answers_so_far(
    answers: list[tuple[str, dict[str, str]]], then: str, least: float, most: float
) -> None:
    ft = FakeTime()
    pacer = pacer_with(ft)
    sent: set[str] = set()
    for route, headers in answers:
        if route not in sent:  # one request a route; each answer is released against it
            pacer.acquire(route)
            sent.add(route)
        pacer.release(route, headers)
    assert least <= pacer.acquire(then) <= most


def test_after_the_reset_the_full_limit_is_available_again_but_no_more() -> None:
    ft = FakeTime()
    pacer = pacer_with(ft)
    pacer.acquire(ROUTE)
    pacer.release(ROUTE, limit_headers(0, T0 + 2, limit=3))
    ft.now = T0 + 2.5  # the window has rolled; its new budget is the limit, 3
    for _ in range(3):
        assert pacer.acquire(ROUTE) == 0.0
    done = threading.Event()

    def fourth() -> None:
        pacer.acquire(ROUTE)
        done.set()

    waiter = threading.Thread(target=fourth)
    waiter.start()
    assert not done.wait(0.1), "a 4th request went out while 3 of a limit of 3 were in flight"
    for _ in range(3):
        pacer.release(ROUTE, limit_headers(0, T0 + 12, limit=3))
    assert done.wait(2.0)
    waiter.join()
    assert ft.now >= T0 + 12


def test_requests_in_flight_count_against_the_remaining_budget() -> None:
    ft = FakeTime()
    pacer = pacer_with(ft)
    pacer.acquire(ROUTE)
    pacer.release(ROUTE, limit_headers(2, T0 + 10))
    pacer.acquire(ROUTE)
    pacer.acquire(ROUTE)  # two in flight use up the two remaining
    done = threading.Event()
    waiter = threading.Thread(target=lambda: (pacer.acquire(ROUTE), done.set()))
    waiter.start()
    assert not done.wait(0.1)
    pacer.release(ROUTE, None)  # one failed without reaching the server: its slot is free again
    assert done.wait(2.0)
    waiter.join()
    assert ft.sleeps == []


def test_an_unknown_route_is_probed_by_one_request_before_others_follow() -> None:
    ft = FakeTime()
    pacer = pacer_with(ft)
    pacer.acquire(ROUTE)
    done = threading.Event()
    waiter = threading.Thread(target=lambda: (pacer.acquire(ROUTE), done.set()))
    waiter.start()
    assert not done.wait(0.1)
    pacer.release(ROUTE, limit_headers(5, T0 + 10))
    assert done.wait(2.0)
    waiter.join()


def test_a_reset_far_in_the_future_is_clock_skew_and_waits_one_window_instead() -> None:
    ft = FakeTime()
    pacer = pacer_with(ft)
    pacer.acquire(ROUTE)
    pacer.release(ROUTE, limit_headers(0, T0 + 3600))
    assert WINDOW_SECONDS <= pacer.acquire(ROUTE) <= WINDOW_SECONDS + WAKE_JITTER


def test_a_429_with_retry_after_blocks_every_route_until_then() -> None:
    ft = FakeTime()
    pacer = pacer_with(ft)
    pacer.acquire(ROUTE)
    until = pacer.release_throttled(ROUTE, {"Retry-After": "7"})
    assert until == T0 + 7
    assert 7.0 <= pacer.acquire(OTHER) <= 7.0 + WAKE_JITTER


def test_a_429_waits_for_the_latest_of_retry_after_and_the_reset() -> None:
    ft = FakeTime()
    pacer = pacer_with(ft)
    pacer.acquire(ROUTE)
    headers = {"Retry-After": "2", **limit_headers(0, T0 + 9)}
    assert pacer.release_throttled(ROUTE, headers) == T0 + 9


def test_a_429_with_only_a_route_reset_blocks_only_that_route() -> None:
    ft = FakeTime()
    pacer = pacer_with(ft)
    pacer.acquire(OTHER)
    pacer.release(OTHER, {})
    pacer.acquire(ROUTE)
    assert pacer.release_throttled(ROUTE, limit_headers(0, T0 + 5)) == T0 + 5
    assert pacer.acquire(OTHER) == 0.0
    assert pacer.acquire(ROUTE) >= 5.0


@pytest.mark.parametrize("reset", [T0 - 60, T0 - 0.5, T0 + 3600])
def test_a_429_whose_reset_is_past_or_absurd_leaves_the_wait_to_backoff(reset: float) -> None:
    ft = FakeTime()
    pacer = pacer_with(ft)
    pacer.acquire(ROUTE)
    assert pacer.release_throttled(ROUTE, limit_headers(0, reset)) is None


def test_a_429_without_headers_gives_no_time() -> None:
    ft = FakeTime()
    pacer = pacer_with(ft)
    pacer.acquire(ROUTE)
    assert pacer.release_throttled(ROUTE, {}) is None


class FixedWindowServer:
    """LaunchDarkly's route limit: ``limit`` requests per 10 s window, counted on a fake clock."""

    def __init__(self, ft: FakeTime, limit: int) -> None:
        self.ft, self.limit = ft, limit
        self.counts: Counter[int] = Counter()
        self.throttled = 0
        self.last_accepted = T0
        self._lock = threading.Lock()

    def handle(self) -> tuple[int, dict[str, str]]:
        with self._lock:
            now = self.ft.now
            window = math.floor((now - T0) / WINDOW_SECONDS)
            reset = T0 + (window + 1) * WINDOW_SECONDS
            if self.counts[window] >= self.limit:
                self.throttled += 1
                return 429, limit_headers(0, reset, limit=self.limit)
            self.counts[window] += 1
            self.last_accepted = max(self.last_accepted, now)
            return 200, limit_headers(self.limit - self.counts[window], reset, limit=self.limit)


@pytest.mark.parametrize(("threads", "limit", "total"), [(8, 5, 40), (16, 20, 100), (4, 1, 6)])
def test_many_threads_share_the_pacer_without_429s_at_nearly_the_ideal_rate(
    threads: int, limit: int, total: int
) -> None:
    ft = FakeTime()
    pacer = pacer_with(ft)
    server = FixedWindowServer(ft, limit)
    todo = list(range(total))
    todo_lock = threading.Lock()
    errors: list[BaseException] = []
    latency = threading.Event()

    def worker() -> None:
        try:
            while True:
                with todo_lock:
                    if not todo:
                        return
                    todo.pop()
                while True:
                    pacer.acquire(ROUTE)
                    latency.wait(0.001)  # in flight for a moment (real time), so requests overlap
                    status, headers = server.handle()
                    if status == 429:
                        pacer.release_throttled(ROUTE, headers)
                        continue
                    pacer.release(ROUTE, headers)
                    break
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(10)
    assert errors == []
    assert sum(server.counts.values()) == total
    assert server.throttled == 0
    assert max(server.counts.values()) <= limit
    ideal = (math.ceil(total / limit) - 1) * WINDOW_SECONDS  # when the last request may start
    assert server.last_accepted - T0 <= ideal * 1.05 + 1
