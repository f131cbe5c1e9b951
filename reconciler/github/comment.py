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
comment. The requests, their retries and their errors are ``github.client``'s.

Settings come from what GitHub Actions provides: ``GITHUB_TOKEN`` (or ``GH_TOKEN``),
``GITHUB_REPOSITORY``, ``GITHUB_EVENT_PATH`` (the event names the pull request) and
``GITHUB_API_URL`` (GitHub Enterprise Server; default https://api.github.com).

A saved JSON plan (``plan --out``) is shown as the Markdown plan (``plan_markdown``).
Failures are ``GitHubError`` (a ``ReconcilerError``: one line, exit 1), with the token scrubbed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from reconciler.errors import ConfigError
from reconciler.github.client import DEFAULT_API_URL, GitHubClient, PullRequest
from reconciler.plan.render import MARKER, MarkdownRenderer
from reconciler.plan.saved import SavedPlan
from reconciler.remote import secret

TOKEN_ENV_VARS = ("GITHUB_TOKEN", "GH_TOKEN")
# GitHub refuses comment bodies longer than 65,536 characters.
MAX_BODY = 65_536
# Who a workflow's GITHUB_TOKEN comments as (an app installation's token cannot GET /user).
DEFAULT_AUTHOR = "github-actions[bot]"


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
    opened = _open_fence(cut)
    while opened and len(cut) + 1 + len(opened) + len(closing) + len(note) > limit:
        cut = cut[: cut.rfind("\n")]  # room for the fence that closes the cut's code block
        opened = _open_fence(cut)
    if opened:
        cut += "\n" + opened
    if cut.count("<details>") > cut.count("</details>"):
        cut += closing
    return cut + note


def _open_fence(markdown: str) -> str:
    """The fence of the code block ``markdown`` leaves open (a cut inside a create's
    attributes), or "": the note and ``</details>`` after the cut must not be code."""
    open_fence = ""
    for line in markdown.split("\n"):
        if not line.startswith("```") or line.strip("`"):
            continue
        if not open_fence:
            open_fence = line
        elif len(line) >= len(open_fence):
            open_fence = ""
    return open_fence


def plan_markdown(path: Path) -> str:
    """The Markdown plan of a saved JSON plan (``plan --out``)."""
    return MarkdownRenderer().render(SavedPlan.read(path).plan())


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
