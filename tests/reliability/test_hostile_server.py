"""A server that answers badly: ``plan`` says so in one clear line, in bounded time.

Each test runs the real CLI (``python -m reconciler plan``) against a loopback fake server
that serves one kind of bad answer: malformed JSON, JSON too deeply nested to parse, a
wrong content type, an endless body, missing required fields, pagination that loops,
ignores the offset or leads to another host, a body that trickles, a request that is
never answered. Every one ends with exit 1 and one ``Error:`` line naming the request and
the problem (no traceback), or, where a retry can help, with the plan.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.launchdarkly import flag_json

from .fake_server import HANG, FakeServer, Reply, Seen, json_reply
from .support import Run, live_env, run, write_repository

PROJECT = "hostile"
LIST = f"/api/v2/flags/{PROJECT}"
FIRST_PAGE = f"{LIST}?limit=100&offset=0"
DECLARED = [{"key": f"want-{i}", "name": f"Want {i}"} for i in range(5)]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    write_repository(tmp_path / "flags", PROJECT, DECLARED)
    return tmp_path


def plan(workdir: Path, server: FakeServer, *options: str, timeout: float = 60) -> Run:
    return run("plan", "flags", *options, cwd=workdir, env=live_env(server.base_url),
               timeout=timeout)  # fmt: skip


def assert_one_clear_line(result: Run, *fragments: str) -> None:
    assert result.code == 1, result
    assert result.stdout == "", result
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result
    assert lines[0].startswith("Error: GET "), result
    for fragment in fragments:
        assert fragment in lines[0], result


def page(keys: Iterator[str] | list[str], *, next_href: str | None = None,
         total: int | None = None) -> Reply:  # fmt: skip
    data: dict[str, object] = {
        "items": [flag_json(PROJECT, key) for key in keys],
        "_links": {"self": {"href": LIST, "type": "application/json"}},
    }
    if next_href is not None:
        data["_links"]["next"] = {"href": next_href, "type": "application/json"}  # type: ignore[index]
    if total is not None:
        data["totalCount"] = total
    return json_reply(data)


FULL_PAGE = [f"other-{i:03d}" for i in range(100)]


def test_malformed_json_is_one_clear_error(workdir: Path) -> None:
    with FakeServer(lambda seen: Reply(200, b'{"items": [{"key": "a",')) as server:
        result = plan(workdir, server)
    assert_one_clear_line(result, FIRST_PAGE, "the answer is not valid JSON")
    assert len(server.seen) == 1  # not retried: the same server would say the same


def test_json_nested_too_deeply_to_parse_is_one_clear_error(workdir: Path) -> None:
    deep = b'{"items": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    with FakeServer(lambda seen: Reply(200, deep)) as server:
        result = plan(workdir, server)
    assert_one_clear_line(result, FIRST_PAGE, "the answer is not valid JSON")


def test_an_error_body_nested_too_deeply_is_one_clear_error(workdir: Path) -> None:
    deep = b'{"message": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    with FakeServer(lambda seen: Reply(400, deep)) as server:
        result = plan(workdir, server)
    assert_one_clear_line(result, FIRST_PAGE, "400")


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", None])
def test_an_answer_that_is_not_json_is_one_clear_error(
    workdir: Path, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    body = b"<html><body>Sign in to continue</body></html>"
    with FakeServer(lambda seen: Reply(200, body, headers)) as server:
        result = plan(workdir, server)
    assert_one_clear_line(result, FIRST_PAGE, "the answer is not JSON (content type")


def test_an_endless_answer_is_cut_off_with_bounded_memory(workdir: Path) -> None:
    chunk = b" " * (1024 * 1024)
    endless = itertools.chain([b'{"items": ['], itertools.repeat(chunk))
    with FakeServer(lambda seen: Reply(200, endless)) as server:
        result = run("plan", "flags", cwd=workdir, env=live_env(server.base_url),
                     timeout=120, measure_memory=True)  # fmt: skip
    assert_one_clear_line(result, FIRST_PAGE, "the answer is larger than 67108864 bytes")
    assert result.peak_rss_mb < 300, result.peak_rss_mb


def test_an_answer_that_announces_a_huge_length_is_refused_before_reading(workdir: Path) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": str(10**12)}
    with FakeServer(lambda seen: Reply(200, iter([b"{}"]), headers)) as server:
        result = plan(workdir, server)
    assert_one_clear_line(result, FIRST_PAGE, "the answer is larger than")
    assert result.seconds < 10


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"_links": {}}, "the answer lacks the required field 'items'"),
        ({"items": [{"name": "no key", "variations": []}]}, "items[0] lacks the required field"),
        ({"items": [{"key": "k", "name": "no variations"}]}, "lacks the required field 'vari"),
        ({"items": [{"key": "k", "variations": [], "creationDate": "yesterday"}]},
         "items[0].creationDate is str, expected int"),
        ({"items": "none"}, "the answer.items is str, expected list"),
        ([1, 2, 3], "the answer is a JSON list, not an object"),
    ],
)  # fmt: skip
def test_an_answer_without_the_fields_relied_on_is_one_clear_error(
    workdir: Path, data: object, problem: str
) -> None:
    with FakeServer(lambda seen: json_reply(data)) as server:
        result = plan(workdir, server)
    assert_one_clear_line(result, FIRST_PAGE, problem)


def _pages(next_of: dict[int, str]) -> FakeServer:
    """A flag list whose page at offset N links to ``next_of[N]`` (full pages throughout)."""

    def answer(seen: Seen) -> Reply:
        offset = int(seen.path.rpartition("offset=")[2].split("&")[0])
        if "archived" in seen.path:
            return page([])
        keys = [f"other-{offset + i:05d}" for i in range(100)]
        return page(keys, next_href=next_of.get(offset), total=300)

    return FakeServer(answer)


def test_a_next_link_that_loops_is_one_clear_error(workdir: Path) -> None:
    loop = {100: f"{LIST}?limit=100&offset=200", 200: f"{LIST}?limit=100&offset=100"}
    with _pages(loop) as server:
        result = plan(workdir, server)
    assert_one_clear_line(result, "the pagination loops")
    assert len(server.seen) <= 5


def test_a_next_link_to_another_host_is_never_followed(workdir: Path) -> None:
    with FakeServer(lambda seen: page([])) as elsewhere:
        away = {100: f"{elsewhere.base_url}{LIST}?limit=100&offset=200"}
        with _pages(away) as server:
            result = plan(workdir, server)
    assert_one_clear_line(result, "points to another host; not following it")
    assert elsewhere.seen == []


def test_a_next_link_out_of_the_flag_list_is_never_followed(workdir: Path) -> None:
    with _pages({100: "/api/v2/members?limit=100"}) as server:
        result = plan(workdir, server)
    assert_one_clear_line(result, "leaves the flag list; not following it")


def test_a_server_that_ignores_the_offset_is_caught_at_the_first_repeated_page(
    workdir: Path,
) -> None:
    # Every page is the first page again, each with a new next link: without a check this
    # would be followed for 10,000 pages.
    def answer(seen: Seen) -> Reply:
        if "archived" in seen.path:
            return page([])
        offset = int(seen.path.rpartition("offset=")[2].split("&")[0])
        return page(FULL_PAGE, next_href=f"{LIST}?limit=100&offset={offset + 100}", total=300)

    with FakeServer(answer) as server:
        result = plan(workdir, server)
    assert_one_clear_line(result, "only flags already listed", "offset")
    assert len(server.seen) <= 3


def test_a_body_that_trickles_is_cut_at_the_timeout_and_the_read_retried(workdir: Path) -> None:
    answered = []

    def answer(seen: Seen) -> Reply:
        if not answered:  # the first answer trickles a byte every 0.1 s, for ever
            answered.append(seen)
            trickle = (b" " for _ in itertools.count() if not time.sleep(0.1))
            return Reply(200, itertools.chain([b'{"items": ['], trickle))
        return page([])

    with FakeServer(answer) as server:
        started = time.monotonic()
        result = plan(workdir, server, "--timeout", "1")
    assert result.code == 0, result
    assert "Planned live" in result.stdout
    assert time.monotonic() - started < 20
    assert len(server.seen) >= 2


def test_a_request_never_answered_times_out_and_is_retried(workdir: Path) -> None:
    def answer(seen: Seen) -> object:
        return HANG if len(server.seen) == 1 else page([])

    with FakeServer(answer) as server:
        result = plan(workdir, server, "--timeout", "1")
    assert result.code == 0, result
    assert "Planned live" in result.stdout
    assert result.seconds < 20
