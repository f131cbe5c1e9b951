"""``ld-reconciler init``: start a flag repository (``reconciler.config.scaffold`` writes it)."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.config.scaffold import DEFAULT_PROJECT, NEXT_STEPS
from reconciler.config.scaffold import init as write_scaffold


@click.command()
@click.argument(
    "directory",
    required=False,
    default=".",
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option(
    "--project",
    default=DEFAULT_PROJECT,
    show_default=True,
    metavar="KEY",
    help="The LaunchDarkly project of the example flag file.",
)
@click.option(
    "--github",
    is_flag=True,
    help="Also write the plan and apply workflows and a .pre-commit-config.yaml.",
)
def init(directory: Path, project: str, github: bool) -> int:
    """Start a flag repository (configuration, example flag file).

    Writes into DIRECTORY (default: here) ld-reconciler.yaml, the JSON Schemas, an
    example flag file and the .gitignore lines for the ledger's lock and journal.
    Never overwrites a file: one that exists is skipped and said so.
    """
    for outcome in write_scaffold(directory, project, github):
        click.echo(str(outcome))
    if github:
        click.echo(
            "\nIn the workflows and .pre-commit-config.yaml, replace your-org/ld-reconciler "
            "and its version with where you host ld-reconciler."
        )
    where = "" if directory.resolve() == Path.cwd().resolve() else f"cd {directory}\n  "
    click.echo("\nNext:\n  " + where + "\n  ".join(NEXT_STEPS))
    return 0
