"""The command line: translates options into calls and results into exit codes.

Each command lives in its own module and is imported only when it runs, so that
``--help`` and ``validate`` do not pay for httpx, deepdiff or the emulator.
Exit codes: 0 success, 1 an expected failure (findings, API errors, stale plan),
2 wrong usage (click), 3 an unexpected error (a bug: the traceback is shown).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import traceback
from importlib.machinery import PathFinder
from typing import Any

import click

from reconciler import __version__
from reconciler.errors import ReconcilerError
from reconciler.remote.secret import ScrubFilter, scrub

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_BUG = 3

# command name -> "module:attribute" of a click.Command
COMMANDS: dict[str, str] = {
    "validate": "reconciler.commands.validate:validate",
    "plan": "reconciler.commands.reconcile:plan",
    "apply": "reconciler.commands.reconcile:apply",
    "schema": "reconciler.commands.validate:schema",
    "init": "reconciler.commands.init:init",
    "export": "reconciler.commands.export:export",
    "github": "reconciler.commands.github:github",
    "emulator": "reconciler.emulator.cli:emulator",
}

SHORT_HELP: dict[str, str] = {
    "validate": "Check flag files; no token, no network.",
    "plan": "Show what apply would create.",
    "apply": "Create what is missing in LaunchDarkly.",
    "schema": "Print the flag-file JSON Schema (or its path).",
    "init": "Start a flag repository: configuration, schemas, an example flag file.",
    "export": "Write flag files for the flags a project already has.",
    "github": "GitHub helpers: the sticky pull-request plan comment.",
    "emulator": "Run a local LaunchDarkly-compatible API server.",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if _available(name)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or not _available(cmd_name):
            return None
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SHORT_HELP[name]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _available(name: str) -> bool:
    """Whether the command's module exists, found without importing it or its package
    (``find_spec("a.b.c")`` would import ``a.b``: for ``--help``, the whole emulator)."""
    module_name = COMMANDS[name].split(":")[0]
    package, _, _ = module_name.rpartition(".")
    package_spec = importlib.util.find_spec(package)
    locations = package_spec.submodule_search_locations if package_spec else None
    return bool(locations) and PathFinder.find_spec(module_name, locations) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ld-reconciler")
@click.option(
    "--verbose",
    "-v",
    count=True,
    help="Log each request, retry and rate-limit wait to stderr; -vv adds httpx's own "
    "debug log. Secrets are scrubbed.",
)
@click.option(
    "--config",
    "config_file",
    metavar="FILE",
    help="The repository configuration (default: ld-reconciler.yaml in the working "
    "directory or its nearest parent that has one).",
)
def cli(verbose: int, config_file: str | None) -> None:
    """Declarative, create-only GitOps for LaunchDarkly flags and flag links."""
    if verbose:
        log_to_stderr(verbose)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is when a record comes (tests swap it per run)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


_handler: logging.Handler | None = None


def log_to_stderr(verbosity: int) -> None:
    """Debug logging to stderr through ``ScrubFilter``: ld-reconciler's own log from 1,
    every library's from 2. Calling it again replaces the previous set-up."""
    global _handler
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    _handler = _StderrHandler()
    _handler.addFilter(ScrubFilter())
    _handler.setFormatter(
        logging.Formatter("%(relativeCreated)9.0f ms %(levelname)-7s %(name)s: %(message)s")
    )
    root.addHandler(_handler)
    logging.getLogger("reconciler").setLevel(logging.DEBUG)
    if verbosity >= 2:
        root.setLevel(logging.DEBUG)


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI, turning expected failures into one line and exit 1."""
    try:
        # Commands return their exit code; click returns it (or an Exit's code) here.
        rv = cli.main(args=argv, prog_name="ld-reconciler", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_FAILURE)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except ReconcilerError as e:
        click.echo(f"Error: {scrub(str(e))}", err=True)
        sys.exit(EXIT_FAILURE)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except BaseException:
        click.echo("ld-reconciler: unexpected error (this is a bug, please report it):", err=True)
        click.echo(scrub(traceback.format_exc()), err=True)
        sys.exit(EXIT_BUG)
    code = rv if isinstance(rv, int) else EXIT_OK
    if argv is None:  # the program itself (console script, python -m), not a caller's process
        _exit_at_once(code)
    sys.exit(code)


def _exit_at_once(code: int) -> None:
    """End the process without freeing its objects one by one.

    A plan of 10,000 flags leaves over a million small objects; tearing them down at
    interpreter exit took 0.3-0.4 s, a tenth of the run (mypy exits this way for the same
    reason). Nothing is left to clean up: files and the ledger are closed, the apply
    workers joined, and logging writes each record at once. Only the standard streams
    need flushing; if that fails (a closed pipe), the normal exit reports it. Under a
    profiler or a coverage tracer, which write their results at exit, the exit is normal.
    """
    if sys.gettrace() is not None or sys.getprofile() is not None:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(code)
