"""The sticky plan comment's library (``reconciler.github``) against ``httpx.MockTransport``.

Each handler is a tiny GitHub: it serves a pull request's comments in pages and records every
request, so pagination, the choice of comment and each error can be checked exactly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.errors import ConfigError, GitHubError, ReconcilerError
from reconciler.github.client import GitHubClient, PullRequest, api_url
from reconciler.github.comment import (
    DEFAULT_AUTHOR,
    plan_markdown,
    pull_request_from_env,
    sticky_body,
    token_from_env,
    upsert_sticky_comment,
)
from reconciler.plan.render import MARKER

from .support import saved_and_rendered

API = "https://api.github.test"
TOKEN = "ghs_unitTestToken0123456789"
PR = PullRequest("acme/flags", 7)
COMMENTS = "/repos/acme/flags/issues/7/comments"


class FakeApi:
    """An in-memory pull request behind a MockTransport; ``fail`` overrides answers.

    A comment given as text is the token's own (``login``, as GITHUB_TOKEN's are); one given as
    ``(login, text)`` is someone else's. As on GitHub, the token may edit only its own comments.
    """

    def __init__(
        self,
        comments: Sequence[str | tuple[str, str]] = (),
        per_page: int = 100,
        login: str = DEFAULT_AUTHOR,
    ) -> None:
        self.login = login
        self.comments = [
            self._comment(i + 1, *((login, c) if isinstance(c, str) else c))
            for i, c in enumerate(comments)
        ]
        self.per_page = per_page
        self.requests: list[httpx.Request] = []
        self.fail: Callable[[httpx.Request], httpx.Response | None] = lambda _request: None

    @staticmethod
    def _comment(comment_id: int, login: str, body: str) -> dict[str, Any]:
        user = {"login": login, "type": "Bot" if login.endswith("[bot]") else "User"}
        return {"id": comment_id, "body": body, "user": user, "html_url": f"{API}/c/{comment_id}"}

    def client(self, **kwargs: Any) -> GitHubClient:
        transport = httpx.MockTransport(self.handle)
        return GitHubClient(
            TOKEN, base_url=API, transport=transport, sleep=lambda _s: None, **kwargs
        )

    @property
    def calls(self) -> list[str]:
        return [
            f"{r.method} {r.url.path}?{r.url.query.decode()}".rstrip("?") for r in self.requests
        ]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        failure = self.fail(request)
        if failure is not None:
            return failure
        if request.method == "GET" and request.url.path == COMMENTS:
            per_page = min(int(request.url.params.get("per_page", 30)), self.per_page)
            page = int(request.url.params.get("page", 1))
            chunk = self.comments[(page - 1) * per_page : page * per_page]
            headers = {}
            if page * per_page < len(self.comments):
                headers["Link"] = (
                    f'<{API}{COMMENTS}?per_page={per_page}&page={page + 1}>; rel="next"'
                )
            return httpx.Response(200, json=chunk, headers=headers)
        if request.method == "POST" and request.url.path == COMMENTS:
            body = json.loads(request.content)["body"]
            self.comments.append(self._comment(100 + len(self.comments), self.login, body))
            return httpx.Response(201, json=self.comments[-1])
        if request.method == "PATCH" and request.url.path.startswith(
            "/repos/acme/flags/issues/comments/"
        ):
            comment_id = int(request.url.path.rsplit("/", 1)[1])
            comment = next(c for c in self.comments if c["id"] == comment_id)
            if comment["user"]["login"] != self.login:
                message = "Resource not accessible by integration"
                return httpx.Response(403, json={"message": message})
            comment["body"] = json.loads(request.content)["body"]
            return httpx.Response(200, json=comment)
        return httpx.Response(404, json={"message": "Not Found"})


def body(text: str) -> str:
    return sticky_body(text)


# --- finding, creating and updating the comment ----------------------------------------------


def test_without_a_plan_comment_one_is_created() -> None:
    api = FakeApi(["LGTM", "please rename the flag"])
    with api.client() as client:
        result = upsert_sticky_comment(client, PR, body("Plan: 1 to create."))
    assert result.outcome == "created"
    assert api.calls == [f"GET {COMMENTS}?per_page=100", f"POST {COMMENTS}"]
    assert [c["body"] for c in api.comments][:2] == ["LGTM", "please rename the flag"]


def test_the_comment_starting_with_the_marker_is_updated_in_place() -> None:
    api = FakeApi(["LGTM", body("Plan: 1 to create."), "thanks"])
    with api.client() as client:
        result = upsert_sticky_comment(client, PR, body("Plan: 2 to create."))
    assert (result.outcome, result.comment_id) == ("updated", 2)
    assert api.calls[-1] == "PATCH /repos/acme/flags/issues/comments/2"
    assert [c["body"] for c in api.comments] == ["LGTM", body("Plan: 2 to create."), "thanks"]


def test_a_persons_comment_starting_with_the_marker_is_left_alone_and_a_new_one_made() -> None:
    copied = body("Plan: 1 to create.\n\n(pasted from the last run: why this?)")
    api = FakeApi([("octocat", copied), ("other-app[bot]", body("Plan: 9 to create."))])
    with api.client() as client:
        result = upsert_sticky_comment(client, PR, body("Plan: 2 to create."))
    assert (result.outcome, result.posted_as) == ("created", None)
    assert [r.method for r in api.requests] == ["GET", "POST"]
    assert [(c["user"]["login"], c["body"]) for c in api.comments] == [
        ("octocat", copied),
        ("other-app[bot]", body("Plan: 9 to create.")),
        (DEFAULT_AUTHOR, body("Plan: 2 to create.")),
    ]


def test_our_comment_is_updated_even_after_a_persons_comment_with_the_marker() -> None:
    api = FakeApi([("octocat", body("Plan: 1 to create.")), body("Plan: 1 to create.")])
    with api.client() as client:
        result = upsert_sticky_comment(client, PR, body("Plan: 2 to create."))
    assert (result.outcome, result.comment_id) == ("updated", 2)
    assert api.comments[0]["body"] == body("Plan: 1 to create.")
    assert api.comments[1]["body"] == body("Plan: 2 to create.")


def test_the_author_is_the_login_given_in_any_case() -> None:
    api = FakeApi([body("old plan")], login="Deploy-App[bot]")
    with api.client() as client:
        result = upsert_sticky_comment(client, PR, body("new plan"), author="deploy-app[bot]")
    assert (result.outcome, result.comment_id) == ("updated", 1)


def test_a_new_comment_by_another_author_than_expected_says_which_login_to_name() -> None:
    api = FakeApi([("alice", body("old plan"))], login="alice")  # a personal token
    with api.client() as client:
        result = upsert_sticky_comment(client, PR, body("new plan"))
    assert (result.outcome, result.posted_as) == ("created", "alice")
    assert result.note == (
        "the comment was posted as alice, so the next run will not find it: pass --author "
        "alice (the action's comment-author input)"
    )
    with api.client() as client:
        again = upsert_sticky_comment(client, PR, body("newer plan"), author="alice")
    assert (again.outcome, again.comment_id, again.note) == ("updated", 1, None)


def test_an_unchanged_plan_is_not_written_again() -> None:
    api = FakeApi([body("Plan: 1 to create.")])
    with api.client() as client:
        result = upsert_sticky_comment(client, PR, body("Plan: 1 to create."))
    assert result.outcome == "unchanged"
    assert [r.method for r in api.requests] == ["GET"]


def test_a_body_github_gave_back_with_crlf_and_no_final_newline_counts_as_unchanged() -> None:
    api = FakeApi([body("Plan: 1 to create.\n\ndetails").replace("\n", "\r\n").rstrip()])
    with api.client() as client:
        result = upsert_sticky_comment(client, PR, body("Plan: 1 to create.\n\ndetails"))
    assert result.outcome == "unchanged"


def test_comments_that_merely_contain_the_marker_are_not_taken_for_the_plan() -> None:
    quoted = f"> {MARKER}\n> Plan: 1 to create.\n\nWhy this one?"
    api = FakeApi([quoted, f"see {MARKER}"])
    with api.client() as client:
        result = upsert_sticky_comment(client, PR, body("Plan: 1 to create."))
    assert result.outcome == "created"
    assert [c["body"] for c in api.comments][:2] == [quoted, f"see {MARKER}"]


def test_pages_are_followed_until_the_plan_comment_is_found() -> None:
    others = [f"comment {i}" for i in range(250)]
    api = FakeApi([*others, body("old plan")])
    with api.client() as client:
        result = upsert_sticky_comment(client, PR, body("new plan"))
    assert (result.outcome, result.comment_id) == ("updated", 251)
    assert api.calls == [
        f"GET {COMMENTS}?per_page=100",
        f"GET {COMMENTS}?per_page=100&page=2",
        f"GET {COMMENTS}?per_page=100&page=3",
        "PATCH /repos/acme/flags/issues/comments/251",
    ]


def test_paging_stops_at_the_first_plan_comment() -> None:
    api = FakeApi([body("old plan"), *(f"c{i}" for i in range(300))], per_page=100)
    with api.client() as client:
        upsert_sticky_comment(client, PR, body("new plan"))
    assert [r.method for r in api.requests] == ["GET", "PATCH"]


def test_with_two_plan_comments_the_oldest_is_updated() -> None:
    api = FakeApi([body("first"), "x", body("second")])
    with api.client() as client:
        result = upsert_sticky_comment(client, PR, body("third"))
    assert result.comment_id == 1


def test_a_next_page_on_another_host_is_refused_and_the_token_not_sent_there() -> None:
    api = FakeApi()

    def elsewhere(request: httpx.Request) -> httpx.Response | None:
        if request.method == "GET":
            link = '<https://evil.example/repos/acme/flags/issues/7/comments?page=2>; rel="next"'
            return httpx.Response(200, json=[], headers={"Link": link})
        return None

    api.fail = elsewhere
    with api.client() as client, pytest.raises(GitHubError, match="another host"):
        upsert_sticky_comment(client, PR, body("plan"))
    assert {r.url.host for r in api.requests} == {"api.github.test"}


def test_endless_pages_are_an_error_not_a_hang() -> None:
    api = FakeApi([f"c{i}" for i in range(50)], per_page=1)
    with api.client(max_pages=10) as client, pytest.raises(GitHubError, match="more than 10 pages"):
        upsert_sticky_comment(client, PR, body("plan"))


# --- whose comment: the token's login ---------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "login"),
    [
        pytest.param(
            httpx.Response(200, json={"login": "alice", "type": "User"}), "alice", id="PAT"
        ),
        pytest.param(
            httpx.Response(403, json={"message": "Resource not accessible by integration"}),
            None,
            id="installation token",
        ),
        pytest.param(httpx.Response(200, text="<html>sign in</html>"), None, id="not JSON"),
        pytest.param(httpx.Response(200, json={"login": ""}), None, id="no login"),
    ],
)
def test_the_tokens_login_is_asked_once_and_anything_but_a_user_is_none(
    answer: httpx.Response, login: str | None
) -> None:
    api = FakeApi()
    api.fail = lambda _request: answer
    with api.client() as client:
        assert client.token_login() == login
    assert api.calls == ["GET /user"]


def test_a_server_error_asking_for_the_login_is_retried_then_an_error_not_a_guess() -> None:
    # Guessing the default author would miss a personal token's own comment and post another.
    answers = [httpx.Response(502), httpx.Response(200, json={"login": "alice"})]
    api = FakeApi()
    api.fail = lambda _request: answers.pop(0) if answers else None
    with api.client() as client:
        assert client.token_login() == "alice"
    assert api.calls == ["GET /user"] * 2
    api = FakeApi()
    api.fail = lambda _request: httpx.Response(502)
    with api.client() as client, pytest.raises(GitHubError, match="whose token this is"):
        client.token_login()
    assert api.calls == ["GET /user"] * 3


def test_an_unreachable_user_endpoint_is_an_error_not_a_guess() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    transport = httpx.MockTransport(refuse)
    with (
        GitHubClient(TOKEN, base_url=API, transport=transport, sleep=lambda _s: None) as client,
        pytest.raises(GitHubError, match="connection refused"),
    ):
        client.token_login()


# --- errors: one clear line ---------------------------------------------------------------------


def _status(status: int, methods: tuple[str, ...] = ("GET", "POST", "PATCH"), **kw: Any) -> Any:
    def fail(request: httpx.Request) -> httpx.Response | None:
        if request.method in methods:
            return httpx.Response(status, **kw)
        return None

    return fail


@pytest.mark.parametrize(
    ("status", "methods", "kw", "expected"),
    [
        pytest.param(
            403,
            ("POST",),
            {"json": {"message": "Resource not accessible by integration"}},
            "GitHub answered 403 (Resource not accessible by integration): the token may not "
            "write comments. Pull requests from forks and from Dependabot get a read-only",
            id="read-only token of a fork",
        ),
        pytest.param(
            401,
            ("GET",),
            {"json": {"message": "Bad credentials"}},
            "GitHub answered 401 (Bad credentials): the token is not valid; check GITHUB_TOKEN",
            id="bad token",
        ),
        pytest.param(
            404,
            ("GET",),
            {"json": {"message": "Not Found"}},
            "no such pull request, or the token cannot see the repository",
            id="unknown pull request",
        ),
        pytest.param(
            403,
            ("GET",),
            {
                "json": {"message": "API rate limit exceeded"},
                "headers": {"x-ratelimit-remaining": "0"},
            },
            "rate limit is used up",
            id="rate limit",
        ),
        pytest.param(
            301,
            ("GET",),
            {"headers": {"Location": "https://elsewhere.example/"}},
            "redirects are not followed",
            id="redirect",
        ),
        pytest.param(
            200,
            ("GET",),
            {"text": "<html>sign in</html>"},
            "the answer is not JSON (is GITHUB_API_URL right?)",
            id="not JSON",
        ),
    ],
)
def test_errors_are_one_line_that_says_what_to_do(
    status: int, methods: tuple[str, ...], kw: dict[str, Any], expected: str
) -> None:
    api = FakeApi()
    api.fail = _status(status, methods, **kw)
    with api.client() as client, pytest.raises(GitHubError) as caught:
        upsert_sticky_comment(client, PR, body("plan"))
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message
    assert TOKEN not in message


def test_a_server_echoing_the_token_does_not_get_it_printed() -> None:
    api = FakeApi()
    api.fail = _status(422, ("POST",), json={"message": f"bad header Bearer {TOKEN}"})
    with api.client() as client, pytest.raises(GitHubError) as caught:
        upsert_sticky_comment(client, PR, body("plan"))
    assert TOKEN not in str(caught.value)
    assert "[REDACTED]" in str(caught.value)


def test_reads_are_retried_after_a_server_error_but_a_create_never_is() -> None:
    api = FakeApi()
    answers = iter([httpx.Response(502), httpx.Response(503)])
    api.fail = lambda r: next(answers, None) if r.method == "GET" else httpx.Response(502)
    with api.client() as client, pytest.raises(GitHubError, match="GitHub answered 502"):
        upsert_sticky_comment(client, PR, body("plan"))
    assert [r.method for r in api.requests] == ["GET", "GET", "GET", "POST"]


def test_a_429_is_retried_after_retry_after_unless_the_quota_is_spent() -> None:
    api = FakeApi()
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"})])
    api.fail = lambda _request: next(answers, None)
    slept: list[float] = []
    transport = httpx.MockTransport(api.handle)
    with GitHubClient(TOKEN, base_url=API, transport=transport, sleep=slept.append) as client:
        assert upsert_sticky_comment(client, PR, body("plan")).outcome == "created"
    assert [r.method for r in api.requests] == ["GET", "GET", "POST"]
    assert slept == [7.0]
    api = FakeApi()
    api.fail = _status(429, ("GET",), headers={"x-ratelimit-remaining": "0"})
    with api.client() as client, pytest.raises(GitHubError, match="rate limit is used up"):
        upsert_sticky_comment(client, PR, body("plan"))
    assert len(api.requests) == 1


def test_an_unreachable_github_is_one_line_naming_the_url() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    transport = httpx.MockTransport(refuse)
    with (
        GitHubClient(TOKEN, base_url=API, transport=transport, sleep=lambda _s: None) as client,
        pytest.raises(GitHubError) as caught,
    ):
        upsert_sticky_comment(client, PR, body("plan"))
    assert str(caught.value) == (
        f"cannot list the comments of acme/flags#7: {API}: connection refused"
    )


# --- the body -------------------------------------------------------------------------------------


def test_the_body_starts_with_the_marker_exactly_once() -> None:
    assert sticky_body("Plan: 1 to create.\n").startswith(f"{MARKER}\nPlan: 1 to create.")
    assert sticky_body(f"{MARKER}\nPlan").count(MARKER) == 1


def test_a_plan_too_long_for_a_comment_is_cut_at_a_line_and_its_details_closed() -> None:
    rows = "\n".join(f"| + | flag | `p/flag-{i}` |" for i in range(5000))
    text = sticky_body(
        f"{MARKER}\n### plan\n<details><summary>5000 create</summary>\n\n{rows}\n</details>\n"
    )
    cut = sticky_body(text, limit=10_000)
    assert len(cut) <= 10_000
    assert cut.startswith(MARKER)
    assert cut.count("<details>") == cut.count("</details>") == 1
    assert "too long for a comment" in cut
    body_lines = cut.split("\n</details>")[0].splitlines()
    assert body_lines[-1].startswith("| + | flag | `p/flag-")  # no half row


def test_a_plan_cut_inside_a_create_s_attributes_closes_the_code_block_before_the_note() -> None:
    block = "\n".join(f'key{i:<20} = "value-{i}"' for i in range(40))
    creates = "\n".join(
        f"\n`+ flag p/f{i}` will be created with:\n\n````\n{block}\n````" for i in range(60)
    )
    text = f"{MARKER}\n### plan\n<details><summary>60 create</summary>\n{creates}\n\n</details>\n"
    for limit in (10_000, 10_017, 20_333):
        cut = sticky_body(text, limit=limit)
        assert len(cut) <= limit
        fences = [line for line in cut.splitlines() if line == "````"]
        assert len(fences) % 2 == 0  # every block the cut opened is closed
        before_note = cut.split("\n\n_The plan is too long")[0]
        assert before_note.endswith("````\n\n</details>")
        assert cut.count("<details>") == cut.count("</details>") == 1


# --- the plan, from a saved JSON plan -----------------------------------------------------------


def test_a_saved_plan_renders_as_the_markdown_plan_does(tmp_path: Path) -> None:
    saved, markdown = saved_and_rendered(tmp_path)
    assert "→" in markdown  # a drift's field-level diff survives the round trip
    # A side LaunchDarkly lacks shows unquoted, unlike a declared string "(absent)".
    assert '`variations[1].description`: `(absent)` → `"Bolder"`' in markdown
    assert plan_markdown(saved) == markdown


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "is not a saved plan (invalid JSON"),
        ("[]", "is not a saved plan of format_version 1"),
        ('{"format_version": 99}', "is not a saved plan of format_version 1"),
        ('{"format_version": 1, "actions": [{"action": "explode"}]}', "is not a complete saved"),
        (
            json.dumps(
                {
                    "format_version": 1,
                    "target": "https://app.launchdarkly.com",
                    "mode": "live",
                    "fingerprint": "sha256:0",
                    "inputs": {"desired": "sha256:0", "ledger": "sha256:0"},
                    "summary": {},
                    "actions": [{"action": "explode"}],
                }
            ),
            "make it with",
        ),
    ],
)
def test_a_file_that_is_not_a_saved_plan_is_refused(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ReconcilerError, match=re.escape(message)):
        plan_markdown(path)


# --- settings from the environment ----------------------------------------------------------


def _event(tmp_path: Path, data: dict[str, Any]) -> str:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_the_pull_request_comes_from_the_event(tmp_path: Path) -> None:
    env = {
        "GITHUB_REPOSITORY": "acme/flags",
        "GITHUB_EVENT_PATH": _event(tmp_path, {"pull_request": {"number": 12}}),
    }
    assert pull_request_from_env(env) == PullRequest("acme/flags", 12)
    assert pull_request_from_env(env, number=3, repository="o/r") == PullRequest("o/r", 3)


def test_an_issue_comment_on_a_pull_request_names_it(tmp_path: Path) -> None:
    event = {"issue": {"number": 5, "pull_request": {"url": "..."}}}
    env = {"GITHUB_REPOSITORY": "acme/flags", "GITHUB_EVENT_PATH": _event(tmp_path, event)}
    assert pull_request_from_env(env).number == 5


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GITHUB_EVENT_PATH": "x"}, "GITHUB_REPOSITORY is not set: pass --repo OWNER/NAME"),
        ({"GITHUB_REPOSITORY": "flags"}, "'flags' is not OWNER/NAME"),
        ({"GITHUB_REPOSITORY": "a/b"}, "GITHUB_EVENT_PATH is not set: pass --pr NUMBER"),
        ({"GITHUB_REPOSITORY": "a/b", "GITHUB_EVENT_PATH": "/nonexistent"}, "cannot read"),
    ],
)
def test_missing_settings_say_which_and_how_to_give_them(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        pull_request_from_env(env)


def test_a_push_event_is_not_a_pull_request(tmp_path: Path) -> None:
    env = {"GITHUB_REPOSITORY": "a/b", "GITHUB_EVENT_PATH": _event(tmp_path, {"ref": "main"})}
    with pytest.raises(ConfigError, match="not about a pull request"):
        pull_request_from_env(env)


def test_the_token_comes_from_github_token_or_gh_token() -> None:
    assert token_from_env({"GITHUB_TOKEN": " abc1 ", "GH_TOKEN": "x"}) == "abc1"
    assert token_from_env({"GITHUB_TOKEN": "", "GH_TOKEN": "def2"}) == "def2"
    with pytest.raises(ConfigError, match="GITHUB_TOKEN is not set"):
        token_from_env({})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (None, "https://api.github.com"),
        ("", "https://api.github.com"),
        ("https://ghe.example.com/api/v3/", "https://ghe.example.com/api/v3"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_the_api_url_defaults_to_github_com(url: str | None, expected: str) -> None:
    assert api_url(url) == expected


@pytest.mark.parametrize(
    "url", ["http://ghe.example.com/api/v3", "ftp://x", "https://user:pw@ghe.example.com"]
)
def test_an_unsafe_api_url_is_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        api_url(url)
