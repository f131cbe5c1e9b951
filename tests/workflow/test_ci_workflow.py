"""What the project's own CI (``.github/workflows/ci.yml``) runs, pinned.

Issue 7 asks CI for ruff, mypy and pytest on Python 3.10-3.13, the small chaos run and the
performance smoke run. The last two are tests of the suite, and the smoke run is marked
``slow``: a ``-m 'not slow'`` in the CI command, in ``PYTEST_ADDOPTS`` or in pyproject's
``addopts`` would drop it without a word. So beyond reading the workflow, the test runs CI's
own pytest command with ``--collect-only`` on those files and checks nothing is deselected.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from support.process import python_module

from .support import REPO

CI = REPO / ".github" / "workflows" / "ci.yml"
PERF_SMOKE = "tests/perf/test_perf_smoke.py"
CHAOS = "tests/reliability/test_chaos.py"
# Options that run a part of the suite only.
SELECTING = ("-m", "-k", "--deselect", "--ignore", "--ignore-glob", "--lf", "--last-failed", "--sw")


@pytest.fixture(scope="module")
def ci() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(CI.read_text(encoding="utf-8"))
    return document


def scripts(job: dict[str, Any]) -> list[str]:
    return [str(step["run"]) for step in job["steps"] if "run" in step]


def pytest_commands(ci: dict[str, Any]) -> Iterator[tuple[str, list[str]]]:
    """Each job's pytest invocation: (job, the arguments after ``pytest``)."""
    for name, job in ci["jobs"].items():
        for script in scripts(job):
            for line in script.splitlines():
                words = shlex.split(line, comments=True)
                if words[:3] == ["python", "-m", "pytest"]:
                    end = words.index("||") if "||" in words else len(words)
                    yield name, words[3:end]


def test_the_test_job_runs_ruff_mypy_and_pytest_on_python_3_10_to_3_13(ci: dict[str, Any]) -> None:
    job = ci["jobs"]["test"]
    assert job["strategy"]["matrix"]["python-version"] == ["3.10", "3.11", "3.12", "3.13"]
    setup = next(
        s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/setup-python")
    )
    assert setup["with"]["python-version"] == "${{ matrix.python-version }}"
    commands = [line.strip() for script in scripts(job) for line in script.splitlines()]
    assert "ruff check reconciler tests" in commands
    assert "mypy" in commands
    assert "test" in dict(pytest_commands(ci))


def test_every_pytest_run_in_ci_runs_the_whole_suite(ci: dict[str, Any]) -> None:
    runs = list(pytest_commands(ci))
    assert {job for job, _ in runs} >= {"test", "minimum-versions"}
    for job, args in runs:
        rest = list(args)
        while "-p" in rest:  # plugins, e.g. -p no:cacheprovider
            del rest[rest.index("-p") : rest.index("-p") + 2]
        chosen = [a for a in rest if a.split("=")[0] in SELECTING or not a.startswith("-")]
        assert chosen == [], f"{job}: pytest {' '.join(args)} runs part of the suite"
    environments = [ci.get("env", {})] + [
        env
        for job in ci["jobs"].values()
        for env in (job.get("env", {}), *(s.get("env", {}) for s in job["steps"]))
    ]
    assert not any("PYTEST_ADDOPTS" in env for env in environments)


def test_cis_pytest_command_collects_the_chaos_run_and_the_slow_perf_smoke_run(
    ci: dict[str, Any],
) -> None:
    args = dict(pytest_commands(ci))["test"]
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    done = python_module(
        "pytest", *args, "--collect-only", "-q", PERF_SMOKE, CHAOS, cwd=REPO, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    collected = [line for line in done.stdout.splitlines() if "::" in line]
    assert any(line.startswith(f"{PERF_SMOKE}::") for line in collected), done.stdout
    assert sum(line.startswith(f"{CHAOS}::") for line in collected) >= 3, done.stdout
    assert "deselected" not in done.stdout
    marked = python_module(
        "pytest", "--collect-only", "-q", "-m", "slow", PERF_SMOKE, cwd=REPO, env=env
    )
    # The smoke run is the slow one a `-m 'not slow'` would have dropped.
    assert any(line.startswith(f"{PERF_SMOKE}::") for line in marked.stdout.splitlines())
