"""The policy engine: broken policies found before any flag, and each evaluation case."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from support.engine import REASON

pytest.importorskip("cel", reason=REASON)  # before the imports that need it

from reconciler.files.loader import load_text
from reconciler.model import Finding, Location
from reconciler.policy.catalog import Catalog, compile_policies
from reconciler.policy.evaluation import evaluate
from reconciler.policy.expression import fields_read
from reconciler.policy.fieldpath import parse, problem
from reconciler.policy.policy import Policy, policies_from_document
from reconciler.policy.subject import FlagSubject, subject_from_document

CONFIG = "ld-reconciler.yaml"


def catalog(text: str, projects: set[str] | None = None) -> Catalog:
    doc = load_text(textwrap.dedent(text), CONFIG)
    return compile_policies(policies_from_document(doc), projects)


def flags(text: str, file: str = "flags/web.yaml") -> list[FlagSubject]:
    doc = load_text(textwrap.dedent(text), file)
    return [subject_from_document(doc, i) for i in range(len(doc.data["flags"]))]


def lines(findings: list[Finding] | tuple[Finding, ...]) -> list[str]:
    return [str(f) for f in findings]


WEB = """\
project: web-app
flags:
  - key: good-flag
    name: Good
    tags: [web]
  - key: Bad_Flag
    name: Bad
"""


def test_a_violated_flag_rule_points_at_its_field_path_and_names_the_policy() -> None:
    cat = catalog("""\
        policies:
          - name: kebab-case-keys
            expression: "flag.key.matches('^[a-z0-9]+(-[a-z0-9]+)*$')"
            message: flag keys are kebab-case
            fieldPath: key
        """)
    assert cat.findings == ()
    assert lines(evaluate(cat, flags(WEB))) == [
        "flags/web.yaml:6:10: key: policy kebab-case-keys: flag keys are kebab-case"
    ]


def test_without_field_path_the_finding_points_at_the_flag() -> None:
    cat = catalog("""\
        policies:
          - {name: tagged, expression: "flag.tags.size() > 0", message: flags are tagged}
        """)
    assert lines(evaluate(cat, flags(WEB))) == [
        "flags/web.yaml:6:5: policy tagged: flags are tagged"
    ]


def test_a_field_path_the_flag_does_not_set_points_at_the_flag() -> None:
    cat = catalog("""\
        policies:
          - name: ticket
            expression: "flag.links.size() > 0"
            message: link a ticket
            fieldPath: links[0].deepLink
        """)
    found = evaluate(cat, flags(WEB))
    assert [str(f.location) for f in found] == ["flags/web.yaml:3:5", "flags/web.yaml:6:5"]


def test_launchdarkly_defaults_are_filled_in_for_the_expression() -> None:
    cat = catalog("""\
        policies:
          - name: defaults
            expression: >-
              flag.temporary && flag.tags == [] && flag.description == '' &&
              flag.variations.size() == 2 && flag.links == [] && flag.template == '' &&
              flag.clone == '' && project == 'web-app' && file == 'flags/web.yaml'
            message: m
        """)
    found = evaluate(cat, flags("project: web-app\nflags:\n  - {key: a, name: A}\n"))
    assert found == []


def test_a_warning_policy_gives_warnings_and_an_error_policy_errors() -> None:
    cat = catalog("""\
        policies:
          - {name: w, expression: "false", message: warned, severity: warning}
          - {name: e, expression: "false", message: failed}
        """)
    found = evaluate(cat, flags("project: web-app\nflags:\n  - {key: a, name: A}\n"))
    assert sorted((f.severity, f.is_error) for f in found) == [("error", True), ("warning", False)]


def test_a_policy_applies_only_to_its_projects() -> None:
    cat = catalog("""\
        policies:
          - {name: p, expression: "false", message: m, projects: [mobile]}
        """)
    assert evaluate(cat, flags(WEB)) == []


def test_an_expression_failing_on_one_flag_is_a_finding_on_that_flag_not_a_crash() -> None:
    cat = catalog("""\
        policies:
          - {name: purpose, expression: "flag.purpose == 'migration'", message: m}
          - {name: ok, expression: "true", message: m}
        """)
    found = evaluate(cat, flags(WEB))
    assert lines(found) == [
        "flags/web.yaml:3:5: policy purpose: the expression failed (no field 'purpose') "
        "for flag 'good-flag'",
        "flags/web.yaml:6:5: policy purpose: the expression failed (no field 'purpose') "
        "for flag 'Bad_Flag'",
    ]


def test_a_type_error_on_one_flag_names_the_flag_and_the_policy() -> None:
    cat = catalog("""\
        policies:
          - {name: typed, expression: "flag.name + 1 == 2", message: m}
        """)
    found = evaluate(cat, flags("project: web-app\nflags:\n  - {key: a, name: A}\n"))
    assert len(found) == 1
    assert "policy typed: the expression failed (Unsupported operation" in found[0].message
    assert "for flag 'a'" in found[0].message


def test_a_project_rule_points_at_the_first_file_and_counts_the_flags() -> None:
    cat = catalog("""\
        policies:
          - name: cap
            scope: project
            expression: "flags.filter(f, f.temporary).size() <= 1"
            message: at most 1 temporary flag
        """)
    subjects = flags(WEB, "flags/z.yaml") + flags(WEB, "flags/a.yaml")
    assert lines(evaluate(cat, subjects)) == [
        "flags/a.yaml:1:1: policy cap: at most 1 temporary flag (project web-app, 4 flags)"
    ]
    where = {"web-app": Location("flags/a.yaml", 1, 10)}
    assert str(evaluate(cat, subjects, where)[0].location) == "flags/a.yaml:1:10"


def test_policy_findings_sort_with_flag_findings() -> None:
    cat = catalog("""\
        policies:
          - {name: a, expression: "false", message: m}
        """)
    found = evaluate(cat, flags(WEB))
    assert found == sorted(found, key=Finding.sort_key)


# -- policies that cannot work: located findings in the configuration ---------------


def test_a_syntax_error_says_the_column_inside_the_expression() -> None:
    cat = catalog("""\
        policies:
          - name: broken
            expression: "flag.key =="
            message: m
        """)
    assert len(cat.findings) == 1
    finding = cat.findings[0]
    assert str(finding.location) == "ld-reconciler.yaml:3:17"
    assert finding.path == "policies[0].expression"
    assert finding.message.startswith(
        "policy broken: CEL syntax error at column 12 of the expression: Syntax error"
    )
    assert cat.flag_policies == ()


def test_an_unknown_variable_is_reported() -> None:
    cat = catalog("""\
        policies:
          - {name: typo, expression: "flg.key != ''", message: m}
          - {name: scope, scope: project, expression: "flag.temporary", message: m}
        """)
    assert [f.message for f in cat.findings] == [
        "policy typo: unknown variable 'flg' (a flag rule sees flag, project, file)",
        "policy scope: unknown variable 'flag' (a project rule sees project, flags)",
    ]


def test_variables_bound_by_macros_are_not_unknown() -> None:
    cat = catalog("""\
        policies:
          - name: macros
            expression: >-
              flag.tags.exists(t, t == 'x') || flag.links.all(l, l.deepLink != '')
              || flag.tags.filter(t, t.startsWith('a')).size() > 0 || 'web' in flag.tags
            message: m
        """)
    assert cat.findings == ()


def test_an_unknown_function_is_reported() -> None:
    cat = catalog("""\
        policies:
          - {name: fn, expression: "nosuch(flag.key)", message: m}
        """)
    assert [f.message for f in cat.findings] == ["policy fn: unknown function 'nosuch'"]


def test_an_expression_that_does_not_yield_a_boolean_is_reported() -> None:
    cat = catalog("""\
        policies:
          - {name: key, expression: "flag.key", message: m}
        """)
    assert [f.message for f in cat.findings] == [
        "policy key: the expression yields a string, not a boolean (true means the flag complies)"
    ]


def test_an_invalid_regular_expression_is_reported_once() -> None:
    cat = catalog("""\
        policies:
          - {name: rx, expression: "flag.key.matches('[')", message: m}
        """)
    assert len(cat.findings) == 1
    assert "not a valid regex" in cat.findings[0].message


def test_a_field_path_that_is_not_a_flag_file_field_is_reported_with_a_hint() -> None:
    cat = catalog("""\
        policies:
          - {name: fp, expression: "true", message: m, fieldPath: "links[0].deeplink"}
        """)
    assert lines(cat.findings) == [
        "ld-reconciler.yaml:2:59: policies[0].fieldPath: policy fp: 'links[0].deeplink' is not "
        "a flag-file field: links[0] has no 'deeplink'; did you mean 'deepLink'?"
    ]


def test_a_duplicate_name_points_at_the_second_and_names_the_first() -> None:
    cat = catalog("""\
        policies:
          - {name: same, expression: "true", message: m}
          - {name: same, expression: "true", message: m}
        """)
    assert lines(cat.findings) == [
        "ld-reconciler.yaml:3:12: policies[1].name: policy same: duplicate policy name 'same' "
        "(first declared at ld-reconciler.yaml:2:12)"
    ]
    assert len(cat.flag_policies) == 1


def test_an_unknown_project_is_reported_with_a_hint() -> None:
    cat = catalog(
        """\
        policies:
          - {name: p, expression: "true", message: m, projects: [web-ap]}
        """,
        projects={"web-app", "mobile"},
    )
    assert [f.message for f in cat.findings] == [
        "policy p: unknown project 'web-ap'; did you mean 'web-app'?"
    ]


def test_field_paths_parse_into_steps() -> None:
    assert parse("links[0].deepLink") == ["links", 0, "deepLink"]
    assert parse("clientSideAvailability.usingMobileKey") == [
        "clientSideAvailability",
        "usingMobileKey",
    ]
    assert parse("[0]") is None
    assert parse("a..b") is None
    assert problem("variations[1].name") is None
    assert problem("template") is None
    assert problem("key[0]") == "'key[0]': key is not a list"


def test_a_policy_record_keeps_the_location_of_each_field() -> None:
    doc = load_text("policies:\n  - name: n\n    expression: 'true'\n    message: m\n", CONFIG)
    [policy] = policies_from_document(doc)
    assert policy == Policy(
        "n",
        "true",
        "m",
        Location(CONFIG, 2, 5),
        locations={
            "name": Location(CONFIG, 2, 11),
            "expression": Location(CONFIG, 3, 17),
            "message": Location(CONFIG, 4, 14),
        },
    )


def test_one_rule_failing_on_a_flag_does_not_hide_another_rules_violation() -> None:
    cat = catalog("""\
        policies:
          - {name: purpose, expression: "flag.purpose == 'migration'", message: m}
          - {name: never, expression: "false", message: never holds}
        """)
    found = evaluate(cat, flags("project: web-app\nflags:\n  - {key: a, name: A}\n"))
    assert [f.message.split(":")[0] for f in found] == ["policy never", "policy purpose"]


def test_fields_read_lists_the_flag_fields_an_expression_reads() -> None:
    read = fields_read("!flag.temporary || flag.links.exists(l, l.deepLink != 'flag.x')", "flag")
    assert read == {"temporary", "links"}
    assert fields_read("flag == {}", "flag") is None
    assert fields_read("flag['key'] == 'k'", "flag") is None


def test_an_unknown_scope_is_a_finding_not_a_crash() -> None:
    cat = catalog("""\
        policies:
          - {name: s, scope: repo, expression: "true", message: m}
        """)
    assert [f.message for f in cat.findings] == ["policy s: scope is flag or project"]


def test_the_engine_does_not_import_the_cel_librarys_repl() -> None:
    code = (
        "import sys, reconciler.policy.evaluation as e; "
        "assert e.evaluate; print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'typer', 'rich', 'prompt_toolkit', 'pygments'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
