"""Fixtures of the workflow tests: a fake GitHub over loopback, a pull request's event file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

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
