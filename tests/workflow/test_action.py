"""``action.yml`` run for real: its bash steps on the local runner, ld-reconciler installed from
this checkout, LaunchDarkly played by the bundled emulator and GitHub by a loopback fake.

The runner's temporary directory is shared by the tests (``runner_temp``), as the steps of one
job share ``$RUNNER_TEMP``, so ld-reconciler is installed once.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from e2e.support import EXAMPLE_PROJECTS, EXAMPLES, posts, stored

from reconciler.emulator import DEV_TOKEN, Emulator
from reconciler.plan.render import MARKER

from .fake_github import BOT, PAT, PR_NUMBER, REPOSITORY, FakeGitHub, pull_request_event
from .runner import Run, Runner
from .support import REPO

# Longer than the suite's limit per test: each test runs the action's steps, each
# a child allowed 600 s.
pytestmark = pytest.mark.timeout(900)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A flag repository: the examples as ``flags/``."""
    shutil.copytree(EXAMPLES, tmp_path / "ws" / "flags")
    return tmp_path / "ws"


def runner(
    workspace: Path,
    temp: Path,
    fake: FakeGitHub | None = None,
    *,
    event_name: str = "pull_request",
    event: dict[str, object] | None = None,
) -> Runner:
    return Runner(
        workspace=workspace,
        temp=temp,
        event_name=event_name,
        event=pull_request_event() if event is None else event,
        repository=REPOSITORY,
        token=fake.token if fake else "ghs_unused",
        api_url=fake.url if fake else "http://127.0.0.1:9",
    )


def run_action(r: Runner, **inputs: str) -> Run:
    return r.run_action(REPO, {k.replace("_", "-"): v for k, v in inputs.items()})


def only_masked(run: Run, token: str) -> bool:
    """The token appears in the log only in the command that masks it."""
    lines = [line for line in run.log.splitlines() if token in line]
    return lines == [f"::add-mask::{token}"]


def plan_comments(fake: FakeGitHub) -> list[str]:
    return [c["body"] for c in fake.comments_of(REPOSITORY, PR_NUMBER) if MARKER in c["body"]]


def test_plan_on_a_pull_request_annotates_summarises_and_comments_once(
    workspace: Path, runner_temp: Path, emu: Emulator, fake_github: FakeGitHub
) -> None:
    fake_github.add_comment(REPOSITORY, PR_NUMBER, "LGTM")
    r = runner(workspace, runner_temp, fake_github)
    first = run_action(r, command="plan", path="flags", base_url=emu.base_url, token=DEV_TOKEN)
    assert first.ok, first.log
    assert first.outputs["exit-code"] == "2"
    plan = json.loads(Path(first.outputs["plan-file"]).read_text(encoding="utf-8"))
    assert plan["mode"] == "live"
    assert int(first.outputs["creates"]) == plan["summary"]["create"] > 10
    notices = [a for a in first.annotations if a.level == "notice"]
    assert len(notices) == plan["summary"]["create"]
    assert all(a.properties.startswith("file=flags/") for a in notices)
    assert first.summary.startswith(MARKER)  # the Markdown plan, in the job summary
    (comment,) = plan_comments(fake_github)
    assert f"**Plan: {plan['summary']['create']} to create.**" in comment
    assert only_masked(first, DEV_TOKEN)
    assert posts(emu) == 0  # plan creates nothing

    second = run_action(r, command="plan", path="flags", base_url=emu.base_url, token=DEV_TOKEN)
    assert second.ok, second.log
    assert len(plan_comments(fake_github)) == 1
    assert fake_github.comments_of(REPOSITORY, PR_NUMBER)[0]["body"] == "LGTM"
    assert "Installing ld-reconciler" not in second.log  # the job's installation is reused
    assert "ld-reconciler, version " in second.log


def test_without_a_token_the_plan_is_offline_and_still_commented(
    workspace: Path, runner_temp: Path, fake_github: FakeGitHub
) -> None:
    run = run_action(runner(workspace, runner_temp, fake_github), command="plan", path="flags")
    assert run.ok, run.log
    assert run.outputs["exit-code"] == "2"
    assert "so this plan is offline, from the ledger alone" in run.log
    (comment,) = plan_comments(fake_github)
    assert "Planned offline from the ledger" in comment


def test_on_a_pull_request_from_a_fork_the_comment_is_skipped_with_a_notice(
    workspace: Path, runner_temp: Path, fake_github: FakeGitHub
) -> None:
    fork = pull_request_event(head="someone/flags")
    run = run_action(runner(workspace, runner_temp, fake_github, event=fork), path="flags")
    assert run.ok, run.log
    assert plan_comments(fake_github) == []
    assert not [m for m, _, _ in fake_github.requests if m != "GET"]
    assert any("from a fork" in a.message for a in run.annotations if a.level == "notice")


def test_a_read_only_token_degrades_to_a_warning_not_a_failure(
    workspace: Path, runner_temp: Path, fake_github: FakeGitHub
) -> None:
    fake_github.read_only = True  # e.g. a Dependabot pull request
    run = run_action(runner(workspace, runner_temp, fake_github), path="flags")
    assert run.ok, run.log
    assert run.outputs["exit-code"] == "2"
    assert "GitHub answered 403 (Resource not accessible by integration)" in run.log
    assert any("could not be posted" in a.message for a in run.annotations if a.level == "warning")


def test_findings_are_annotations_on_the_files_the_check_fails_and_the_comment_says_so(
    workspace: Path, runner_temp: Path, fake_github: FakeGitHub
) -> None:
    (workspace / "flags" / "broken.yaml").write_text(
        "project: web-app\nflags:\n  - key: Bad key!\n    name: x\n", encoding="utf-8"
    )
    run = run_action(runner(workspace, runner_temp, fake_github), path="flags")
    assert not run.ok
    assert run.outputs["exit-code"] == "1"
    assert run.outputs["plan-file"] == ""
    errors = [a for a in run.annotations if a.level == "error"]
    assert errors
    assert errors[0].properties.startswith("file=flags/broken.yaml,line=3,col=10,")
    (comment,) = plan_comments(fake_github)
    assert "The flag files have problems: nothing was planned." in comment
    assert "flags/broken.yaml:3:10: flags[0].key:" in comment


def test_a_plan_that_fails_fails_the_check_and_replaces_the_stale_plan_comment(
    workspace: Path, runner_temp: Path, emu: Emulator, fake_github: FakeGitHub
) -> None:
    stale = f"{MARKER}\nPlan: 3 to create."
    fake_github.add_comment(REPOSITORY, PR_NUMBER, stale, user=fake_github.login)
    wrong = "api-not-a-valid-token-1234"
    r = runner(workspace, runner_temp, fake_github)
    run = run_action(r, path="flags", base_url=emu.base_url, token=wrong)
    assert not run.ok
    assert run.outputs["exit-code"] == "1"
    (comment,) = plan_comments(fake_github)
    assert "**ld-reconciler could not make the plan** (exit 1)" in comment
    assert "401" in comment  # LaunchDarkly's answer, from the plan's error output
    assert "https://github.com/acme/flags/actions/runs/4242" in comment
    assert wrong not in comment
    assert only_masked(run, wrong)


@pytest.mark.parametrize(
    ("login", "comment_author"),
    [
        # github-token is a GitHub App's, which GitHub will not name: comment-author does.
        pytest.param("flag-bot[bot]", "flag-bot[bot]", id="comment-author names the login"),
        # An empty comment-author: the workflow's token, whose comment is the actions bot's.
        pytest.param(BOT, "", id="empty comment-author, the workflow's token"),
    ],
)
def test_comment_author_names_whose_plan_comment_is_updated(
    workspace: Path, runner_temp: Path, fake_github: FakeGitHub, login: str, comment_author: str
) -> None:
    fake_github.login = login
    ours = fake_github.add_comment(REPOSITORY, PR_NUMBER, f"{MARKER}\nold", user=login)
    r = runner(workspace, runner_temp, fake_github)
    run = run_action(r, path="flags", comment_author=comment_author)
    assert run.ok, run.log
    assert [a for a in run.annotations if a.level == "warning"] == []
    (comment,) = fake_github.comments_of(REPOSITORY, PR_NUMBER)
    assert comment["id"] == ours
    assert "Planned offline from the ledger" in comment["body"]


def test_with_a_personal_github_token_the_one_comment_is_updated_without_comment_author(
    workspace: Path, runner_temp: Path, fake_github: FakeGitHub
) -> None:
    fake_github.login = "alice"
    r = runner(workspace, runner_temp, fake_github)
    fake_github.token = PAT  # github-token is alice's, the workflow's token is not used
    for _ in range(2):
        run = run_action(r, path="flags", github_token=PAT)
        assert run.ok, run.log
        assert [a for a in run.annotations if a.level == "warning"] == []
    (comment,) = fake_github.comments_of(REPOSITORY, PR_NUMBER)
    assert comment["user"]["login"] == "alice"


def test_a_github_apps_token_without_comment_author_warns_which_login_to_name(
    workspace: Path, runner_temp: Path, fake_github: FakeGitHub
) -> None:
    fake_github.login = "flag-bot[bot]"  # an installation token: GitHub will not say who
    run = run_action(runner(workspace, runner_temp, fake_github), path="flags")
    assert run.ok, run.log
    assert [a.message for a in run.annotations if a.level == "warning"] == [
        "the comment was posted as flag-bot[bot], so the next run will not find it: "
        "pass --author flag-bot[bot] (the action's comment-author input)"
    ]
    assert len(plan_comments(fake_github)) == 1


def test_comment_false_posts_nothing(
    workspace: Path, runner_temp: Path, fake_github: FakeGitHub
) -> None:
    run = run_action(runner(workspace, runner_temp, fake_github), path="flags", comment="false")
    assert run.ok, run.log
    assert fake_github.requests == []


def test_validate_checks_the_files_and_makes_no_plan(workspace: Path, runner_temp: Path) -> None:
    run = run_action(
        runner(workspace, runner_temp, event_name="push", event={}), command="validate"
    )
    assert run.ok, run.log
    assert run.outputs == {"creates": "", "exit-code": "0", "plan-file": ""}
    assert "flags, " in run.log
    assert ": valid" in run.log


def test_apply_creates_what_the_plan_shows_and_records_it_in_the_ledger(
    workspace: Path, runner_temp: Path, emu: Emulator
) -> None:
    r = runner(workspace, runner_temp, event_name="push", event={"ref": "refs/heads/main"})
    ledger = ".ld-reconciler/ledger.json"
    first = run_action(r, command="apply", base_url=emu.base_url, ledger=ledger, token=DEV_TOKEN)
    assert first.ok, first.log
    assert first.outputs["exit-code"] == "0"
    created = sum(len(stored(emu, project)) for project in EXAMPLE_PROJECTS)
    assert int(first.outputs["creates"]) == created == posts(emu)
    assert (workspace / ledger).is_file()
    assert only_masked(first, DEV_TOKEN)

    again = run_action(r, command="apply", base_url=emu.base_url, ledger=ledger, token=DEV_TOKEN)
    assert again.ok, again.log
    assert (again.outputs["exit-code"], again.outputs["creates"]) == ("0", "0")
    assert posts(emu) == created


def test_apply_without_a_token_fails_saying_so(workspace: Path, runner_temp: Path) -> None:
    run = run_action(runner(workspace, runner_temp, event_name="push", event={}), command="apply")
    assert not run.ok
    assert run.outputs["exit-code"] == "1"
    assert "apply needs the token input" in run.annotations[-1].message


def test_an_unknown_command_fails_saying_which_are_known(
    workspace: Path, runner_temp: Path
) -> None:
    run = run_action(runner(workspace, runner_temp), command="destroy", comment="false")
    assert not run.ok
    assert run.annotations[-1].message == (
        "the command input must be validate, plan or apply, not 'destroy'"
    )


CONFIGURED = """\
paths: [launchdarkly]
ledger: state/ledger.json
templates:
  kill-switch:
    temporary: false
    variations:
      - {value: true, name: Enabled}
      - {value: false, name: Disabled}
    defaults: {onVariation: 0, offVariation: 1}
"""
KILL_SWITCH = (
    "project: web-app\nflags:\n  - {key: kill-orders, name: Kill orders, template: kill-switch}\n"
)


@pytest.fixture
def configured(tmp_path: Path) -> Path:
    """A flag repository with an ld-reconciler.yaml: its flags under launchdarkly/, one
    flag naming a template, the ledger under state/."""
    ws = tmp_path / "configured"
    shutil.copytree(EXAMPLES, ws / "launchdarkly")
    (ws / "launchdarkly" / "web-app" / "kill.yaml").write_text(KILL_SWITCH)
    (ws / "ld-reconciler.yaml").write_text(CONFIGURED)
    return ws


def test_without_a_path_input_the_configurations_paths_and_templates_are_used(
    configured: Path, runner_temp: Path, emu: Emulator
) -> None:
    r = runner(configured, runner_temp, event_name="push", event={"ref": "refs/heads/main"})
    run = run_action(r, command="apply", base_url=emu.base_url, token=DEV_TOKEN)
    assert run.ok, run.log
    assert run.outputs["exit-code"] == "0"
    (kill,) = (f for f in emu.flags("web-app") if f["key"] == "kill-orders")
    assert [v["name"] for v in kill["variations"]] == ["Enabled", "Disabled"]
    assert int(run.outputs["creates"]) == sum(len(stored(emu, p)) for p in EXAMPLE_PROJECTS)
    assert (configured / "state" / "ledger.json").is_file()  # the configured ledger
    assert not (configured / ".ld-reconciler" / "ledger.json").exists()


def test_a_mistake_in_the_configuration_is_an_annotation_on_its_line(
    configured: Path, runner_temp: Path
) -> None:
    config = configured / "ld-reconciler.yaml"
    config.write_text(CONFIGURED.replace("temporary:", "temprary:"))
    run = run_action(
        runner(configured, runner_temp, event_name="push", event={}), command="validate"
    )
    assert not run.ok
    assert run.outputs["exit-code"] == "1"
    (error,) = (a for a in run.annotations if "temprary" in a.message)
    assert error.properties.startswith("file=ld-reconciler.yaml,line=5,col=5")
