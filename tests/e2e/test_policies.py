"""Policies (issue 16) through the real CLI: validate, plan and apply under ld-reconciler.yaml.

Each test writes a repository (a configuration with policies and a flag file) in its
``tmp_path``; plan and apply run against the emulator, whose request log shows that a
failing policy stops them before anything is sent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.emulator import Emulator
from support.engine import REASON

pytest.importorskip("cel", reason=REASON)

from reconciler.policy import repository

from .support import Cli, no_requests, stored

KEBAB = """\
  - name: kebab-case-keys
    expression: "flag.key.matches('^[a-z0-9]+(-[a-z0-9]+)*$')"
    message: flag keys are kebab-case
    fieldPath: key
"""
TICKET = """\
  - name: temporary-needs-ticket
    expression: "!flag.temporary || flag.links.exists(l, l.deepLink.startsWith('https://jira.example.com/'))"
    message: a temporary flag links its Jira ticket
    severity: warning
"""
WEB = """\
project: web-app
flags:
  - key: checkout-v2
    name: Checkout v2
    temporary: false
  - key: search_beta
    name: Search beta
    temporary: false
"""
COMPLIANT = """\
project: web-app
flags:
  - key: checkout-v2
    name: Checkout v2
"""


def repo(root: Path, policies: str, flags: str = WEB, extra: str = "") -> Path:
    """A repository: ld-reconciler.yaml (paths, ``extra``, policies) and flags/web.yaml."""
    (root / "flags").mkdir(parents=True, exist_ok=True)
    (root / "flags" / "web.yaml").write_text(flags, encoding="utf-8")
    config = f"paths: [flags]\n{extra}policies:\n{policies}"
    (root / "ld-reconciler.yaml").write_text(config, encoding="utf-8")
    return root


# -- validate ---------------------------------------------------------------------------------


def test_a_violated_error_policy_is_a_located_finding_and_fails_validate(
    cli: Cli, tmp_path: Path
) -> None:
    repo(tmp_path, KEBAB)
    result = cli("validate")
    assert result.code == 1, result
    assert result.stdout.splitlines() == [
        "flags/web.yaml:6:10: key: policy kebab-case-keys: flag keys are kebab-case",
        "1 problem in 1 file",
    ]


def test_a_warning_is_shown_and_fails_nothing(cli: Cli, tmp_path: Path) -> None:
    repo(tmp_path, TICKET, COMPLIANT)
    result = cli("validate")
    assert result.code == 0, result
    assert result.stdout.splitlines() == [
        "flags/web.yaml:3:5: warning: policy temporary-needs-ticket: "
        "a temporary flag links its Jira ticket",
        "1 flag, 0 links in 1 file: valid (1 warning)",
    ]


def test_errors_and_warnings_are_counted_apart(cli: Cli, tmp_path: Path) -> None:
    flags = WEB.replace("    temporary: false\n", "", 1)  # checkout-v2 is temporary now
    repo(tmp_path, KEBAB + TICKET, flags)
    result = cli("validate")
    assert result.code == 1
    assert result.stdout.splitlines()[-1] == "1 problem and 1 warning in 1 file"


def test_each_kind_of_broken_policy_is_found_in_the_configuration_before_any_flag(
    cli: Cli, tmp_path: Path
) -> None:
    broken = """\
  - name: syntax
    expression: "flag.key.matches('^[a-z]+$') &&"
    message: m
  - name: unknown-variable
    expression: "flagg.key != ''"
    message: m
  - name: not-boolean
    expression: "flag.key"
    message: m
  - name: bad-field-path
    expression: "false"
    message: m
    fieldPath: links[0].deeplink
  - name: bad-field-path
    expression: "false"
    message: m
  - name: unknown-project
    expression: "false"
    message: m
    projects: [web-ap]
"""
    repo(tmp_path, broken)
    result = cli("validate")
    assert result.code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        "ld-reconciler.yaml:4:17: policies[0].expression: policy syntax: "
        "CEL syntax error at column 32 of the expression: Syntax error: mismatched input '<EOF>'"
    )
    assert lines[1:] == [
        "ld-reconciler.yaml:7:17: policies[1].expression: policy unknown-variable: "
        "unknown variable 'flagg' (a flag rule sees flag, project, file)",
        "ld-reconciler.yaml:10:17: policies[2].expression: policy not-boolean: "
        "the expression yields a string, not a boolean (true means the flag complies)",
        "ld-reconciler.yaml:15:16: policies[3].fieldPath: policy bad-field-path: "
        "'links[0].deeplink' is not a flag-file field: links[0] has no 'deeplink'; "
        "did you mean 'deepLink'?",
        "ld-reconciler.yaml:16:11: policies[4].name: policy bad-field-path: "
        "duplicate policy name 'bad-field-path' (first declared at ld-reconciler.yaml:12:11)",
        "ld-reconciler.yaml:22:15: policies[5].projects: policy unknown-project: "
        "unknown project 'web-ap'; did you mean 'web-app'?",
        # Every policy is broken, so no flag was looked at: "false" found nothing.
        "6 problems in 1 file",
    ]


def test_an_expression_that_fails_on_one_flag_is_a_finding_on_that_flag(
    cli: Cli, tmp_path: Path
) -> None:
    owner = """\
  - name: owner-property
    expression: "flag.customProperties['owner'].value.size() > 0"
    message: every flag names its owner
"""
    flags = COMPLIANT + (
        "  - key: has-owner\n    name: Has owner\n    customProperties:\n"
        "      owner: {name: Owner, value: [payments]}\n"
    )
    repo(tmp_path, owner, flags)
    result = cli("validate")
    assert result.code == 1
    (line,) = result.stdout.splitlines()[:-1]
    assert line.startswith("flags/web.yaml:3:5: policy owner-property: the expression failed (")
    assert line.endswith(") for flag 'checkout-v2'")


def test_a_value_from_a_template_points_at_the_configuration_and_names_the_flags(
    cli: Cli, tmp_path: Path
) -> None:
    flags = WEB.replace("search_beta", "search-beta").replace(
        "    temporary: false\n", "    template: kill-switch\n"
    )
    extra = "templates:\n  kill-switch:\n    temporary: true\n"
    repo(tmp_path, TICKET + "    fieldPath: temporary\n", flags, extra)
    result = cli("validate")
    assert result.code == 0, result
    assert result.stdout.splitlines()[0] == (
        "ld-reconciler.yaml:4:16: warning: templates[\"kill-switch\"].temporary: policy "
        "temporary-needs-ticket: a temporary flag links its Jira ticket; affects 2 flags: "
        "web-app/checkout-v2 (flags/web.yaml:3:5), web-app/search-beta (flags/web.yaml:6:5)"
    )


def test_a_project_rule_points_at_the_project_and_counts_its_flags(
    cli: Cli, tmp_path: Path
) -> None:
    cap = """\
  - name: temporary-flag-cap
    scope: project
    expression: "flags.filter(f, f.temporary).size() <= 1"
    message: at most 1 temporary flag per project
"""
    flags = WEB.replace("    temporary: false\n", "")
    repo(tmp_path, cap, flags)
    result = cli("validate")
    assert result.code == 1
    assert result.stdout.splitlines()[0] == (
        "flags/web.yaml:1:10: policy temporary-flag-cap: at most 1 temporary flag per project "
        "(project web-app, 2 flags)"
    )


def test_validate_json_and_github_carry_each_severity(cli: Cli, tmp_path: Path) -> None:
    flags = WEB.replace("    temporary: false\n", "", 1)
    repo(tmp_path, KEBAB + TICKET, flags)
    data = json.loads(cli("validate", "--format", "json").stdout)
    assert [(f["line"], f["severity"]) for f in data["findings"]] == [(3, "warning"), (5, "error")]
    github = cli("validate", "--format", "github").stdout.splitlines()
    assert github == [
        "::warning file=flags/web.yaml,line=3,col=5,title=ld-reconciler::"
        "policy temporary-needs-ticket: a temporary flag links its Jira ticket",
        "::error file=flags/web.yaml,line=5,col=10,title=ld-reconciler::"
        "key: policy kebab-case-keys: flag keys are kebab-case",
        "1 problem and 1 warning in 1 file",
    ]


def test_without_the_engine_policies_are_one_finding_and_the_rest_works(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python 3.10, where the CEL engine has no wheel: one located, actionable finding."""
    on_3_10 = repository.engine_problem((3, 10))
    monkeypatch.setattr(repository, "engine_problem", lambda: on_3_10)
    repo(tmp_path, KEBAB)
    result = cli("validate")
    assert result.code == 1
    assert result.stdout.splitlines() == [
        "ld-reconciler.yaml:3:3: policies: policies need Python 3.11 or newer: the CEL engine "
        "(common-expression-language) has no wheel for 3.10; run ld-reconciler with Python "
        "3.11+ to check them (everything else works here)",
        "1 problem in 1 file",
    ]


# -- plan and apply ---------------------------------------------------------------------------


def test_plan_and_apply_refuse_while_a_policy_fails_and_send_nothing(
    cli: Cli, tmp_path: Path, emu: Emulator
) -> None:
    repo(tmp_path, KEBAB)
    with no_requests(emu):
        planned = cli.live(emu, "plan", "flags")
        applied = cli.live(emu, "apply", "flags", "--yes")
    assert emu.count() == 0  # not even a listing
    for result in (planned, applied):
        assert result.code == 1, result
        assert result.stderr.splitlines() == [
            "flags/web.yaml:6:10: key: policy kebab-case-keys: flag keys are kebab-case",
            "1 problem(s) in the flag files: nothing was planned.",
        ]
    assert stored(emu, "web-app") == {}


def test_apply_with_a_warning_shows_it_and_creates(cli: Cli, tmp_path: Path, emu: Emulator) -> None:
    repo(tmp_path, TICKET, COMPLIANT)
    result = cli.live(emu, "apply", "flags", "--yes")
    assert result.code == 0, result
    assert result.stderr.splitlines()[0] == (
        "flags/web.yaml:3:5: warning: policy temporary-needs-ticket: "
        "a temporary flag links its Jira ticket"
    )
    assert stored(emu, "web-app") == {"web-app/checkout-v2": 1}


def test_the_plan_carries_warnings_in_every_format(cli: Cli, tmp_path: Path, emu: Emulator) -> None:
    repo(tmp_path, TICKET, COMPLIANT)
    warning = "policy temporary-needs-ticket: a temporary flag links its Jira ticket"

    text = cli.live(emu, "plan", "flags")
    assert text.code == 0, text
    assert text.stderr.splitlines()[0] == f"flags/web.yaml:3:5: warning: {warning}"

    document = json.loads(cli.live(emu, "plan", "flags", "--format", "json").stdout)
    assert document["findings"] == [
        {"file": "flags/web.yaml", "line": 3, "col": 5, "path": "", "message": warning,
         "severity": "warning"}
    ]  # fmt: skip

    github = cli.live(emu, "plan", "flags", "--format", "github")
    assert github.code == 0
    assert (
        "::warning file=flags/web.yaml,line=3,col=5,title=ld-reconciler policy::" + warning
    ) in github.stdout.splitlines()

    markdown = cli.live(emu, "plan", "flags", "--format", "markdown").stdout
    section = markdown.split("#### Policies: 1 warning\n", 1)[1]
    assert section == f"\n- ⚠️ `flags/web.yaml:3:5` {warning}\n"


def test_a_plan_without_policies_is_as_before(cli: Cli, tmp_path: Path, emu: Emulator) -> None:
    repo(tmp_path, "  []\n", COMPLIANT).joinpath("ld-reconciler.yaml").write_text(
        "paths: [flags]\npolicies: []\n"
    )
    result = cli.live(emu, "plan", "flags", "--format", "json")
    assert result.code == 0, result
    assert "findings" not in json.loads(result.stdout)
    assert "Policies" not in cli.live(emu, "plan", "flags", "--format", "markdown").stdout
