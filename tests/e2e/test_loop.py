"""The whole loop: plan, apply, plan again; the quickstart; how many calls each step costs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from reconciler.emulator import Emulator

from .support import (
    CREATE_FLAG,
    CREATE_LINK,
    EXAMPLE_PROJECTS,
    EXAMPLES,
    GET_FLAG,
    LEDGER,
    LIST_FLAGS,
    LIST_LINKS,
    Cli,
    assert_settled,
    flag,
    load_ledger,
    posts,
    recorded,
    stored,
    target_of,
    write_flags,
)

# examples/flags declares 12 flags and 8 links, in two projects.
EXAMPLE_FLAGS = 13
EXAMPLE_LINKS = 8
EXAMPLE_RESOURCES = EXAMPLE_FLAGS + EXAMPLE_LINKS
# The example flags that declare links: their links are listed when the ledger does not know them.
EXAMPLE_FLAGS_WITH_LINKS = 6


def test_plan_apply_plan_converges_live_and_offline(
    cli: Cli, emu: Emulator, example_flags: Path, tmp_path: Path
) -> None:
    first = cli.live(emu, "plan", "flags", "--detailed-exitcode")
    assert first.code == 2, first
    assert f"Plan: {EXAMPLE_RESOURCES} to create." in first.stdout
    assert "+ create   flag web-app/checkout-redesign" in first.stdout
    assert "+ create   link web-app/checkout-redesign/pay-1234" in first.stdout
    offline_before = cli("plan", "flags", "--offline", "--detailed-exitcode",
                         "--base-url", emu.base_url)  # fmt: skip
    assert offline_before.code == 2, offline_before
    assert f"Plan: {EXAMPLE_RESOURCES} to create." in offline_before.stdout
    assert posts(emu) == 0

    applied = cli.live(emu, "apply", "flags", "--yes")
    assert applied.code == 0, applied
    assert f"Apply complete: {EXAMPLE_RESOURCES} created, 0 adopted." in applied.stdout

    assert_settled(cli, emu, f"Plan: nothing to create, {EXAMPLE_RESOURCES} unchanged.")
    offline = cli("plan", "flags", "--offline", "--detailed-exitcode", "--base-url", emu.base_url)
    assert offline.code == 0, offline
    assert f"Plan: nothing to create, {EXAMPLE_RESOURCES} unchanged." in offline.stdout
    assert "Planned offline" in offline.stdout

    ledger = load_ledger(tmp_path)
    target = target_of(emu)
    for project in EXAMPLE_PROJECTS:
        assert recorded(ledger, target, project) == dict.fromkeys(stored(emu, project), "created")
        assert set(stored(emu, project).values()) == {1}


def test_each_create_is_one_post_and_a_second_apply_posts_nothing(
    cli: Cli, emu: Emulator, example_flags: Path
) -> None:
    assert cli.live(emu, "apply", "flags", "--yes").code == 0
    assert emu.count(route=CREATE_FLAG) == EXAMPLE_FLAGS
    assert emu.count(route=CREATE_LINK) == EXAMPLE_LINKS
    assert emu.count(method="POST", status=201) == EXAMPLE_RESOURCES

    emu.clear_request_log()
    second = cli.live(emu, "apply", "flags", "--yes")
    assert second.code == 0, second
    assert "Nothing to create" in second.stdout
    assert posts(emu) == 0
    assert sum(len(stored(emu, p)) for p in EXAMPLE_PROJECTS) == EXAMPLE_RESOURCES


def test_quickstart_apply_with_the_bundled_emulator_twice(tmp_path: Path, cli: Cli) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples" / "flags")

    first = cli("apply", "examples/flags", "--emulator", "--yes", subprocess=True)
    assert first.code == 0, first
    assert f"Apply complete: {EXAMPLE_RESOURCES} created, 0 adopted." in first.stdout
    second = cli("apply", "examples/flags", "--emulator", "--yes", subprocess=True)
    assert second.code == 0, second
    assert "Nothing to create" in second.stdout
    assert f"Plan: nothing to create, {EXAMPLE_RESOURCES} unchanged." in second.stdout

    state = tmp_path / ".ld-reconciler"
    ledger = json.loads((state / "emulator-ledger.json").read_text())
    assert ledger["format"] == "ld-reconciler-ledger"
    entries = ledger["targets"]["emulator"]
    assert sum(len(entries[p]["flags"]) for p in EXAMPLE_PROJECTS) == EXAMPLE_FLAGS
    assert sum(len(entries[p]["links"]) for p in EXAMPLE_PROJECTS) == EXAMPLE_LINKS
    data = json.loads((state / "emulator.json").read_text())
    assert data["format"] == "ld-reconciler-emulator"
    assert sum(len(data["projects"][p]["flags"]) for p in EXAMPLE_PROJECTS) == EXAMPLE_FLAGS


def test_live_plan_lists_each_project_and_never_gets_flag_by_flag(
    cli: Cli, emu: Emulator, example_flags: Path, tmp_path: Path
) -> None:
    fresh = cli.live(emu, "plan", "flags")
    assert fresh.code == 0, fresh
    # Nothing exists: live and archived lists per project, no links to list.
    assert emu.count(route=LIST_FLAGS) == 2 * len(EXAMPLE_PROJECTS)
    assert emu.count(route=LIST_FLAGS, method="GET") == len(emu.request_log)

    assert cli.live(emu, "apply", "flags", "--yes").code == 0
    emu.clear_request_log()
    known = cli.live(emu, "plan", "flags")
    assert known.code == 0, known
    # Everything exists and the ledger knows every link: at most the two lists per project.
    assert 1 * len(EXAMPLE_PROJECTS) <= emu.count(route=LIST_FLAGS) <= 2 * len(EXAMPLE_PROJECTS)
    assert emu.count(route=GET_FLAG) == 0
    assert emu.count(route=LIST_LINKS) == 0

    checkout = example_flags / "web-app" / "checkout.yaml"
    epic = '        title: "PAY-1234: Checkout redesign epic"\n'
    new_link = "      - deepLink: https://status.example.com/checkout\n"
    checkout.write_text(checkout.read_text().replace(epic, epic + new_link, 1))
    emu.clear_request_log()
    one_new_link = cli.live(emu, "plan", "flags")
    assert "+ create   link web-app/checkout-redesign/link-" in one_new_link.stdout
    # Only the flag with a link the ledger does not know has its links listed.
    assert [r.path for r in emu.request_log if r.route == LIST_LINKS] == [
        "/api/v2/flag-links/projects/web-app/flags/checkout-redesign"
    ]
    assert emu.count(route=GET_FLAG) == 0

    (tmp_path / LEDGER).unlink()
    emu.clear_request_log()
    unknown = cli.live(emu, "plan", "flags")
    assert unknown.code == 0, unknown
    # Without the ledger, the links of each flag that declares links are listed, once.
    assert emu.count(route=LIST_LINKS) == EXAMPLE_FLAGS_WITH_LINKS
    assert emu.count(route=LIST_FLAGS) <= 2 * len(EXAMPLE_PROJECTS)
    assert emu.count(route=GET_FLAG) == 0


def _big_project(make_emulator: Callable[..., Emulator], seeded: int) -> Emulator:
    """An emulator whose project "big" holds flags seeded-000, seeded-001, ... ("Seeded 0", ...)."""
    emu = make_emulator(projects=("big",))
    for i in range(seeded):
        emu.create_flag("big", {"key": f"seeded-{i:03}", "name": f"Seeded {i}"})
    return emu


def test_live_plan_gets_declared_flags_one_by_one_in_a_large_project(
    cli: Cli, make_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = _big_project(make_emulator, 350)
    write_flags(tmp_path / "flags" / "big.yaml", "big", [
        flag("seeded-300", name="Seeded 300"),
        flag("brand-new"),
    ])  # fmt: skip

    result = cli.live(emu, "plan", "flags")
    assert result.code == 0, result
    assert "= adopt    flag big/seeded-300" in result.stdout
    assert "+ create   flag big/brand-new" in result.stdout
    # One page tells the size; two GETs are cheaper than three more pages and the archived list.
    assert emu.count(route=LIST_FLAGS) == 1
    assert emu.count(route=GET_FLAG) == 2
    assert len(emu.request_log) == 3


def test_live_plan_lists_every_page_when_many_declared_flags_are_not_on_the_first(
    cli: Cli, make_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = _big_project(make_emulator, 150)
    declared = [flag(f"seeded-{i:03}", name=f"Seeded {i}") for i in range(100, 150, 10)]
    declared += [flag(f"new-{i}") for i in range(5)]
    write_flags(tmp_path / "flags" / "big.yaml", "big", declared)

    result = cli.live(emu, "plan", "flags")
    assert result.code == 0, result
    assert "Plan: 5 to create, 5 to adopt." in result.stdout
    # Ten flags to look for: the second page and the archived list beat ten GETs.
    assert emu.count(route=LIST_FLAGS) == 3
    assert emu.count(route=GET_FLAG) == 0
    assert sorted(r.query for r in emu.request_log) == [
        "limit=100&offset=0",
        "limit=100&offset=0&filter=state%3Aarchived",
        "limit=100&offset=100",
    ]
