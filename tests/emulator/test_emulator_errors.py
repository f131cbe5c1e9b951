"""Authentication, the beta header, unknown resources, conflicts and oversized bodies."""

from __future__ import annotations

import contextlib
import math
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from reconciler.emulator import DEV_TOKEN, ApiProblem, Emulator, RateLimit, validation
from reconciler.emulator.responses import BETA_MESSAGE
from reconciler.emulator.store import Store

FLAGS = "/api/v2/flags/demo"

GA_CALLS = [
    ("GET", "/api/v2/flags/demo"),
    ("POST", "/api/v2/flags/demo"),
    ("GET", "/api/v2/flags/demo/f"),
    ("GET", "/api/v2/flag-links/projects/demo/flags/f"),
    ("POST", "/api/v2/flag-links/projects/demo/flags/f"),
]


@pytest.mark.parametrize(("method", "path"), GA_CALLS)
@pytest.mark.parametrize(
    "token", [None, "api-wrong", f"Bearer {DEV_TOKEN}"], ids=["none", "wrong", "bearer"]
)
def test_missing_or_wrong_token_is_401(
    emu: Emulator,
    make_client: Callable[..., httpx.Client],
    method: str,
    path: str,
    token: str | None,
) -> None:
    client = make_client(emu, token=token, headers={"LD-API-Version": "beta"})
    response = client.request(method, path, json={"key": "f", "name": "F"})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert ("without 'Bearer '" in response.json()["message"]) == (token or "").startswith("Bearer")
    assert emu.flags("demo") == []


def test_any_configured_token_is_accepted(
    make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    emu = make_emulator(tokens=("api-one", "api-two"))
    assert make_client(emu, token="api-two").get(FLAGS).status_code == 200
    assert make_client(emu, token=DEV_TOKEN).get(FLAGS).status_code == 401


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("version", [None, "20240415", "Beta"])
def test_flag_links_without_beta_header_get_the_exact_403_body(
    emu: Emulator, http: httpx.Client, method: str, version: str | None
) -> None:
    emu.create_flag("demo", {"key": "f", "name": "F"})
    headers = {} if version is None else {"LD-API-Version": version}
    if version is None:
        del http.headers["LD-API-Version"]
    response = http.request(
        method,
        "/api/v2/flag-links/projects/demo/flags/f",
        json={"deepLink": "https://x.test"},
        headers=headers,
    )
    assert response.status_code == 403
    assert response.json() == {"message": BETA_MESSAGE}
    assert emu.links("demo", "f") == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v2/flags/nope"),
        ("POST", "/api/v2/flags/nope"),
        ("GET", "/api/v2/flags/nope/f"),
        ("GET", "/api/v2/flags/demo/missing"),
        ("GET", "/api/v2/flag-links/projects/demo/flags/missing"),
        ("POST", "/api/v2/flag-links/projects/demo/flags/missing"),
        ("GET", "/api/v2/flag-links/projects/nope/flags/f"),
        ("GET", "/api/v2/projects"),
    ],
)
def test_unknown_project_flag_or_path_is_404(
    http: httpx.Client, beta: dict[str, str], method: str, path: str
) -> None:
    response = http.request(
        method, path, json={"key": "f", "name": "F", "deepLink": "https://x"}, headers=beta
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_unsupported_method_is_405_with_allow(http: httpx.Client) -> None:
    response = http.delete("/api/v2/flags/demo/f")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


def test_flag_key_in_use_is_409_even_when_archived(emu: Emulator, http: httpx.Client) -> None:
    emu.create_flag("demo", {"key": "old", "name": "Old"}, archived=True)
    assert http.post(FLAGS, json={"key": "new", "name": "New"}).status_code == 201
    for key in ("old", "new"):
        response = http.post(FLAGS, json={"key": key, "name": "Again"})
        assert response.status_code == 409
        assert response.json()["code"] == "conflict"
    assert "archived" in http.post(FLAGS, json={"key": "old", "name": "X"}).json()["message"]
    assert http.post("/api/v2/flags/other", json={"key": "old", "name": "X"}).status_code == 201


def test_link_key_in_use_on_the_flag_is_409(
    emu: Emulator, http: httpx.Client, beta: dict[str, str]
) -> None:
    for key in ("a", "b"):
        emu.create_flag("demo", {"key": key, "name": key})
    link = {"key": "jira-1", "deepLink": "https://jira.test/1"}
    path = "/api/v2/flag-links/projects/demo/flags/{}"
    assert http.post(path.format("a"), json=link, headers=beta).status_code == 201
    response = http.post(path.format("a"), json=link, headers=beta)
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert http.post(path.format("b"), json=link, headers=beta).status_code == 201
    # Links without a key cannot conflict: the same one twice is created twice.
    keyless = {"deepLink": "https://jira.test/2"}
    assert http.post(path.format("a"), json=keyless, headers=beta).status_code == 201
    assert http.post(path.format("a"), json=keyless, headers=beta).status_code == 201
    assert len(emu.links("demo", "a")) == 3


def test_oversized_body_is_413_and_not_read(
    make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    emu = make_emulator(max_body_bytes=1000)
    client = make_client(emu)
    response = client.post(FLAGS, json={"key": "big", "name": "x" * 2000})
    assert response.status_code == 413
    assert response.headers["Connection"] == "close"
    assert client.post(FLAGS, json={"key": "small", "name": "x"}).status_code == 201
    assert [f["key"] for f in emu.flags("demo")] == ["small"]


def test_default_body_limit_is_one_mebibyte(http: httpx.Client) -> None:
    body = b'{"key": "big", "name": "' + b"x" * (1024 * 1024) + b'"}'
    response = http.post(FLAGS, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_malformed_request_line_gets_a_json_error(emu: Emulator) -> None:
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        reply = sock.makefile("rb").read()
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"Content-Type: application/json" in head
    assert body.startswith(b'{"code":"bad_request"')


def test_echo_token_in_errors_puts_the_token_in_messages(
    make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    emu = make_emulator(echo_token_in_errors=True, tokens=("api-secret-123",))
    wrong = make_client(emu, token="api-wrong-456").get(FLAGS)
    assert "api-wrong-456" in wrong.json()["message"]
    right = make_client(emu, token="api-secret-123").get("/api/v2/flags/demo/missing")
    assert right.status_code == 404
    assert "api-secret-123" in right.json()["message"]


def test_errors_do_not_echo_the_token_by_default(
    emu: Emulator, make_client: Callable[..., httpx.Client]
) -> None:
    response = make_client(emu, token="api-wrong-456").get(FLAGS)
    assert "api-wrong-456" not in response.text


def test_concurrent_creates_of_one_key_yield_exactly_one_201(
    emu: Emulator, make_client: Callable[..., httpx.Client]
) -> None:
    clients = [make_client(emu) for _ in range(20)]
    start = threading.Barrier(len(clients))

    def create(client: httpx.Client) -> int:
        start.wait()
        return client.post(FLAGS, json={"key": "contested", "name": "Contested"}).status_code

    with ThreadPoolExecutor(len(clients)) as pool:
        statuses = sorted(pool.map(create, clients))
    assert statuses == [201] + [409] * 19
    assert len(emu.flags("demo")) == 1


@pytest.mark.parametrize("kind", ["flag", "link"])
def test_creates_of_one_key_racing_inside_the_store_yield_exactly_one(kind: str) -> None:
    # Every racer that passes the key check blocks in the clock (called between that check and
    # the insert) until all have arrived: without the store's lock all would pass and all be
    # created. With it, the first waits alone until the barrier times out, and the rest then
    # find its key taken.
    racers = 12
    racing = threading.Event()
    barrier = threading.Barrier(racers, timeout=0.5)

    def clock() -> float:
        if racing.is_set():
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()
        return time.time()

    store = Store(("demo",), clock=clock)
    store.create_flag("demo", validation.flag_body({"key": "f", "name": "F"}))
    racing.set()
    start = threading.Barrier(racers)

    def create(_: int) -> int:
        start.wait()
        try:
            if kind == "flag":
                store.create_flag("demo", validation.flag_body({"key": "k", "name": "K"}))
            else:
                store.create_link(
                    "demo", "f", validation.link_body({"key": "k", "deepLink": "https://x.test"})
                )
        except ApiProblem as problem:
            return problem.status
        return 201

    with ThreadPoolExecutor(racers) as pool:
        statuses = sorted(pool.map(create, range(racers)))
    assert statuses == [201] + [409] * (racers - 1)


def test_an_unexpected_error_is_a_500_in_the_log_not_a_closed_connection(
    make_emulator: Callable[..., Emulator],
    make_client: Callable[..., httpx.Client],
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = [time.time()]
    emu = make_emulator(clock=lambda: now[0], rate_limit=RateLimit(10))
    http = make_client(emu)
    assert http.get(FLAGS).status_code == 200
    now[0] = math.nan  # the rate limiter cannot place NaN in a window: a bug, as far as it knows
    response = http.get(FLAGS)
    assert response.status_code == 500
    assert response.json()["code"] == "internal_server_error"
    assert response.headers["Connection"] == "close"
    assert [(r.path, r.status) for r in emu.request_log] == [(FLAGS, 200), (FLAGS, 500)]
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "ValueError" in err
    now[0] = time.time()
    assert http.get(FLAGS).status_code == 200  # and the server still serves


def test_concurrent_keep_alive_clients_are_all_served(
    emu: Emulator, make_client: Callable[..., httpx.Client]
) -> None:
    clients = [make_client(emu) for _ in range(8)]

    def work(index: int) -> list[int]:
        client = clients[index]
        statuses = [
            client.post(FLAGS, json={"key": f"k{index}-{i}", "name": "N"}).status_code
            for i in range(25)
        ]
        statuses += [client.get(f"{FLAGS}/k{index}-{i}").status_code for i in range(25)]
        return statuses

    with ThreadPoolExecutor(len(clients)) as pool:
        results = list(pool.map(work, range(len(clients))))
    assert all(status in (200, 201) for statuses in results for status in statuses)
    assert len(emu.flags("demo")) == 200
    assert emu.count(method="POST", status=201) == 200
