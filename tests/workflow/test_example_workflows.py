"""The workflows users copy (``examples/github-workflows``), run on the local runner.

``plan.yml`` runs on a pull request against the emulator and a fake GitHub; ``apply.yml`` runs
on a push in a real Git clone whose ``origin`` is a bare repository, so its commit of the
ledger is pushed for real. ``uses: your-org/ld-reconciler@…`` runs this repository's action.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e.support import EXAMPLE_PROJECTS, EXAMPLES, posts, stored

from reconciler.emulator import DEV_TOKEN, Emulator
from reconciler.plan.render import MARKER

from .fake_github import PR_NUMBER, REPOSITORY, FakeGitHub, pull_request_event
from .runner import Run, Runner
from .support import REPO

# Longer than the suite's limit per test: each test runs whole workflows, each step
# a child allowed 600 s.
pytestmark = pytest.mark.timeout(900)

WORKFLOWS = REPO / "examples" / "github-workflows"
ACTION = "your-org/ld-reconciler"
LEDGER = ".ld-reconciler/ledger.json"


def git(cwd: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.com",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": "/usr/bin:/bin:/usr/local/bin",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A bare repository holding a flag repository's main branch."""
    seed = tmp_path / "seed"
    shutil.copytree(EXAMPLES, seed / "flags")
    git(tmp_path, "init", "--quiet", "--initial-branch=main", str(seed))
    git(seed, "add", "flags")
    git(seed, "commit", "--quiet", "-m", "Flags")
    git(tmp_path, "clone", "--quiet", "--bare", str(seed), str(tmp_path / "origin.git"))
    return tmp_path / "origin.git"


def clone(origin: Path, where: Path) -> Path:
    git(origin.parent, "clone", "--quiet", str(origin), str(where))
    return where


def workflow_runner(
    workspace: Path,
    temp: Path,
    emu: Emulator,
    *,
    event_name: str,
    event: dict[str, object],
    secrets: dict[str, str],
    fake: FakeGitHub | None = None,
) -> Runner:
    return Runner(
        workspace=workspace,
        temp=temp,
        event_name=event_name,
        event=event,
        secrets=secrets,
        token=fake.token if fake else "ghs_unused",
        api_url=fake.url if fake else "http://127.0.0.1:9",
        actions={ACTION: REPO},
        # LaunchDarkly's URL as a workflow could set it for all its steps.
        env={"LAUNCHDARKLY_BASE_URL": emu.base_url},
    )


# --- plan.yml -------------------------------------------------------------------------------------


def _plan_workflow_on_a_pull_request(
    tmp_path: Path,
    runner_temp: Path,
    emu: Emulator,
    fake_github: FakeGitHub,
    event: dict[str, Any],
    reader_token: str | None,
) -> Run:
    """plan.yml run on ``event`` over a copy of the examples; the reader token is its secret."""
    shutil.copytree(EXAMPLES, tmp_path / "ws" / "flags")
    secrets = {} if reader_token is None else {"LAUNCHDARKLY_READER_TOKEN": reader_token}
    runner = workflow_runner(
        tmp_path / "ws",
        runner_temp,
        emu,
        event_name="pull_request",
        event=event,
        secrets=secrets,
        fake=fake_github,
    )
    return runner.run_workflow(WORKFLOWS / "plan.yml")


def test_plan_workflow_comments_the_plan_and_keeps_the_json_plan(
    tmp_path: Path, runner_temp: Path, emu: Emulator, fake_github: FakeGitHub
) -> None:
    run = _plan_workflow_on_a_pull_request(
        tmp_path, runner_temp, emu, fake_github, pull_request_event(), DEV_TOKEN
    )
    assert run.ok, run.log
    (comment,) = [c["body"] for c in fake_github.comments_of(REPOSITORY, PR_NUMBER)]
    assert comment.startswith(MARKER)
    assert "Planned live against http://127.0.0.1" in comment
    (artifact,) = run.artifacts
    assert artifact["path"].endswith("plan.json")
    assert posts(emu) == 0


def test_plan_workflow_on_a_fork_plans_offline_and_posts_nothing(
    tmp_path: Path, runner_temp: Path, emu: Emulator, fake_github: FakeGitHub
) -> None:
    run = _plan_workflow_on_a_pull_request(
        tmp_path, runner_temp, emu, fake_github, pull_request_event(head="someone/flags"), None
    )  # a fork's pull request gets no secrets
    assert run.ok, run.log
    assert "so this plan is offline" in run.log
    assert fake_github.requests == []
    assert emu.count() == 0
    assert run.summary.startswith(MARKER)  # the plan is in the job summary instead


# --- apply.yml ------------------------------------------------------------------------------------


def apply_runner(workspace: Path, temp: Path, emu: Emulator) -> Runner:
    return workflow_runner(
        workspace,
        temp,
        emu,
        event_name="push",
        event={"ref": "refs/heads/main"},
        secrets={"LAUNCHDARKLY_WRITER_TOKEN": DEV_TOKEN},
    )


def test_apply_workflow_creates_and_commits_the_ledger_back_with_skip_ci(
    tmp_path: Path, runner_temp: Path, emu: Emulator, origin: Path
) -> None:
    workspace = clone(origin, tmp_path / "ws")
    run = apply_runner(workspace, runner_temp, emu).run_workflow(WORKFLOWS / "apply.yml")
    assert run.ok, run.log
    created = sum(len(stored(emu, project)) for project in EXAMPLE_PROJECTS)
    assert created == posts(emu) > 10
    assert git(origin, "log", "--format=%s|%an", "main") == (
        "ld-reconciler: record what apply created [skip ci]|github-actions[bot]\nFlags|Dev\n"
    )
    assert git(origin, "show", "--name-only", "--format=", "main").split() == [LEDGER]

    again = apply_runner(workspace, runner_temp, emu).run_workflow(WORKFLOWS / "apply.yml")
    assert again.ok, again.log
    assert "The ledger is unchanged." in again.log
    assert posts(emu) == created
    assert len(git(origin, "log", "--format=%s", "main").splitlines()) == 2


def test_apply_workflow_rebases_its_ledger_commit_when_main_moved_on(
    tmp_path: Path, runner_temp: Path, emu: Emulator, origin: Path
) -> None:
    workspace = clone(origin, tmp_path / "ws")
    other = clone(origin, tmp_path / "other")  # someone merges while the apply runs
    (other / "README.md").write_text("flags\n", encoding="utf-8")
    git(other, "add", "README.md")
    git(other, "commit", "--quiet", "-m", "Readme")
    git(other, "push", "--quiet", "origin", "main")

    run = apply_runner(workspace, runner_temp, emu).run_workflow(WORKFLOWS / "apply.yml")
    assert run.ok, run.log
    assert "main moved on; rebasing the ledger commit (attempt 1)" in run.log
    assert git(origin, "log", "--format=%s", "main").splitlines() == [
        "ld-reconciler: record what apply created [skip ci]",
        "Readme",
        "Flags",
    ]


def test_apply_workflow_without_the_writer_token_fails_and_commits_nothing(
    tmp_path: Path, runner_temp: Path, emu: Emulator, origin: Path
) -> None:
    workspace = clone(origin, tmp_path / "ws")
    runner = apply_runner(workspace, runner_temp, emu)
    runner.secrets.clear()
    run = runner.run_workflow(WORKFLOWS / "apply.yml")
    assert not run.ok
    assert "There is no ledger yet." in run.log  # the commit step ran, and found nothing
    assert len(git(origin, "log", "--format=%s", "main").splitlines()) == 1


# --- how the examples and the README use the action -------------------------------------------


def _action_steps(document: object) -> Iterator[dict[str, object]]:
    if isinstance(document, dict):
        if str(document.get("uses", "")).split("@")[0].endswith("/ld-reconciler"):
            yield document
        for value in document.values():
            yield from _action_steps(value)
    elif isinstance(document, list):
        for value in document:
            yield from _action_steps(value)


def _readme_yaml_blocks() -> list[object]:
    """The README's YAML blocks that use the action."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = [block.split("```")[0] for block in text.split("```yaml\n")[1:]]
    return [yaml.safe_load(block) for block in blocks if "/ld-reconciler@" in block]


def test_every_use_of_the_action_gives_only_inputs_it_declares() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    documents = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in WORKFLOWS.glob("*.yml")]
    uses = [step for doc in [*documents, *_readme_yaml_blocks()] for step in _action_steps(doc)]
    assert len(uses) >= 3  # plan.yml, apply.yml and the README's recipe
    for step in uses:
        given = step.get("with")
        assert isinstance(given, dict), step
        assert set(given) <= set(action["inputs"]), step
        assert given["command"] in ("validate", "plan", "apply")
