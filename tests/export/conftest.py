"""Fixtures of the export tests: the CLI in a temporary directory, a seeded emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator import Emulator, EmulatorConfig

from .support import PROJECT, Cli, add_unexpressible, seed_shop


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Emulator]:
    """A running emulator whose project ``shop`` holds every kind of flag, and a few that a
    flag file cannot declare."""
    data = tmp_path / "emulator" / "data.json"
    data.parent.mkdir()
    config = EmulatorConfig(projects=(PROJECT,), data_path=data)
    seeding = Emulator(config)
    seed_shop(seeding)
    seeding.stop()  # releases the data file, which add_unexpressible then edits
    add_unexpressible(data)
    with Emulator(config) as emu:
        yield emu
