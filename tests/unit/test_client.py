"""The LaunchDarkly client against ``httpx.MockTransport``: headers, pagination, retries,
rate limits, strict answers, and a token that never leaks."""

from __future__ import annotations

import json
import logging
import math
import random
import threading
from collections.abc import Callable, Iterator
from email.utils import formatdate
from typing import Any

import certifi
import httpx
import pytest

from reconciler.errors import ApiError, ConfigError, OutcomeUnknownError, TransportError
from reconciler.remote.client import LaunchDarklyClient
from reconciler.remote.ratelimit import WAKE_JITTER
from support.clock import T0, FakeTime, FixedRandom
from support.launchdarkly import flag_json

TOKEN = "api-0123456789abcdef-secret"
BASE = "https://ld.example"
Handler = Callable[[httpx.Request], httpx.Response]



class Recorder:
    """A MockTransport handler that answers from a script and records each request."""

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)


def make(handler: Handler, ft: FakeTime | None = None, **kw: Any) -> LaunchDarklyClient:
    ft = ft or FakeTime()
    kw.setdefault("rng", random.Random(0))
    return LaunchDarklyClient(
        BASE, TOKEN, transport=httpx.MockTransport(handler), sleep=ft.sleep, clock=ft.clock, **kw
    )


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def err(status: int, code: str | None, message: str, **headers: str) -> httpx.Response:
    body = {"message": message} if code is None else {"code": code, "message": message}
    return httpx.Response(status, json=body, headers=headers)


def flag(key: str, **extra: Any) -> dict[str, Any]:
    return flag_json("web", key, **extra)


def link(key: str = "pay-1") -> dict[str, Any]:
    return {
        "_links": {},
        "_key": key,
        "_id": "id-" + key,
        "_deepLink": "https://jira.example.com/browse/PAY-1",
        "_timestamp": {"milliseconds": 1, "seconds": 0, "rfc3339": "", "simple": ""},
        "_createdAt": 1,
    }


def page(keys: list[str], next_href: str | None = None, total: int | None = None) -> httpx.Response:
    links: dict[str, Any] = {"self": {"href": "/api/v2/flags/web", "type": "application/json"}}
    if next_href is not None:
        links["next"] = {"href": next_href, "type": "application/json"}
    return ok({"items": [flag(k) for k in keys], "_links": links, "totalCount": total})


def keys(n: int, start: int = 0) -> list[str]:
    return [f"f{i}" for i in range(start, start + n)]


# -- headers and paths -------------------------------------------------------------------------


def test_ordinary_calls_send_the_raw_token_json_headers_and_the_dated_api_version() -> None:
    rec = Recorder(ok(flag("new"), 201))
    with make(rec) as client:
        client.create_flag("web", {"key": "new", "name": "New"})
    (request,) = rec.requests
    assert request.method == "POST"
    assert request.url == "https://ld.example/api/v2/flags/web"
    assert request.headers["Authorization"] == TOKEN
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("ld-reconciler/")
    assert request.headers["LD-API-Version"] == "20240415"
    assert json.loads(request.content) == {"key": "new", "name": "New"}


def test_a_get_sends_no_content_type() -> None:
    rec = Recorder(ok(flag("a")))
    make(rec).get_flag("web", "a")
    assert "Content-Type" not in rec.requests[0].headers
    assert rec.requests[0].headers["LD-API-Version"] == "20240415"


def test_flag_link_calls_send_the_beta_api_version() -> None:
    rec = Recorder(ok({"items": [link()], "_links": {}}), ok(link("pay-2"), 201))
    client = make(rec)
    assert client.list_links("web", "a") == [link()]
    assert client.create_link("web", "a", {"key": "pay-2", "deepLink": "https://x"}) == link(
        "pay-2"
    )
    assert [r.url.path for r in rec.requests] == ["/api/v2/flag-links/projects/web/flags/a"] * 2
    assert [r.headers["LD-API-Version"] for r in rec.requests] == ["beta", "beta"]
    assert rec.requests[1].headers["Content-Type"] == "application/json"


def test_keys_are_url_encoded_in_paths() -> None:
    rec = Recorder(err(404, "not_found", "Unknown resource"))
    make(rec).get_flag("web", "a/b c?")
    assert rec.requests[0].url.raw_path == b"/api/v2/flags/web/a%2Fb%20c%3F"


def test_base_url_is_normalised() -> None:
    rec = Recorder(ok(flag("a")))
    client = LaunchDarklyClient("HTTPS://LD.Example/", TOKEN, transport=httpx.MockTransport(rec))
    assert client.base_url == "https://ld.example"
    client.get_flag("web", "a")
    assert str(rec.requests[0].url) == "https://ld.example/api/v2/flags/web/a"


def test_a_base_url_keeps_a_gateways_prefix() -> None:
    rec = Recorder(ok(flag("a")))
    client = LaunchDarklyClient(
        "HTTPS://LD.Example/prefix/", TOKEN, transport=httpx.MockTransport(rec)
    )
    assert client.base_url == "https://ld.example/prefix"
    client.get_flag("web", "a")
    assert str(rec.requests[0].url) == "https://ld.example/prefix/api/v2/flags/web/a"


@pytest.mark.parametrize(
    "url", ["https://ld.example/api/v2", "https://ld.example/API/V2/", "https://ld.example/p/api/v2/"]
)
def test_a_base_url_ending_in_the_apis_path_is_refused_rather_than_doubling_it(url: str) -> None:
    with pytest.raises(ConfigError, match="must not end in the API's own path"):
        LaunchDarklyClient(url, TOKEN, transport=httpx.MockTransport(Recorder(ok({}))))


# -- base URL, TLS and token safety -------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://app.launchdarkly.com", "http://10.0.0.1:8080", "ftp://ld.example", "ld.example"]
)
def test_an_unsafe_base_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="https://"):
        LaunchDarklyClient(url, TOKEN, transport=httpx.MockTransport(Recorder(ok({}))))


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://127.1.2.3", "http://localhost:9000", "http://[::1]:80"]
)
def test_plain_http_is_allowed_to_loopback(url: str) -> None:
    client = LaunchDarklyClient(url, TOKEN, transport=httpx.MockTransport(Recorder(ok({}))))
    assert client.base_url == url.lower()


@pytest.mark.parametrize("url", ["https://user:hunter2@ld.example", "ftp://u:hunter2@ld.example"])
def test_credentials_in_the_base_url_are_refused_without_echoing_them(url: str) -> None:
    with pytest.raises(ConfigError, match="credentials") as info:
        LaunchDarklyClient(url, TOKEN)
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("bad", ["", "api-abc\n", "api abc", "api-\x00x"])
def test_a_malformed_token_is_a_config_error_that_does_not_show_it(bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        LaunchDarklyClient(BASE, bad, transport=httpx.MockTransport(Recorder(ok({}))))
    assert not bad or bad not in str(info.value)


def test_a_custom_ca_bundle_is_used_and_a_missing_one_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LD_RECONCILER_CA_BUNDLE", certifi.where())
    LaunchDarklyClient(BASE, TOKEN).close()
    monkeypatch.setenv("LD_RECONCILER_CA_BUNDLE", "/nonexistent/ca.pem")
    with pytest.raises(ConfigError, match="LD_RECONCILER_CA_BUNDLE"):
        LaunchDarklyClient(BASE, TOKEN)
    monkeypatch.delenv("LD_RECONCILER_CA_BUNDLE")
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/ca.pem")
    with pytest.raises(ConfigError, match="SSL_CERT_FILE"):
        LaunchDarklyClient(BASE, TOKEN)
    # An injected transport does its own TLS: the variables are not consulted.
    LaunchDarklyClient(BASE, TOKEN, transport=httpx.MockTransport(Recorder(ok({})))).close()


def test_repr_does_not_show_the_token() -> None:
    client = make(Recorder(ok({})))
    assert TOKEN not in repr(client)
    assert "ld.example" in repr(client)


def test_the_token_is_scrubbed_from_errors_even_when_the_server_echoes_it() -> None:
    echo = f"bad token {TOKEN} (Authorization: {TOKEN})"
    client = make(Recorder(err(401, "unauthorized", echo)))
    with pytest.raises(ApiError) as info:
        client.get_flag("web", "a")
    assert TOKEN not in str(info.value)
    assert TOKEN not in info.value.api_message
    assert "[REDACTED]" in str(info.value)


def test_the_token_is_scrubbed_from_transport_and_outcome_errors() -> None:
    client = make(Recorder(httpx.ReadError(f"reset by peer {TOKEN}")), max_retries=1)
    with pytest.raises(TransportError) as info:
        client.get_flag("web", "a")
    assert TOKEN not in str(info.value)
    client = make(Recorder(err(502, "bad_gateway", f"upstream saw {TOKEN}")))
    with pytest.raises(OutcomeUnknownError) as unknown:
        client.create_flag("web", {"key": "a", "name": "A"})
    assert TOKEN not in str(unknown.value)


def test_debug_log_names_each_request_and_retry_but_never_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rec = Recorder(err(503, "unavailable", f"echo {TOKEN}"), ok(flag("a")))
    with caplog.at_level(logging.DEBUG, logger="reconciler"):
        make(rec).get_flag("web", "a")
    assert "GET /api/v2/flags/web/a -> 503" in caplog.text
    assert "retrying" in caplog.text
    assert TOKEN not in caplog.text


# -- pagination ----------------------------------------------------------------------------------


def test_list_flags_follows_next_links_with_their_query_until_a_short_page() -> None:
    rec = Recorder(
        page(keys(100), "/api/v2/flags/web?limit=100&offset=100", total=250),
        page(keys(100, 100), "/api/v2/flags/web?limit=100&offset=200", total=250),
        page(keys(50, 200), "/api/v2/flags/web?limit=100&offset=300", total=250),
    )
    flags = list(make(rec).list_flags("web"))
    assert [f["key"] for f in flags] == keys(250)
    assert [r.url.params.get("offset") for r in rec.requests] == ["0", "100", "200"]
    assert all(r.url.params.get("limit") == "100" for r in rec.requests)


@pytest.mark.parametrize("prefixed", [False, True], ids=["LaunchDarkly's href", "rewritten"])
def test_list_flags_behind_a_gateways_prefix_follows_next_links_under_it(prefixed: bool) -> None:
    at = "/ld" if prefixed else ""  # whether the gateway rewrote the href it passed on
    rec = Recorder(
        page(keys(100), f"{at}/api/v2/flags/web?limit=100&offset=100"),
        page(keys(10, 100)),
    )
    client = LaunchDarklyClient(
        "https://gw.example/ld", TOKEN, transport=httpx.MockTransport(rec), rng=random.Random(0)
    )
    assert [f["key"] for f in client.list_flags("web")] == keys(110)
    assert [r.url.path for r in rec.requests] == ["/ld/api/v2/flags/web"] * 2
    assert rec.requests[1].url.params.get("offset") == "100"


def test_list_flags_can_start_after_a_page_already_read() -> None:
    rec = Recorder(
        page(keys(100, 100), "/api/v2/flags/web?limit=100&offset=200"), page(keys(1, 200))
    )
    assert len(list(make(rec).list_flags("web", offset=100))) == 101
    assert [r.url.params.get("offset") for r in rec.requests] == ["100", "200"]


def test_list_flags_stops_when_a_full_page_has_no_next_link() -> None:
    rec = Recorder(page(keys(100)), page(keys(5, 100)))
    assert len(list(make(rec).list_flags("web"))) == 100
    assert len(rec.requests) == 1


def test_list_flags_page_reports_items_total_and_next() -> None:
    rec = Recorder(page(keys(2), "/api/v2/flags/web?limit=2&offset=2", total=7))
    got = make(rec).list_flags_page("web", offset=0, limit=2)
    assert [f["key"] for f in got.items] == ["f0", "f1"]
    assert (got.total_count, got.next_href) == (7, "/api/v2/flags/web?limit=2&offset=2")


def test_archived_flags_are_listed_with_the_state_filter() -> None:
    rec = Recorder(page([]))
    assert list(make(rec).list_flags("web", archived=True)) == []
    assert rec.requests[0].url.params["filter"] == "state:archived"


def test_live_listing_sends_no_filter() -> None:
    rec = Recorder(page([]))
    list(make(rec).list_flags("web"))
    assert "filter" not in rec.requests[0].url.params


def test_a_next_link_seen_before_is_a_loop() -> None:
    nxt = "/api/v2/flags/web?limit=100&offset=100"
    rec = Recorder(page(keys(100), nxt), page(keys(100, 100), nxt))
    with pytest.raises(TransportError, match="already followed"):
        list(make(rec).list_flags("web"))
    assert len(rec.requests) == 2


@pytest.mark.parametrize(
    "href",
    [
        "https://evil.example/api/v2/flags/web?offset=100",
        "//evil.example/api/v2/flags/web?offset=100",
        "http://ld.example/api/v2/flags/web?offset=100",
        "https://ld.example:8443/api/v2/flags/web?offset=100",
    ],
)
def test_a_next_link_to_another_host_is_refused(href: str) -> None:
    rec = Recorder(page(keys(100), href))
    with pytest.raises(TransportError, match="another host"):
        list(make(rec).list_flags("web"))
    assert len(rec.requests) == 1


def test_a_next_link_out_of_the_flag_list_is_refused() -> None:
    rec = Recorder(page(keys(100), "/api/v2/flags/other?offset=100"))
    with pytest.raises(TransportError, match="leaves the flag list"):
        list(make(rec).list_flags("web"))


def test_pagination_gives_up_after_max_pages() -> None:
    rec = Recorder(
        lambda r: page(
            keys(2, len(rec.requests) * 2),
            f"/api/v2/flags/web?limit=2&offset={len(rec.requests) * 2}",
        )
    )
    with pytest.raises(TransportError, match="more than 3 pages"):
        list(make(rec, max_pages=3).list_flags("web", limit=2))
    assert len(rec.requests) == 3


def test_a_page_limit_above_what_the_api_accepts_is_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        make(Recorder(page([]))).list_flags_page("web", limit=101)


# -- answers -------------------------------------------------------------------------------------


def test_get_flag_returns_none_for_a_404() -> None:
    assert make(Recorder(err(404, "not_found", "Unknown resource"))).get_flag("web", "x") is None


def test_get_flag_returns_an_archived_flag() -> None:
    got = make(Recorder(ok(flag("old", archived=True)))).get_flag("web", "old")
    assert got is not None
    assert got["archived"] is True


def test_a_404_that_is_not_a_launchdarkly_error_is_a_transport_error() -> None:
    html = httpx.Response(404, text="<html>nginx</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(TransportError, match="not JSON"):
        make(Recorder(html)).get_flag("web", "x")


def test_a_409_is_a_conflict_and_is_never_retried() -> None:
    rec = Recorder(err(409, "conflict", "Flag key already exists"))
    with pytest.raises(ApiError) as info:
        make(rec).create_flag("web", {"key": "a", "name": "A"})
    assert (info.value.status, info.value.code) == (409, "conflict")
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    ("status", "code", "message", "expected_code"),
    [
        (400, "invalid_request", "variations: values must be unique", "invalid_request"),
        (401, "unauthorized", "Invalid access token", "unauthorized"),
        (403, None, "This API is in beta. To use it, ...", "forbidden"),
        (404, "not_found", "Unknown project", "not_found"),
    ],
)
def test_client_errors_are_final_and_carry_the_api_message(
    status: int, code: str | None, message: str, expected_code: str
) -> None:
    rec = Recorder(err(status, code, message))
    with pytest.raises(ApiError) as info:
        make(rec).create_link("web", "a", {"key": "k"})
    assert (info.value.status, info.value.code, info.value.api_message) == (
        status,
        expected_code,
        message,
    )
    assert info.value.method == "POST"
    assert info.value.path == "/api/v2/flag-links/projects/web/flags/a"
    assert len(rec.requests) == 1


def test_a_redirect_is_an_error_and_is_not_followed() -> None:
    rec = Recorder(httpx.Response(302, headers={"Location": "https://evil.example/steal"}))
    with pytest.raises(ApiError) as info:
        make(rec).get_flag("web", "a")
    assert (info.value.status, info.value.code) == (302, "redirect")
    assert "base URL" in str(info.value)
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (
            httpx.Response(200, text="<html>hi</html>", headers={"Content-Type": "text/html"}),
            "not JSON",
        ),
        (httpx.Response(200, content=b"{}", headers={}), "content type 'missing'"),
        (
            httpx.Response(200, text="{nope", headers={"Content-Type": "application/json"}),
            "not valid JSON",
        ),
        (ok([flag("a")]), "not an object"),
        (ok({"_links": {}}), "lacks the required field 'items'"),
        (
            ok({"items": [{"name": "no key", "variations": []}]}),
            r"items\[0\] lacks the required field 'key'",
        ),
        (ok({"items": [{"key": "a"}]}), r"items\[0\] lacks the required field 'variations'"),
        (
            ok({"items": [flag("a", creationDate="2024-01-01")]}),
            "creationDate is str, expected int",
        ),
        (
            ok({"items": [flag("a", variations=[{"name": "x"}])]}),
            r"variations\[0\] is not a variation",
        ),
        (ok({"items": [flag("a", _version=True)]}), "_version is bool, expected int"),
    ],
)
def test_an_answer_that_breaks_the_contract_is_a_located_transport_error(
    answer: httpx.Response, problem: str
) -> None:
    with pytest.raises(TransportError, match=problem) as info:
        list(make(Recorder(answer)).list_flags("web"))
    assert not isinstance(info.value, OutcomeUnknownError)
    assert str(info.value).startswith("GET /api/v2/flags/web?limit=100&offset=0: 200: ")


def test_a_get_flag_answer_for_another_key_is_refused() -> None:
    with pytest.raises(TransportError, match="expected 'a'"):
        make(Recorder(ok(flag("b")))).get_flag("web", "a")


def test_a_link_list_without_items_or_a_link_without_id_is_refused() -> None:
    with pytest.raises(TransportError, match="'items'"):
        make(Recorder(ok({"_links": {}}))).list_links("web", "a")
    bad = {k: v for k, v in link().items() if k != "_id"}
    with pytest.raises(TransportError, match=r"items\[0\] lacks the required field '_id'"):
        make(Recorder(ok({"items": [bad], "_links": {}}))).list_links("web", "a")


def test_a_created_flag_with_a_broken_answer_is_an_unknown_outcome() -> None:
    rec = Recorder(httpx.Response(201, text="created!", headers={"Content-Type": "text/plain"}))
    with pytest.raises(OutcomeUnknownError, match="not JSON"):
        make(rec).create_flag("web", {"key": "a", "name": "A"})


def test_an_oversized_answer_is_refused_from_its_declared_length() -> None:
    body = json.dumps({"items": [flag("a")] * 50}).encode()
    answer = httpx.Response(200, content=body, headers={"Content-Type": "application/json"})
    with pytest.raises(TransportError, match="larger than 1000 bytes"):
        list(make(Recorder(answer), max_response_bytes=1000).list_flags("web"))


def test_an_oversized_streamed_answer_stops_being_read() -> None:
    produced: list[int] = []

    def chunks() -> Iterator[bytes]:
        for i in range(1000):
            produced.append(i)
            yield b" " * 1024

    answer = httpx.Response(200, content=chunks(), headers={"Content-Type": "application/json"})
    with pytest.raises(TransportError, match="larger than 10240 bytes; stopped reading"):
        make(Recorder(answer), max_response_bytes=10 * 1024).get_flag("web", "a")
    assert len(produced) < 20


# -- retries ----------------------------------------------------------------------------------


def test_a_5xx_on_a_get_is_retried_with_backoff_then_succeeds() -> None:
    ft = FakeTime()
    rec = Recorder(err(503, "unavailable", "down"), err(500, "internal", "oops"), ok(flag("a")))
    client = make(rec, ft, rng=FixedRandom(1.0))
    assert client.get_flag("web", "a") == flag("a")
    assert len(rec.requests) == 3
    assert ft.sleeps == [0.5, 1.0]
    assert (client.stats.requests, client.stats.retries, client.stats.server_errors) == (3, 2, 2)


def test_a_5xx_on_a_get_gives_up_after_max_retries() -> None:
    rec = Recorder(err(503, "unavailable", "down"))
    with pytest.raises(ApiError) as info:
        make(rec, max_retries=3).get_flag("web", "a")
    assert info.value.status == 503
    assert info.value.api_message == "down"
    assert len(rec.requests) == 4


def test_backoff_is_capped_at_max_backoff() -> None:
    ft = FakeTime()
    rec = Recorder(err(503, "unavailable", "down"))
    with pytest.raises(ApiError):
        make(rec, ft, max_retries=6, max_backoff=3.0, rng=FixedRandom(1.0)).get_flag("web", "a")
    assert ft.sleeps == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


def test_a_5xx_on_a_post_is_an_unknown_outcome_after_exactly_one_request() -> None:
    rec = Recorder(err(502, "bad_gateway", "upstream timed out"))
    with pytest.raises(OutcomeUnknownError, match="502") as info:
        make(rec).create_flag("web", {"key": "a", "name": "A"})
    assert "look before" in str(info.value)
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("timed out"),
        httpx.WriteTimeout("timed out"),
        httpx.ReadError("connection reset by peer"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
)
def test_a_post_whose_answer_was_lost_is_an_unknown_outcome_and_not_resent(
    error: Exception,
) -> None:
    rec = Recorder(error, ok(link(), 201))
    with pytest.raises(OutcomeUnknownError, match=type(error).__name__):
        make(rec).create_link("web", "a", {"key": "pay-1"})
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.PoolTimeout("busy")],
)
def test_a_post_that_never_reached_the_server_is_retried(error: Exception) -> None:
    rec = Recorder(error, error, ok(flag("a"), 201))
    client = make(rec)
    assert client.create_flag("web", {"key": "a", "name": "A"})["key"] == "a"
    assert len(rec.requests) == 3
    assert client.stats.transport_errors == 2


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("timed out"),
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("eof"),
    ],
)
def test_a_get_is_retried_after_connection_errors_and_timeouts(error: Exception) -> None:
    rec = Recorder(error, ok(flag("a")))
    assert make(rec).get_flag("web", "a") == flag("a")
    assert len(rec.requests) == 2


def test_a_get_that_keeps_failing_is_a_transport_error_not_an_unknown_outcome() -> None:
    rec = Recorder(httpx.ReadTimeout("timed out"))
    with pytest.raises(TransportError, match="gave up after 3 attempts") as info:
        make(rec, max_retries=2).get_flag("web", "a")
    assert not isinstance(info.value, OutcomeUnknownError)



def test_a_server_that_never_answered_is_given_up_on_after_a_few_quick_tries() -> None:
    # A wrong --base-url must fail in a second or two, not after minutes of backoff.
    rec = Recorder(httpx.ConnectError("refused"))
    with pytest.raises(TransportError, match="gave up after 3 attempts"):
        make(rec, max_retries=8).get_flag("web", "a")
    assert len(rec.requests) == 3


def test_connection_errors_after_the_server_has_answered_get_every_retry() -> None:
    refused = httpx.ConnectError("refused")
    rec = Recorder(ok(flag("a")), *([refused] * 5), ok(flag("b")))
    client = make(rec, max_retries=8)
    assert client.get_flag("web", "a") == flag("a")
    assert client.get_flag("web", "b") == flag("b")
    assert len(rec.requests) == 7

# -- rate limits -------------------------------------------------------------------------------


def test_a_429_with_retry_after_waits_that_long_then_resends_the_post() -> None:
    ft = FakeTime()
    rec = Recorder(
        err(429, "rate_limited", "slow down", **{"Retry-After": "7"}), ok(flag("a"), 201)
    )
    client = make(rec, ft)
    assert client.create_flag("web", {"key": "a", "name": "A"})["key"] == "a"
    assert len(rec.requests) == 2
    assert 7.0 <= sum(ft.sleeps) <= 7.0 + WAKE_JITTER
    assert (client.stats.throttled, client.stats.retries) == (1, 1)


def test_a_429_with_an_http_date_retry_after_waits_until_then() -> None:
    ft = FakeTime()
    when = formatdate(T0 + 20, usegmt=True)
    rec = Recorder(err(429, "rate_limited", "slow down", **{"Retry-After": when}), ok(flag("a")))
    make(rec, ft).get_flag("web", "a")
    assert 20.0 <= sum(ft.sleeps) <= 20.0 + WAKE_JITTER


def test_a_429_with_a_reset_waits_until_the_reset() -> None:
    ft = FakeTime()
    headers = {"X-Ratelimit-Route-Remaining": "0", "X-Ratelimit-Reset": str(int((T0 + 4.5) * 1000))}
    rec = Recorder(err(429, "rate_limited", "slow down", **headers), ok(flag("a")))
    make(rec, ft).get_flag("web", "a")
    assert 4.5 <= sum(ft.sleeps) <= 4.5 + WAKE_JITTER
    assert ft.now >= T0 + 4.5


def test_a_429_without_headers_backs_off_exponentially() -> None:
    ft = FakeTime()
    limited = err(429, "rate_limited", "slow down")
    rec = Recorder(limited, limited, limited, limited, ok(flag("a"), 201))
    make(rec, ft, rng=FixedRandom(0.0)).create_flag("web", {"key": "a", "name": "A"})
    assert ft.sleeps == [0.25, 0.5, 1.0, 2.0]
    assert len(rec.requests) == 5


def test_a_429_whose_reset_looks_like_clock_skew_falls_back_to_backoff() -> None:
    ft = FakeTime()
    skewed = {"X-Ratelimit-Reset": str(int((T0 + 86_400) * 1000))}
    rec = Recorder(err(429, "rate_limited", "slow down", **skewed), ok(flag("a")))
    make(rec, ft, rng=FixedRandom(0.0)).get_flag("web", "a")
    assert ft.sleeps == [0.25]


def test_a_429_that_persists_ends_as_rate_limited() -> None:
    rec = Recorder(err(429, "rate_limited", "slow down", **{"Retry-After": "1"}))
    with pytest.raises(ApiError) as info:
        make(rec, max_retries=2).create_flag("web", {"key": "a", "name": "A"})
    assert (info.value.status, info.value.code) == (429, "rate_limited")
    assert len(rec.requests) == 3


def test_remaining_zero_makes_the_next_request_wait_for_the_reset_before_sending() -> None:
    ft = FakeTime()
    sent_at: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent_at.append(ft.now)
        headers = {
            "X-Ratelimit-Route-Remaining": "0",
            "X-Ratelimit-Reset": str(int((T0 + 6) * 1000)),
        }
        return ok(flag(request.url.path.rsplit("/", 1)[1]), headers=headers)

    client = make(handler, ft)
    client.get_flag("web", "a")
    client.get_flag("web", "b")
    assert sent_at[0] == T0
    assert T0 + 6 <= sent_at[1] <= T0 + 6 + WAKE_JITTER
    assert client.stats.throttled == 0


def test_remaining_above_zero_sends_without_waiting() -> None:
    ft = FakeTime()
    headers = {"X-Ratelimit-Route-Remaining": "1", "X-Ratelimit-Reset": str(int((T0 + 6) * 1000))}
    client = make(Recorder(ok(flag("a"), headers=headers)), ft)
    client.get_flag("web", "a")
    client.get_flag("web", "a")
    assert ft.sleeps == []


def test_concurrent_creates_share_the_limit_without_429s_at_nearly_the_ideal_rate() -> None:
    ft = FakeTime()
    limit, total, window = 5, 40, 10.0
    counts: dict[int, int] = {}
    lock = threading.Lock()
    created: list[str] = []
    latency = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        latency.wait(0.001)  # a moment in flight (real time), so requests overlap
        with lock:
            w = math.floor((ft.now - T0) / window)
            reset = str(int((T0 + (w + 1) * window) * 1000))
            used = counts.get(w, 0)
            if used >= limit:
                headers = {"X-Ratelimit-Route-Remaining": "0", "X-Ratelimit-Reset": reset}
                return err(429, "rate_limited", "slow down", **headers)
            counts[w] = used + 1
            key = json.loads(request.content)["key"]
            created.append(key)
            headers = {
                "X-Ratelimit-Route-Remaining": str(limit - used - 1),
                "X-Ratelimit-Reset": reset,
            }
            return ok(flag(key), 201, headers)

    client = make(handler, ft)
    todo = iter(range(total))
    todo_lock = threading.Lock()
    failures: list[BaseException] = []

    def worker() -> None:
        while True:
            with todo_lock:
                n = next(todo, None)
            if n is None:
                return
            try:
                client.create_flag("web", {"key": f"f{n}", "name": "F"})
            except BaseException as e:  # pragma: no cover - reported below
                failures.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert failures == []
    assert sorted(created) == sorted(f"f{n}" for n in range(total))
    assert client.stats.throttled == 0
    assert client.stats.requests == total
    assert client.stats.by_route["POST /api/v2/flags/{projectKey}"] == total
    ideal = (math.ceil(total / limit) - 1) * window
    assert ft.now - T0 <= ideal * 1.05 + 1
