"""``ld-reconciler github comment`` through the real CLI, against a fake GitHub over loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e.support import Cli

from reconciler.plan.render import MARKER
from support.cli import Result

from .fake_github import BOT, PAT, PR_NUMBER, REPOSITORY, TOKEN, FakeGitHub, step_env
from .support import saved_and_rendered


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def _body(tmp_path: Path, text: str) -> str:
    path = tmp_path / "body.md"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _calls(fake: FakeGitHub) -> list[str]:
    return [f"{method} {path.partition('?')[0]}" for method, path, _ in fake.requests]


LIST = f"/repos/{REPOSITORY}/issues/{PR_NUMBER}/comments"
# A run that asks GitHub who the token is and finds our comment; one that posts it as well.
FIND = ["GET /user", f"GET {LIST}"]
POST = [*FIND, f"POST {LIST}"]


def _create_then_update(cli: Cli, tmp_path: Path, env: dict[str, str]) -> tuple[Result, Result]:
    """Comment "Plan: 2.", which creates our comment, then "Plan: 3.", which updates it."""
    first = cli("github", "comment", "--body-file", _body(tmp_path, "Plan: 2."), env=env)
    assert first.code == 0, first
    assert first.stdout.startswith("Created the plan comment")
    second = cli("github", "comment", "--body-file", _body(tmp_path, "Plan: 3."), env=env)
    assert second.code == 0, second
    assert second.stdout.startswith("Updated the plan comment")
    return first, second


def test_the_first_run_creates_the_comment_and_the_second_updates_it(
    cli: Cli, tmp_path: Path, fake_github: FakeGitHub, pr_event: Path
) -> None:
    fake_github.max_per_page = 2  # the comments span pages
    for text in ("LGTM", "What does this flag do?", "thanks"):
        fake_github.add_comment(REPOSITORY, PR_NUMBER, text)
    env = step_env(fake_github, pr_event)

    saved, _ = saved_and_rendered(tmp_path)
    first = cli("github", "comment", "--plan", str(saved), env=env)
    assert first.code == 0, first
    assert first.stdout.startswith(
        f"Created the plan comment on {REPOSITORY}#{PR_NUMBER}: https://"
    )

    second = cli("github", "comment", "--body-file", _body(tmp_path, "Plan: all done."), env=env)
    assert second.code == 0, second
    assert second.stdout.startswith("Updated the plan comment")

    comments = fake_github.comments_of(REPOSITORY, PR_NUMBER)
    assert [c["body"] for c in comments[:3]] == ["LGTM", "What does this flag do?", "thanks"]
    plans = [c for c in comments if MARKER in c["body"]]
    assert len(plans) == 1
    assert plans[0]["body"] == f"{MARKER}\nPlan: all done.\n"
    lists = [path for method, path, _ in fake_github.requests if method == "GET"]
    assert any("page=2" in path for path in lists)  # the second run paged to find it


def test_a_persons_comment_carrying_the_marker_is_left_alone_and_ours_is_updated(
    cli: Cli, tmp_path: Path, fake_github: FakeGitHub, pr_event: Path
) -> None:
    quoted = f"{MARKER}\nPlan: 1 to create.\n\nI copied the plan here: is this right?"
    fake_github.add_comment(REPOSITORY, PR_NUMBER, quoted, user="octocat")
    env = step_env(fake_github, pr_event)

    first, second = _create_then_update(cli, tmp_path, env)
    assert "note:" not in first.stderr + second.stderr

    comments = fake_github.comments_of(REPOSITORY, PR_NUMBER)
    assert [(c["user"]["login"], c["body"]) for c in comments] == [
        ("octocat", quoted),
        (BOT, f"{MARKER}\nPlan: 3.\n"),
    ]


def test_with_another_apps_token_author_names_the_login_it_comments_as(
    cli: Cli, tmp_path: Path, fake_github: FakeGitHub, pr_event: Path
) -> None:
    fake_github.login = "flag-bot[bot]"
    env = step_env(fake_github, pr_event)
    body = _body(tmp_path, "Plan: 1.")

    unnamed = cli("github", "comment", "--body-file", body, env=env)
    assert unnamed.code == 0, unnamed
    assert unnamed.stderr == (
        "note: the comment was posted as flag-bot[bot], so the next run will not find it: "
        "pass --author flag-bot[bot] (the action's comment-author input)\n"
    )
    fake_github.requests.clear()
    named = cli("github", "comment", "--body-file", body, "--author", "flag-bot[bot]", env=env)
    assert named.code == 0, named
    assert named.stdout.startswith("Left unchanged the plan comment")
    assert len(fake_github.comments_of(REPOSITORY, PR_NUMBER)) == 1
    assert _calls(fake_github) == [f"GET {LIST}"]  # a named author is not asked of GitHub


def test_with_a_personal_token_the_author_is_the_tokens_user_asked_of_github(
    cli: Cli, tmp_path: Path, fake_github: FakeGitHub, pr_event: Path
) -> None:
    fake_github.token, fake_github.login = PAT, "alice"
    fake_github.add_comment(REPOSITORY, PR_NUMBER, f"{MARKER}\nPlan: 1.", user=BOT)  # not hers
    env = step_env(fake_github, pr_event, token=PAT)

    first, second = _create_then_update(cli, tmp_path, env)
    assert first.stderr + second.stderr == ""  # no note: the comment was found by its author

    comments = fake_github.comments_of(REPOSITORY, PR_NUMBER)
    assert [(c["user"]["login"], c["body"]) for c in comments] == [
        (BOT, f"{MARKER}\nPlan: 1."),
        ("alice", f"{MARKER}\nPlan: 3.\n"),
    ]
    assert _calls(fake_github) == [*POST, *FIND, "PATCH /repos/acme/flags/issues/comments/1001"]


def test_with_the_workflows_token_github_declines_to_say_and_the_author_is_the_actions_bot(
    cli: Cli, tmp_path: Path, fake_github: FakeGitHub, pr_event: Path
) -> None:
    ours = fake_github.add_comment(REPOSITORY, PR_NUMBER, f"{MARKER}\nPlan: 1.", user=BOT)
    env = step_env(fake_github, pr_event)  # a ghs_ token: GET /user is 403
    result = cli("github", "comment", "--body-file", _body(tmp_path, "Plan: 2."), env=env)
    assert result.code == 0, result
    assert result.stdout.startswith("Updated the plan comment")
    assert result.stderr == ""
    assert _calls(fake_github) == [*FIND, f"PATCH /repos/acme/flags/issues/comments/{ours}"]


def test_an_empty_author_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    result = cli("github", "comment", "--body-file", _body(tmp_path, "P"), "--author", " ")
    assert result.code == 2
    assert "Invalid value for --author: give the login the token comments as" in result.stderr


def test_the_posted_plan_is_the_markdown_plan(
    cli: Cli, tmp_path: Path, fake_github: FakeGitHub, pr_event: Path
) -> None:
    saved, markdown = saved_and_rendered(tmp_path)
    result = cli("github", "comment", "--plan", str(saved), env=step_env(fake_github, pr_event))
    assert result.code == 0, result
    (comment,) = fake_github.comments_of(REPOSITORY, PR_NUMBER)
    assert comment["body"] == markdown.rstrip("\n") + "\n"
    assert comment["body"].startswith(MARKER)


def test_running_again_with_the_same_plan_changes_nothing(
    cli: Cli, tmp_path: Path, fake_github: FakeGitHub, pr_event: Path
) -> None:
    env = step_env(fake_github, pr_event)
    body = _body(tmp_path, "Plan: 1 to create.")
    assert cli("github", "comment", "--body-file", body, env=env).code == 0
    again = cli("github", "comment", "--body-file", body, env=env)
    assert again.stdout.startswith("Left unchanged the plan comment")
    assert _calls(fake_github) == [*POST, *FIND]


def test_a_read_only_token_is_one_line_about_forks_and_the_token_is_never_printed(
    cli: Cli, tmp_path: Path, fake_github: FakeGitHub, pr_event: Path
) -> None:
    fake_github.read_only = True
    env = step_env(fake_github, pr_event)
    result = cli(
        "github", "comment", "--body-file", _body(tmp_path, "Plan"), env=env, subprocess=True
    )
    assert result.code == 1, result
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        f"Error: cannot comment on {REPOSITORY}#{PR_NUMBER}: GitHub answered 403 "
        "(Resource not accessible by integration): the token may not write comments."
    )
    assert "forks" in result.stderr
    assert "Traceback" not in result.output
    assert TOKEN not in result.output


def test_a_wrong_token_is_rejected_in_one_line(
    cli: Cli, tmp_path: Path, fake_github: FakeGitHub, pr_event: Path
) -> None:
    env = step_env(fake_github, pr_event, token="ghs_notTheRightToken")
    result = cli("github", "comment", "--body-file", _body(tmp_path, "Plan"), env=env)
    assert result.code == 1
    assert "GitHub answered 401 (Bad credentials)" in result.stderr
    assert "ghs_notTheRightToken" not in result.output


def test_an_unknown_pull_request_is_one_line(
    cli: Cli, tmp_path: Path, fake_github: FakeGitHub, pr_event: Path
) -> None:
    env = step_env(fake_github, pr_event)
    result = cli("github", "comment", "--pr", "999", "--body-file", _body(tmp_path, "P"), env=env)
    assert result.code == 1
    assert result.stderr == (
        f"Error: cannot list the comments of {REPOSITORY}#999: GitHub answered 404 (Not Found): "
        "no such pull request, or the token cannot see the repository\n"
    )


def test_github_that_cannot_be_reached_is_one_line(
    cli: Cli, tmp_path: Path, fake_github: FakeGitHub, pr_event: Path
) -> None:
    env = step_env(fake_github, pr_event)
    fake_github.stop()
    result = cli(
        "github", "comment", "--body-file", _body(tmp_path, "P"), "--timeout", "2", env=env
    )
    assert result.code == 1
    # The first request is the token's login (no --author): it does not guess on failure.
    assert result.stderr.startswith("Error: cannot ask GitHub whose token this is: http://")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([], id="neither"),
        pytest.param(["--plan", "p.json", "--body-file", "b.md"], id="both"),
    ],
)
def test_exactly_one_source_of_the_comment_is_required(cli: Cli, args: list[str]) -> None:
    result = cli("github", "comment", *args)
    assert result.code == 2
    assert "give exactly one of --plan FILE and --body-file FILE" in result.stderr


def test_a_missing_body_file_is_one_line(cli: Cli) -> None:
    result = cli("github", "comment", "--body-file", "nope.md")
    assert result.code == 1
    assert result.stderr == "Error: cannot read nope.md: No such file or directory\n"
