"""Saved plans as in Terraform: ``apply --plan FILE`` re-reads the flag files the plan records,
asks nothing, and every hint about it is the exact command to run."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from reconciler.emulator import DEV_TOKEN, Emulator

from .support import Cli, flag, load_ledger, no_requests, recorded, stored, target_of, write_flags


def _declare(tmp_path: Path, *flags: dict[str, object]) -> Path:
    return write_flags(tmp_path / "flags" / "web.yaml", "web-app", flags)


def _planned(cli: Cli, emu: Emulator, tmp_path: Path) -> Path:
    """Declare one flag and save a live plan of it as ``plan.json``."""
    _declare(tmp_path, flag("one"))
    saved = cli.live(emu, "plan", "flags", "--out", "plan.json")
    assert saved.code == 0, saved
    return tmp_path / "plan.json"


def _hinted_command(stderr: str) -> list[str]:
    """The command the plan's hint says to run, as arguments after ``ld-reconciler``."""
    hint = next(line for line in stderr.splitlines() if line.startswith("Saved the plan"))
    command = shlex.split(hint.split("apply it with: ", 1)[1])
    assert command[0] == "ld-reconciler", hint
    return command[1:]


def test_the_hinted_command_applies_the_saved_plan_without_paths_or_confirmation(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    _declare(tmp_path, flag("one"), flag("two"))
    saved = cli.live(emu, "plan", "flags", "--out", "plan.json")
    assert saved.code == 0, saved
    args = _hinted_command(saved.stderr)
    assert args == ["apply", "--plan", "plan.json", "--base-url", emu.base_url]
    assert json.loads((tmp_path / "plan.json").read_text())["paths"] == ["flags"]

    # Not on a terminal and no --yes: a saved plan was reviewed when it was made.
    applied = cli(*args, env={"LAUNCHDARKLY_ACCESS_TOKEN": DEV_TOKEN})
    assert applied.code == 0, applied
    assert "Apply complete: 2 created, 0 adopted." in applied.stdout
    assert sorted(stored(emu, "web-app")) == ["web-app/one", "web-app/two"]
    assert sorted(recorded(load_ledger(tmp_path), target_of(emu), "web-app")) == [
        "web-app/one",
        "web-app/two",
    ]


def test_the_hint_names_the_emulator_and_the_ledger_when_they_were_used(
    cli: Cli, tmp_path: Path
) -> None:
    _declare(tmp_path, flag("one"))
    saved = cli("plan", "flags", "--emulator", "--ledger", "my ledger.json", "--out", "p.json")
    assert saved.code == 0, saved
    args = _hinted_command(saved.stderr)
    assert args == ["apply", "--plan", "p.json", "--emulator", "--ledger", "my ledger.json"]
    applied = cli(*args)
    assert applied.code == 0, applied
    assert "Apply complete: 1 created, 0 adopted." in applied.stdout


def test_a_saved_plan_is_stale_when_its_files_changed_and_says_how_to_plan_again(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    _planned(cli, emu, tmp_path)
    _declare(tmp_path, flag("one", description="Edited after review"))
    with no_requests(emu):
        applied = cli.live(emu, "apply", "--plan", "plan.json")
    assert applied.code == 1, applied
    assert "the flag files changed since it was made" in applied.stderr
    remake = shlex.join(
        ["ld-reconciler", "plan", "flags", "--base-url", emu.base_url, "--out", "plan.json"]
    )
    assert f"run `{remake}` again and review it" in applied.stderr
    assert emu.flags("web-app") == []


def test_paths_given_with_a_saved_plan_must_be_its_own(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    _declare(tmp_path, flag("one"))
    write_flags(tmp_path / "other" / "more.yaml", "web-app", [flag("two")])
    assert cli.live(emu, "plan", "flags", "--out", "plan.json").code == 0
    with no_requests(emu):
        elsewhere = cli.live(emu, "apply", "other", "--plan", "plan.json")
    assert elsewhere.code == 1, elsewhere
    assert (
        "saved plan plan.json was made from flags, not other: leave the paths out to apply it "
        "as it was made" in elsewhere.stderr
    )
    same = cli.live(emu, "apply", "./flags/", "--plan", "plan.json")
    assert same.code == 0, same
    assert list(stored(emu, "web-app")) == ["web-app/one"]


def test_a_saved_plan_from_before_paths_were_recorded_needs_them(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    path = _planned(cli, emu, tmp_path)
    document = json.loads(path.read_text())
    del document["paths"]
    path.write_text(json.dumps(document))
    with no_requests(emu):
        without = cli.live(emu, "apply", "--plan", "plan.json")
    assert without.code == 1, without
    assert "does not record its flag files (an older ld-reconciler made it)" in without.stderr
    given = cli.live(emu, "apply", "flags", "--plan", "plan.json")
    assert given.code == 0, given


def test_apply_without_paths_or_a_saved_plan_is_a_usage_error(cli: Cli) -> None:
    result = cli("apply", "--emulator", "--yes")
    assert result.code == 2, result
    assert "Missing argument 'PATHS...'" in result.stderr


def test_a_saved_plan_whose_summary_alone_was_edited_says_it_differs(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    path = _planned(cli, emu, tmp_path)
    document = json.loads(path.read_text())
    document["summary"]["create"] = 7
    path.write_text(json.dumps(document))
    applied = cli.live(emu, "apply", "--plan", "plan.json")
    assert applied.code == 1, applied
    assert "(its summary differs from the plan it records)" in applied.stderr
    assert emu.flags("web-app") == []


def test_a_file_that_is_not_a_saved_plan_is_refused_with_the_command_that_makes_one(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    _declare(tmp_path, flag("one"))
    (tmp_path / "plan.json").write_text("[]")
    with no_requests(emu):
        applied = cli.live(emu, "apply", "flags", "--plan", "plan.json")
    assert applied.code == 1, applied
    remake = shlex.join(
        ["ld-reconciler", "plan", "flags", "--base-url", emu.base_url, "--out", "plan.json"]
    )
    assert f"is not a saved plan of format_version 1; make it with `{remake}`" in applied.stderr
