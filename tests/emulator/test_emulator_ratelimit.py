"""Rate limits per route and global, their headers, and 429s in both header modes.

The emulator is given a fake clock so that windows begin and end exactly when a test says.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from reconciler.emulator import Emulator, RateLimit

LIST = "/api/v2/flags/demo"
START = 1_700_000_000.0  # a multiple of every window used here


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limited(
    make_emulator: Callable[..., Emulator],
    make_client: Callable[..., httpx.Client],
    clock: FakeClock,
) -> Callable[..., httpx.Client]:
    def make(**config: object) -> httpx.Client:
        return make_client(make_emulator(clock=clock, **config))

    return make


def _rate_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("x-ratelimit")}


def test_route_limit_counts_down_then_429s_until_the_window_ends(
    limited: Callable[..., httpx.Client], clock: FakeClock
) -> None:
    http = limited(rate_limit=RateLimit(3, 10))
    reset = str(int((START + 10) * 1000))
    remaining = []
    for _ in range(3):
        response = http.get(LIST)
        assert response.status_code == 200
        assert response.headers["X-Ratelimit-Route-Limit"] == "3"
        assert response.headers["X-Ratelimit-Reset"] == reset
        remaining.append(response.headers["X-Ratelimit-Route-Remaining"])
    assert remaining == ["2", "1", "0"]
    refused = http.get(LIST)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert refused.headers["X-Ratelimit-Route-Remaining"] == "0"
    assert refused.headers["X-Ratelimit-Reset"] == reset
    assert "Retry-After" not in refused.headers
    assert not any(k.startswith("x-ratelimit-global") for k in refused.headers)
    clock.now = START + 10
    again = http.get(LIST)
    assert again.status_code == 200
    assert again.headers["X-Ratelimit-Route-Remaining"] == "2"


def test_routes_are_method_and_template(
    limited: Callable[..., httpx.Client], clock: FakeClock
) -> None:
    http = limited(rate_limit=RateLimit(1, 10))
    assert http.get(LIST).status_code == 200
    # Another project is the same route; a POST or a single-flag GET is another.
    assert http.get("/api/v2/flags/other").status_code == 429
    assert http.post(LIST, json={"key": "f", "name": "F"}).status_code == 201
    assert http.get(f"{LIST}/f").status_code == 200
    assert http.post(LIST, json={"key": "g", "name": "G"}).status_code == 429


def test_global_limit_spans_routes_and_sends_only_global_headers(
    limited: Callable[..., httpx.Client],
) -> None:
    http = limited(global_rate_limit=RateLimit(2, 10))
    first = http.get(LIST)
    assert _rate_headers(first) == {
        "x-ratelimit-global-limit": "2",
        "x-ratelimit-global-remaining": "1",
        "x-ratelimit-reset": str(int((START + 10) * 1000)),
    }
    assert http.post(LIST, json={"key": "f", "name": "F"}).status_code == 201
    assert http.get(f"{LIST}/f").status_code == 429


def test_both_limits_send_both_header_sets_and_reset_names_the_binding_window(
    limited: Callable[..., httpx.Client], clock: FakeClock
) -> None:
    http = limited(rate_limit=RateLimit(5, 1), global_rate_limit=RateLimit(3, 10))
    clock.now = START + 0.5
    first = http.get(LIST)
    assert first.headers["X-Ratelimit-Route-Remaining"] == "4"
    assert first.headers["X-Ratelimit-Global-Remaining"] == "2"
    # The global limit has fewer requests left, so its window end is the reset.
    assert first.headers["X-Ratelimit-Reset"] == str(int((START + 10) * 1000))
    http.get(LIST)
    http.get(LIST)
    refused = http.get(LIST)
    assert refused.status_code == 429
    assert refused.headers["X-Ratelimit-Global-Remaining"] == "0"
    assert refused.headers["X-Ratelimit-Route-Remaining"] == "2"


def test_retry_after_mode_sends_retry_after_seconds_instead_of_reset(
    limited: Callable[..., httpx.Client], clock: FakeClock
) -> None:
    http = limited(rate_limit=RateLimit(1, 10), retry_after_mode=True)
    ok = http.get(LIST)
    assert ok.status_code == 200
    assert "X-Ratelimit-Reset" not in ok.headers
    assert "Retry-After" not in ok.headers
    clock.now = START + 2.5
    refused = http.get(LIST)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "8"
    assert "X-Ratelimit-Reset" not in refused.headers
    assert refused.json()["code"] == "rate_limited"


@pytest.mark.parametrize(
    ("retry_after_mode", "header"), [(False, "X-Ratelimit-Reset"), (True, "Retry-After")]
)
def test_the_request_log_names_the_header_that_said_when_to_come_back(
    make_emulator: Callable[..., Emulator],
    make_client: Callable[..., httpx.Client],
    clock: FakeClock,
    retry_after_mode: bool,
    header: str,
) -> None:
    emu = make_emulator(clock=clock, rate_limit=RateLimit(1, 10), retry_after_mode=retry_after_mode)
    http = make_client(emu)
    assert http.get(LIST).status_code == 200
    assert http.get(LIST).status_code == 429
    assert [r.retry_header for r in emu.request_log] == [None, header]
    assert emu.count(status=429, retry_header=header) == 1


def test_rate_limited_requests_do_not_count_or_run(
    limited: Callable[..., httpx.Client], clock: FakeClock
) -> None:
    http = limited(rate_limit=RateLimit(1, 10))
    assert http.post(LIST, json={"key": "a", "name": "A"}).status_code == 201
    for _ in range(3):
        assert http.post(LIST, json={"key": "b", "name": "B"}).status_code == 429
    clock.now = START + 10
    assert http.post(LIST, json={"key": "b", "name": "B"}).status_code == 201


def test_no_rate_limit_headers_when_no_limit_is_enforced(http: httpx.Client) -> None:
    assert _rate_headers(http.get(LIST)) == {}


def test_unauthenticated_requests_do_not_use_up_the_limit(
    make_emulator: Callable[..., Emulator],
    make_client: Callable[..., httpx.Client],
    clock: FakeClock,
) -> None:
    emu = make_emulator(clock=clock, global_rate_limit=RateLimit(1, 10))
    for _ in range(3):
        assert make_client(emu, token="api-wrong").get(LIST).status_code == 401
    assert make_client(emu).get(LIST).status_code == 200


def test_reset_is_the_end_of_the_current_window_on_the_real_clock(
    make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    http = make_client(make_emulator(rate_limit=RateLimit(100, 1)))
    before = time.time() * 1000
    response = http.get(LIST)
    after = time.time() * 1000
    reset = int(response.headers["X-Ratelimit-Reset"])
    assert before < reset <= after + 1000
    assert reset % 1000 == 0
