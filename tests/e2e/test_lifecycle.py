"""Drift that settles, and the ledger commands, end to end: tag order, a file that matches
LaunchDarkly again, apply refreshing the offline record, ``ledger accept``,
``apply --adopt-drifted``, ``ledger list/show/forget``, orphans of the declared projects."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reconciler.emulator import Emulator

from .support import (
    LEDGER,
    Cli,
    assert_settled,
    changed_in_launchdarkly,
    flag,
    load_ledger,
    no_posts,
    recorded,
    target_of,
    write_flags,
)

DOC = {"key": "doc", "deepLink": "https://docs.example.com/banner", "title": "Doc"}


def _offline(cli: Cli, emu: Emulator, *args: str) -> Any:
    return cli("plan", "flags", "--offline", "--base-url", emu.base_url, *args)


def _describe_in_launchdarkly(
    emu: Emulator, make_emulator: Callable[..., Emulator], key: str, description: str
) -> Emulator:
    def edit(projects: dict[str, Any]) -> None:
        for rep in projects["web-app"]["flags"]:
            if rep["key"] == key:
                rep["description"] = description
                rep["_version"] += 1

    return changed_in_launchdarkly(emu, make_emulator, edit)


def test_reordered_tags_of_a_created_flag_are_unchanged_live_and_offline(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "flags" / "web.yaml"
    write_flags(path, "web-app", [flag("checkout", tags=["sdk", "psp"])])
    assert cli.live(emu, "apply", "flags", "--yes").code == 0
    write_flags(path, "web-app", [flag("checkout", tags=["psp", "sdk"])])

    for result in (cli.live(emu, "plan", "flags"), _offline(cli, emu)):
        assert result.code == 0, result
        assert "drift" not in result.stdout
        assert "Plan: nothing to create, 1 unchanged." in result.stdout


def test_a_file_edited_to_match_launchdarkly_again_settles_and_apply_refreshes_the_record(
    cli: Cli, make_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = make_emulator(data_path=tmp_path / "emulator.json")
    path = tmp_path / "flags" / "web.yaml"
    write_flags(path, "web-app", [flag("banner", description="First words")])
    assert cli.live(emu, "apply", "flags", "--yes").code == 0
    emu = _describe_in_launchdarkly(emu, make_emulator, "banner", "Said in the UI")
    drifted = cli.live(emu, "plan", "flags")
    assert "~ drift    flag web-app/banner" in drifted.stdout
    assert "changed in LaunchDarkly since it was created" in drifted.stdout

    write_flags(path, "web-app", [flag("banner", description="Said in the UI")])
    ledger_before = (tmp_path / LEDGER).read_bytes()
    live = cli.live(emu, "plan", "flags")
    assert live.code == 0, live
    assert "drift" not in live.stdout
    assert "Plan: nothing to create, 1 unchanged." in live.stdout
    assert (tmp_path / LEDGER).read_bytes() == ledger_before  # a plan writes nothing
    # Offline, the record made at creation still stands for LaunchDarkly, until an apply
    # sees the file and LaunchDarkly agree.
    assert "~ drift    flag web-app/banner" in _offline(cli, emu).stdout

    with no_posts(emu):
        applied = cli.live(emu, "apply", "flags", "--yes")
    assert applied.code == 0, applied
    assert "Updated the ledger's record of 1 resource(s)" in applied.stdout
    offline = _offline(cli, emu)
    assert "drift" not in offline.stdout
    assert "Plan: nothing to create, 1 unchanged." in offline.stdout
    entry = load_ledger(tmp_path).get_flag(target_of(emu), "web-app", "banner")
    assert entry is not None
    assert (entry.action, entry.spec["description"]) == ("created", "Said in the UI")


def test_ledger_accept_settles_a_known_difference_until_launchdarkly_changes_again(
    cli: Cli, make_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = make_emulator(data_path=tmp_path / "emulator.json")
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [flag("banner", description="Git")])
    assert cli.live(emu, "apply", "flags", "--yes").code == 0
    emu = _describe_in_launchdarkly(emu, make_emulator, "banner", "UI")

    with no_posts(emu):
        accepted = cli.live(emu, "ledger", "accept", "web-app/banner", "--files", "flags")
    assert accepted.code == 0, accepted
    assert "accepted flag web-app/banner: description" in accepted.stdout
    live = cli.live(emu, "plan", "flags")
    assert "drift" not in live.stdout
    assert "differs from LaunchDarkly as accepted" in live.stdout
    assert "Plan: nothing to create, 1 unchanged." in live.stdout
    assert "Plan: nothing to create, 1 unchanged." in _offline(cli, emu).stdout
    shown = cli.live(emu, "ledger", "show", "web-app/banner")
    assert "accepted:" in shown.stdout

    emu = _describe_in_launchdarkly(emu, make_emulator, "banner", "UI, edited again")
    again = cli.live(emu, "plan", "flags")
    assert "~ drift    flag web-app/banner" in again.stdout
    assert 'description: "Git" -> "UI, edited again"' in again.stdout


def test_ledger_accept_offline_records_the_files_spec_for_offline_plans(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "flags" / "web.yaml"
    write_flags(path, "web-app", [flag("banner", description="First")])
    assert cli.live(emu, "apply", "flags", "--yes").code == 0
    write_flags(path, "web-app", [flag("banner", description="Second")])
    assert "~ drift    flag web-app/banner" in _offline(cli, emu).stdout

    accepted = cli(
        "ledger", "accept", "web-app/banner", "--files", "flags", "--offline",
        "--base-url", emu.base_url,
    )  # fmt: skip
    assert accepted.code == 0, accepted
    assert "Accepted offline" in accepted.stdout
    assert "Plan: nothing to create, 1 unchanged." in _offline(cli, emu).stdout


def test_ledger_accept_refuses_what_it_cannot_accept_and_records_nothing(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    emu.create_flag("web-app", flag("theirs", description="UI"))
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [
        flag("ours"), flag("theirs", description="Git"),
    ])  # fmt: skip
    assert cli.live(emu, "apply", "flags", "--yes").code == 0
    before = (tmp_path / LEDGER).read_bytes()

    refused = cli.live(
        emu, "ledger", "accept", "web-app/ours", "web-app/theirs", "web-app/nowhere",
        "--files", "flags",
    )  # fmt: skip
    assert refused.code == 1, refused
    assert (
        "web-app/theirs is not tracked: it exists in LaunchDarkly with other settings; "
        "`ld-reconciler apply --adopt-drifted` adopts it with its differences"
    ) in refused.stderr
    assert "web-app/nowhere is not declared in the flag files given" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert (tmp_path / LEDGER).read_bytes() == before


def test_apply_adopt_drifted_adopts_a_flag_with_other_settings_as_accepted(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    emu.create_flag("web-app", flag("theirs", description="Set in the UI"))
    emu.create_link("web-app", "theirs", {**DOC, "title": "UI title"})
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [
        flag("theirs", description="Declared in git", links=[DOC]),
    ])  # fmt: skip
    plan = cli.live(emu, "plan", "flags")
    assert "apply --adopt-drifted adopts it as it is" in plan.stdout
    shown = cli.live(emu, "plan", "flags", "--adopt-drifted", "--detailed-exitcode")
    assert shown.code == 2, shown
    assert "= adopt    flag web-app/theirs" in shown.stdout
    assert "adopted with its differences (--adopt-drifted)" in shown.stdout

    with no_posts(emu):
        applied = cli.live(emu, "apply", "flags", "--yes", "--adopt-drifted")
    assert applied.code == 0, applied
    assert "Apply complete: 0 created, 2 adopted." in applied.stdout
    ledger = load_ledger(tmp_path)
    assert recorded(ledger, target_of(emu), "web-app") == {
        "web-app/theirs": "adopted", "web-app/theirs/doc": "adopted",
    }  # fmt: skip
    entry = ledger.get_flag(target_of(emu), "web-app", "theirs")
    assert entry is not None
    assert entry.accepted
    assert_settled(cli, emu, "Plan: nothing to create, 2 unchanged.")


def test_ledger_list_show_and_forget_and_a_forgotten_flag_is_adopted_again(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [
        flag("banner", links=[DOC]), flag("steady"),
    ])  # fmt: skip
    assert cli.live(emu, "apply", "flags", "--yes").code == 0

    listed = cli.live(emu, "ledger", "list")
    assert listed.code == 0, listed
    assert f"Tracked for {target_of(emu)} in {LEDGER}:" in listed.stdout
    assert "link web-app/banner/doc" in listed.stdout
    assert "3 tracked: 2 flag(s), 1 link(s)." in listed.stdout
    as_json = json.loads(cli.live(emu, "ledger", "list", "--format", "json").stdout)
    assert [e["address"] for e in as_json["entries"]] == [
        "web-app/banner", "web-app/banner/doc", "web-app/steady",
    ]  # fmt: skip
    assert as_json["target"] == target_of(emu)
    other = cli("ledger", "list", "--base-url", "https://other.example.com")
    assert "Nothing is tracked for https://other.example.com" in other.stdout

    shown = cli.live(emu, "ledger", "show", "web-app/banner")
    assert shown.code == 0, shown
    for expected in ("flag web-app/banner", "action:", "created", "source:", "digest:", "spec:"):
        assert expected in shown.stdout
    shown_json = json.loads(cli.live(emu, "ledger", "show", "web-app/banner/doc", "--format",
                                     "json").stdout)  # fmt: skip
    assert shown_json["kind"] == "link"
    assert shown_json["spec"]["title"] == "Doc"
    missing = cli.live(emu, "ledger", "show", "web-app/nowhere")
    assert missing.code == 1
    assert "web-app/nowhere is not tracked" in missing.stderr

    with no_posts(emu):
        forgot = cli.live(emu, "ledger", "forget", "web-app/banner")
    assert forgot.code == 0, forgot
    assert "forgot flag web-app/banner\n" in forgot.stdout
    assert "forgot link web-app/banner/doc (a link of a forgotten flag)" in forgot.stdout
    assert "Forgot 2 resource(s), 1 of them link(s) of the forgotten flags" in forgot.stdout
    assert "nothing was sent to LaunchDarkly" in forgot.stdout
    assert recorded(load_ledger(tmp_path), target_of(emu), "web-app") == {
        "web-app/steady": "created"
    }
    refused = cli.live(emu, "ledger", "forget", "web-app/steady", "web-app/nowhere")
    assert refused.code == 1
    assert "web-app/nowhere is not tracked" in refused.stderr
    assert "web-app/steady" in recorded(load_ledger(tmp_path), target_of(emu), "web-app")

    plan = cli.live(emu, "plan", "flags")
    assert "= adopt    flag web-app/banner" in plan.stdout
    assert "= adopt    link web-app/banner/doc" in plan.stdout
    with no_posts(emu):
        assert cli.live(emu, "apply", "flags", "--yes").code == 0
    assert recorded(load_ledger(tmp_path), target_of(emu), "web-app")["web-app/banner"] == (
        "adopted"
    )


def test_forgetting_an_orphan_ends_it_and_orphans_are_only_of_declared_projects(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [flag("kept"), flag("dropped")])
    write_flags(tmp_path / "flags" / "mobile.yaml", "mobile-app", [flag("app", links=[DOC])])
    assert cli.live(emu, "apply", "flags", "--yes").code == 0

    only_web = cli.live(emu, "plan", "flags/web.yaml")
    assert "orphan" not in only_web.stdout
    assert "Plan: nothing to create, 2 unchanged." in only_web.stdout

    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [flag("kept")])
    orphaned = cli.live(emu, "plan", "flags")
    assert "? orphan   flag web-app/dropped" in orphaned.stdout
    assert cli.live(emu, "ledger", "forget", "web-app/dropped").code == 0
    settled = cli.live(emu, "plan", "flags")
    assert "orphan" not in settled.stdout
    assert "Plan: nothing to create, 3 unchanged." in settled.stdout


def test_a_plan_saved_with_adopt_drifted_is_applied_with_it(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    emu.create_flag("web-app", flag("theirs", description="Set in the UI"))
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [
        flag("theirs", description="Declared in git"),
    ])  # fmt: skip
    saved = cli.live(emu, "plan", "flags", "--adopt-drifted", "--out", "plan.json")
    assert saved.code == 0, saved
    with no_posts(emu):
        applied = cli.live(emu, "apply", "flags", "--plan", "plan.json", "--yes")
    assert applied.code == 0, applied
    assert "Apply complete: 0 created, 1 adopted." in applied.stdout


def test_ledger_is_listed_in_the_help_and_has_its_own(cli: Cli) -> None:
    top = cli("--help")
    assert "ledger" in top.stdout
    assert "Read and settle what the ledger tracks" in top.stdout
    own = cli("ledger", "--help")
    for command in ("list", "show", "forget", "accept"):
        assert command in own.stdout
