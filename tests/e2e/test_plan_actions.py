"""Each plan action end to end: adopt, blocked, drift, orphan; a lost ledger; prerequisites."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from reconciler.emulator import Emulator

from .support import (
    CREATE_FLAG,
    CREATE_LINK,
    EXAMPLE_PROJECTS,
    GET_FLAG,
    LEDGER,
    Cli,
    assert_settled,
    changed_in_launchdarkly,
    flag,
    load_ledger,
    no_posts,
    posts,
    recorded,
    stored,
    target_of,
    write_flags,
)

DOC_LINK = {"key": "doc", "deepLink": "https://docs.example.com/existing", "title": "Doc"}


def test_existing_flag_and_link_with_matching_settings_are_adopted_without_a_post(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    existing = flag("existing", description="Made in the UI", tags=["ui", "web"], temporary=False)
    emu.create_flag("web-app", existing)
    emu.create_link("web-app", "existing", DOC_LINK)
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [
        {**existing, "tags": ["web", "ui"], "links": [DOC_LINK]},
        flag("brand-new", initialPrerequisites=[{"key": "existing", "variationIndex": 1}]),
    ])  # fmt: skip

    plan = cli.live(emu, "plan", "flags", "--detailed-exitcode")
    assert plan.code == 2, plan
    assert "= adopt    flag web-app/existing" in plan.stdout
    assert "= adopt    link web-app/existing/doc" in plan.stdout
    assert "+ create   flag web-app/brand-new" in plan.stdout
    assert "Plan: 1 to create, 2 to adopt." in plan.stdout

    applied = cli.live(emu, "apply", "flags", "--yes")
    assert applied.code == 0, applied
    assert "Apply complete: 1 created, 2 adopted." in applied.stdout
    assert emu.count(route=CREATE_FLAG) == 1
    assert emu.count(route=CREATE_LINK) == 0
    assert stored(emu, "web-app") == {
        "web-app/existing": 1, "web-app/existing/doc": 1, "web-app/brand-new": 1,
    }  # fmt: skip
    assert _prerequisites(_by_key(emu, "web-app")["brand-new"]) == [("existing", 1)]
    assert recorded(load_ledger(tmp_path), target_of(emu), "web-app") == {
        "web-app/existing": "adopted",
        "web-app/existing/doc": "adopted",
        "web-app/brand-new": "created",
    }
    assert_settled(cli, emu, "Plan: nothing to create, 3 unchanged.")


def test_archived_key_blocks_the_plan_and_apply_refuses_before_any_post(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    emu.create_flag("web-app", flag("retired"), archived=True)
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [
        flag("retired", links=[DOC_LINK]),
        flag("brand-new"),
    ])  # fmt: skip

    for args in (("plan", "flags"), ("plan", "flags", "--detailed-exitcode")):
        plan = cli.live(emu, *args)
        assert plan.code == 1, plan
        assert "! blocked  flag web-app/retired" in plan.stdout
        assert "! blocked  link web-app/retired/doc" in plan.stdout
        assert "archived flag" in plan.stdout

    applied = cli.live(emu, "apply", "flags", "--yes")
    assert applied.code == 1, applied
    assert "Apply refused" in applied.stderr
    assert posts(emu) == 0
    assert stored(emu, "web-app") == {"web-app/retired": 1}
    assert not (tmp_path / LEDGER).exists() or not load_ledger(tmp_path).targets()


def test_existing_flag_with_other_settings_is_drift_and_never_changed(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    emu.create_flag("web-app", flag("theirs", description="Set in the UI"))
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [
        flag("theirs", description="Declared in git"),
        flag("brand-new"),
    ])  # fmt: skip

    plan = cli.live(emu, "plan", "flags")
    assert plan.code == 0, plan
    assert "~ drift    flag web-app/theirs" in plan.stdout
    assert 'description: "Declared in git" -> "Set in the UI"' in plan.stdout

    applied = cli.live(emu, "apply", "flags", "--yes")
    assert applied.code == 0, applied
    assert emu.count(route=CREATE_FLAG) == 1  # brand-new only
    (theirs,) = (f for f in emu.flags("web-app") if f["key"] == "theirs")
    assert theirs["description"] == "Set in the UI"
    assert recorded(load_ledger(tmp_path), target_of(emu), "web-app") == {
        "web-app/brand-new": "created"
    }


def test_file_edited_after_apply_is_drift_with_a_field_diff_live_and_offline(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "flags" / "web.yaml"
    link = {"key": "spec", "deepLink": "https://docs.example.com/banner", "title": "Old title"}
    write_flags(path, "web-app", [flag("banner", description="First words", links=[link])])
    assert cli.live(emu, "apply", "flags", "--yes").code == 0
    write_flags(path, "web-app", [
        flag("banner", description="Second thoughts", links=[{**link, "title": "New title"}]),
    ])  # fmt: skip

    live = cli.live(emu, "plan", "flags", "--detailed-exitcode")
    offline = cli("plan", "flags", "--offline", "--detailed-exitcode", "--base-url", emu.base_url)
    for result in (live, offline):
        assert result.code == 0, result
        assert "~ drift    flag web-app/banner" in result.stdout
        assert "the file changed since the flag was created" in result.stdout
        assert 'description: "First words" -> "Second thoughts"' in result.stdout
        assert "~ drift    link web-app/banner/spec" in result.stdout
        assert 'title: "Old title" -> "New title"' in result.stdout
        assert "Plan: nothing to create, 2 drifted." in result.stdout
    with no_posts(emu):
        applied = cli.live(emu, "apply", "flags", "--yes")
    assert applied.code == 0, applied
    (banner,) = emu.flags("web-app")
    assert banner["description"] == "First words"
    assert [x["title"] for x in emu.links("web-app", "banner")] == ["Old title"]


def _applied_then_changed(
    cli: Cli,
    make_emulator: Callable[..., Emulator],
    tmp_path: Path,
    declared: list[dict[str, Any]],
    change: Callable[[dict[str, Any]], None],
) -> Emulator:
    """Apply ``declared`` to web-app on an emulator with a data file, then ``change`` it by hand;
    the emulator that serves the changed data."""
    emu = make_emulator(data_path=tmp_path / "emulator.json")
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", declared)
    assert cli.live(emu, "apply", "flags", "--yes").code == 0
    return changed_in_launchdarkly(emu, make_emulator, change)


def test_flag_changed_in_launchdarkly_after_apply_is_drift(
    cli: Cli, make_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    def edit(projects: dict[str, Any]) -> None:
        for rep in projects["web-app"]["flags"]:
            if rep["key"] == "banner":
                rep["description"] = "Edited in the UI"
                rep["_version"] += 1

    declared = [flag("banner", description="As declared"), flag("steady")]
    emu = _applied_then_changed(cli, make_emulator, tmp_path, declared, edit)

    live = cli.live(emu, "plan", "flags", "--detailed-exitcode")
    assert live.code == 0, live
    assert "~ drift    flag web-app/banner" in live.stdout
    assert "changed in LaunchDarkly since it was created" in live.stdout
    assert 'description: "As declared" -> "Edited in the UI"' in live.stdout
    assert "Plan: nothing to create, 1 unchanged, 1 drifted." in live.stdout
    with no_posts(emu):
        assert cli.live(emu, "apply", "flags", "--yes").code == 0


def test_flag_archived_or_deleted_in_launchdarkly_after_apply_is_drift_and_never_recreated(
    cli: Cli, make_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    def archive_and_delete(projects: dict[str, Any]) -> None:
        web = projects["web-app"]
        web["flags"] = [rep for rep in web["flags"] if rep["key"] != "deleted-later"]
        del web["links"]["deleted-later"]
        for rep in web["flags"]:
            if rep["key"] == "archived-later":
                rep["archived"], rep["archivedDate"] = True, rep["creationDate"] + 1

    declared = [flag("kept"), flag("archived-later"), flag("deleted-later", links=[DOC_LINK])]
    emu = _applied_then_changed(cli, make_emulator, tmp_path, declared, archive_and_delete)
    plan = cli.live(emu, "plan", "flags", "--detailed-exitcode")
    assert plan.code == 0, plan
    assert "~ drift    flag web-app/archived-later" in plan.stdout
    assert "archived in LaunchDarkly since it was created" in plan.stdout
    assert "~ drift    flag web-app/deleted-later" in plan.stdout
    assert "deleted in LaunchDarkly since it was created; not re-created" in plan.stdout
    assert "~ drift    link web-app/deleted-later/doc" in plan.stdout
    assert "its flag web-app/deleted-later no longer exists" in plan.stdout
    assert "Plan: nothing to create, 1 unchanged, 3 drifted." in plan.stdout
    with no_posts(emu):
        applied = cli.live(emu, "apply", "flags", "--yes")
    assert applied.code == 0, applied
    assert sorted(stored(emu, "web-app")) == ["web-app/archived-later", "web-app/kept"]


def test_flag_removed_from_the_files_is_an_orphan_and_never_deleted(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "flags" / "web.yaml"
    write_flags(path, "web-app", [flag("kept"), flag("dropped", links=[DOC_LINK])])
    assert cli.live(emu, "apply", "flags", "--yes").code == 0
    write_flags(path, "web-app", [flag("kept")])

    for result in (
        cli.live(emu, "plan", "flags", "--detailed-exitcode"),
        cli("plan", "flags", "--offline", "--detailed-exitcode", "--base-url", emu.base_url),
    ):
        assert result.code == 0, result
        assert "? orphan   flag web-app/dropped" in result.stdout
        assert "? orphan   link web-app/dropped/doc" in result.stdout
        assert "Plan: nothing to create, 1 unchanged, 2 orphaned." in result.stdout

    emu.clear_request_log()
    applied = cli.live(emu, "apply", "flags", "--yes")
    assert applied.code == 0, applied
    assert all(r.method == "GET" for r in emu.request_log)
    assert stored(emu, "web-app") == {
        "web-app/kept": 1, "web-app/dropped": 1, "web-app/dropped/doc": 1,
    }  # fmt: skip
    assert set(recorded(load_ledger(tmp_path), target_of(emu), "web-app")) == {
        "web-app/kept", "web-app/dropped", "web-app/dropped/doc",
    }  # fmt: skip


def test_lost_ledger_is_rebuilt_by_adopting_everything_without_a_post(
    cli: Cli, emu: Emulator, example_flags: Path, tmp_path: Path
) -> None:
    assert cli.live(emu, "apply", "flags", "--yes").code == 0
    (tmp_path / LEDGER).unlink()
    emu.clear_request_log()

    plan = cli.live(emu, "plan", "flags", "--detailed-exitcode")
    assert plan.code == 2, plan
    assert "Plan: 21 to adopt." in plan.stdout
    assert "+ create" not in plan.stdout

    applied = cli.live(emu, "apply", "flags", "--yes")
    assert applied.code == 0, applied
    assert "Apply complete: 0 created, 21 adopted." in applied.stdout
    assert posts(emu) == 0
    ledger = load_ledger(tmp_path)
    for project in EXAMPLE_PROJECTS:
        assert recorded(ledger, target_of(emu), project) == dict.fromkeys(
            stored(emu, project), "adopted"
        )
    assert_settled(cli, emu, "Plan: nothing to create, 21 unchanged.")


def _by_key(emu: Emulator, project: str) -> dict[str, dict[str, Any]]:
    return {f["key"]: f for f in emu.flags(project)}


def _prerequisites(flag: dict[str, Any]) -> list[tuple[str, int]]:
    """The flag's prerequisites, the same in every environment, by key and variation index (the
    emulator takes the create's variationId to that variation's index, or refuses it)."""
    per_environment = [
        [(p["key"], p["variation"]) for p in config["prerequisites"]]
        for config in flag["environments"].values()
    ]
    assert len(per_environment) == 2, flag["environments"]
    assert per_environment[0] == per_environment[1], per_environment
    return per_environment[0]


def test_prerequisites_are_created_first_and_named_by_their_variation_id(
    cli: Cli, emu: Emulator, example_flags: Path, tmp_path: Path
) -> None:
    # A chain on top of the examples: chain-3 -> chain-2 -> chain-1 -> checkout-redesign.
    write_flags(tmp_path / "flags" / "web-app" / "chain.yaml", "web-app", [
        flag("chain-3", initialPrerequisites=[{"key": "chain-2", "variationIndex": 1}]),
        flag("chain-2", initialPrerequisites=[{"key": "chain-1", "variationValue": True}]),
        flag("chain-1", initialPrerequisites=[{"key": "checkout-redesign", "variationIndex": 1}]),
    ])  # fmt: skip
    applied = cli.live(emu, "apply", "flags", "--yes", "--concurrency", "8")
    assert applied.code == 0, applied

    expected = {  # project, flag -> (prerequisite, variation index)
        ("web-app", "checkout-button-color"): ("checkout-redesign", 0),
        ("web-app", "express-checkout"): ("checkout-redesign", 0),
        ("web-app", "chain-1"): ("checkout-redesign", 1),
        ("web-app", "chain-2"): ("chain-1", 0),
        ("web-app", "chain-3"): ("chain-2", 1),
        ("mobile-app", "onboarding-tour"): ("offline-mode", 1),
    }
    for (project, key), (prerequisite, index) in expected.items():
        flags = _by_key(emu, project)
        order = list(flags)
        assert order.index(prerequisite) < order.index(key), f"{key} before {prerequisite}"
        assert _prerequisites(flags[key]) == [(prerequisite, index)]


def test_prerequisite_created_by_an_earlier_apply_is_resolved_without_a_get(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "flags" / "web.yaml"
    base = flag("base", variations=[{"value": "a"}, {"value": "b"}, {"value": "c"}])
    write_flags(path, "web-app", [base])
    assert cli.live(emu, "apply", "flags", "--yes").code == 0
    write_flags(path, "web-app", [
        base, flag("later", initialPrerequisites=[{"key": "base", "variationValue": "c"}]),
    ])  # fmt: skip
    emu.clear_request_log()

    applied = cli.live(emu, "apply", "flags", "--yes")
    assert applied.code == 0, applied
    assert emu.count(route=CREATE_FLAG) == 1
    assert emu.count(route=GET_FLAG) == 0
    assert _prerequisites(_by_key(emu, "web-app")["later"]) == [("base", 2)]
