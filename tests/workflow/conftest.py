"""Fixtures of the workflow tests: a fake GitHub over loopback, a pull request's event file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.support import EXAMPLE_PROJECTS

from reconciler.emulator import Emulator, EmulatorConfig

from .fake_github import PR_NUMBER, REPOSITORY, FakeGitHub, pull_request_event


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    """A fake GitHub with one open pull request, ``REPOSITORY#PR_NUMBER``."""
    fake = FakeGitHub().start()
    fake.add_pull(REPOSITORY, PR_NUMBER)
    yield fake
    fake.stop()


@pytest.fixture
def pr_event(tmp_path: Path) -> Path:
    """The pull request's event file (GITHUB_EVENT_PATH)."""
    path = tmp_path / "event.json"
    path.write_text(json.dumps(pull_request_event()), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def runner_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``$RUNNER_TEMP`` of the local runner, shared as by the steps of one job.

    The first run of the action installs ld-reconciler there (pip, about ten seconds); the
    others reuse the installation, as a second use of the action in a job does.
    """
    return tmp_path_factory.mktemp("runner-temp")


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """An empty emulator with the example's projects."""
    with Emulator(EmulatorConfig(projects=EXAMPLE_PROJECTS)) as emulator:
        yield emulator
