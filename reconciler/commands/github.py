"""``ld-reconciler github comment``: the sticky pull-request plan comment."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.errors import InputError
from reconciler.github import comment as gh


@click.group()
def github() -> None:
    """GitHub helpers for workflows."""


@github.command()
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A saved JSON plan (`plan --out`), shown as the Markdown plan.",
)
@click.option(
    "--body-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Markdown to post as it is (e.g. from `plan --format markdown`).",
)
@click.option("--pr", "number", type=click.IntRange(min=1), help="[default: from the event]")
@click.option("--repo", "repository", help="OWNER/NAME [default: $GITHUB_REPOSITORY].")
@click.option(
    "--author",
    metavar="LOGIN",
    callback=lambda _ctx, _param, value: None if value is None else _login(value),
    help="Whose plan comment to update: the login the token comments as (<app-slug>[bot] "
    "for a GitHub App's token). [default: the token's user, asked of GitHub; "
    f"{gh.DEFAULT_AUTHOR} for a token GitHub will not say of, such as GITHUB_TOKEN]",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds to wait for each response.",
)
def comment(
    plan_file: Path | None,
    body_file: Path | None,
    number: int | None,
    repository: str | None,
    author: str | None,
    timeout: float,
) -> int:
    """Create or update the pull request's one plan comment.

    The comment is found by the hidden marker it starts with and by its author, so each
    run edits it in place and other comments are left alone. Needs GITHUB_TOKEN with
    `pull-requests: write`; reads GITHUB_REPOSITORY, GITHUB_EVENT_PATH and GITHUB_API_URL.
    """
    if (plan_file is None) == (body_file is None):
        raise click.UsageError("give exactly one of --plan FILE and --body-file FILE")
    if plan_file is not None:
        markdown = gh.plan_markdown(plan_file)
    else:
        assert body_file is not None
        try:
            markdown = body_file.read_text(encoding="utf-8")
        except OSError as e:
            raise InputError(f"cannot read {body_file}: {e.strerror or e}") from e
    pr, result = gh.post_plan_comment(
        markdown, repository=repository, number=number, author=author, timeout=timeout
    )
    verb = {"created": "Created", "updated": "Updated", "unchanged": "Left unchanged"}
    click.echo(f"{verb[result.outcome]} the plan comment on {pr}: {result.url}")
    if result.note:
        click.echo(f"note: {result.note}", err=True)
    return 0


def _login(value: str) -> str:
    login = value.strip()
    if not login:
        raise click.BadParameter("give the login the token comments as", param_hint="--author")
    return login
