"""What a flag resolves to (defaults, project defaults, template, flag), and where findings point.

Every test writes a real repository (``ld-reconciler.yaml`` and flag files) and validates
it as ``ld-reconciler validate`` does: ``load_config`` then ``validate_paths``.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from reconciler.config.configuration import CONFIG_NAME, load_config
from reconciler.config.resolution import SHOWN_FLAGS, resolve_documents
from reconciler.files.loader import load_text
from reconciler.files.validator import ValidationResult, validate_paths
from support.configs import KILL_SWITCH_TEMPLATE

CONFIG = (
    """\
defaults:
  tags: [managed]
  temporary: true
projects:
  web-app:
    defaults:
      maintainerTeamKey: web-platform
      tags: [web, managed]
      clientSideAvailability: {usingEnvironmentId: true, usingMobileKey: false}
templates:
"""
    + KILL_SWITCH_TEMPLATE
)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def validate(repo: Path, config: str | None, **flag_files: str) -> ValidationResult:
    """Write the repository (``web_yaml=`` is flags/web.yaml) and validate its flags."""
    if config is not None:
        (repo / CONFIG_NAME).write_text(dedent(config))
    (repo / "flags").mkdir(exist_ok=True)
    for name, text in flag_files.items():
        (repo / "flags" / name.replace("_", ".")).write_text(dedent(text))
    return validate_paths(["flags"], load_config())


def fields(result: ValidationResult) -> dict[str, dict[str, Any]]:
    assert [str(f) for f in result.findings] == []
    return {f.key: dict(f.fields) for f in result.state.flags}


def problems(result: ValidationResult) -> list[str]:
    return [str(f) for f in result.findings]


WEB = """\
project: web-app
flags:
  - key: plain
    name: Plain
  - key: kill-payments
    name: Kill payments
    template: kill-switch
    tags: [payments, web]
"""


def test_global_defaults_reach_every_flag_of_every_project(repo: Path) -> None:
    other = "project: other\nflags:\n  - {key: x, name: X}\n"
    result = validate(repo, CONFIG, web_yaml=WEB, other_yaml=other)
    assert {f.key: dict(f.fields) for f in result.state.flags}["x"] == {
        "key": "x",
        "name": "X",
        "tags": ["managed"],
        "temporary": True,
    }


def test_project_defaults_win_over_global_ones_for_their_project_only(repo: Path) -> None:
    plain = fields(validate(repo, CONFIG, web_yaml=WEB))["plain"]
    assert plain["maintainerTeamKey"] == "web-platform"
    assert plain["clientSideAvailability"] == {"usingEnvironmentId": True, "usingMobileKey": False}
    assert plain["tags"] == ["managed", "web"]


def test_a_template_wins_over_defaults_and_the_flag_over_its_template(repo: Path) -> None:
    web = WEB + "    temporary: true\n    defaults: {onVariation: 1, offVariation: 1}\n"
    flag = fields(validate(repo, CONFIG, web_yaml=web))["kill-payments"]
    assert flag["variations"] == [
        {"value": True, "name": "Enabled"},
        {"value": False, "name": "Disabled"},
    ]
    assert flag["temporary"] is True  # the flag's own, over the template's false
    assert flag["defaults"] == {"onVariation": 1, "offVariation": 1}  # whole, not merged


def test_a_template_wins_over_the_defaults(repo: Path) -> None:
    flag = fields(validate(repo, CONFIG, web_yaml=WEB))["kill-payments"]
    assert flag["temporary"] is False


def test_tags_are_unioned_from_least_to_most_specific_without_repeats(repo: Path) -> None:
    flag = fields(validate(repo, CONFIG, web_yaml=WEB))["kill-payments"]
    assert flag["tags"] == ["managed", "web", "kill-switch", "payments"]


def test_the_template_name_is_resolved_and_never_sent(repo: Path) -> None:
    flag = fields(validate(repo, CONFIG, web_yaml=WEB))["kill-payments"]
    assert "template" not in flag


def test_a_flag_without_a_configuration_resolves_to_itself(repo: Path) -> None:
    document = load_text(WEB.replace("    template: kill-switch\n", ""), "web.yaml")
    (resolved,), found = resolve_documents([document], load_config(start=repo))
    assert resolved is document
    assert found == []


def test_a_finding_on_a_configured_value_points_at_the_configuration_and_names_the_flag(
    repo: Path,
) -> None:
    config = CONFIG.replace("offVariation: 1}", "offVariation: 2}")
    assert problems(validate(repo, config, web_yaml=WEB)) == [
        f'{CONFIG_NAME}:17:46: templates["kill-switch"].defaults.offVariation: 2 is out of range '
        "(the flag has 2 variations, indices 0 to 1); "
        "affects flag web-app/kill-payments (flags/web.yaml:5:5)"
    ]


def test_a_configured_value_wrong_for_many_flags_is_one_finding_with_a_count(repo: Path) -> None:
    config = CONFIG.replace("offVariation: 1}", "offVariation: 2}")
    flags = "".join(
        f"  - {{key: k{i}, name: K{i}, template: kill-switch}}\n" for i in range(SHOWN_FLAGS + 2)
    )
    (finding,) = problems(validate(repo, config, web_yaml=f"project: web-app\nflags:\n{flags}"))
    assert finding.startswith(f"{CONFIG_NAME}:17:46: ")
    assert finding.endswith(
        f"; affects {SHOWN_FLAGS + 2} flags: web-app/k0 (flags/web.yaml:3:5), "
        "web-app/k1 (flags/web.yaml:4:5), web-app/k2 (flags/web.yaml:5:5) and 2 more"
    )


def test_a_template_value_the_flag_does_not_allow_points_at_the_templates_key(
    repo: Path,
) -> None:
    web = "project: web-app\nflags:\n  - key: m\n    name: M\n    template: kill-switch\n"
    web += "    purpose: migration\n    migrationSettings: {stageCount: 2}\n"
    assert problems(validate(repo, CONFIG, web_yaml=web)) == [
        f'{CONFIG_NAME}:14:5: templates["kill-switch"].variations: a migration flag has no '
        "variations: LaunchDarkly makes one variation per stage; affects flag web-app/m "
        "(flags/web.yaml:3:5)",
        f'{CONFIG_NAME}:17:5: templates["kill-switch"].defaults: a migration flag has no '
        "defaults: LaunchDarkly makes one variation per stage; affects flag web-app/m "
        "(flags/web.yaml:3:5)",
    ]


def test_a_flags_own_defaults_are_checked_against_its_templates_variations(repo: Path) -> None:
    config = CONFIG.replace("    defaults: {onVariation: 0, offVariation: 1}\n", "")
    web = WEB + "    defaults: {onVariation: 0, offVariation: 2}\n"
    assert problems(validate(repo, config, web_yaml=web)) == [
        "flags/web.yaml:9:46: flags[1].defaults.offVariation: 2 is out of range "
        "(the flag has 2 variations, indices 0 to 1)"
    ]


def test_a_mistake_in_the_configuration_is_reported_once_not_per_flag(repo: Path) -> None:
    config = CONFIG.replace("    temporary: false\n", "    temprary: false\n")
    web = WEB + "  - {key: again, name: Again, template: kill-switch}\n"
    assert problems(validate(repo, config, web_yaml=web)) == [
        f"{CONFIG_NAME}:12:5: templates[\"kill-switch\"].temprary: unknown field 'temprary'; "
        "did you mean 'temporary'?"
    ]


def test_a_repeated_tag_in_the_flag_itself_is_still_reported_there(repo: Path) -> None:
    web = WEB.replace("[payments, web]", "[payments, payments]")
    assert problems(validate(repo, CONFIG, web_yaml=web)) == [
        "flags/web.yaml:8:22: flags[1].tags[1]: 'payments' is listed twice"
    ]


def test_an_unknown_template_is_located_with_a_did_you_mean_and_nothing_else(
    repo: Path,
) -> None:
    web = WEB.replace("template: kill-switch", "template: kill-swtch")
    web += "    defaults: {onVariation: 0, offVariation: 5}\n"
    assert problems(validate(repo, CONFIG, web_yaml=web)) == [
        "flags/web.yaml:7:15: flags[1].template: unknown template 'kill-swtch'; "
        "did you mean 'kill-switch'?"
    ]


def test_an_unknown_template_lists_the_templates_when_none_is_close(repo: Path) -> None:
    web = WEB.replace("template: kill-switch", "template: experiment")
    assert problems(validate(repo, CONFIG, web_yaml=web)) == [
        "flags/web.yaml:7:15: flags[1].template: unknown template 'experiment'; "
        "the templates are kill-switch"
    ]


def test_a_template_named_without_a_configuration_says_there_is_none(repo: Path) -> None:
    if (repo / CONFIG_NAME).exists() or load_config().file is not None:
        pytest.skip("a configuration file above the temporary directory")
    assert problems(validate(repo, None, web_yaml=WEB)) == [
        "flags/web.yaml:7:15: flags[1].template: unknown template 'kill-switch'; "
        f"no {CONFIG_NAME} (here or in a parent directory) defines templates"
    ]


def test_a_template_named_with_a_configuration_without_templates(repo: Path) -> None:
    assert problems(validate(repo, "paths: [flags]\n", web_yaml=WEB)) == [
        "flags/web.yaml:7:15: flags[1].template: unknown template 'kill-switch'; "
        f"{CONFIG_NAME} defines no templates"
    ]


def test_a_flag_with_an_unknown_template_still_counts_as_a_prerequisite(repo: Path) -> None:
    web = WEB.replace("template: kill-switch", "template: nope")
    web += "  - key: child\n    name: Child\n"
    web += "    initialPrerequisites: [{key: kill-payments, variationIndex: 0}]\n"
    assert [f.path for f in validate(repo, CONFIG, web_yaml=web).findings] == ["flags[1].template"]


def test_the_configurations_findings_come_with_the_flag_files(repo: Path) -> None:
    config = CONFIG + "pathz: [flags]\n"
    web = WEB.replace("name: Plain", "name: Plain\n    temprary: true")
    assert problems(validate(repo, config, web_yaml=web)) == [
        "flags/web.yaml:5:5: flags[0].temprary: unknown field 'temprary'; "
        "did you mean 'temporary'?",
        f"{CONFIG_NAME}:18:1: pathz: unknown field 'pathz'; did you mean 'paths'?",
    ]


def test_a_link_from_a_template_is_created_for_each_flag(repo: Path) -> None:
    config = CONFIG + "    links: [{deepLink: 'https://wiki.example.com/kill-switches'}]\n"
    result = validate(repo, config, web_yaml=WEB)
    (link,) = [link for flag in result.state.flags for link in flag.links]
    assert link.flag_key == "kill-payments"
    assert str(link.location) == f"{CONFIG_NAME}:18:13"


def test_a_resolved_flags_own_list_is_located_in_one_walk_where_each_item_is(repo: Path) -> None:
    text = WEB + (
        "    links:\n"
        "      - {key: a, deepLink: 'https://a.example'}\n"
        "      -   key: b\n"
        "          deepLink: 'https://b.example'\n"
    )
    (repo / CONFIG_NAME).write_text(dedent(CONFIG))
    (document,), _ = resolve_documents([load_text(text, "web.yaml")], load_config())
    path = ["flags", 1, "links"]
    each = [document.locate([*path, i]) for i in range(2)]
    assert document.locate_items(path) == each
    assert [(w.line, w.col) for w in each] == [(10, 9), (11, 11)]
    # A list the configuration adds to (tags) is still located item by item, at its level.
    tags = document.data["flags"][1]["tags"]
    assert document.locate_items(["flags", 1, "tags"]) == [
        document.locate(["flags", 1, "tags", i]) for i in range(len(tags))
    ]
