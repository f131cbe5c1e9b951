"""``ld-reconciler emulator``: options in, an ``Emulator`` run until Ctrl-C or SIGTERM.

The first line on stdout is always ``LaunchDarkly emulator listening on <URL>`` (flushed), so
scripts can start it with ``--port 0`` and read the URL. Request lines go to stderr unless
``--quiet``. Bad option values are usage errors (exit 2); exit 0 after a clean shutdown.
"""

from __future__ import annotations

import ipaddress
import math
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import click

from reconciler.emulator.config import (
    DEFAULT_PROJECT,
    DEFAULT_STALL_SECONDS,
    DEV_TOKEN,
    MAX_DELAY_SECONDS,
    EmulatorConfig,
    Faults,
    parse_latency,
    parse_rate_limit,
)
from reconciler.emulator.datafile import Claim
from reconciler.emulator.emulator import Emulator
from reconciler.emulator.validation import KEY_PATTERN

DEFAULT_PORT = 8765
_FAULT_OPTIONS = ("fail_rate", "throttle_rate", "drop_rate", "stall_rate", "stall_seconds")


class _FiniteFloatRange(click.FloatRange):
    """``click.FloatRange`` lets NaN through (every comparison with it is False): refuse it."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


RATE = _FiniteFloatRange(0.0, 1.0)


def _rate_limit(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    try:
        return None if value is None else parse_rate_limit(value)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from None


def _latency(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    try:
        return (0.0, 0.0) if value is None else parse_latency(value)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from None


def _project_keys(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Any:
    for key in value:
        if not KEY_PATTERN.fullmatch(key):
            raise click.BadParameter(f"{key!r} is not a valid project key", ctx, param)
    return value or (DEFAULT_PROJECT,)


def _tokens(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Any:
    if any(not t.strip() for t in value):
        raise click.BadParameter("a token must not be empty", ctx, param)
    return value or (DEV_TOKEN,)


@click.command(
    "emulator",
    epilog=f"Without --token, the development token {DEV_TOKEN!r} is accepted.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--token",
    "tokens",
    multiple=True,
    callback=_tokens,
    help="An accepted access token (repeatable).",
)
@click.option(
    "--project",
    "projects",
    multiple=True,
    callback=_project_keys,
    help=f"A project that exists (repeatable; default {DEFAULT_PROJECT!r}).",
)
@click.option(
    "--data",
    "data_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep everything in this file across restarts.",
)
@click.option(
    "--seed-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Pre-populate projects, flags and links from this JSON or YAML file.",
)
@click.option(
    "--rate-limit",
    metavar="N/SECONDS",
    callback=_rate_limit,
    help="Per-route limit, e.g. 20/10 (20 requests per 10 s window).",
)
@click.option(
    "--global-rate-limit",
    metavar="N/SECONDS",
    callback=_rate_limit,
    help="Global limit across all routes, e.g. 100/10.",
)
@click.option(
    "--retry-after-mode",
    is_flag=True,
    help="Rate-limit like LaunchDarkly's IP limits: Retry-After instead of X-Ratelimit-Reset.",
)
@click.option("--fail-rate", type=RATE, default=0.0, help="Share of requests answered 5xx.")
@click.option("--throttle-rate", type=RATE, default=0.0, help="Share of extra 429s.")
@click.option(
    "--drop-rate", type=RATE, default=0.0, help="Share processed, then the connection dropped."
)
@click.option(
    "--stall-rate", type=RATE, default=0.0, help="Share processed, then the response held back."
)
@click.option(
    "--stall-seconds",
    type=_FiniteFloatRange(0.0, MAX_DELAY_SECONDS),
    default=DEFAULT_STALL_SECONDS,
    show_default=True,
    help="How long a stalled response is held before the connection is closed.",
)
@click.option(
    "--latency-ms",
    metavar="MS[:JITTER]",
    callback=_latency,
    help="Added latency: fixed ms, plus up to JITTER ms at random.",
)
@click.option("--seed", type=int, help="Seed for the fault injector (reproducible faults).")
@click.option("--quiet", is_flag=True, help="Do not log requests.")
@click.option("--echo-token-in-errors", is_flag=True, hidden=True)
def emulator(*, latency_ms: tuple[float, float], quiet: bool, **options: Any) -> int:
    """Run a local LaunchDarkly-compatible API server (flags and flag links)."""
    if options["fail_rate"] + options["throttle_rate"] > 1:
        raise click.UsageError("--fail-rate plus --throttle-rate must not exceed 1")
    if options["drop_rate"] + options["stall_rate"] > 1:
        raise click.UsageError("--drop-rate plus --stall-rate must not exceed 1")
    latency, jitter = latency_ms
    try:
        # Each other option is named after the Faults or EmulatorConfig field it sets.
        faults = Faults(
            latency_ms=latency,
            latency_jitter_ms=jitter,
            **{name: options.pop(name) for name in _FAULT_OPTIONS},
        )
        config = EmulatorConfig(faults=faults, **options)
    except ValueError as e:  # the options above check most of this first, naming themselves
        raise click.UsageError(str(e)) from None
    log: Callable[[str], None] | None = None if quiet else _log_line
    emu = Emulator(config, log=log, claim=Claim(command="ld-reconciler emulator")).start()
    try:
        click.echo(f"LaunchDarkly emulator listening on {emu.base_url}")
        sys.stdout.flush()  # scripts read this line to find the port
        if not _is_loopback(host := config.host):
            click.echo(f"Warning: listening on {host}, reachable beyond this machine.", err=True)
        if not quiet:
            click.echo(f"Projects: {', '.join(emu.store.projects())}", err=True)
            if config.tokens == (DEV_TOKEN,):
                click.echo(f"Accepting the development token {DEV_TOKEN!r}.", err=True)
        _wait_for_signal()
    finally:
        emu.stop()
    return 0


def _log_line(line: str) -> None:
    click.echo(line, err=True)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM, then restore the previous handlers."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
