"""``ld-reconciler validate`` and ``ld-reconciler schema`` (either schema): no token, no network."""

from __future__ import annotations

from typing import Any

import click

from reconciler.commands.configuration import command_config, command_paths, format_option
from reconciler.config.configuration import CONFIG_SCHEMA_NAME
from reconciler.files.report import REPORTERS
from reconciler.files.schema import SCHEMA_NAME, schema_path
from reconciler.files.validator import validate_paths


class _FlagPath(click.Path):
    """A flag file or directory; an empty argument is a usage error, not the current
    directory (``validate "$FLAGS_DIR"`` with the variable unset checked the wrong files)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value == "":
            raise click.BadParameter(  # named as when PATHS was required: [PATHS] is optional
                "an empty path names no file; give a file or a directory", ctx, param, "'PATHS...'"
            )
        return super().convert(value, param, ctx)


# Flag files and directories. Not click's readability check: it would make an unreadable
# file a usage error (exit 2) instead of a finding located at that file (exit 1).
FLAG_PATHS = _FlagPath(readable=False)


@click.command()
@click.argument("paths", nargs=-1, type=FLAG_PATHS)
@format_option(REPORTERS, "How to report: text, json, or github (workflow annotations).")
@click.option(
    "--fallback",
    multiple=True,
    metavar="PATH",
    type=FLAG_PATHS,
    help="What to read when no PATH is given and ld-reconciler.yaml sets no paths "
    "(the pre-commit hook's is flags).",
)
def validate(paths: tuple[str, ...], fmt: str, fallback: tuple[str, ...]) -> int:
    """Check flag files (files or directories, searched for *.yaml and *.yml; none
    given: the paths ld-reconciler.yaml sets).

    Reports every problem at once as file:line:col and exits 1, or prints a
    one-line summary and exits 0.
    """
    config = command_config()
    result = validate_paths(command_paths(paths, config, fallback), config)
    click.echo(REPORTERS[fmt].render(result), nl=False)
    return 0 if result.ok else 1


SCHEMAS = {"flag-file": SCHEMA_NAME, "config": CONFIG_SCHEMA_NAME}


@click.command()
@click.argument("which", type=click.Choice(sorted(SCHEMAS)), default="flag-file")
@click.option("--path", "show_path", is_flag=True, help="Print where the installed schema lives.")
def schema(which: str, show_path: bool) -> int:
    """Print the flag-file (or the config) JSON Schema, or its path.

    For editors and other tools. WHICH: flag-file (the default), or config for
    ld-reconciler.yaml's.
    """
    location = schema_path(SCHEMAS[which])
    if show_path:
        click.echo(str(location))
    else:
        click.echo(location.read_text(encoding="utf-8"), nl=False)
    return 0
