"""Fixtures of the end-to-end tests: a ``cli`` runner, emulators, a copy of the example flags."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import Emulator, EmulatorConfig
from support.emulators import Emulators

from .support import EXAMPLE_PROJECTS, EXAMPLES, Cli


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def make_emulator(emulators: Emulators) -> Callable[..., Emulator]:
    """Start emulators from ``EmulatorConfig`` fields; all are stopped when the test ends."""

    def make(config: EmulatorConfig | None = None, **fields: Any) -> Emulator:
        if config is None:
            fields.setdefault("projects", EXAMPLE_PROJECTS)
            config = EmulatorConfig(**fields)
        return emulators.start(config)

    return make


@pytest.fixture
def emu(make_emulator: Callable[..., Emulator]) -> Emulator:
    """An empty emulator with the example's projects."""
    return make_emulator()


@pytest.fixture
def example_flags(tmp_path: Path) -> Path:
    """A copy of ``examples/flags`` in the working directory, as ``flags/``."""
    return Path(shutil.copytree(EXAMPLES, tmp_path / "flags"))
