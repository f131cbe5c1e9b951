"""Fixtures every suite may use; the helpers behind them are in ``tests/support``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.emulators import Emulators


@pytest.fixture
def emulators() -> Iterator[Emulators]:
    """Start emulators with ``emulators.start(config)``; all are stopped when the test ends."""
    started = Emulators()
    yield started
    started.stop_all()
