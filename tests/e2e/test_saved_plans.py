"""Saved plans: applied exactly, or refused as stale: before any call when the target, the
mode, the flag files or the ledger changed, before any create when LaunchDarkly did."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.emulator import Emulator

from .support import (
    CREATE_FLAG,
    CREATE_LINK,
    Cli,
    flag,
    load_ledger,
    no_posts,
    no_requests,
    posts,
    recorded,
    stored,
    target_of,
    write_flags,
)

LINK = {"key": "spec", "deepLink": "https://docs.example.com/spec"}


def _declare(tmp_path: Path, *flags: dict[str, object]) -> Path:
    return write_flags(tmp_path / "flags" / "web.yaml", "web-app", flags)


def test_saved_plan_is_applied_exactly(cli: Cli, emu: Emulator, tmp_path: Path) -> None:
    _declare(tmp_path, flag("one", links=[LINK]), flag("two"))
    saved = cli.live(emu, "plan", "flags", "--out", "plan.json")
    assert saved.code == 0, saved
    assert "apply --plan plan.json" in saved.stderr
    document = json.loads((tmp_path / "plan.json").read_text())
    creates = sorted(a["address"] for a in document["actions"] if a["action"] == "create")
    assert creates == ["web-app/one", "web-app/one/spec", "web-app/two"]

    applied = cli.live(emu, "apply", "flags", "--plan", "plan.json", "--yes")
    assert applied.code == 0, applied
    assert "Apply complete: 3 created, 0 adopted." in applied.stdout
    assert emu.count(route=CREATE_FLAG) == 2
    assert emu.count(route=CREATE_LINK) == 1
    assert sorted(stored(emu, "web-app")) == creates
    assert sorted(recorded(load_ledger(tmp_path), target_of(emu), "web-app")) == creates


def test_saved_plan_is_stale_when_a_file_changed(cli: Cli, emu: Emulator, tmp_path: Path) -> None:
    _declare(tmp_path, flag("one"), flag("two"))
    assert cli.live(emu, "plan", "flags", "--out", "plan.json").code == 0
    _declare(tmp_path, flag("one", description="Edited after review"), flag("two"))

    with no_requests(emu):
        applied = cli.live(emu, "apply", "flags", "--plan", "plan.json", "--yes")
    assert applied.code == 1, applied
    assert "is stale: the flag files changed since it was made" in applied.stderr
    assert emu.flags("web-app") == []


def test_saved_plan_is_stale_when_launchdarkly_changed(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    _declare(tmp_path, flag("one"), flag("two"))
    assert cli.live(emu, "plan", "flags", "--out", "plan.json").code == 0
    emu.create_flag("web-app", flag("two"))  # someone made it in the UI meanwhile

    applied = cli.live(emu, "apply", "flags", "--plan", "plan.json", "--yes")
    assert applied.code == 1, applied
    assert "stale" in applied.stderr
    assert posts(emu) == 0
    assert stored(emu, "web-app") == {"web-app/two": 1}


def test_saved_plan_cannot_be_applied_twice(cli: Cli, emu: Emulator, tmp_path: Path) -> None:
    _declare(tmp_path, flag("one"))
    assert cli.live(emu, "plan", "flags", "--out", "plan.json").code == 0
    assert cli.live(emu, "apply", "flags", "--plan", "plan.json", "--yes").code == 0

    with no_requests(emu):
        again = cli.live(emu, "apply", "flags", "--plan", "plan.json", "--yes")
    assert again.code == 1, again
    assert "is stale: the ledger changed since it was made" in again.stderr


def test_saved_plan_is_refused_for_another_target_or_when_made_offline(
    cli: Cli, make_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    _declare(tmp_path, flag("one"))
    emu, other = make_emulator(), make_emulator()
    assert cli.live(other, "plan", "flags", "--out", "other.json").code == 0
    offline = cli("plan", "flags", "--offline", "--base-url", emu.base_url, "--out", "offline.json")
    assert offline.code == 0, offline

    with no_requests(emu), no_requests(other):
        elsewhere = cli.live(emu, "apply", "flags", "--plan", "other.json", "--yes")
        made_offline = cli.live(emu, "apply", "flags", "--plan", "offline.json", "--yes")
    assert elsewhere.code == 1, elsewhere
    assert f"was made for {target_of(other)}, not {target_of(emu)}" in elsewhere.stderr
    assert made_offline.code == 1, made_offline
    assert "made offline" in made_offline.stderr
    assert posts(other) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not a saved plan (invalid JSON"),
        ("[]", "is not a saved plan of format_version 1"),
        ('{"format_version": 1}', "is not a complete saved plan (missing or malformed: target"),
    ],
    ids=["garbage", "a list", "no actions"],
)
def test_a_file_that_is_not_a_saved_plan_is_refused_before_any_call(
    cli: Cli, emu: Emulator, tmp_path: Path, content: str, message: str
) -> None:
    _declare(tmp_path, flag("one"))
    (tmp_path / "plan.json").write_text(content)
    with no_requests(emu):
        applied = cli.live(emu, "apply", "flags", "--plan", "plan.json", "--yes")
    assert applied.code == 1, applied
    assert message in applied.stderr
    assert applied.stderr.count("\n") == 1, applied  # one line, no traceback


def test_a_saved_plan_edited_by_hand_is_refused_and_nothing_outside_it_is_applied(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    _declare(tmp_path, flag("one"), flag("two"))
    assert cli.live(emu, "plan", "flags", "--out", "plan.json").code == 0
    path = tmp_path / "plan.json"
    document = json.loads(path.read_text())
    document["actions"] = [a for a in document["actions"] if a["address"] != "web-app/two"]
    document["summary"]["create"] = 1
    path.write_text(json.dumps(document))

    with no_posts(emu):
        applied = cli.live(emu, "apply", "flags", "--plan", "plan.json", "--yes")
    assert applied.code == 1, applied
    assert "was edited after it was made (its summary and actions differ" in applied.stderr
    assert emu.flags("web-app") == []


@pytest.mark.parametrize("fmt", ["json", "github"])
def test_saving_the_plan_leaves_stdout_to_the_plan_itself(
    cli: Cli, emu: Emulator, tmp_path: Path, fmt: str
) -> None:
    _declare(tmp_path, flag("one"))
    saved = cli.live(emu, "plan", "flags", "--format", fmt, "--out", "plan.json")
    assert saved.code == 0, saved
    assert "Saved the plan to plan.json" in saved.stderr
    assert "Saved the plan" not in saved.stdout
    if fmt == "json":
        assert json.loads(saved.stdout) == json.loads((tmp_path / "plan.json").read_text())
    else:
        assert saved.stdout.splitlines()[-1] == "Plan: 1 to create."
