"""What keeps apply safe: the lock, confirmation, the token kept secret, safe URLs, validation."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import DEV_TOKEN, Emulator, Faults
from reconciler.state.lock import ledger_lock

from .support import (
    CREATE_FLAG,
    CREATE_LINK,
    LEDGER,
    LIST_FLAGS,
    Cli,
    changed_in_launchdarkly,
    flag,
    posts,
    target_of,
    write_flags,
)

SECRET = "api-e2e-7f3c9d1be2a04c55-do-not-print"


@pytest.fixture
def web_flags(tmp_path: Path) -> Path:
    return write_flags(tmp_path / "flags" / "web.yaml", "web-app", [
        flag("one", links=[{"key": "doc", "deepLink": "https://docs.example.com/one"}]),
        flag("two"),
    ])  # fmt: skip


def test_apply_fails_fast_while_another_apply_holds_the_ledger_lock(
    cli: Cli, emu: Emulator, web_flags: Path, tmp_path: Path
) -> None:
    with ledger_lock(tmp_path / LEDGER, command="another apply"):
        applied = cli.live(emu, "apply", "flags", "--yes", subprocess=True)
    assert applied.code == 1, applied
    assert f"locked by pid {os.getpid()}" in applied.stderr
    assert "or give apply --lock-wait SECONDS to wait for it" in applied.stderr
    assert posts(emu) == 0
    assert cli.live(emu, "apply", "flags", "--yes").code == 0  # released: it runs


def test_apply_off_a_terminal_without_yes_asks_for_it_and_creates_nothing(
    cli: Cli, emu: Emulator, web_flags: Path
) -> None:
    applied = cli.live(emu, "apply", "flags", subprocess=True)
    assert applied.code == 1, applied
    assert "pass --yes" in applied.stderr
    assert "Traceback" not in applied.stderr
    assert posts(emu) == 0
    assert emu.flags("web-app") == []


def _assert_secret_nowhere(runs: list[object], tmp_path: Path) -> None:
    for run in runs:
        assert SECRET not in str(run)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"the token is in {path}"


def test_token_never_appears_in_output_ledger_or_plan_files(
    cli: Cli, make_emulator: Callable[..., Emulator], web_flags: Path, tmp_path: Path
) -> None:
    emu = make_emulator(tokens=(SECRET,), echo_token_in_errors=True)
    summary = tmp_path / "summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(summary)}

    def live(*args: str) -> object:
        return cli.live(emu, *args, token=SECRET, env=env, subprocess=True)

    runs = [
        live("plan", "flags", "--out", "plan.json"),
        live("plan", "flags", "--format", "markdown"),
        live("plan", "flags", "--format", "json"),
        live("plan", "flags", "--format", "github"),
        live("apply", "flags", "--plan", "plan.json", "--yes"),
        live("apply", "flags", "--yes"),
        cli("plan", "flags", "--offline", env={"LAUNCHDARKLY_ACCESS_TOKEN": SECRET}),
    ]
    assert [getattr(r, "code", None) for r in runs] == [0, 0, 0, 0, 0, 0, 0], runs
    assert (tmp_path / "plan.json").is_file()
    assert summary.is_file()
    assert (tmp_path / LEDGER).is_file()
    _assert_secret_nowhere(runs, tmp_path)


def test_token_echoed_by_a_failing_request_is_scrubbed(
    cli: Cli, make_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = make_emulator(tokens=("api-the-right-one",), echo_token_in_errors=True)
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [flag("one")])
    write_flags(tmp_path / "unknown" / "x.yaml", "no-such-project", [flag("one")])

    wrong_token = [
        cli.live(emu, *args, token=SECRET, subprocess=True)
        for args in (("plan", "flags"), ("apply", "flags", "--yes"))
    ]
    for run in wrong_token:
        assert run.code == 1, run
        assert "401" in run.stderr or "unauthorized" in run.stderr.lower()
        assert "[REDACTED]" in run.stderr  # the emulator did echo it
    emu_ok = make_emulator(tokens=(SECRET,), echo_token_in_errors=True)
    unknown_project = cli.live(emu_ok, "apply", "unknown", "--yes", token=SECRET, subprocess=True)
    assert unknown_project.code == 1, unknown_project
    assert "404" in unknown_project.stderr or "not_found" in unknown_project.stderr
    assert "[REDACTED]" in unknown_project.stderr
    assert posts(emu) == posts(emu_ok) == 0
    _assert_secret_nowhere([*wrong_token, unknown_project], tmp_path)


def test_a_flag_whose_prerequisite_was_archived_is_blocked_before_any_create(
    cli: Cli, make_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = make_emulator(
        tokens=(SECRET,), echo_token_in_errors=True, data_path=tmp_path / "emulator.json"
    )
    path = write_flags(tmp_path / "flags" / "web.yaml", "web-app", [flag("base")])
    assert cli.live(emu, "apply", "flags", "--yes", token=SECRET).code == 0

    def archive_base(projects: dict[str, Any]) -> None:
        projects["web-app"]["flags"][0]["archived"] = True

    emu = changed_in_launchdarkly(emu, make_emulator, archive_base)
    write_flags(path, "web-app", [
        flag("base"), flag("later", initialPrerequisites=[{"key": "base", "variationIndex": 0}]),
    ])  # fmt: skip
    # LaunchDarkly (and the emulator) would refuse the create with a 400: the plan says
    # so first, and apply refuses before sending anything.
    planned = cli.live(emu, "plan", "flags", token=SECRET, subprocess=True)
    assert planned.code == 1, planned
    assert "blocked" in planned.stdout
    assert "prerequisite flag 'base' is archived" in planned.stdout
    rejected = cli.live(emu, "apply", "flags", "--yes", token=SECRET, subprocess=True)
    assert rejected.code == 1, rejected
    assert "Apply refused" in rejected.stderr
    assert emu.count(route=CREATE_FLAG) == 0
    _assert_secret_nowhere([planned, rejected], tmp_path)


def test_plan_without_a_token_says_it_is_offline(cli: Cli, emu: Emulator, web_flags: Path) -> None:
    result = cli("plan", "flags", "--base-url", emu.base_url, "--detailed-exitcode")
    assert result.code == 2, result  # offline, nothing recorded: everything to create
    assert "No access token" in result.stderr
    assert "offline" in result.stderr
    assert "Planned offline" in result.stdout
    without_flag = cli("plan", "flags", "--base-url", emu.base_url)
    assert without_flag.code == 0, without_flag
    assert emu.request_log == []


def test_apply_without_a_token_says_how_to_give_one(
    cli: Cli, emu: Emulator, web_flags: Path
) -> None:
    result = cli("apply", "flags", "--yes", "--base-url", emu.base_url)
    assert result.code == 1, result
    assert "apply needs an access token" in result.stderr
    assert "LAUNCHDARKLY_ACCESS_TOKEN" in result.stderr
    assert "Traceback" not in result.output
    assert emu.request_log == []


@pytest.mark.parametrize("command", [("plan", "flags"), ("apply", "flags", "--yes")])
def test_plain_http_to_a_host_that_is_not_loopback_is_refused(
    cli: Cli, web_flags: Path, command: tuple[str, ...]
) -> None:
    result = cli(*command, "--base-url", "http://ld.example.com",
                 env={"LAUNCHDARKLY_ACCESS_TOKEN": SECRET})  # fmt: skip
    assert result.code == 1, result
    assert "plain http:// is allowed only for loopback hosts" in result.stderr
    assert "Traceback" not in result.output


BAD_FILE = """\
project: web-app
flags:
  - key: one
    name: One
    variations:
      - {value: true}
      - {value: false}
    defaults: {onVariation: 2, offVariation: 0}
  - key: two
    name: Two
    descripton: a typo
"""


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_validation_findings_stop_the_run_with_every_location_and_no_call(
    cli: Cli, emu: Emulator, tmp_path: Path, command: str
) -> None:
    (tmp_path / "flags").mkdir()
    (tmp_path / "flags" / "web.yaml").write_text(BAD_FILE)
    write_flags(tmp_path / "flags" / "fine.yaml", "mobile-app", [flag("fine")])

    result = cli.live(emu, command, "flags", "--yes" if command == "apply" else "--offline")
    assert result.code == 1, result
    assert "flags/web.yaml:8:" in result.stderr
    assert "defaults.onVariation: 2 is out of range" in result.stderr
    assert "flags/web.yaml:11:5:" in result.stderr
    assert "did you mean 'description'?" in result.stderr
    assert "2 problem(s) in the flag files" in result.stderr
    assert emu.request_log == []
    assert emu.flags("mobile-app") == []


def test_base_url_and_token_may_come_from_the_environment(
    cli: Cli, emu: Emulator, web_flags: Path
) -> None:
    result = cli(
        "plan", "flags", env={"LAUNCHDARKLY_BASE_URL": emu.base_url, "LD_ACCESS_TOKEN": DEV_TOKEN}
    )
    assert result.code == 0, result
    assert f"Planned live against {target_of(emu)}." in result.stdout
    assert emu.count(route=LIST_FLAGS) > 0


def test_corrupt_ledger_stops_plan_and_apply_and_is_never_overwritten(
    cli: Cli, emu: Emulator, web_flags: Path, tmp_path: Path
) -> None:
    ledger = tmp_path / LEDGER
    ledger.parent.mkdir()
    ledger.write_text('{"format": "something-else", "version": 1}\n')
    before = ledger.read_bytes()

    for args in (("plan", "flags"), ("plan", "flags", "--offline"), ("apply", "flags", "--yes")):
        result = cli.live(emu, *args)
        assert result.code == 1, result
        assert str(LEDGER) in result.stderr
        assert "Traceback" not in result.output
    assert ledger.read_bytes() == before
    assert posts(emu) == 0


def test_credentials_in_the_base_url_are_refused_without_being_echoed(
    cli: Cli, emu: Emulator, web_flags: Path
) -> None:
    url = emu.base_url.replace("http://", f"http://me:{SECRET}@")
    for args in (("plan", "flags", "--offline"), ("apply", "flags", "--yes")):
        result = cli(*args, "--base-url", url, env={"LAUNCHDARKLY_ACCESS_TOKEN": DEV_TOKEN})
        assert result.code == 1, result
        assert "must not contain credentials" in result.stderr
        assert SECRET not in result.output
    assert emu.request_log == []


def test_two_applies_at_once_take_turns_and_create_everything_once(
    cli: Cli, make_emulator: Callable[..., Emulator], web_flags: Path
) -> None:
    emu = make_emulator(faults=Faults(latency_ms=50))
    children = [cli.spawn_live(emu, "apply", "flags", "--yes", "--lock-wait", "60") for _ in "ab"]
    outputs = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0, 0], outputs
    created = [out for out, _ in outputs if "Apply complete: 3 created, 0 adopted." in out]
    nothing = [out for out, _ in outputs if "Nothing to create" in out]
    assert len(created) == len(nothing) == 1, outputs
    assert emu.count(route=CREATE_FLAG) == 2
    assert emu.count(route=CREATE_LINK) == 1
