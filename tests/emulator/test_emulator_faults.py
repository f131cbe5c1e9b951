"""Injected faults: seeded 5xx and 429s, latency, and creates whose response is lost."""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from reconciler.emulator import Emulator, Faults, RateLimit
from reconciler.emulator.faults import FaultInjector

FLAGS = "/api/v2/flags/demo"


@pytest.mark.parametrize(
    "faults",
    [
        Faults(fail_rate=0.5),
        Faults(throttle_rate=0.5),
        Faults(drop_rate=0.5),
        Faults(stall_rate=0.5, stall_seconds=0.01),
    ],
    ids=["fail", "throttle", "drop", "stall"],
)
def test_faults_with_a_seed_are_reproducible(
    make_emulator: Callable[..., Emulator],
    make_client: Callable[..., httpx.Client],
    faults: Faults,
) -> None:
    runs = []
    for seed in (7, 7, 8):
        emu = make_emulator(seed=seed, faults=faults)
        http = make_client(emu)
        for i in range(40):
            with contextlib.suppress(httpx.TransportError):  # dropped or stalled
                http.post(FLAGS, json={"key": f"f{i}", "name": "F"})
        runs.append([(r.status, r.fault) for r in emu.request_log])
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    hit = sum(fault is not None for _, fault in runs[0])
    assert 5 < hit < 35


def test_latency_is_the_fixed_part_plus_a_uniform_share_of_the_jitter() -> None:
    injector = FaultInjector(Faults(latency_ms=100, latency_jitter_ms=50), seed=1)
    delays = [injector.plan().latency_seconds for _ in range(500)]
    assert all(0.1 <= d <= 0.15 for d in delays)
    assert min(delays) < 0.105
    assert max(delays) > 0.145
    assert 0.12 < sum(delays) / len(delays) < 0.13


def test_failed_requests_do_nothing(emu: Emulator, http: httpx.Client) -> None:
    emu.set_faults(fail_rate=1.0)
    response = http.post(FLAGS, json={"key": "f", "name": "F"})
    assert response.status_code in (500, 502, 503)
    assert response.json()["message"].startswith("Injected fault")
    assert emu.flags("demo") == []
    assert emu.request_log[-1].fault == "fail"


def test_throttle_rate_sends_429s_with_retry_after_or_reset(
    make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    emu = make_emulator(seed=3, faults=Faults(throttle_rate=1.0))
    http = make_client(emu)
    kinds = set()
    for _ in range(20):
        before_ms = time.time() * 1000
        response = http.get(FLAGS)
        assert response.status_code == 429
        assert response.json()["code"] == "rate_limited"
        has_retry_after = "Retry-After" in response.headers
        has_reset = "X-Ratelimit-Reset" in response.headers
        assert has_retry_after != has_reset
        if has_retry_after:
            assert response.headers["Retry-After"] == "1"
        else:
            assert int(response.headers["X-Ratelimit-Reset"]) > before_ms
        kinds.add(has_retry_after)
        assert emu.request_log[-1].retry_header == (
            "Retry-After" if has_retry_after else "X-Ratelimit-Reset"
        )
    assert kinds == {True, False}
    assert emu.count(fault="throttle") == 20
    assert emu.count(retry_header="Retry-After") + emu.count(retry_header="X-Ratelimit-Reset") == 20


def test_latency_delays_every_request(
    make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    emu = make_emulator(faults=Faults(latency_ms=150, latency_jitter_ms=20))
    http = make_client(emu)
    started = time.perf_counter()
    assert http.get(FLAGS).status_code == 200
    assert time.perf_counter() - started >= 0.15


def test_drop_stores_the_create_then_closes_without_a_response(
    emu: Emulator, http: httpx.Client
) -> None:
    emu.set_faults(drop_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        http.post(FLAGS, json={"key": "dropped", "name": "Dropped"})
    assert [f["key"] for f in emu.flags("demo")] == ["dropped"]
    record = emu.request_log[-1]
    assert (record.method, record.status, record.fault) == ("POST", 201, "drop")
    emu.set_faults(Faults())
    assert http.get(f"{FLAGS}/dropped").status_code == 200
    assert http.post(FLAGS, json={"key": "dropped", "name": "Again"}).status_code == 409


def test_stall_stores_the_create_and_outlasts_the_client_timeout(
    emu: Emulator, http: httpx.Client
) -> None:
    emu.set_faults(stall_rate=1.0, stall_seconds=30)
    with pytest.raises(httpx.ReadTimeout):
        http.post(FLAGS, json={"key": "stalled", "name": "Stalled"}, timeout=0.3)
    assert [f["key"] for f in emu.flags("demo")] == ["stalled"]
    assert emu.request_log[-1].fault == "stall"


def test_stall_ends_by_closing_the_connection(emu: Emulator, http: httpx.Client) -> None:
    emu.set_faults(stall_rate=1.0, stall_seconds=0.2)
    with pytest.raises(httpx.RemoteProtocolError):
        http.post(FLAGS, json={"key": "stalled", "name": "Stalled"}, timeout=10)
    assert len(emu.flags("demo")) == 1


def _stop_returns_promptly(emu: Emulator) -> bool:
    stopper = threading.Thread(target=emu.stop)
    stopper.start()
    stopper.join(timeout=10)
    return not stopper.is_alive()


def test_stop_returns_promptly_while_requests_stall(
    make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    stalling = threading.Event()  # the emulator logs a request just before it stalls
    emu = make_emulator(
        faults=Faults(stall_rate=1.0, stall_seconds=600), log=lambda line: stalling.set()
    )
    http = make_client(emu)
    errors: list[BaseException] = []

    def stalled_request() -> None:
        try:
            http.post(FLAGS, json={"key": "s", "name": "S"}, timeout=60)
        except httpx.HTTPError as e:
            errors.append(e)

    client_thread = threading.Thread(target=stalled_request)
    client_thread.start()
    assert stalling.wait(timeout=10)
    assert _stop_returns_promptly(emu)
    client_thread.join(timeout=10)
    assert not client_thread.is_alive()
    assert errors  # the client saw its connection closed, not a response


def test_stop_returns_promptly_with_idle_keep_alive_clients(
    emu: Emulator, http: httpx.Client
) -> None:
    assert http.get(FLAGS).status_code == 200  # the connection stays open in the pool
    assert _stop_returns_promptly(emu)


def test_faults_can_be_changed_at_runtime(emu: Emulator, http: httpx.Client) -> None:
    assert emu.faults == Faults()
    emu.set_faults(fail_rate=1.0)
    assert emu.config.faults == Faults(fail_rate=1.0)
    assert http.get(FLAGS).status_code >= 500
    assert emu.set_faults(Faults()) == Faults()
    assert http.get(FLAGS).status_code == 200


def test_inconsistent_fault_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="fail_rate"):
        Faults(fail_rate=1.5)
    with pytest.raises(ValueError, match="drop_rate \\+ stall_rate"):
        Faults(drop_rate=0.6, stall_rate=0.6)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Faults(fail_rate=math.nan), "fail_rate"),
        (lambda: Faults(stall_seconds=1e300), "stall_seconds"),
        (lambda: Faults(latency_ms=1e300), "latency_ms"),
        (lambda: Faults(latency_ms=86_400_000, latency_jitter_ms=1), "latency_ms"),
        (lambda: RateLimit(5, 1e-300), "window"),
        (lambda: RateLimit(5, math.nan), "window"),
        (lambda: RateLimit(5, 86_401), "window"),
    ],
)
def test_settings_no_timer_can_wait_for_are_refused(
    make: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make()
