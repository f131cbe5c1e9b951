"""A small fake of GitHub's issue-comment API, served over loopback HTTP.

It serves exactly what ``ld-reconciler github comment`` uses, the way GitHub does:

    GET   /user                                            200 {login, type} for a personal
                                                          token; 403 for an app installation's
    GET   /repos/{owner}/{repo}/issues/{number}/comments   ?per_page (default 30, max 100) &page,
                                                          with a Link header (rel="next", "last")
    POST  /repos/{owner}/{repo}/issues/{number}/comments   201 and the comment
    PATCH /repos/{owner}/{repo}/issues/comments/{id}       200 and the comment

The token comments as ``login`` (``github-actions[bot]``, as a workflow's GITHUB_TOKEN does), and
like GITHUB_TOKEN it may edit only its own comments: a PATCH of anyone else's is 403. As on
GitHub, the token's prefix tells its kind: a ``ghs_`` token is an app installation's (the
workflow's GITHUB_TOKEN, or a GitHub App's), which ``GET /user`` answers 403 "Resource not
accessible by integration"; any other (``ghp_``, as ``PAT``) is a person's, answered with
``login``. A wrong token is 401 "Bad credentials"; a ``read_only`` token (a fork's) gets 403
"Resource not accessible by integration" on writes; an unknown pull request is 404. Every
request is logged as ``(method, path with query, authorization header)``.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "ghs_fakeGitHubToken0123456789"
PAT = "ghp_fakePersonalToken0123456789"
BOT = "github-actions[bot]"
REPOSITORY = "acme/flags"
PR_NUMBER = 7

_LIST_OR_CREATE = re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$")
_UPDATE = re.compile(r"^/repos/([^/]+/[^/]+)/issues/comments/(\d+)$")


@dataclass
class FakeGitHub:
    token: str = TOKEN
    login: str = BOT
    read_only: bool = False
    max_per_page: int = 100
    pulls: set[tuple[str, int]] = field(default_factory=set)
    comments: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    def add_pull(self, repository: str, number: int) -> None:
        self.pulls.add((repository, number))

    def add_comment(self, repository: str, number: int, body: str, user: str = "octocat") -> int:
        with self._lock:
            comment_id = 1000 + len(self.comments)
            self.comments.append(
                {
                    "id": comment_id,
                    "repository": repository,
                    "number": number,
                    "body": body,
                    "user": _user(user),
                    "html_url": f"https://github.example/{repository}/pull/{number}"
                    f"#issuecomment-{comment_id}",
                }
            )
            return comment_id

    def comments_of(self, repository: str, number: int) -> list[dict[str, Any]]:
        return [c for c in self.comments if (c["repository"], c["number"]) == (repository, number)]

    def start(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_PATCH(self) -> None:
                fake._handle(self, "PATCH")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        auth = request.headers.get("Authorization", "")
        self.requests.append((method, request.path, auth))
        length = int(request.headers.get("Content-Length") or 0)
        payload: Any = json.loads(request.rfile.read(length)) if length else None
        if auth != f"Bearer {self.token}":
            return _send(request, 401, {"message": "Bad credentials"})
        if parts.path == "/user" and method == "GET":
            if self.token.startswith("ghs_"):
                return _send(request, 403, {"message": "Resource not accessible by integration"})
            return _send(request, 200, _user(self.login))
        if method != "GET" and self.read_only:
            return _send(request, 403, {"message": "Resource not accessible by integration"})
        listing = _LIST_OR_CREATE.match(parts.path)
        if listing and method in ("GET", "POST"):
            repository, number = listing[1], int(listing[2])
            if (repository, number) not in self.pulls:
                return _send(request, 404, {"message": "Not Found"})
            if method == "POST":
                comment_id = self.add_comment(repository, number, payload["body"], self.login)
                return _send(request, 201, self._public(comment_id))
            return self._list(request, repository, number, parse_qs(parts.query))
        update = _UPDATE.match(parts.path)
        if update and method == "PATCH":
            found = [c for c in self.comments if c["id"] == int(update[2])]
            if not found or found[0]["repository"] != update[1]:
                return _send(request, 404, {"message": "Not Found"})
            if found[0]["user"]["login"] != self.login:
                return _send(request, 403, {"message": "Resource not accessible by integration"})
            found[0]["body"] = payload["body"]
            return _send(request, 200, self._public(found[0]["id"]))
        return _send(request, 404, {"message": "Not Found"})

    def _list(
        self,
        request: BaseHTTPRequestHandler,
        repository: str,
        number: int,
        query: dict[str, list[str]],
    ) -> None:
        per_page = min(int(query.get("per_page", ["30"])[0]), self.max_per_page)
        page = int(query.get("page", ["1"])[0])
        items = self.comments_of(repository, number)
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        base = f"{self.url}/repos/{repository}/issues/{number}/comments?per_page={per_page}"
        links = []
        if page < last:
            links.append(f'<{base}&page={page + 1}>; rel="next"')
            links.append(f'<{base}&page={last}>; rel="last"')
        headers = {"Link": ", ".join(links)} if links else {}
        _send(request, 200, [self._public(c["id"]) for c in chunk], headers)

    def _public(self, comment_id: int) -> dict[str, Any]:
        comment = next(c for c in self.comments if c["id"] == comment_id)
        return {k: v for k, v in comment.items() if k not in ("repository", "number")}


def _user(login: str) -> dict[str, str]:
    return {"login": login, "type": "Bot" if login.endswith("[bot]") else "User"}


def _send(
    request: BaseHTTPRequestHandler,
    status: int,
    data: Any,
    headers: dict[str, str] | None = None,
) -> None:
    body = json.dumps(data).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json; charset=utf-8")
    request.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(body)


def pull_request_event(
    repository: str = REPOSITORY, number: int = PR_NUMBER, head: str | None = None
) -> dict[str, Any]:
    """A ``pull_request`` event payload as GitHub writes it to GITHUB_EVENT_PATH (trimmed)."""
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"repo": {"full_name": head or repository}},
            "base": {"repo": {"full_name": repository}},
        },
        "repository": {"full_name": repository},
    }


def step_env(fake: FakeGitHub, event: Path, token: str = TOKEN) -> dict[str, str]:
    """What a workflow step on a pull request sees, pointed at the fake."""
    return {
        "GITHUB_TOKEN": token,
        "GH_TOKEN": "",
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_API_URL": fake.url,
    }
