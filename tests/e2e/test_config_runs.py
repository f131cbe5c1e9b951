"""plan, apply and init with a repository configuration, through the real CLI.

The repository is ``tests/data/config/repo`` copied into the test's directory: its
``ld-reconciler.yaml`` sets ``paths``, global and project defaults and a template.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.emulator import DEV_TOKEN, Emulator

from .support import CREATE_FLAG, Cli, flag, load_ledger, recorded, target_of

DATA = Path(__file__).resolve().parents[1] / "data" / "config" / "repo"
TOKEN = {"LAUNCHDARKLY_ACCESS_TOKEN": DEV_TOKEN}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return Path(shutil.copytree(DATA, tmp_path / "repo"))


def configure(repo: Path, **settings: str) -> Path:
    """Add ``key: value`` lines to the repository's configuration."""
    config = repo / "ld-reconciler.yaml"
    lines = "".join(f"{key}: {value}\n" for key, value in settings.items())
    config.write_text(config.read_text() + lines)
    return config


def stored_flag(emu: Emulator, key: str) -> dict[str, object]:
    (found,) = (f for f in emu.flags("web-app") if f["key"] == key)
    return found


def test_plan_and_apply_from_a_subdirectory_read_paths_base_url_and_ledger_from_it(
    repo: Path, emu: Emulator
) -> None:
    configure(repo, baseUrl=emu.base_url, ledger="state/ledger.json")
    cli = Cli(repo / "flags" / "web-app")

    plan = cli("plan", env=TOKEN)
    assert plan.code == 0, plan
    assert f"Planned live against {target_of(emu)}." in plan.stdout
    assert "  + create   flag web-app/kill-payments  (../web-app/checkout.yaml:7:5)" in plan.stdout
    assert "Plan: 2 to create." in plan.stdout

    applied = cli("apply", "--yes", env=TOKEN)
    assert applied.code == 0, applied
    assert emu.count(route=CREATE_FLAG) == 2
    ledger = load_ledger(repo, Path("state/ledger.json"))  # next to the configuration
    assert recorded(ledger, target_of(emu), "web-app") == {
        "web-app/checkout-redesign": "created",
        "web-app/kill-payments": "created",
    }
    assert not (cli.cwd / ".ld-reconciler").exists()
    again = Cli(repo)("plan", env=TOKEN)
    assert "Plan: nothing to create, 2 unchanged." in again.stdout


def test_the_command_line_and_the_environment_win_over_the_configuration(
    repo: Path, emu: Emulator
) -> None:
    configure(repo, baseUrl="https://app.launchdarkly.us")
    cli = Cli(repo)
    configured = cli("plan", "--offline")
    assert "Planned offline from the ledger for https://app.launchdarkly.us" in configured.stdout
    by_env = cli("plan", env={**TOKEN, "LAUNCHDARKLY_BASE_URL": emu.base_url})
    assert f"Planned live against {target_of(emu)}." in by_env.stdout, by_env
    by_option = cli.live(emu, "plan", "--ledger", "mine.json")
    assert f"Planned live against {target_of(emu)}." in by_option.stdout, by_option
    assert cli.live(emu, "apply", "--yes", "--ledger", "mine.json").code == 0
    assert (repo / "mine.json").is_file()
    assert not (repo / ".ld-reconciler" / "ledger.json").exists()


def test_what_is_sent_is_what_the_flag_resolves_to(repo: Path, emu: Emulator) -> None:
    assert Cli(repo).live(emu, "apply", "--yes").code == 0
    kill = stored_flag(emu, "kill-payments")
    # global, project, template tags in that order, unioned
    assert kill["tags"] == ["managed", "web", "kill-switch"]
    assert kill["maintainerTeamKey"] == "web-platform"  # the project's default
    assert kill["temporary"] is False  # the template's
    assert [v["name"] for v in kill["variations"]] == ["Enabled", "Disabled"]  # type: ignore[index]
    checkout = stored_flag(emu, "checkout-redesign")
    assert checkout["tags"] == ["managed", "web", "checkout"]  # the flag's own come last


def test_each_merge_rule_shows_in_the_plan_against_a_flag_that_exists_otherwise(
    repo: Path, emu: Emulator
) -> None:
    (repo / "flags" / "web-app" / "checkout.yaml").write_text(
        "project: web-app\nflags:\n"
        "  - key: kill-payments\n    name: Kill payments\n    template: kill-switch\n"
        "    maintainerTeamKey: payments\n"  # the flag wins over the project's default
        "    tags: [payments, web]\n"  # a repeat is not repeated
        "    defaults: {onVariation: 1, offVariation: 1}\n"  # taken whole over the template's
    )
    emu.create_flag("web-app", flag("kill-payments", name="Kill payments"))
    plan = Cli(repo).live(emu, "plan")
    assert plan.code == 0, plan
    assert "~ drift    flag web-app/kill-payments" in plan.stdout
    assert 'maintainerTeamKey: "payments" -> (absent)' in plan.stdout
    tags = [line.strip() for line in plan.stdout.splitlines() if line.strip().startswith("tags")]
    assert tags == [  # every level's, once each (compared as a set: LaunchDarkly sorts them)
        'tags[0]: "kill-switch" -> (absent)',
        'tags[1]: "managed" -> (absent)',
        'tags[2]: "payments" -> (absent)',
        'tags[3]: "web" -> (absent)',
    ]
    assert "defaults.onVariation: 1 -> 0" in plan.stdout  # the flag's, whole
    assert "clientSideAvailability.usingEnvironmentId: true -> false" in plan.stdout  # project
    assert "temporary: false -> true" in plan.stdout  # the template's
    assert 'variations[0].name: "Enabled" -> (absent)' in plan.stdout


def test_a_changed_default_or_template_is_one_line_not_drift_and_v_lists_it(
    repo: Path, emu: Emulator
) -> None:
    configure(repo, baseUrl=emu.base_url)
    cli = Cli(repo)
    assert cli("apply", "--yes", env=TOKEN).code == 0
    config = repo / "ld-reconciler.yaml"
    config.write_text(
        config.read_text()
        .replace("maintainerTeamKey: web-platform", "maintainerTeamKey: platform")
        .replace("name: Disabled", "name: Off")
    )
    for mode in ((), ("--offline",)):
        plan = cli("plan", *mode, env=TOKEN)
        assert plan.code == 0, plan
        assert "drift" not in plan.stdout
        assert plan.stdout.endswith(
            "Plan: nothing to create, 2 unchanged.\n"
            "2 created flags differ from the current configuration (defaults or templates); "
            "ld-reconciler -v plan lists them.\n"
        )
    listed = cli("-v", "plan", env=TOKEN, subprocess=True)  # -v configures logging
    assert "    unchanged flag web-app/kill-payments  (flags/web-app/checkout.yaml:7:5)" in (
        listed.stdout
    )
    assert 'variations[1].name: "Disabled" -> "Off"' in listed.stdout
    assert 'maintainerTeamKey: "web-platform" -> "platform"' in listed.stdout

    # A change to the flag's own fields is drift as ever, with the configuration's beside it.
    flags = repo / "flags" / "web-app" / "checkout.yaml"
    flags.write_text(flags.read_text().replace("tags: [checkout]", "tags: [checkout, new]"))
    plan = cli("plan", env=TOKEN)
    assert "~ drift    flag web-app/checkout-redesign" in plan.stdout
    assert "the file changed since the flag was created" in plan.stdout
    assert "Plan: nothing to create, 1 unchanged, 1 drifted.\n1 created flag differs" in (
        plan.stdout
    )


def test_init_then_validate_plan_and_apply_on_the_emulator(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    init = cli("init", "--project", "web-app", "--github")
    assert init.code == 0, init
    assert "wrote ld-reconciler.yaml\n" in init.stdout
    assert "wrote .github/workflows/ld-reconciler-plan.yml\n" in init.stdout
    assert init.stdout.endswith(
        "Next:\n  ld-reconciler validate\n  ld-reconciler plan --emulator\n"
        "  ld-reconciler apply --emulator --yes\n"
    )
    assert cli("validate").stdout == "2 flags, 0 links in 1 file: valid\n"
    plan = cli("plan", "--emulator")
    assert plan.code == 0, plan
    assert "Plan: 2 to create." in plan.stdout
    assert cli("apply", "--emulator", "--yes").code == 0

    again = cli("init")
    assert "skipped ld-reconciler.yaml (it exists; left as it is)" in again.stdout
    ignored = (tmp_path / ".gitignore").read_text().splitlines()
    assert ignored.count("/.ld-reconciler/ledger.json.lock") == 1


def test_no_path_and_no_configured_paths_is_a_usage_error(tmp_path: Path) -> None:
    result = Cli(tmp_path)("plan")
    assert result.code == 2
    assert "Give a flag file or directory, or set paths in ld-reconciler.yaml." in result.stderr


def test_plan_and_apply_report_the_configurations_mistakes_located_and_plan_nothing(
    tmp_path: Path, emu: Emulator
) -> None:
    repo = Path(shutil.copytree(DATA.parent / "repo-with-mistakes", tmp_path / "repo"))
    for args in (("plan", "--offline"), ("apply", "--yes", "--base-url", emu.base_url)):
        result = Cli(repo / "flags")(*args, env=TOKEN)
        assert result.code == 1, result
        assert result.stderr.splitlines() == [
            '../ld-reconciler.yaml:8:46: templates["kill-switch"].defaults.offVariation: 2 is '
            "out of range (the flag has 2 variations, indices 0 to 1); "
            "affects flag web-app/kill-payments (web-app.yaml:3:5)",
            '../ld-reconciler.yaml:9:5: templates["kill-switch"].temprary: unknown field '
            "'temprary'; did you mean 'temporary'?",
            "web-app.yaml:8:15: flags[1].template: unknown template 'kill-swich'; "
            "did you mean 'kill-switch'?",
            "3 problem(s) in the flag files: nothing was planned.",
        ]
    assert emu.count(route=CREATE_FLAG) == 0


def test_an_emulator_plan_from_a_subdirectory_names_the_emulators_data_next_to_the_configuration(
    repo: Path,
) -> None:
    cli = Cli(repo / "flags" / "web-app")
    plan = cli("plan", "--emulator")
    assert plan.code == 0, plan
    assert (
        "Planned live against the bundled emulator (its data is in ../../.ld-reconciler/)."
        in plan.stdout
    ), plan.stdout
    assert (repo / ".ld-reconciler").is_dir()
    assert not (cli.cwd / ".ld-reconciler").exists()
    assert cli("apply", "--emulator", "--yes").code == 0
    assert (repo / ".ld-reconciler" / "emulator.json").is_file()
    here = Cli(repo)("plan", "--emulator")
    assert "(its data is in .ld-reconciler/)" in here.stdout, here.stdout


def test_ledger_commands_use_the_configurations_ledger_and_accept_resolves_flags_as_plan_does(
    repo: Path, emu: Emulator
) -> None:
    configure(repo, baseUrl=emu.base_url, ledger="state/ledger.json")
    cli = Cli(repo / "flags" / "web-app")
    assert cli("apply", "--yes", env=TOKEN).code == 0
    listed = cli("ledger", "list")
    assert listed.code == 0, listed
    assert f"Tracked for {target_of(emu)} in ../../state/ledger.json:" in listed.stdout
    assert "2 tracked: 2 flag(s), 0 link(s)." in listed.stdout

    checkout = repo / "flags" / "web-app" / "checkout.yaml"
    checkout.write_text(checkout.read_text().replace("tags: [checkout]", "tags: [checkout, v2]"))
    assert "~ drift    flag web-app/checkout-redesign" in cli("plan", "--offline").stdout
    # No --files: the configuration's paths, resolved with its defaults and templates.
    accepted = cli("ledger", "accept", "web-app/checkout-redesign", "--offline")
    assert accepted.code == 0, accepted
    assert "accepted flag web-app/checkout-redesign" in accepted.stdout
    after = cli("plan", "--offline")
    assert "drift" not in after.stdout, after.stdout
    assert "Plan: nothing to create, 2 unchanged." in after.stdout
    entry = load_ledger(repo, Path("state/ledger.json")).get_flag(
        target_of(emu), "web-app", "checkout-redesign"
    )
    assert entry is not None
    assert entry.spec["maintainerTeamKey"] == "web-platform"  # the project's default
