"""Clones end to end: ``clone: SOURCE_KEY`` through the real CLI against the real emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler.emulator import Emulator

from .support import (
    CREATE_FLAG,
    LEDGER,
    Cli,
    assert_settled,
    flag,
    load_ledger,
    no_posts,
    target_of,
    write_flags,
)

COLOURS = [{"value": "red", "name": "Red"}, {"value": "green"}, {"value": "blue"}]


def _flags(emu: Emulator, project: str = "web-app") -> dict[str, dict[str, Any]]:
    return {f["key"]: f for f in emu.flags(project)}


def _values(rep: dict[str, Any]) -> list[Any]:
    return [v["value"] for v in rep["variations"]]


def _clone_posts(emu: Emulator) -> list[str]:
    """The ``clone=`` query of every create that reached the emulator, in order ('' if none)."""
    return [r.query for r in emu.request_log if r.route == CREATE_FLAG]


def test_a_declared_source_is_created_first_and_the_clone_copies_it(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [
        flag("copy", clone="base", tags=["copy"], description="A copy"),
        flag("base", variations=COLOURS, defaults={"onVariation": 2, "offVariation": 1}),
    ])  # fmt: skip

    plan = cli.live(emu, "plan", "flags", "--detailed-exitcode")
    assert plan.code == 2, plan
    assert "+ create   flag web-app/copy (clone of web-app/base)  (flags/web.yaml:3:3)" in (
        plan.stdout
    )
    assert "copies variations, defaults, targeting from web-app/base" in plan.stdout

    applied = cli.live(emu, "apply", "flags", "--yes")
    assert applied.code == 0, applied
    assert _clone_posts(emu) == ["", "clone=base"]  # the source first
    copy = _flags(emu)["copy"]
    assert _values(copy) == ["red", "green", "blue"]
    assert copy["defaults"] == {"onVariation": 2, "offVariation": 1}
    assert (copy["description"], copy["tags"]) == ("A copy", ["copy"])
    entry = load_ledger(tmp_path).get_flag(target_of(emu), "web-app", "copy")
    assert entry is not None
    assert (entry.action, entry.clone) == ("created", "base")
    assert entry.variation_ids == tuple(v["_id"] for v in copy["variations"])

    # The copy's variations and defaults are not in its file: they are no drift.
    with no_posts(emu):
        again = cli.live(emu, "plan", "flags", "--detailed-exitcode")
        offline = cli.live(emu, "plan", "flags", "--detailed-exitcode", "--offline")
    assert again.code == 0, again
    assert "Plan: nothing to create, 2 unchanged." in again.stdout
    assert offline.code == 0, offline


def test_a_launchdarkly_only_source_that_is_on_gives_a_copy_that_is_on_everywhere(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    emu.create_flag("web-app", flag("ui-made", variations=COLOURS, isFlagOn=True))
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [flag("copy", clone="ui-made")])

    applied = cli.live(emu, "apply", "flags", "--yes")
    assert applied.code == 0, applied
    assert "(clone of web-app/ui-made)" in applied.stdout
    copy = _flags(emu)["copy"]
    assert _values(copy) == ["red", "green", "blue"]
    assert copy["environments"]
    assert all(env["on"] for env in copy["environments"].values()), copy["environments"]

    with no_posts(emu):
        assert_settled(cli, emu, "Plan: nothing to create, 1 unchanged.")

    # With the ledger lost, the copy is adopted as it is: only what the file declares compares.
    (tmp_path / LEDGER).unlink()
    with no_posts(emu):
        adopted = cli.live(emu, "apply", "flags", "--yes")
    assert adopted.code == 0, adopted
    assert "Apply complete: 0 created, 1 adopted." in adopted.stdout


def test_a_clone_of_a_clone_is_created_after_the_clone_it_copies(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    emu.create_flag("web-app", flag("ui-made", variations=COLOURS))
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [
        flag("a-second", clone="first"),
        flag("first", clone="ui-made"),
    ])  # fmt: skip

    applied = cli.live(emu, "apply", "flags", "--yes")
    assert applied.code == 0, applied
    assert _clone_posts(emu) == ["clone=ui-made", "clone=first"]
    assert _values(_flags(emu)["a-second"]) == ["red", "green", "blue"]
    entry = load_ledger(tmp_path).get_flag(target_of(emu), "web-app", "a-second")
    assert entry is not None
    assert entry.clone == "first"


def test_a_clone_of_a_missing_flag_is_blocked_at_plan_time_naming_its_place_and_key(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    emu.create_flag("web-app", flag("retired"), archived=True)
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [
        flag("fine"),
        flag("copy", clone="nowhere"),
        flag("copy-of-archived", clone="retired"),
    ])  # fmt: skip

    with no_posts(emu):
        plan = cli.live(emu, "plan", "flags")
        applied = cli.live(emu, "apply", "flags", "--yes")
    assert plan.code == 1, plan
    assert "! blocked  flag web-app/copy (clone of web-app/nowhere)  (flags/web.yaml:5:3)" in (
        plan.stdout
    )
    assert (
        "the flag it clones, 'nowhere', exists neither in the files nor in LaunchDarkly "
        "project 'web-app'; declare it or clone an existing flag" in plan.stdout
    )
    assert "the flag it clones, web-app/retired, is archived in LaunchDarkly" in plan.stdout
    assert applied.code == 1, applied
    assert emu.count(route=CREATE_FLAG) == 0


def test_an_offline_plan_says_it_could_not_check_an_undeclared_source(
    cli: Cli, tmp_path: Path
) -> None:
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [flag("copy", clone="ui-made")])
    plan = cli("plan", "flags", "--offline", "--format", "json")
    assert plan.code == 0, plan
    assert '"clone": "web-app/ui-made"' in plan.stdout
    assert "could not check that web-app/ui-made, which it clones, exists" in plan.stdout


def test_a_clone_with_variations_of_its_own_is_refused_by_validate(
    cli: Cli, tmp_path: Path
) -> None:
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [
        flag("base"),
        flag("copy", clone="base", variations=COLOURS),
    ])  # fmt: skip
    result = cli("validate", "flags")
    assert result.code == 1, result
    assert (
        "flags/web.yaml:8:3: flags[1].variations: a clone takes variations from 'base'; "
        "remove it" in result.output
    )
