"""Every workflow, ``action.yml`` and ``.pre-commit-hooks.yaml`` is valid by its published schema.

check-jsonschema carries GitHub's workflow and action schemas (SchemaStore's) in its wheel, so
``--builtin-schema vendor.…`` works offline. pre-commit validates its own manifest.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support.process import python_module

from .support import REPO

WORKFLOWS = sorted(
    [
        *(REPO / ".github" / "workflows").glob("*.y*ml"),
        *(REPO / "examples" / "github-workflows").glob("*.y*ml"),
    ]
)


def check_jsonschema(*args: str | Path) -> subprocess.CompletedProcess[str]:
    # No network: a proxy that refuses every connection would make any download fail.
    env = {
        "PATH": "/usr/bin:/bin",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    return python_module("check_jsonschema", "--no-cache", *args, env=env)


def test_there_are_workflows_to_check() -> None:
    names = {p.relative_to(REPO).as_posix() for p in WORKFLOWS}
    assert {"examples/github-workflows/plan.yml", "examples/github-workflows/apply.yml"} <= names


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_workflow_is_valid_by_githubs_schema(workflow: Path) -> None:
    result = check_jsonschema("--builtin-schema", "vendor.github-workflows", workflow)
    assert result.returncode == 0, result.stdout + result.stderr


def test_action_is_valid_by_githubs_schema() -> None:
    result = check_jsonschema("--builtin-schema", "vendor.github-actions", REPO / "action.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_check_rejects_an_invalid_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n")
    result = check_jsonschema("--builtin-schema", "vendor.github-workflows", broken)
    assert result.returncode == 1
    assert "'stepz' was unexpected" in result.stdout


def test_pre_commit_hooks_manifest_is_valid() -> None:
    result = python_module("pre_commit", "validate-manifest", ".pre-commit-hooks.yaml", cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
