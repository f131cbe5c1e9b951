"""Fixtures of the end-to-end tests: a ``cli`` runner, emulators, a copy of the example flags."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import Emulator, EmulatorConfig

from .support import EXAMPLE_PROJECTS, EXAMPLES, Cli


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    """Start emulators from ``EmulatorConfig`` fields; all are stopped when the test ends."""
    started: list[Emulator] = []

    def make(config: EmulatorConfig | None = None, **fields: Any) -> Emulator:
        if config is None:
            fields.setdefault("projects", EXAMPLE_PROJECTS)
            config = EmulatorConfig(**fields)
        emu = Emulator(config).start()
        started.append(emu)
        return emu

    yield make
    for emu in started:
        emu.stop()


@pytest.fixture
def emu(make_emulator: Callable[..., Emulator]) -> Emulator:
    """An empty emulator with the example's projects."""
    return make_emulator()


@pytest.fixture
def example_flags(tmp_path: Path) -> Path:
    """A copy of ``examples/flags`` in the working directory, as ``flags/``."""
    return Path(shutil.copytree(EXAMPLES, tmp_path / "flags"))
