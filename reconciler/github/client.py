"""GitHub's REST API, as far as the sticky plan comment needs it.

``GitHubClient`` speaks to four endpoints over one httpx client:

    GET   /user                                              whose token this is
    GET   /repos/{owner}/{repo}/issues/{number}/comments     paged, following Link rel="next"
    POST  /repos/{owner}/{repo}/issues/{number}/comments
    PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}

``GITHUB_API_URL`` (GitHub Enterprise Server) is checked by ``api_url``: https, or plain http
to a loopback host. A next page on another host is refused: the token goes with every request.

Retries follow the one retry policy (``remote.retry``): GETs and PATCHes on 5xx and network
errors, any request that never left, a 429 unless the token's quota is spent (it comes back
only at its reset); a POST that was sent is never sent again, since one whose first attempt
landed would add a second comment. Failures are ``GitHubError`` (one line, exit 1), with the
token scrubbed; a 403 says why it usually happens (the read-only token of a pull request from a
fork or from Dependabot, or a workflow without ``permissions: pull-requests: write``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from reconciler import __version__
from reconciler.errors import ConfigError, GitHubError
from reconciler.remote import secret
from reconciler.remote.baseurl import is_loopback
from reconciler.remote.retry import RetryPolicy, parse_retry_after
from reconciler.remote.session import verify

DEFAULT_API_URL = "https://api.github.com"
PER_PAGE = 100


@dataclass(frozen=True)
class PullRequest:
    repository: str  # "owner/name"
    number: int

    def __str__(self) -> str:
        return f"{self.repository}#{self.number}"


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
        # A comment's PATCH sets the whole body, so sending it twice does no harm; a POST
        # whose first attempt landed would add a second comment.
        self._policy = RetryPolicy(
            max_retries=max_retries, max_backoff=10.0, idempotent=frozenset({"GET", "PATCH"})
        )
        self._max_pages = max_pages
        self._sleep = sleep
        self._rng = random.Random()
        self._http = httpx.Client(
            transport=transport,
            verify=True if transport is not None else verify(),
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
        attempt = 0
        while True:
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.HTTPError as e:
                if self._policy.gives_up(attempt) or not self._policy.retries_error(method, e):
                    reason = secret.scrub(str(e) or type(e).__name__)
                    raise GitHubError(f"cannot {what}: {self.base_url}: {reason}") from None
                after = None
            else:
                if not self._retries(method, response, attempt):
                    if response.status_code >= 300 and response.status_code not in accept:
                        raise _error(response, method, what)
                    return response
                after = parse_retry_after(response.headers.get("Retry-After"), time.time())
            self._sleep(self._policy.pause(attempt, self._rng, at_least=after))
            attempt += 1

    def _retries(self, method: str, response: httpx.Response, attempt: int) -> bool:
        status = response.status_code
        if self._policy.gives_up(attempt) or not self._policy.retries_status(method, status):
            return False
        # A spent quota comes back only at its reset, often an hour away: say so at once.
        return bool(response.headers.get("x-ratelimit-remaining") != "0")


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
