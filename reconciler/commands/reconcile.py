"""``ld-reconciler plan`` and ``ld-reconciler apply``: options in, exit codes out."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler import reconcile
from reconciler.commands.configuration import (
    command_config,
    command_paths,
    format_option,
    seconds_option,
)
from reconciler.commands.validate import FLAG_PATHS
from reconciler.config.configuration import CONFIG_NAME
from reconciler.errors import ConfigError, ValidationFailed
from reconciler.plan import policies
from reconciler.plan.plan import Action, Kind, Plan
from reconciler.plan.render import RENDERERS, configuration_listing, use_color
from reconciler.plan.saved import save_plan
from reconciler.progress import ApplyInterrupted, ApplyResult
from reconciler.remote.secret import scrub

F = TypeVar("F", bound=Callable[..., Any])

PROGRESS_ENV = "LD_RECONCILER_PROGRESS_INTERVAL"
PROGRESS_INTERVAL = 5.0
"""Seconds between the counts lines of an apply whose output is not a terminal."""
TICKER_JOIN = 5.0
"""Seconds to wait for the counts line being printed when the apply ends."""

TARGET_OPTIONS = (
    click.option(
        "--base-url",
        envvar="LAUNCHDARKLY_BASE_URL",
        help="LaunchDarkly's URL [env LAUNCHDARKLY_BASE_URL; default: baseUrl in "
        f"{CONFIG_NAME}, else {reconcile.DEFAULT_BASE_URL}].",
    ),
    click.option(
        "--ledger",
        "ledger_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"The ledger file [default: ledger in {CONFIG_NAME}, else "
        f"{reconcile.DEFAULT_LEDGER}; {reconcile.EMULATOR_LEDGER} with --emulator; "
        f"both next to {CONFIG_NAME}].",
    ),
    click.option(
        "--emulator",
        is_flag=True,
        help="Run against the bundled emulator in-process (data kept under .ld-reconciler/).",
    ),
)
"""The options that choose the LaunchDarkly instance and its ledger."""

TIMEOUT_OPTION = seconds_option("--timeout", 0.1, 30.0, "Seconds to wait for each response.")


def options(*decorators: Callable[[Any], Any]) -> Callable[[F], F]:
    """One decorator of click ``decorators``, the first the outermost (shown first)."""

    def decorate(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return decorate


def common_options(func: F) -> F:
    """The options every command that talks to LaunchDarkly shares."""
    paths = click.argument("paths", nargs=-1, type=FLAG_PATHS)
    return options(paths, *TARGET_OPTIONS, TIMEOUT_OPTION)(func)


ADOPT_DRIFTED_OPTION = click.option(
    "--adopt-drifted",
    is_flag=True,
    help="Adopt flags and links that exist in LaunchDarkly with other settings than the "
    "files say, recording their differences as accepted (default: report them as drift).",
)


def _findings(error: ValidationFailed) -> int:
    for line in policies.text_lines(error.findings):
        click.echo(line, err=True)
    errors = sum(1 for f in error.findings if f.is_error)
    warnings = len(error.findings) - errors
    noted = f" and {warnings} warning(s)" if warnings else ""
    click.echo(f"{errors} problem(s){noted} in the flag files: nothing was planned.", err=True)
    return 1


def _warnings(plan: Plan) -> None:
    """The policies' warnings, on stderr before the plan (stdout may be JSON)."""
    for line in policies.text_lines(plan.findings):
        click.echo(line, err=True)


@click.command()
@common_options
@click.option("--offline", is_flag=True, help="Plan from the ledger alone; no token needed.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan as JSON, to apply it exactly with `apply --plan`.",
)
@format_option(RENDERERS, "How to show the plan.")
@ADOPT_DRIFTED_OPTION
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when something would be created or adopted, 0 when nothing, 1 on error.",
)
def plan(
    paths: tuple[str, ...],
    base_url: str | None,
    ledger_path: Path | None,
    emulator: bool,
    timeout: float,
    offline: bool,
    out: Path | None,
    fmt: str,
    adopt_drifted: bool,
    detailed_exitcode: bool,
) -> int:
    """Show what apply would create, adopt, and what drifted.

    PATHS: flag files or directories; none given, the paths ld-reconciler.yaml sets.
    """
    endpoint = reconcile.Endpoint(base_url, ledger_path, emulator, timeout)
    config = command_config()
    try:
        run = reconcile.plan_run(
            command_paths(paths, config),
            endpoint,
            offline=offline,
            adopt_drifted=adopt_drifted,
            config=config,
        )
    except ValidationFailed as e:
        return _findings(e)
    result = run.plan
    if fmt != "github":  # there, each warning is an annotation of the plan's own
        _warnings(result)
    if run.note:
        click.echo(run.note, err=True)
    click.echo(RENDERERS[fmt].render(result, color=use_color(sys.stdout)), nl=False)
    if fmt == "text" and _verbose():
        click.echo(configuration_listing(result), nl=False)
    if out is not None:
        save_plan(out, result)
        # On stderr: stdout is the plan itself, which may be JSON for a machine.
        command = reconcile.command_line("apply", "--plan", out, *endpoint.options)
        click.echo(scrub(f"Saved the plan to {out}; apply it with: {command}"), err=True)
    if result.of(Kind.BLOCKED):
        return 1
    if detailed_exitcode and result.has_changes:
        return 2
    return 0


@click.command()
@common_options
@click.option(
    "--yes",
    "-y",
    is_flag=True,
    help="Apply without asking (required when not on a terminal; a saved plan never asks).",
)
@click.option(
    "--plan",
    "saved_plan",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Apply this saved plan exactly, without asking, to the flag files it records (PATHS "
    "may be left out); refused if anything changed since it was made.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="How many creates may run at once (the rate limits still apply).",
)
@click.option(
    "--lock-wait",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds to wait for another apply to release the ledger (and, with --emulator, "
    "another --emulator run to release the emulator's data).",
)
@ADOPT_DRIFTED_OPTION
def apply(
    paths: tuple[str, ...],
    base_url: str | None,
    ledger_path: Path | None,
    emulator: bool,
    timeout: float,
    yes: bool,
    saved_plan: Path | None,
    concurrency: int,
    lock_wait: float,
    adopt_drifted: bool,
) -> int:
    """Create what is missing in LaunchDarkly, then record it in the ledger.

    PATHS: flag files or directories; none given, the paths ld-reconciler.yaml sets, or with
    --plan, the flag files the saved plan records.
    """
    config = command_config()
    # A saved plan records its own flag files: the configuration's are not asked for.
    paths = paths if saved_plan is not None else command_paths(paths, config)
    endpoint = reconcile.Endpoint(base_url, ledger_path, emulator, timeout)
    shown: list[Plan] = []

    def show(plan: Plan) -> None:
        shown.append(plan)
        _show(plan)

    try:
        run = reconcile.apply_run(
            paths,
            endpoint,
            saved_plan=saved_plan,
            concurrency=concurrency,
            lock_wait=lock_wait,
            show_plan=show,
            # A saved plan was reviewed when it was made: applying it is the confirmation.
            confirm=None if yes or saved_plan is not None else _confirm(endpoint),
            progress=_LineProgress(sys.stdout.isatty(), _progress_interval()),
            adopt_drifted=adopt_drifted,
            config=config,
        )
    except ValidationFailed as e:
        return _findings(e)
    except ApplyInterrupted as stop:
        again = reconcile.command_line("apply", *shown[-1].paths, *endpoint.options)
        click.echo(scrub(_interrupted(stop, again)), err=True)
        raise click.exceptions.Abort() from None
    if run.declined:
        raise click.exceptions.Abort()
    if run.plan.of(Kind.BLOCKED):
        click.echo("Apply refused: blocked actions cannot be created.", err=True)
        return 1
    if run.refreshed:
        click.echo(
            f"Updated the ledger's record of {len(run.refreshed)} resource(s) whose files "
            "and LaunchDarkly agree again."
        )
    if run.outcome is None:
        click.echo(_nothing_to_create(run.plan))
        return 0
    _report(run.outcome)
    return 0 if run.outcome.ok else 1


def _progress_interval() -> float:
    """Seconds between the counts lines of an apply not on a terminal (``PROGRESS_ENV``)."""
    value = os.environ.get(PROGRESS_ENV, "").strip()
    try:
        interval = float(value) if value else PROGRESS_INTERVAL
    except ValueError:
        raise ConfigError(f"{PROGRESS_ENV}={value}: not a number of seconds") from None
    if not 0 < interval <= 3600:
        raise ConfigError(f"{PROGRESS_ENV}={value}: must be more than 0 and at most 3600 seconds")
    return interval


def _show(result: Plan) -> None:
    _warnings(result)
    click.echo(RENDERERS["text"].render(result, color=use_color(sys.stdout)), nl=False)
    if _verbose():
        click.echo(configuration_listing(result), nl=False)


def _verbose() -> bool:
    """Whether the global ``-v`` was given: the text plan then lists the created flags
    that differ from the current configuration."""
    return bool(click.get_current_context().find_root().params.get("verbose"))


def _confirm(endpoint: reconcile.Endpoint) -> Callable[[Plan], bool]:
    """Asks on a terminal; elsewhere says the whole command that applies without asking."""

    def confirm(result: Plan) -> bool:
        if not sys.stdin.isatty():
            again = reconcile.command_line("apply", *result.paths, *endpoint.options, "--yes")
            raise ConfigError(
                f"not on a terminal: pass --yes to apply without confirmation: {again}"
            )
        counts = result.counts
        question = (
            f"Create {counts[Kind.CREATE]} and adopt {counts[Kind.ADOPT]} resource(s) "
            f"in {result.target}?"
        )
        return click.confirm(question, default=False)

    return confirm


class _LineProgress:
    """One line per finished resource (CI logs), or one updating line on a terminal. Not on
    a terminal, a line with the counts every ``interval`` seconds too, so that a long apply,
    or one whose creates wait on retries, is never silent in a CI log."""

    def __init__(self, tty: bool, interval: float) -> None:
        self.tty = tty
        self.interval = interval
        self.total = 0
        self.done = 0
        self.counts: Counter[str] = Counter()
        self._began = time.monotonic()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def started(self, total: int) -> None:
        self.total = total
        self._began = time.monotonic()
        if not self.tty and total:
            self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            click.echo(self.counts_line())

    def counts_line(self) -> str:
        """``Progress: created 120 of 400, 3 failed, 12 s``."""
        counts = self.counts
        text = f"Progress: created {counts['created']} of {self.total}"
        if counts["adopted"]:
            text += f", {counts['adopted']} adopted"
        return f"{text}, {counts['failed']} failed, {time.monotonic() - self._began:.0f} s"

    def finished_one(self, action: Action, outcome: str) -> None:
        self.done += 1
        self.counts[outcome] += 1
        text = f"{outcome} {action.resource} {action.address}"
        if self.tty:
            click.echo(f"\r\033[K[{self.done}/{self.total}] {text}", nl=False)
        else:
            click.echo(text)

    def finished(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(TICKER_JOIN)
        if self.tty and self.total:
            click.echo()


def _interrupted(stop: ApplyInterrupted, again: str) -> str:
    """What an apply stopped by Ctrl-C did, what it left, and how to finish it."""
    result = stop.result
    text = (
        f"Interrupted: {len(result.created)} created and {len(result.adopted)} adopted, "
        "all recorded in the ledger"
    )
    if result.failed:
        text += f"; {len(result.failed)} failed"
    text += f"; {stop.left} still to create"
    if stop.unfinished:
        text += (
            f" ({stop.unfinished} of them were being sent when a second Ctrl-C stopped the "
            "wait: the next plan shows whether they landed)"
        )
    return f"{text}.\nRun `{again}` again to finish."


def _report(outcome: ApplyResult) -> None:
    for address, reason in outcome.failed:  # scrubbed again: a reason may quote anything
        click.echo(f"failed: {address}: {scrub(reason)}", err=True)
    for address, reason in outcome.skipped:
        click.echo(f"skipped: {address}: {reason}", err=True)
    click.echo(outcome.summary)


def _nothing_to_create(plan: Plan) -> str:
    """What an apply with nothing to create says: drift is not "everything is there"."""
    drifted = len(plan.of(Kind.DRIFT))
    if not drifted:
        return "Nothing to create: LaunchDarkly already has everything declared."
    differ = "1 flag or link differs" if drifted == 1 else f"{drifted:,} flags or links differ"
    return (
        f"Nothing to create: everything declared exists in LaunchDarkly, but {differ} "
        "from the files (drift, listed above); apply only creates, so it changes none of them."
    )
