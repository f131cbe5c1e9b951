"""Every create shows what it will send, in every format, through the CLI against the emulator;
and what a plan says LaunchDarkly will fill in is what the emulator fills in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.emulator import Emulator
from reconciler.github.comment import plan_markdown

from .support import Cli, flag, write_flags

DEFAULTED = "(LaunchDarkly's default)"
JIRA = "https://jira.example.com/PAY-1"


@pytest.fixture
def declared(cli: Cli, tmp_path: Path) -> Path:
    """A minimal flag, a detailed flag with a prerequisite and a link, and a flag that drifted."""
    return write_flags(tmp_path / "flags" / "web.yaml", "web-app", [
        flag("minimal"),
        flag(
            "detailed",
            description="New checkout",
            temporary=False,
            tags=["sdk", "psp"],
            variations=[{"value": "green", "name": "Green"}, {"value": "blue"}],
            defaults={"onVariation": 1, "offVariation": 0},
            maintainerTeamKey="payments",
            isFlagOn=True,
            initialPrerequisites=[{"key": "minimal", "variationIndex": 0}],
            links=[{"key": "pay-1", "deepLink": JIRA, "title": "PAY-1"}],
        ),
    ])  # fmt: skip


def _block(text: str, head: str) -> list[str]:
    """The attribute lines under the line that contains ``head``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if head in line) + 1
    block = []
    for line in lines[start:]:
        if not line.startswith("      "):
            break
        block.append(line.strip())
    return block


def test_text_plan_lists_each_create_s_attributes_and_marks_launchdarkly_s_defaults(
    cli: Cli, emu: Emulator, declared: Path
) -> None:
    result = cli.live(emu, "plan", "flags")
    assert result.code == 0, result
    minimal = _block(result.stdout, "+ create   flag web-app/minimal")
    assert minimal == [
        'key                    = "minimal"',
        'name                   = "Minimal"',
        f'description            = "" {DEFAULTED}',
        f"temporary              = true {DEFAULTED}",
        f"tags                   = [] {DEFAULTED}",
        f"variations[0]          = true {DEFAULTED}",
        f"variations[1]          = false {DEFAULTED}",
        f"defaults.onVariation   = 0 (true) {DEFAULTED}",
        f"defaults.offVariation  = 1 (false) {DEFAULTED}",
        f"clientSideAvailability = the project's default for new flags {DEFAULTED}",
        f"isFlagOn               = false {DEFAULTED}",
    ]
    detailed = _block(result.stdout, "+ create   flag web-app/detailed")
    assert 'description             = "New checkout"' in detailed
    assert "temporary               = false" in detailed
    assert 'tags                    = ["sdk", "psp"]' in detailed
    assert 'variations[0]           = "green", name "Green"' in detailed
    assert 'defaults.onVariation    = 1 ("blue")' in detailed
    assert 'defaults.offVariation   = 0 ("green", name "Green")' in detailed
    assert 'maintainerTeamKey       = "payments"' in detailed
    assert "isFlagOn                = true" in detailed
    assert (
        'initialPrerequisites[0] = "minimal", variation 0 (variationId known after apply)'
        in detailed
    )
    assert _block(result.stdout, "+ create   link web-app/detailed/pay-1") == [
        'key      = "pay-1"',
        'deepLink = "https://jira.example.com/PAY-1"',
        'title    = "PAY-1"',
    ]


def test_what_the_plan_says_launchdarkly_fills_in_is_what_it_fills_in(
    cli: Cli, emu: Emulator, declared: Path
) -> None:
    assert cli.live(emu, "apply", "flags", "--yes").code == 0
    minimal = next(f for f in emu.flags("web-app") if f["key"] == "minimal")
    assert (minimal["description"], minimal["temporary"], minimal["tags"]) == ("", True, [])
    assert [v["value"] for v in minimal["variations"]] == [True, False]
    assert minimal["defaults"] == {"onVariation": 0, "offVariation": 1}


def test_markdown_plan_shows_each_create_s_attributes_in_its_collapsed_section(
    cli: Cli, emu: Emulator, declared: Path
) -> None:
    result = cli.live(emu, "plan", "flags", "--format", "markdown")
    assert result.code == 0, result
    creates = result.stdout.split("<details><summary>3 create</summary>")[1]
    assert "`+ flag web-app/minimal` will be created with:\n\n```\n" in creates
    assert f"\ntemporary              = true {DEFAULTED}\n" in creates
    assert '\ntags                    = ["sdk", "psp"]\n' in creates
    assert "`+ link web-app/detailed/pay-1` will be created with:" in creates
    assert creates.rstrip().endswith("</details>")


def test_json_plan_carries_the_body_each_create_will_send_and_a_saved_plan_renders_it(
    cli: Cli, emu: Emulator, declared: Path
) -> None:
    result = cli.live(emu, "plan", "flags", "--format", "json", "--out", "plan.json")
    assert result.code == 0, result
    bodies = {a["address"]: a.get("body") for a in json.loads(result.stdout)["actions"]}
    assert bodies["web-app/minimal"] == {"key": "minimal", "name": "Minimal"}
    detailed = bodies["web-app/detailed"]
    assert detailed["tags"] == ["sdk", "psp"]
    assert detailed["isFlagOn"] is True
    assert detailed["initialPrerequisites"] == [
        {"key": "minimal", "variationId": None, "variation": 0}
    ]
    assert "links" not in detailed  # sent by their own call
    assert bodies["web-app/detailed/pay-1"] == {
        "key": "pay-1", "deepLink": "https://jira.example.com/PAY-1", "title": "PAY-1",
    }  # fmt: skip
    markdown = cli.live(emu, "plan", "flags", "--format", "markdown").stdout
    assert plan_markdown(cli.cwd / "plan.json") == markdown  # the sticky comment of a saved plan
    applied = cli.live(emu, "apply", "--plan", "plan.json", "flags", "--yes")
    assert applied.code == 0, applied


def test_drift_shows_both_sides_of_each_field_in_every_format(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    path = write_flags(tmp_path / "flags" / "web.yaml", "web-app", [flag("drifted")])
    emu.create_flag("web-app", flag("drifted", description="Set in the UI"))
    write_flags(path, "web-app", [flag("drifted", description="Declared in git")])
    text = cli.live(emu, "plan", "flags").stdout
    assert 'description: "Declared in git" -> "Set in the UI"' in text
    markdown = cli.live(emu, "plan", "flags", "--format", "markdown").stdout
    assert '`description`: `"Declared in git"` → `"Set in the UI"`' in markdown
    document = json.loads(cli.live(emu, "plan", "flags", "--format", "json").stdout)
    (drift,) = document["actions"]
    assert drift["diff"] == [
        {"path": "description", "before": "Declared in git", "after": "Set in the UI"}
    ]
    github = cli.live(emu, "plan", "flags", "--format", "github").stdout
    (warning,) = (line for line in github.splitlines() if line.startswith("::warning "))
    assert 'not adopted%0Adescription: "Declared in git" -> "Set in the UI"' in warning


def test_the_readme_s_example_of_a_create_is_what_plan_prints_for_the_example_flags(
    cli: Cli, example_flags: Path
) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### What a create will send")[1]
    example = section.split("```text\n")[1].split("```")[0]
    result = cli("plan", "flags", "--offline")
    assert result.code == 0, result
    for head in example.splitlines():
        if head.startswith("  + create"):
            assert head in result.stdout.splitlines()
            assert _block(example, head) == _block(result.stdout, head)
