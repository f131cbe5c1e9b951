"""The repository configuration as commands get it: ``--config FILE`` or the one found.

``--config`` is an option of the group (``ld-reconciler --config FILE validate``), so
every command reads it from the root context.
"""

from __future__ import annotations

import click

from reconciler.config.configuration import Config, load_config


def command_config() -> Config:
    """The configuration named by ``--config``, or found from the working directory."""
    context = click.get_current_context(silent=True)
    explicit = context.find_root().params.get("config_file") if context is not None else None
    return load_config(explicit)
