"""``ld-reconciler export`` through the real CLI against the emulator over loopback HTTP.

The project ``shop`` (see ``support.seed_shop``) holds flags of every kind, links with and
without keys, an archived flag, and flags a flag file cannot declare. What export writes must
validate, plan as nothing but ``adopt``, and apply with no create at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import yaml

from reconciler.emulator import Emulator, EmulatorConfig
from reconciler.state.ledger import Ledger
from support.emulators import Emulators

from .support import (
    GET_FLAG,
    LINK_TIMESTAMP,
    LIST_FLAGS,
    LIST_LINKS,
    PROJECT,
    Cli,
    Result,
    seed_shop,
)

MODELINE = "# yaml-language-server: $schema="
SCHEMA_NOTE = (
    "note: the files' modeline names out/flag-file.schema.json, which does not exist: write it "
    "with `ld-reconciler schema > out/flag-file.schema.json` so that editors check the files"
)
NO_CSA = {"usingEnvironmentId": False, "usingMobileKey": False}

# Every flag of `shop` that a flag file can declare, exactly as exported.
EXPECTED: dict[str, dict[str, Any]] = {
    "banner-text": {
        "key": "banner-text",
        "name": "Banner text",
        "tags": ["Checkout"],
        "variations": [
            {"value": "", "name": "Hidden", "description": "No banner"},
            {"value": "Sale!\nUp to 50% off", "name": "Sale"},
            {"value": "1e3"},
        ],
        "defaults": {"onVariation": 1, "offVariation": 0},
        "clientSideAvailability": NO_CSA,
        "maintainerId": "569f183514f4432160000007",
    },
    "dark-mode": {"key": "dark-mode", "name": "Dark mode", "clientSideAvailability": NO_CSA},
    "express-checkout": {
        "key": "express-checkout",
        "name": "Express checkout",
        "tags": ["checkout"],
        "clientSideAvailability": NO_CSA,
        "initialPrerequisites": [
            {"key": "new-checkout", "variationIndex": 0},
            {"key": "dark-mode", "variationIndex": 1},
        ],
    },
    "gated": {"key": "gated", "name": "gated", "clientSideAvailability": NO_CSA},
    "layout-config": {
        "key": "layout-config",
        "name": "Layout config",
        "tags": ["ui"],
        "variations": [{"value": {"columns": 2, "dense": False}}, {"value": [1, "two"]}],
        "defaults": {"onVariation": 0, "offVariation": 0},
        "clientSideAvailability": {"usingEnvironmentId": False, "usingMobileKey": True},
    },
    "new-checkout": {
        "key": "new-checkout",
        "name": "New checkout",
        "description": "One-page checkout.",
        "temporary": False,
        "tags": ["checkout", "payments"],
        "variations": [{"value": True, "name": "On"}, {"value": False, "name": "Off"}],
        "defaults": {"onVariation": 1, "offVariation": 1},
        "clientSideAvailability": {"usingEnvironmentId": True, "usingMobileKey": False},
        "customProperties": {
            "a.owner": {"name": "Owner", "value": ["payments"]},
            "jira.issues": {"name": "Jira issues", "value": ["PAY-1", "PAY-2"]},
        },
        "maintainerTeamKey": "payments",
        "links": [
            {
                "key": "jira-pay-2",
                "integrationKey": "jira",
                "metadata": {"issueKey": "PAY-2", "projectKey": "PAY"},
            },
            {
                "key": "pay-1",
                "deepLink": "https://jira.example.com/browse/PAY-1",
                "title": "PAY-1: Checkout epic",
                "description": "The epic",
                "timestamp": LINK_TIMESTAMP,
            },
        ],
    },
    "orders-migration": {
        "key": "orders-migration",
        "name": "Orders migration",
        "tags": ["migration"],
        "clientSideAvailability": NO_CSA,
        "purpose": "migration",
        "migrationSettings": {"stageCount": 6, "contextKind": "account"},
    },
    "retry-limit": {
        "key": "retry-limit",
        "name": "Retry limit",
        "tags": ["payments"],
        "variations": [{"value": 0}, {"value": 1.5}, {"value": 3}],
        "clientSideAvailability": NO_CSA,
    },
    "search-migration": {
        "key": "search-migration",
        "name": "Search migration",
        "tags": ["migration"],
        "clientSideAvailability": NO_CSA,
        "purpose": "migration",
        "migrationSettings": {"stageCount": 4},
    },
    "sessions-migration": {
        "key": "sessions-migration",
        "name": "Sessions migration",
        "tags": ["migration"],
        "clientSideAvailability": NO_CSA,
        "purpose": "migration",
        "migrationSettings": {"stageCount": 2},
    },
}
EXPECTED_LINKS = 2
FILES = {
    "shop/checkout.yaml": ["banner-text", "express-checkout", "new-checkout"],
    "shop/migration.yaml": ["orders-migration", "search-migration", "sessions-migration"],
    "shop/payments.yaml": ["retry-limit"],
    "shop/ui.yaml": ["layout-config"],
    "shop/untagged.yaml": ["dark-mode", "gated"],
}
UNEXPRESSIBLE = [
    "not exported: shop/holdout-q3: a holdout flag: holdouts are made with LaunchDarkly's "
    "Holdouts API, not flag files",
    "not exported: shop/mixed-values: variations[1].value: this value is a string but "
    "variation 0 is a number; all variations of a flag share one type (boolean, string, "
    "number or JSON)",
    "not exported: shop/new-checkout/(no key: https://docs.example.com/no-key): the link has no "
    "key in LaunchDarkly; a file's link is matched by key, so any key given here would make "
    "apply create a second link",
    "not exported: shop/weird~key: key: 'weird~key' is not a valid key: a key starts with a "
    "letter or digit and holds only letters, digits, '.', '_' and '-'",
    "note: shop/gated: prerequisite 'mixed-values' left out: that flag is not exported",
]
# The flags export converts (and so lists the links of): all live ones but the holdout.
CONVERTED = len(EXPECTED) + 2


def export(cli: Cli, emu: Emulator, *args: str, out: str = "out") -> Result:
    return cli.live(emu, "export", "--project", PROJECT, "--output", out, *args)


def fetched(emu: Emulator) -> list[str]:
    """The keys of the flags got on their own, in the order they were asked for."""
    return [unquote(r.path.rsplit("/", 1)[-1]) for r in emu.request_log if r.route == GET_FLAG]


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.yaml"))}


def flags_in(text: str) -> list[dict[str, Any]]:
    document = yaml.safe_load(text)
    assert document["project"] == PROJECT
    flags: list[dict[str, Any]] = document["flags"]
    return flags


def plan_json(cli: Cli, emu: Emulator, *paths: str) -> dict[str, Any]:
    result = cli.live(emu, "plan", *paths, "--format", "json")
    assert result.code in (0, 1), result
    plan: dict[str, Any] = json.loads(result.stdout)
    return plan


def kinds(plan: dict[str, Any]) -> dict[str, str]:
    return {a["address"]: a["action"] for a in plan["actions"]}


# -- what is written -------------------------------------------------------------------------


def test_one_file_per_first_tag_below_a_directory_named_after_the_project(
    cli: Cli, shop: Emulator, tmp_path: Path
) -> None:
    result = export(cli, shop)
    assert result.code == 0, result
    written = files_under(tmp_path / "out")
    assert {
        name: [f["key"] for f in flags_in(text.decode())] for name, text in written.items()
    } == FILES
    assert result.stdout.splitlines()[: len(FILES)] == [
        "wrote out/shop/checkout.yaml: 3 flag(s), 2 link(s)",
        "wrote out/shop/migration.yaml: 3 flag(s), 0 link(s)",
        "wrote out/shop/payments.yaml: 1 flag(s), 0 link(s)",
        "wrote out/shop/ui.yaml: 1 flag(s), 0 link(s)",
        "wrote out/shop/untagged.yaml: 2 flag(s), 0 link(s)",
    ]
    assert (
        f"Exported {len(EXPECTED)} flag(s) and {EXPECTED_LINKS} link(s) of project shop; "
        "4 flag(s) or link(s) could not be (listed on stderr)." in result.stdout
    )


def test_flags_carry_only_what_differs_from_the_api_defaults_in_the_schema_order(
    cli: Cli, shop: Emulator, tmp_path: Path
) -> None:
    assert export(cli, shop).code == 0
    exported = {
        f["key"]: f for p in (tmp_path / "out").rglob("*.yaml") for f in flags_in(p.read_text())
    }
    assert exported == EXPECTED
    for flag in exported.values():  # dict equality ignores order; the files must not
        assert list(flag) == list(EXPECTED[flag["key"]])


def test_a_file_starts_with_the_schema_modeline_and_is_block_style_yaml(
    cli: Cli, shop: Emulator, tmp_path: Path
) -> None:
    assert export(cli, shop).code == 0
    assert (tmp_path / "out/shop/ui.yaml").read_text(encoding="utf-8") == (
        f"{MODELINE}../flag-file.schema.json\n"
        "# Flags of project shop whose first tag is ui, exported by ld-reconciler.\n"
        "project: shop\n"
        "flags:\n"
        "- key: layout-config\n"
        "  name: Layout config\n"
        "  tags:\n"
        "  - ui\n"
        "  variations:\n"
        "  - value:\n"
        "      columns: 2\n"
        "      dense: false\n"
        "  - value:\n"
        "    - 1\n"
        "    - two\n"
        "  defaults:\n"
        "    onVariation: 0\n"
        "    offVariation: 0\n"
        "  clientSideAvailability:\n"
        "    usingEnvironmentId: false\n"
        "    usingMobileKey: true\n"
    )


def test_export_lists_flags_once_gets_each_listed_flag_once_and_links_per_converted_flag(
    cli: Cli, shop: Emulator
) -> None:
    assert export(cli, shop).code == 0
    assert shop.count(route=LIST_FLAGS) == 1
    # As LaunchDarkly's, the emulator's list leaves environments, and so prerequisites, out.
    live = [f["key"] for f in shop.flags(PROJECT) if not f["archived"]]
    assert sorted(fetched(shop)) == sorted(live)
    assert shop.count(route=LIST_LINKS) == CONVERTED
    assert shop.count(method="POST") == 0


def test_every_files_modeline_reaches_the_schema_the_note_says_to_write(
    cli: Cli, shop: Emulator, tmp_path: Path
) -> None:
    result = export(cli, shop, "--include-archived")
    assert result.code == 0, result
    assert SCHEMA_NOTE in result.stderr.splitlines()
    schema = cli("schema")
    assert schema.code == 0
    (tmp_path / "out/flag-file.schema.json").write_text(schema.stdout, encoding="utf-8")

    written = sorted((tmp_path / "out").rglob("*.yaml"))
    assert tmp_path / "out/shop/archived/checkout.yaml" in written
    for path in written:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith(MODELINE)
        ref = (path.parent / first.removeprefix(MODELINE)).resolve()
        assert ref == (tmp_path / "out/flag-file.schema.json").resolve(), path
    again = export(cli, shop, "--include-archived", "--force")
    assert "modeline" not in again.stderr  # the schema is there now


@pytest.mark.parametrize(
    ("ref", "modeline"),
    [
        ("../schemas/flag-file.schema.json", "../../schemas/flag-file.schema.json"),
        ("https://example.com/flag-file.schema.json", "https://example.com/flag-file.schema.json"),
    ],
)
def test_schema_ref_points_the_modeline_elsewhere(
    cli: Cli, shop: Emulator, tmp_path: Path, ref: str, modeline: str
) -> None:
    result = export(cli, shop, "--tag", "ui", "--schema-ref", ref)
    assert result.code == 0, result
    text = (tmp_path / "out/shop/ui.yaml").read_text(encoding="utf-8")
    assert text.startswith(f"{MODELINE}{modeline}\n")
    stdout = export(cli, shop, "--tag", "ui", "--schema-ref", ref, out="-").stdout
    assert stdout.startswith(f"{MODELINE}{ref}\n")  # as given: it goes where stdout is saved


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--output", ""], "Invalid value for --output: give a directory, or - for stdout",
            id="empty output",
        ),
        pytest.param(
            ["--output", "out", "--schema-ref", "s.json\nproject: other"],
            "Invalid value for --schema-ref: give one path or URL, on one line",
            id="line break in schema-ref",
        ),
        pytest.param(
            ["--output", "out", "--schema-ref", ""],
            "Invalid value for --schema-ref: give one path or URL",
            id="empty schema-ref",
        ),
    ],
)  # fmt: skip
def test_an_output_or_schema_ref_that_cannot_work_is_a_usage_error_before_any_call(
    cli: Cli, shop: Emulator, tmp_path: Path, args: list[str], message: str
) -> None:
    result = cli.live(shop, "export", "--project", PROJECT, *args)
    assert result.code == 2, result
    assert message in result.stderr
    assert shop.count() == 0
    assert list(tmp_path.rglob("*.yaml")) == []


# -- the loop: validate, plan, apply ---------------------------------------------------------


def test_exported_files_validate(cli: Cli, shop: Emulator) -> None:
    assert export(cli, shop).code == 0
    result = cli("validate", "out")
    assert result.code == 0, result
    assert result.stdout == f"{len(EXPECTED)} flags, {EXPECTED_LINKS} links in 5 files: valid\n"


def test_a_live_plan_of_the_export_adopts_every_flag_and_link_and_creates_nothing(
    cli: Cli, shop: Emulator
) -> None:
    assert export(cli, shop).code == 0
    plan = plan_json(cli, shop, "out")
    assert set(kinds(plan).values()) == {"adopt"}
    assert plan["summary"]["adopt"] == len(EXPECTED) + EXPECTED_LINKS
    assert plan["summary"]["create"] == 0
    assert f"{PROJECT}/new-checkout/pay-1" in kinds(plan)


def test_apply_records_the_export_as_adopted_without_a_single_post(
    cli: Cli, shop: Emulator, tmp_path: Path
) -> None:
    assert export(cli, shop).code == 0
    applied = cli.live(shop, "apply", "out", "--yes")
    assert applied.code == 0, applied
    assert f"0 created, {len(EXPECTED) + EXPECTED_LINKS} adopted" in applied.stdout
    assert shop.count(method="POST") == 0

    ledger = Ledger.load(tmp_path / ".ld-reconciler/ledger.json", create=False)
    target = shop.base_url
    flags, links = ledger.flags(target, PROJECT), ledger.links(target, PROJECT)
    assert sorted(flags) == sorted(EXPECTED)
    assert sorted(links) == ["new-checkout/jira-pay-2", "new-checkout/pay-1"]
    assert {e.action for e in [*flags.values(), *links.values()]} == {"adopted"}
    assert set(kinds(plan_json(cli, shop, "out")).values()) == {"unchanged"}


def test_re_exporting_an_unchanged_project_is_byte_identical(
    cli: Cli, shop: Emulator, tmp_path: Path
) -> None:
    assert export(cli, shop, out="first").code == 0
    assert export(cli, shop, out="second").code == 0
    assert files_under(tmp_path / "first") == files_under(tmp_path / "second")
    before = files_under(tmp_path / "first")
    assert export(cli, shop, "--force", out="first").code == 0
    assert files_under(tmp_path / "first") == before
    assert export(cli, shop, out="-").stdout == export(cli, shop, out="-").stdout


# -- files that exist ------------------------------------------------------------------------


def test_an_existing_file_is_never_overwritten_without_force_and_nothing_is_written(
    cli: Cli, shop: Emulator, tmp_path: Path
) -> None:
    mine = tmp_path / "out/shop/ui.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("# my own file\n", encoding="utf-8")
    result = export(cli, shop)
    assert result.code == 1, result
    assert result.stderr == (
        "Error: 1 file(s) exist already: out/shop/ui.yaml; nothing was written "
        "(pass --force to replace them)\n"
    )
    assert files_under(tmp_path / "out") == {"shop/ui.yaml": b"# my own file\n"}


def test_force_replaces_the_files_it_writes_and_names_other_yaml_files_it_left(
    cli: Cli, shop: Emulator, tmp_path: Path
) -> None:
    (tmp_path / "out/shop").mkdir(parents=True)
    (tmp_path / "out/shop/ui.yaml").write_text("# stale\n", encoding="utf-8")
    (tmp_path / "out/shop/legacy.yaml").write_text("# hand-written\n", encoding="utf-8")
    result = export(cli, shop, "--force")
    assert result.code == 0, result
    assert flags_in((tmp_path / "out/shop/ui.yaml").read_text())[0]["key"] == "layout-config"
    assert (tmp_path / "out/shop/legacy.yaml").read_text() == "# hand-written\n"
    assert (
        "note: out/shop/legacy.yaml was not written by this export; a flag it declares too is "
        "declared twice" in result.stderr
    )


# -- stdout ----------------------------------------------------------------------------------


def test_output_dash_writes_one_flag_file_to_stdout_and_nothing_to_disk(
    cli: Cli, shop: Emulator, tmp_path: Path
) -> None:
    result = cli.child(shop, "export", "--project", PROJECT, "--output", "-")
    assert result.code == 0, result
    assert result.stdout.startswith(f"{MODELINE}flag-file.schema.json\n")
    flags = flags_in(result.stdout)
    assert [f["key"] for f in flags] == sorted(EXPECTED)
    assert {f["key"]: f for f in flags} == EXPECTED
    assert list(tmp_path.glob("**/*.yaml")) == []
    assert f"Exported {len(EXPECTED)} flag(s)" in result.stderr

    (tmp_path / "all.yaml").write_text(result.stdout, encoding="utf-8")
    assert cli("validate", "all.yaml").code == 0
    assert set(kinds(plan_json(cli, shop, "all.yaml")).values()) == {"adopt"}


# -- what cannot be exported -----------------------------------------------------------------


def test_what_a_flag_file_cannot_express_is_listed_on_stderr_and_the_rest_exported(
    cli: Cli, shop: Emulator
) -> None:
    result = export(cli, shop)
    assert result.code == 0, result
    assert result.stderr.splitlines() == [SCHEMA_NOTE, *UNEXPRESSIBLE]


Seed = Callable[[Emulator], None]
Edit = Callable[[dict[str, Any]], None]


@pytest.fixture
def make_emulator(tmp_path: Path, emulators: Emulators) -> Callable[[Seed, Edit], Emulator]:
    """Start an emulator for ``shop``: created by ``seed``, then its data file changed by ``edit``
    (to hold what no create can make). Stopped when the test ends."""

    def make(seed: Seed, edit: Edit) -> Emulator:
        data = tmp_path / f"emulator-{len(emulators.started)}.json"
        config = EmulatorConfig(projects=(PROJECT,), data_path=data)
        seeding = Emulator(config)
        seed(seeding)
        seeding.stop()  # releases the data file, which is then edited
        if data.exists():
            document = json.loads(data.read_text(encoding="utf-8"))
            edit(document["projects"][PROJECT])
            data.write_text(json.dumps(document), encoding="utf-8")
        return emulators.start(config)

    return make


def test_export_exits_1_when_flags_exist_but_none_can_be_exported(
    cli: Cli, make_emulator: Callable[[Seed, Edit], Emulator], tmp_path: Path
) -> None:
    def holdout(project: dict[str, Any]) -> None:
        project["flags"][0]["_purpose"] = "holdout"

    emu = make_emulator(
        lambda emu: emu.create_flag(PROJECT, {"key": "only", "name": "Only"}), holdout
    )
    result = export(cli, emu)
    assert result.code == 1, result
    assert "not exported: shop/only: a holdout flag" in result.stderr
    assert "Exported 0 flag(s) and 0 link(s) of project shop" in result.stdout
    assert not (tmp_path / "out").exists()


def test_an_empty_project_exports_an_empty_flag_list_and_exits_0(
    cli: Cli, make_emulator: Callable[[Seed, Edit], Emulator]
) -> None:
    emu = make_emulator(lambda emu: None, lambda project: None)
    result = export(cli, emu, out="-")
    assert result.code == 0, result
    assert flags_in(result.stdout) == []
    assert "Project shop has no flags to export." in result.stderr


def test_without_prerequisites_among_the_flags_nothing_is_said_about_prerequisites(
    cli: Cli, shop: Emulator
) -> None:
    result = export(cli, shop, "--tag", "ui")
    assert result.code == 0, result
    assert result.stderr.splitlines() == [SCHEMA_NOTE]
    assert fetched(shop) == ["layout-config"]  # only the flag chosen


def test_a_flag_that_reports_no_prerequisites_is_fetched_once_and_noted(
    cli: Cli, make_emulator: Callable[[Seed, Edit], Emulator]
) -> None:
    def unreported(project: dict[str, Any]) -> None:
        # Environments that neither list their prerequisites nor count them.
        for config in project["flags"][0]["environments"].values():
            del config["prerequisites"], config["_summary"]

    emu = make_emulator(seed_shop, unreported)
    result = export(cli, emu, out="-")
    assert result.code == 0, result
    assert fetched(emu).count("dark-mode") == 1
    assert "note: shop/dark-mode: prerequisites left out: LaunchDarkly did not report them" in (
        result.stderr.splitlines()
    )
    assert {f["key"]: f for f in flags_in(result.stdout)}["dark-mode"] == EXPECTED["dark-mode"]


# -- selection -------------------------------------------------------------------------------


def test_archived_flags_are_exported_only_with_include_archived_and_plan_as_blocked(
    cli: Cli, shop: Emulator, tmp_path: Path
) -> None:
    assert export(cli, shop).code == 0
    assert "old-banner" not in json.dumps(
        [flags_in(t.decode()) for t in files_under(tmp_path / "out").values()]
    )

    result = export(cli, shop, "--include-archived", out="all")
    assert result.code == 0, result
    archived = tmp_path / "all/shop/archived/checkout.yaml"
    assert [f["key"] for f in flags_in(archived.read_text())] == ["old-banner"]
    assert archived.read_text().splitlines()[1].endswith("Archived: a plan shows them as blocked.")
    assert (
        "note: 1 archived flag(s) exported (in all/shop/archived): a plan shows them as blocked; "
        "keep them out of the files you apply" in result.stderr
    )
    assert shop.count(route=LIST_FLAGS) == 3  # live, then live and archived
    assert cli("validate", "all").code == 0
    planned = kinds(plan_json(cli, shop, "all"))
    assert planned.pop(f"{PROJECT}/old-banner") == "blocked"
    assert set(planned.values()) == {"adopt"}


def test_tag_selects_flags_with_that_exact_tag_and_leaves_out_prerequisites_on_others(
    cli: Cli, shop: Emulator, tmp_path: Path
) -> None:
    result = export(cli, shop, "--tag", "checkout")
    assert result.code == 0, result
    written = {
        n: [f["key"] for f in flags_in(t.decode())]
        for n, t in files_under(tmp_path / "out").items()
    }
    assert written == {"shop/checkout.yaml": ["express-checkout", "new-checkout"]}
    assert (
        "note: shop/express-checkout: prerequisite 'dark-mode' left out: that flag is not "
        "tagged checkout" in result.stderr
    )
    planned = kinds(plan_json(cli, shop, "out"))
    assert set(planned.values()) == {"adopt"}
    assert len(planned) == 2 + EXPECTED_LINKS


# -- connecting ------------------------------------------------------------------------------


def test_emulator_option_exports_from_the_in_process_emulator(cli: Cli, tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples" / "flags"
    assert cli("apply", str(examples), "--emulator", "--yes").code == 0
    result = cli("export", "--project", "web-app", "--emulator", "--output", "out")
    assert result.code == 0, result
    assert "Exported 10 flag(s) and 5 link(s) of project web-app." in result.stdout
    planned = cli("plan", "out", "--emulator", "--ledger", "fresh-ledger.json", "--format", "json")
    assert planned.code == 0, planned
    assert {a["action"] for a in json.loads(planned.stdout)["actions"]} == {"adopt"}


def test_export_without_a_token_says_how_to_give_one(cli: Cli, shop: Emulator) -> None:
    result = cli("export", "--project", PROJECT, "--base-url", shop.base_url)
    assert result.code == 1
    assert result.stderr == (
        "Error: export reads LaunchDarkly: set LAUNCHDARKLY_ACCESS_TOKEN (or LD_ACCESS_TOKEN), "
        "or use --emulator\n"
    )
    assert shop.count() == 0


def test_an_unknown_project_is_one_line_and_exit_1(cli: Cli, shop: Emulator) -> None:
    result = cli.live(shop, "export", "--project", "nope")
    assert result.code == 1
    assert result.stderr == (
        "Error: GET /api/v2/flags/nope?limit=100&offset=0: 404 not_found: "
        "Unknown project key 'nope'\n"
    )


def test_a_project_key_that_cannot_be_one_is_refused_before_any_call(
    cli: Cli, shop: Emulator
) -> None:
    result = cli.live(shop, "export", "--project", "../shop")
    assert result.code == 1
    assert result.stderr == (
        "Error: '../shop' is not a project key (letters, digits, '.', '_' and '-', starting "
        "with a letter or digit)\n"
    )
    assert shop.count() == 0
