"""``ld-reconciler export``: a project's existing flags as flag files; options in, exit code out."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler import reconcile
from reconciler.errors import ConfigError
from reconciler.export.export import Export, export_project
from reconciler.export.flagfile import ARCHIVED_DIR, DEFAULT_SCHEMA_REF
from reconciler.export.writer import missing_schema, write_files
from reconciler.model import DesiredState


@click.command()
@click.option(
    "--project", required=True, metavar="KEY", help="The key of the LaunchDarkly project to export."
)
@click.option(
    "--base-url",
    envvar="LAUNCHDARKLY_BASE_URL",
    help=f"LaunchDarkly's URL [env LAUNCHDARKLY_BASE_URL; default {reconcile.DEFAULT_BASE_URL}].",
)
@click.option(
    "--emulator",
    is_flag=True,
    help="Read from the bundled emulator in-process (data kept under .ld-reconciler/).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    metavar="SECONDS",
    default=30.0,
    show_default=True,
    help="Seconds to wait for each response.",
)
@click.option(
    "--include-archived", is_flag=True, help="Export archived flags too (below archived/)."
)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="TAG",
    help="Export only flags with this tag (repeat: flags with all of them).",
)
@click.option(
    "--output",
    "-o",
    default="-",
    metavar="DIR|-",
    show_default=True,
    callback=lambda _ctx, _param, value: _output(value),
    help="A directory to write <project>/<first tag>.yaml files in, or - for one YAML document "
    "on stdout.",
)
@click.option(
    "--schema-ref",
    default=DEFAULT_SCHEMA_REF,
    show_default=True,
    metavar="PATH|URL",
    callback=lambda _ctx, _param, value: _schema_ref(value),
    help="The flag-file schema the files' editor modeline names: a URL, or a path relative "
    "to the output directory (each file names it relative to itself).",
)
@click.option("--force", is_flag=True, help="Replace files that exist already.")
def export(
    project: str,
    base_url: str | None,
    emulator: bool,
    timeout: float,
    include_archived: bool,
    tags: tuple[str, ...],
    output: str,
    schema_ref: str,
    force: bool,
) -> int:
    """Write flag files for the flags a project already has, to adopt them.

    Flags and links the flag-file format cannot express are listed on stderr. Exits 1 when
    flags were found but none could be exported.
    """
    with reconcile.connect(
        DesiredState(()),
        reconcile.Endpoint(base_url, emulator=emulator, timeout=timeout),
        command="ld-reconciler export --emulator",
    ) as connection:
        if connection.client is None:
            raise ConfigError(
                "export reads LaunchDarkly: set LAUNCHDARKLY_ACCESS_TOKEN (or LD_ACCESS_TOKEN), "
                "or use --emulator"
            )
        result = export_project(
            connection.client, project, include_archived=include_archived, tags=tags
        )
    to_stdout = output == "-"
    if to_stdout:
        click.echo(result.document(schema_ref), nl=False)
    elif result.flags:
        files = result.files(schema_ref)
        written = write_files(files, Path(output), force=force)
        for file, path in zip(files, written.files, strict=True):
            click.echo(f"wrote {path}: {file.flags} flag(s), {file.links} link(s)")
        for path in written.others:
            click.echo(
                f"note: {path} was not written by this export; a flag it declares too is "
                "declared twice",
                err=True,
            )
        schema = missing_schema(Path(output), schema_ref)
        if schema is not None:
            click.echo(
                f"note: the files' modeline names {schema}, which does not exist: write it with "
                f"`ld-reconciler schema > {schema}` so that editors check the files",
                err=True,
            )
    _report(result, output, err=to_stdout)
    return 0 if result.ok else 1


def _output(value: str) -> str:
    if not value.strip():
        raise click.BadParameter("give a directory, or - for stdout", param_hint="--output")
    return value


def _schema_ref(value: str) -> str:
    # The reference ends the modeline's comment: a line break would end it early.
    if not value.strip() or value != value.strip() or not value.isprintable():
        raise click.BadParameter(
            "give one path or URL, on one line, without spaces at either end",
            param_hint="--schema-ref",
        )
    return value


def _report(result: Export, output: str, *, err: bool) -> None:
    for problem in result.skipped:
        click.echo(f"not exported: {problem}", err=True)
    for problem in result.notes:
        click.echo(f"note: {problem}", err=True)
    if result.archived_count:
        where = "" if output == "-" else f" (in {Path(output) / result.project / ARCHIVED_DIR})"
        click.echo(
            f"note: {result.archived_count} archived flag(s) exported{where}: a plan shows them "
            "as blocked; keep them out of the files you apply",
            err=True,
        )
    summary = (
        f"Exported {len(result.flags)} flag(s) and {result.link_count} link(s) "
        f"of project {result.project}"
    )
    if result.skipped:
        summary += f"; {len(result.skipped)} flag(s) or link(s) could not be (listed on stderr)"
    if not result.selected:
        summary = f"Project {result.project} has no flags to export"
    click.echo(summary + ".", err=err)
