"""The pre-commit hook, in a temporary Git repository: ``pre-commit try-repo``, then
``pre-commit run`` with a config that names the hook as users do.

The hook repository is a snapshot of this checkout's tracked files as they are on disk (what
``try-repo`` itself would use), committed once, so every run uses the same revision.
``try-repo`` installs the hook's environment (pip, from PyPI) in a store of its own each time;
``run`` installs it once for the module, in ``PRE_COMMIT_HOME``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from e2e.support import EXAMPLES

from support.process import python_module

from .support import REPO

# Longer than the suite's limit per test: pre-commit builds the hook's environment
# (a pip install) in a child allowed 600 s.
pytestmark = pytest.mark.timeout(900)

HOOK = "ld-reconciler-validate"
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Dev",
    "GIT_AUTHOR_EMAIL": "dev@example.com",
    "GIT_COMMITTER_NAME": "Dev",
    "GIT_COMMITTER_EMAIL": "dev@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        cmd,
        cwd=cwd,
        env={**os.environ, **_GIT_ENV, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return done.stdout


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This checkout's tracked files, committed in a repository of their own: (path, rev)."""
    snapshot = tmp_path_factory.mktemp("hook-repo")
    for name in _run(["git", "ls-files", "-z"], REPO).split("\0"):
        source = REPO / name
        if name and source.is_file():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    _run(["git", "init", "--quiet"], snapshot)
    _run(["git", "add", "--all"], snapshot)
    _run(["git", "commit", "--quiet", "--no-verify", "-m", "snapshot"], snapshot)
    return snapshot, _run(["git", "rev-parse", "HEAD"], snapshot).strip()


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def flag_repo(tmp_path: Path) -> Path:
    """A user's repository: the examples under flags/, another YAML file elsewhere, all added."""
    repo = tmp_path / "flag-repo"
    shutil.copytree(EXAMPLES, repo / "flags")
    (repo / "deploy").mkdir()
    (repo / "deploy" / "compose.yaml").write_text("services: {web: {image: nginx}}\n")
    _run(["git", "init", "--quiet"], repo)
    _run(["git", "add", "--all"], repo)
    return repo


def _pre_commit(
    cwd: Path, home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return python_module(
        "pre_commit",
        *args,
        cwd=cwd,
        env={
            **os.environ,
            **_GIT_ENV,
            "PRE_COMMIT_HOME": str(home),
            "PRE_COMMIT_COLOR": "never",
            **(env or {}),
        },
        timeout=600,
    )


def run_hook(
    flag_repo: Path, hook_repo: tuple[Path, str], home: Path, *args: str, hook: str = ""
) -> subprocess.CompletedProcess[str]:
    """``pre-commit run`` with a config naming the hook as users do (repo, rev, id)."""
    path, rev = hook_repo
    config = flag_repo / ".pre-commit-config.yaml"
    config.write_text(
        f"repos:\n  - repo: {path}\n    rev: {rev}\n    hooks:\n      - id: {HOOK}\n{hook}"
    )
    _run(["git", "add", "--all"], flag_repo)
    return _pre_commit(flag_repo, home, "run", HOOK, *args)


def test_try_repo_runs_the_hook_on_valid_flag_files(
    flag_repo: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    path, rev = hook_repo
    result = _pre_commit(
        flag_repo, pre_commit_home, "try-repo", str(path), HOOK, "--ref", rev, "--all-files"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ld-reconciler validate" in result.stdout
    assert "Passed" in result.stdout


def test_the_hook_fails_with_every_finding_at_its_file_line_and_column(
    flag_repo: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    broken = flag_repo / "flags" / "web-app" / "broken.yaml"
    broken.write_text("project: web-app\nflags:\n  - key: Bad key!\n    name: x\n    tagz: []\n")
    result = run_hook(flag_repo, hook_repo, pre_commit_home, "--files", "flags/web-app/broken.yaml")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Failed" in result.stdout
    assert "flags/web-app/broken.yaml:3:10: flags[0].key: 'Bad key!' is not a valid key" in (
        result.stdout
    )
    assert (
        "flags/web-app/broken.yaml:5:5: flags[0].tagz: unknown field 'tagz'; did you mean 'tags'?"
        in result.stdout
    )


# The new file's prerequisite is declared in platform.yaml, which is not changed:
# validated alone, the new file would report it missing.
SEARCH = (
    "project: web-app\nflags:\n  - key: search-v2\n    name: Search v2\n"
    "    initialPrerequisites: [{key: recommendations-config, variationIndex: 0}]\n"
)


@pytest.mark.parametrize(
    ("path", "text", "shown"),
    [
        pytest.param(
            "flags/web-app/search.yaml",
            SEARCH,
            "Passed",
            id="a changed file is checked with the files it refers to",
        ),
        pytest.param(
            "deploy/compose.yaml",
            None,
            "(no files to check)Skipped",
            id="yaml outside flags does not run the hook",
        ),
    ],
)
def test_the_hook_passes_on_a_file_that_is_fine_or_not_its_business(
    flag_repo: Path,
    hook_repo: tuple[Path, str],
    pre_commit_home: Path,
    path: str,
    text: str | None,
    shown: str,
) -> None:
    if text is not None:
        (flag_repo / path).write_text(text)
    result = run_hook(flag_repo, hook_repo, pre_commit_home, "--files", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert shown in result.stdout


def test_another_directory_is_configured_with_files_and_args(
    flag_repo: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    (flag_repo / "flags").rename(flag_repo / "launchdarkly")
    (flag_repo / "launchdarkly" / "web-app" / "checkout.yaml").write_text("project: web-app\n")
    override = "        files: ^launchdarkly/\n        args: [launchdarkly]\n"
    result = run_hook(flag_repo, hook_repo, pre_commit_home, "--all-files", hook=override)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "launchdarkly/web-app/checkout.yaml:1:1: missing required field 'flags'" in (
        result.stdout
    )


CONFIG = """\
paths: [launchdarkly]
templates:
  kill-switch:
    variations:
      - {value: true, name: Enabled}
      - {value: false, name: Disabled}
    defaults: {onVariation: 0, offVariation: 1}
"""


@pytest.fixture
def configured_repo(flag_repo: Path) -> Path:
    """The user's repository with an ld-reconciler.yaml naming launchdarkly/, where the
    flags now are, one of them naming a template."""
    (flag_repo / "flags").rename(flag_repo / "launchdarkly")
    (flag_repo / "launchdarkly" / "web-app" / "kill.yaml").write_text(
        "project: web-app\nflags:\n"
        "  - {key: kill-orders, name: Kill orders, template: kill-switch}\n"
    )
    (flag_repo / "ld-reconciler.yaml").write_text(CONFIG)
    return flag_repo


def test_a_change_to_the_configuration_runs_the_hook_on_the_paths_it_sets(
    configured_repo: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    result = run_hook(configured_repo, hook_repo, pre_commit_home, "--files", "ld-reconciler.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout

    config = configured_repo / "ld-reconciler.yaml"
    config.write_text(CONFIG.replace("offVariation: 1", "offVariation: 2"))
    result = run_hook(configured_repo, hook_repo, pre_commit_home, "--files", "ld-reconciler.yaml")
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        'ld-reconciler.yaml:7:46: templates["kill-switch"].defaults.offVariation: 2 is out of '
        "range (the flag has 2 variations, indices 0 to 1); affects flag web-app/kill-orders"
    ) in result.stdout
