"""The command line: translates options into calls and results into exit codes.

Each command lives in its own module and is imported only when it runs, so that
``--help`` and ``validate`` do not pay for httpx, deepdiff or the emulator.
Exit codes: 0 success, 1 an expected failure (findings, API errors, stale plan),
2 wrong usage (click), 3 an unexpected error (a bug: the traceback is shown).
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import re
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from reconciler import __version__, notices
from reconciler.errors import ReconcilerError
from reconciler.remote.secret import ScrubFilter, scrub

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BUG = 3

# command name -> "module:attribute" of a click.Command
COMMANDS: dict[str, str] = {
    "validate": "reconciler.commands.validate:validate",
    "plan": "reconciler.commands.reconcile:plan",
    "apply": "reconciler.commands.reconcile:apply",
    "schema": "reconciler.commands.validate:schema",
    "init": "reconciler.commands.init:init",
    "export": "reconciler.commands.export:export",
    "ledger": "reconciler.commands.ledger:ledger",
    "github": "reconciler.commands.github:github",
    "emulator": "reconciler.emulator.cli:emulator",
}

# Commands that talk to LaunchDarkly at length, or serve: the collector stays on (see main).
KEEP_COLLECTING = frozenset({"apply", "export", "emulator"})


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(map(len, COMMANDS))
        # A Command of the summary alone, for click's own shortening of it.
        rows = [
            (name, click.Command(name, help=_summary(name)).get_short_help_str(limit))
            for name in COMMANDS
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _summary(name: str) -> str:
    """The command's docstring, up to its first blank line, read from its source file:
    importing the command to list it would import all it needs (for ``emulator``, the
    whole server) on every ``--help``."""
    module_name, attr = COMMANDS[name].split(":")
    source = Path(__file__).parent.joinpath(*module_name.split(".")[1:]).with_suffix(".py")
    found = re.search(
        rf'^def {attr}\(.*?""" *(.*?)(?:\n *\n|""")', source.read_text("utf-8"), re.M | re.S
    )
    return " ".join(found.group(1).split()) if found else ""


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
    """Run the CLI, turning expected failures into one line and exit 1, a bug into its
    traceback and exit 3.

    Run as the program itself (``argv`` None: the console script, ``python -m reconciler``),
    it makes the run's two process-wide decisions, here and nowhere else; called with
    ``argv`` (tests, other programs) it makes neither, and leaves the interpreter as it
    found it. Both were measured (``python -m tests.perf``):

    - The cyclic garbage collector is off for a command that builds and exits (``validate``,
      ``plan``, ...). Validating and planning 10,000 flags build millions of small
      containers, acyclic and all kept to the end; the collector, triggered by allocations,
      rescanned them again and again (it doubled the time of loading the flag files and of
      loading the ledger). Reference counting still frees whatever is dropped. It stays on
      for ``KEEP_COLLECTING``: their requests leave garbage in cycles (an apply without the
      collector peaked 22% higher over 2,000 creates), and the emulator is a server.
    - The process ends with ``os._exit`` (see ``_exit_at_once``).
    """
    program = argv is None
    if program and _command(sys.argv[1:]) not in KEEP_COLLECTING:
        gc.disable()
    notices.listen(_notice)
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
    finally:
        notices.listen(None)  # main may be called again in this process (tests, programs)
    code = rv if isinstance(rv, int) else EXIT_OK
    if program:
        _exit_at_once(code)
    sys.exit(code)


def _notice(text: str) -> None:
    """A notice (``reconciler.notices``): one line on stderr, secrets scrubbed."""
    click.echo(scrub(text), err=True)


def _command(args: list[str]) -> str | None:
    """The command named in ``args`` (the group's own options are flags: no values)."""
    return next((arg for arg in args if not arg.startswith("-")), None)


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
