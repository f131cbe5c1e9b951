"""Fixtures every suite may use; the helpers behind them are in ``tests/support``."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest

from support.emulators import Emulators
from support.process import cache_bytecode


def pytest_configure(config: pytest.Config) -> None:
    """Let the suite's child processes cache their bytecode for this run.

    The suite starts the CLI and the emulator as fresh processes more than a thousand
    times. Where ``PYTHONDONTWRITEBYTECODE`` is set (some CI images and containers), each
    would compile the package from source again. They write their bytecode to a directory
    of this run instead, removed when it ends, so no ``__pycache__`` appears in the
    checkout. Done by the first process of a run: pytest-xdist's workers inherit it.
    """
    prefix = tempfile.mkdtemp(prefix="ld-reconciler-tests-bytecode-")
    config.add_cleanup(lambda: shutil.rmtree(prefix, ignore_errors=True))
    cache_bytecode(prefix)


@pytest.fixture
def emulators() -> Iterator[Emulators]:
    """Start emulators with ``emulators.start(config)``; all are stopped when the test ends."""
    started = Emulators()
    yield started
    started.stop_all()
