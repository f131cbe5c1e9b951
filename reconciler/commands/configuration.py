"""The repository configuration as commands get it: ``--config FILE`` or the one found.

``--config`` is an option of the group (``ld-reconciler --config FILE validate``), so
every command reads it from the root context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import click

from reconciler.config.configuration import CONFIG_NAME, Config, load_config


def command_config() -> Config:
    """The configuration named by ``--config``, or found from the working directory."""
    context = click.get_current_context(silent=True)
    explicit = context.find_root().params.get("config_file") if context is not None else None
    return load_config(explicit)


def command_paths(
    paths: tuple[str, ...], config: Config, fallback: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """The flag paths a command reads: those given, or else the configuration's, or
    else ``fallback``.

    None at all is wrong usage, unless the configuration has mistakes: they are what the
    command reports then (its ``paths`` may be one of them).
    """
    paths = paths or config.flag_paths() or fallback
    if not paths and not config.findings:
        raise click.MissingParameter(
            f"Give a flag file or directory, or set paths in {CONFIG_NAME}.",
            param_hint="'PATHS...'",
            param_type="argument",
        )
    return paths


def format_option(choices: Iterable[str], help: str) -> Callable[[Any], Any]:
    """A command's ``--format`` (parameter ``fmt``): one of ``choices``, text by default."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(sorted(choices)),
        default="text",
        show_default=True,
        help=help,
    )


def seconds_option(name: str, minimum: float, default: float, help: str) -> Callable[[Any], Any]:
    """An option of a number of seconds, at least ``minimum``."""
    return click.option(
        name, type=click.FloatRange(min=minimum), default=default, show_default=True, help=help
    )
