"""The sticky pull-request comment: one comment per pull request that carries the plan.

A workflow run on a pull request posts the Markdown plan as a comment; every later run edits
that same comment instead of adding another. The comment is recognised by the hidden marker
it starts with (``render.MARKER``) *and* by its author, so the other comments of the pull
request, people's and other bots', are never touched, even one that quotes or copies the
marker: GitHub would refuse the workflow's token an edit of someone else's comment (403), and
a personal token would be allowed to overwrite it.

The author is a login. Unless told, it is asked of GitHub (``GET /user``): a personal or
OAuth token's user. An app installation's token cannot ask (GitHub answers 403), and a 401,
403 or 404 means ``github-actions[bot]``, the identity of the ``GITHUB_TOKEN`` of GitHub
Actions (a GitHub that does not answer is an error, never a guess); another GitHub App's
token must be told its ``<app-slug>[bot]``. When a new comment shows another author than the
one expected, the result says which to name, since the next run would otherwise add a second
comment. Four GitHub REST endpoints are used:

    GET   /user                                              the author, when not told
    GET   /repos/{owner}/{repo}/issues/{number}/comments     paged, following Link rel="next"
    POST  /repos/{owner}/{repo}/issues/{number}/comments
    PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}

Settings come from what GitHub Actions provides: ``GITHUB_TOKEN`` (or ``GH_TOKEN``),
``GITHUB_REPOSITORY``, ``GITHUB_EVENT_PATH`` (the event names the pull request) and
``GITHUB_API_URL`` (GitHub Enterprise Server; default https://api.github.com).

Failures are ``GitHubError`` (a ``ReconcilerError``: one line, exit 1), with the token
scrubbed; a 403 says why it usually happens (the read-only token of a pull request from a
fork or from Dependabot, or a workflow without ``permissions: pull-requests: write``).
GETs and PATCHes are retried on 5xx and network errors; a POST never is, since a retried
POST whose first attempt landed would add a second comment.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Container, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from reconciler import __version__
from reconciler.errors import ConfigError, InputError, ReconcilerError
from reconciler.plan.compare import ABSENT, FieldDiff
from reconciler.plan.plan import Action, Kind, Plan
from reconciler.plan.render import FORMAT_VERSION, MARKER, MarkdownRenderer
from reconciler.reconcile import SavedPlan
from reconciler.remote import secret
from reconciler.remote.baseurl import is_loopback
from reconciler.remote.client import _verify
from reconciler.remote.ratelimit import backoff

DEFAULT_API_URL = "https://api.github.com"
TOKEN_ENV_VARS = ("GITHUB_TOKEN", "GH_TOKEN")
# GitHub refuses comment bodies longer than 65,536 characters.
MAX_BODY = 65_536
PER_PAGE = 100
# Who a workflow's GITHUB_TOKEN comments as (an app installation's token cannot GET /user).
DEFAULT_AUTHOR = "github-actions[bot]"
_RETRYABLE = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class GitHubError(ReconcilerError):
    """GitHub refused a request or could not be reached."""


@dataclass(frozen=True)
class PullRequest:
    repository: str  # "owner/name"
    number: int

    def __str__(self) -> str:
        return f"{self.repository}#{self.number}"


@dataclass(frozen=True)
class CommentResult:
    """What happened to the sticky comment: ``created``, ``updated`` or ``unchanged``.

    ``posted_as`` is the login GitHub shows as the author of a new comment when it is not
    the author looked for: later runs would not find the comment unless told that login.
    """

    outcome: str
    comment_id: int
    url: str
    posted_as: str | None = None

    @property
    def note(self) -> str | None:
        if self.posted_as is None:
            return None
        return (
            f"the comment was posted as {self.posted_as}, so the next run will not find it: "
            f"pass --author {self.posted_as} (the action's comment-author input)"
        )


# --- where the settings come from -------------------------------------------------------


def pull_request_from_env(
    environ: Mapping[str, str], *, repository: str | None = None, number: int | None = None
) -> PullRequest:
    """The pull request to comment on: the options, else the workflow's event."""
    repository = repository or environ.get("GITHUB_REPOSITORY", "").strip()
    if not repository:
        raise ConfigError("GITHUB_REPOSITORY is not set: pass --repo OWNER/NAME")
    owner, _, name = repository.partition("/")
    if not owner or not name or "/" in name:
        raise ConfigError(f"repository {repository!r} is not OWNER/NAME")
    if number is None:
        number = _number_from_event(environ.get("GITHUB_EVENT_PATH", "").strip())
    return PullRequest(repository, number)


def _number_from_event(path: str) -> int:
    if not path:
        raise ConfigError("GITHUB_EVENT_PATH is not set: pass --pr NUMBER")
    try:
        event = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read the event file {path}: {e.strerror or e}") from e
    except ValueError as e:
        raise ConfigError(f"the event file {path} is not JSON: {e}") from e
    if isinstance(event, dict):
        pull = event.get("pull_request")
        if isinstance(pull, dict) and isinstance(pull.get("number"), int):
            return int(pull["number"])
        issue = event.get("issue")  # issue_comment on a pull request
        if (
            isinstance(issue, dict)
            and issue.get("pull_request")
            and isinstance(issue.get("number"), int)
        ):
            return int(issue["number"])
    raise ConfigError(
        "this workflow event is not about a pull request (the event has no pull_request): "
        "run the comment step only on pull_request events, or pass --pr NUMBER"
    )


def token_from_env(environ: Mapping[str, str]) -> str:
    """The GitHub token (registered as a secret so that it never appears in output)."""
    for name in TOKEN_ENV_VARS:
        value = environ.get(name, "").strip()
        if value:
            secret.register(value)
            return value
    raise ConfigError(
        "GITHUB_TOKEN is not set: in a workflow, add `env: GITHUB_TOKEN: ${{ github.token }}` "
        "to the step"
    )


def api_url(url: str | None) -> str:
    """GitHub's API URL without a trailing slash: https, or plain http to a loopback host."""
    url = (url or "").strip() or DEFAULT_API_URL
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise ConfigError(f"GITHUB_API_URL {url!r} is not an https:// URL without credentials")
    if scheme == "http" and not is_loopback(host):
        raise ConfigError(f"GITHUB_API_URL {url!r}: plain http:// only for loopback; use https://")
    return url.rstrip("/")


# --- the comment's body -------------------------------------------------------------------


def sticky_body(markdown: str, *, limit: int = MAX_BODY) -> str:
    """``markdown`` starting with the marker, and cut to what GitHub accepts."""
    body = markdown.strip("\n")
    if not body.startswith(MARKER):
        body = f"{MARKER}\n{body}"
    if len(body) <= limit:
        return body + "\n"
    note = (
        f"\n\n_The plan is too long for a comment ({len(body):,} characters) and was cut "
        "here; the workflow run's job summary has all of it._\n"
    )
    closing = "\n\n</details>"
    cut = body[: body.rfind("\n", 0, limit - len(note) - len(closing))]
    if cut.count("<details>") > cut.count("</details>"):
        cut += closing
    return cut + note


def plan_markdown(path: Path) -> str:
    """The Markdown plan of a saved JSON plan (``plan --out``)."""
    document = SavedPlan.read(path).document
    try:
        plan = _plan_from_document(document)
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        raise InputError(
            f"{path} is not a saved plan of format_version {FORMAT_VERSION} ({e}); "
            "make it with `ld-reconciler plan --out`"
        ) from e
    return MarkdownRenderer().render(plan)


def _plan_from_document(document: Mapping[str, Any]) -> Plan:
    """The inverse of ``Plan.data`` for what the renderers show."""
    actions = tuple(
        Action(
            kind=Kind(a["action"]),
            resource=a["resource"],
            project=a["project"],
            flag_key=a["flag"],
            link_key=a.get("link"),
            source=a.get("source", ""),
            digest=a.get("digest", ""),
            reason=a.get("reason", ""),
            diff=tuple(_field_diff(d) for d in a.get("diff", [])),
            depends_on=tuple(a.get("depends_on", ())),
        )
        for a in document["actions"]
    )
    return Plan(document["target"], document["mode"] == "live", actions)


def _field_diff(data: Mapping[str, Any]) -> FieldDiff:
    """The inverse of ``FieldDiff.data``: the side ``absent`` names is the missing-value
    sentinel again, not the string ``"(absent)"`` JSON shows, so it renders as ``(absent)``."""
    absent = data.get("absent")
    before = ABSENT if absent == "before" else data["before"]
    after = ABSENT if absent == "after" else data["after"]
    return FieldDiff(data["path"], before, after)


# --- talking to GitHub --------------------------------------------------------------------


class GitHubClient:
    """The issue-comment endpoints and ``GET /user``, over one httpx client."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_API_URL,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        max_retries: int = 2,
        max_pages: int = 200,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        secret.register(token)
        self.base_url = api_url(base_url)
        self._origin = httpx.URL(self.base_url)
        self._max_retries = max_retries
        self._max_pages = max_pages
        self._sleep = sleep
        self._rng = random.Random()
        self._http = httpx.Client(
            transport=transport,
            verify=True if transport is not None else _verify(),
            timeout=timeout,
            follow_redirects=False,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {token}",
                "User-Agent": f"ld-reconciler/{__version__}",
                "X-GitHub-Api-Version": "2022-11-28",
            },
        )

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._http.close()

    def token_login(self) -> str | None:
        """The login of the token's user, or None if GitHub will not say (an app
        installation's token, GITHUB_TOKEN's among them, is answered 403).

        A GitHub that does not answer is an error, retried like any GET: falling back to
        the default author then would miss a person's token's own comment and post another.
        """
        response = self._request(
            "GET", f"{self.base_url}/user", what="ask GitHub whose token this is",
            accept=(401, 403, 404),
        )  # fmt: skip
        try:
            data = response.json() if response.status_code == 200 else None
        except ValueError:
            return None
        login = data.get("login") if isinstance(data, dict) else None
        return login if isinstance(login, str) and login.strip() else None

    def issue_comments(self, pr: PullRequest) -> Iterator[dict[str, Any]]:
        """Every comment of the pull request, oldest first, page after page."""
        url: str | None = f"{self.base_url}/repos/{pr.repository}/issues/{pr.number}/comments"
        params: dict[str, Any] | None = {"per_page": PER_PAGE}
        for _ in range(self._max_pages):
            if url is None:
                return
            response = self._request("GET", url, params=params, what=f"list the comments of {pr}")
            page = _json(response, f"the comments of {pr}")
            if not isinstance(page, list):
                raise GitHubError(f"the comments of {pr}: the answer is not a JSON list")
            yield from (c for c in page if isinstance(c, dict))
            url, params = self._next_page(response), None
        if url is not None:
            raise GitHubError(f"{pr} has more than {self._max_pages} pages of comments")

    def create_comment(self, pr: PullRequest, body: str) -> dict[str, Any]:
        url = f"{self.base_url}/repos/{pr.repository}/issues/{pr.number}/comments"
        response = self._request("POST", url, json={"body": body}, what=f"comment on {pr}")
        return _comment(response, f"the new comment on {pr}")

    def update_comment(self, pr: PullRequest, comment_id: int, body: str) -> dict[str, Any]:
        url = f"{self.base_url}/repos/{pr.repository}/issues/comments/{comment_id}"
        what = f"update comment {comment_id} on {pr}"
        response = self._request("PATCH", url, json={"body": body}, what=what)
        return _comment(response, f"comment {comment_id} on {pr}")

    def _next_page(self, response: httpx.Response) -> str | None:
        link = response.links.get("next", {}).get("url")
        if not link:
            return None
        target = httpx.URL(link)
        # The token goes with every request: never to a host the API URL did not name.
        if (target.scheme, target.netloc) != (self._origin.scheme, self._origin.netloc):
            raise GitHubError(f"the next page of comments is on another host ({target.host})")
        return str(target)

    def _request(
        self, method: str, url: str, *, what: str, accept: Container[int] = (), **kwargs: Any
    ) -> httpx.Response:
        """The answer; an error for anything but a success or a status in ``accept``."""
        retries = self._max_retries if method != "POST" else 0
        for attempt in range(retries + 1):
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.HTTPError as e:
                if attempt < retries and isinstance(e, _RETRYABLE):
                    self._sleep(backoff(attempt, 10.0, self._rng))
                    continue
                reason = secret.scrub(str(e) or type(e).__name__)
                raise GitHubError(f"cannot {what}: {self.base_url}: {reason}") from None
            if response.status_code >= 500 and attempt < retries:
                self._sleep(backoff(attempt, 10.0, self._rng))
                continue
            if response.status_code >= 300 and response.status_code not in accept:
                raise _error(response, method, what)
            return response
        raise AssertionError("unreachable")  # pragma: no cover


def _json(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise GitHubError(f"{what}: the answer is not JSON (is GITHUB_API_URL right?)") from None


def _comment(response: httpx.Response, what: str) -> dict[str, Any]:
    data = _json(response, what)
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        raise GitHubError(f"{what}: the answer is not a comment")
    return data


def _error(response: httpx.Response, method: str, what: str) -> GitHubError:
    status = response.status_code
    try:
        data = response.json()
        message = str(data.get("message", "")) if isinstance(data, dict) else ""
    except ValueError:
        message = ""
    message = secret.scrub(" ".join(message.split())[:300]) or response.reason_phrase
    text = f"cannot {what}: GitHub answered {status} ({message})"
    if status == 401:
        return GitHubError(f"{text}: the token is not valid; check GITHUB_TOKEN")
    if status in (403, 429) and response.headers.get("x-ratelimit-remaining") == "0":
        return GitHubError(f"{text}: the token's API rate limit is used up; try again later")
    if status == 403 and method != "GET":
        return GitHubError(
            f"{text}: the token may not write comments. Pull requests from forks and from "
            "Dependabot get a read-only GITHUB_TOKEN (the plan is still in the job summary); "
            "otherwise give the workflow `permissions: pull-requests: write`"
        )
    if status == 404:
        return GitHubError(f"{text}: no such pull request, or the token cannot see the repository")
    if 300 <= status < 400:
        return GitHubError(f"{text}: redirects are not followed; is GITHUB_API_URL right?")
    return GitHubError(text)


def upsert_sticky_comment(
    client: GitHubClient, pr: PullRequest, body: str, *, author: str = DEFAULT_AUTHOR
) -> CommentResult:
    """Update ``author``'s comment that starts with the marker, or create the comment."""
    existing = next(
        (
            c
            for c in client.issue_comments(pr)
            if str(c.get("body") or "").startswith(MARKER) and _login(c) == author.lower()
        ),
        None,
    )
    if existing is None:
        made = client.create_comment(pr, body)
        shown = _login(made)
        posted_as = str(made["user"]["login"]) if shown and shown != author.lower() else None
        return CommentResult("created", made["id"], str(made.get("html_url", "")), posted_as)
    comment_id = int(existing["id"])
    if _normalised(existing.get("body")) == _normalised(body):
        return CommentResult("unchanged", comment_id, str(existing.get("html_url", "")))
    updated = client.update_comment(pr, comment_id, body)
    return CommentResult("updated", comment_id, str(updated.get("html_url", "")))


def _login(comment: Mapping[str, Any]) -> str:
    """The comment's author's login, lower-cased (GitHub logins ignore case); "" if unknown."""
    user = comment.get("user")
    login = user.get("login") if isinstance(user, dict) else None
    return login.lower() if isinstance(login, str) else ""


def _normalised(body: Any) -> str:
    # GitHub may hand a body back with CRLF line ends or without the final newline.
    return str(body or "").replace("\r\n", "\n").strip()


def post_plan_comment(
    markdown: str,
    *,
    repository: str | None = None,
    number: int | None = None,
    environ: Mapping[str, str] | None = None,
    author: str | None = None,
    timeout: float = 30.0,
    transport: httpx.BaseTransport | None = None,
) -> tuple[PullRequest, CommentResult]:
    """Post ``markdown`` as the pull request's sticky plan comment, with settings from the env.

    ``author`` None: the token's user if GitHub says who that is, else ``DEFAULT_AUTHOR``.
    """
    env = os.environ if environ is None else environ
    pr = pull_request_from_env(env, repository=repository, number=number)
    token = token_from_env(env)
    base_url = env.get("GITHUB_API_URL") or DEFAULT_API_URL
    with GitHubClient(token, base_url=base_url, timeout=timeout, transport=transport) as client:
        if author is None:
            author = client.token_login() or DEFAULT_AUTHOR
        return pr, upsert_sticky_comment(client, pr, sticky_body(markdown), author=author)
