"""The semantic rules, and the DesiredState that validation yields when they pass.

Documents are loaded from text with the real loader and checked with the real
validator (schema first, then rules), as ``ld-reconciler validate`` does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from textwrap import dedent, indent

import pytest

from reconciler.files.loader import load_text
from reconciler.files.migration import MIGRATION_STAGES
from reconciler.files.validator import validate_documents
from reconciler.model import DesiredState, FlagSpec, Location, PrerequisiteSpec, derive_link_key


def check(**files: str) -> tuple[DesiredState, list[str]]:
    """Validate in-memory files (``web_yaml="..."`` is web.yaml); the state and findings."""
    documents = [load_text(dedent(text), name.replace("_", ".")) for name, text in files.items()]
    state, findings = validate_documents(documents)
    return state, [str(f) for f in findings]


def findings(text: str) -> list[str]:
    return check(f_yaml=text)[1]


def at(text: str, line: int, needle: str, file: str = "f.yaml") -> str:
    """``file:line:col`` of the first ``needle`` on ``line`` of ``text``."""
    return f"{file}:{line}:{text.splitlines()[line - 1].index(needle) + 1}"


def state_of(**files: str) -> DesiredState:
    state, problems = check(**files)
    assert problems == []
    return state


def flag(state: DesiredState, key: str, project: str = "web") -> FlagSpec:
    return next(f for f in state.flags if (f.project, f.key) == (project, key))


# -- flag keys -------------------------------------------------------------------------


def test_a_flag_key_declared_twice_in_one_file_is_reported_at_the_second() -> None:
    assert findings(
        """\
        project: web
        flags:
          - {key: a, name: A}
          - {key: a, name: A again}
        """
    ) == [
        "f.yaml:4:11: flags[1].key: flag 'a' is declared twice in project 'web' "
        "(first at f.yaml:3:11)"
    ]


def test_a_flag_key_declared_in_two_files_of_a_project_is_reported_with_both_locations() -> None:
    _, problems = check(
        a_yaml="project: web\nflags:\n  - {key: a, name: A}\n",
        b_yaml="project: web\nflags:\n  - {key: b, name: B}\n  - {key: a, name: A}\n",
    )
    assert problems == [
        "b.yaml:4:11: flags[1].key: flag 'a' is declared twice in project 'web' "
        "(first at a.yaml:3:11)"
    ]


def test_a_flag_repeated_by_a_yaml_alias_is_reported_as_the_alias_not_as_itself() -> None:
    # The loader places both copies at the anchor's node, so "first at" would name the
    # very place the finding points at.
    assert findings(
        """\
        project: web
        flags:
          - &a {key: a, name: A}
          - *a
        """
    ) == [
        "f.yaml:3:14: flags[1].key: flag 'a' is declared twice in project 'web' "
        "(a YAML alias repeats flags[0])"
    ]


def test_the_same_flag_key_in_two_projects_is_two_flags() -> None:
    state = state_of(
        a_yaml="project: web\nflags:\n  - {key: a, name: A}\n",
        b_yaml="project: mobile\nflags:\n  - {key: a, name: A}\n",
    )
    assert [f.address for f in state.flags] == ["mobile/a", "web/a"]


def test_a_flag_refused_by_the_schema_still_counts_as_declared() -> None:
    _, problems = check(
        a_yaml="project: web\nflags:\n  - {key: a, name: 7}\n",
        b_yaml="project: web\nflags:\n  - {key: a, name: A}\n",
    )
    assert problems == [
        "a.yaml:3:20: flags[0].name: expected a string, got a number",
        "b.yaml:3:11: flags[0].key: flag 'a' is declared twice in project 'web' "
        "(first at a.yaml:3:11)",
    ]


# -- variations and defaults -------------------------------------------------------------

ONE_FLAG = """\
project: web
flags:
  - key: a
    name: A
"""


def with_fields(body: str) -> str:
    """A file declaring flag 'a' with ``body`` added as its fields."""
    return ONE_FLAG + indent(dedent(body), "    ")


def one_flag(body: str) -> list[str]:
    """The findings for flag 'a' with ``body`` added as its fields."""
    return findings(with_fields(body))


def test_variation_values_must_be_unique() -> None:
    text = with_fields("variations: [{value: x}, {value: y}, {value: x}]\n")
    assert findings(text) == [
        f'{at(text, 5, "x}]")}: flags[0].variations[2].value: the value "x" is already '
        "variation 0; variation values must be unique"
    ]


@pytest.mark.parametrize(
    ("first", "second"),
    [("1", "1.0"), ("{a: 1, b: [2]}", "{b: [2], a: 1}"), ("[1, 2]", "[1.0, 2]")],
)
def test_values_that_launchdarkly_compares_equal_are_duplicates(first: str, second: str) -> None:
    problems = one_flag(f"    variations: [{{value: {first}}}, {{value: {second}}}]\n")
    assert len(problems) == 1
    assert problems[0].endswith("is already variation 0; variation values must be unique")


def test_true_and_the_text_true_are_different_types_not_duplicates() -> None:
    text = with_fields('variations: [{value: true}, {value: "true"}]\n')
    quoted = at(text, 5, '"true"')
    assert findings(text) == [
        f"{quoted}: flags[0].variations[1].value: this value is a string but "
        "variation 0 is a boolean; all variations of a flag share one type "
        "(boolean, string, number or JSON)"
    ]


def test_objects_and_arrays_are_both_json_and_may_be_mixed() -> None:
    assert one_flag("    variations: [{value: {a: 1}}, {value: [1]}, {value: []}]\n") == []


def test_integers_and_floats_are_both_numbers() -> None:
    assert one_flag("    variations: [{value: 1}, {value: 2.5}, {value: 1e3}]\n") == []


def test_only_the_first_value_of_another_type_is_reported() -> None:
    text = with_fields("variations: [{value: 1}, {value: a}, {value: true}]\n")
    assert findings(text) == [
        f"{at(text, 5, 'a}')}: flags[0].variations[1].value: this value is a string but "
        "variation 0 is a number; all variations of a flag share one type "
        "(boolean, string, number or JSON)"
    ]


def test_a_null_variation_value_is_refused() -> None:
    text = with_fields("variations: [{value: a}, {value: null}]\n")
    assert findings(text) == [
        f"{at(text, 5, 'null')}: flags[0].variations[1].value: a variation value cannot be null"
    ]


def test_defaults_must_index_a_variation() -> None:
    text = with_fields(
        "variations: [{value: x}, {value: y}]\ndefaults: {onVariation: 1, offVariation: 2}\n"
    )
    assert findings(text) == [
        f"{at(text, 6, '2}')}: flags[0].defaults.offVariation: 2 is out of range "
        "(the flag has 2 variations, indices 0 to 1)"
    ]


def test_defaults_of_a_flag_without_variations_index_true_and_false() -> None:
    assert one_flag("    defaults: {onVariation: 0, offVariation: 1}\n") == []
    assert one_flag("    defaults: {onVariation: 2, offVariation: 1}\n") == [
        "f.yaml:5:29: flags[0].defaults.onVariation: 2 is out of range "
        "(with no variations listed, the flag has 2 (true and false), indices 0 to 1)"
    ]


# -- migration flags, maintainers ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "    purpose: migration\n",
            "f.yaml:5:14: flags[0].purpose: a migration flag needs migrationSettings "
            "with stageCount 2, 4 or 6",
        ),
        (
            "    purpose: migration\n    migrationSettings: {stageCount: 2}\n"
            "    variations: [{value: a}, {value: b}]\n",
            "f.yaml:7:5: flags[0].variations: a migration flag has no variations: "
            "LaunchDarkly makes one variation per stage",
        ),
        (
            "    purpose: migration\n    migrationSettings: {stageCount: 2}\n"
            "    defaults: {onVariation: 0, offVariation: 5}\n",
            "f.yaml:7:5: flags[0].defaults: a migration flag has no defaults: "
            "LaunchDarkly makes one variation per stage",
        ),
        (
            "    purpose: migration\n    migrationSettings: {stageCount: 6}\n",
            "f.yaml:6:24: flags[0].migrationSettings: a 6-stage migration needs contextKind "
            "(the context kind whose data moves)",
        ),
        (
            "    purpose: migration\n    migrationSettings: {stageCount: 2, contextKind: user}\n",
            "f.yaml:6:40: flags[0].migrationSettings.contextKind: contextKind is only for "
            "6-stage migrations; this one has 2 stages",
        ),
        (
            "    migrationSettings: {stageCount: 2}\n",
            "f.yaml:5:5: flags[0].migrationSettings: migrationSettings is only for migration "
            "flags; add purpose: migration",
        ),
        (
            "    maintainerId: abc\n    maintainerTeamKey: team\n",
            "f.yaml:6:5: flags[0].maintainerTeamKey: give maintainerId or maintainerTeamKey, "
            "not both",
        ),
    ],
    ids=[
        "without-settings",
        "with-variations",
        "with-defaults",
        "six-stages-without-context-kind",
        "context-kind-with-two-stages",
        "settings-without-purpose",
        "two-maintainers",
    ],
)
def test_flag_rules_report_one_finding_at_the_offending_node(body: str, expected: str) -> None:
    assert one_flag(body) == [expected]


@pytest.mark.parametrize("stages", [2, 4, 6])
def test_a_valid_migration_flag_becomes_a_spec_without_variations(stages: int) -> None:
    context = ", contextKind: account" if stages == 6 else ""
    state = state_of(
        f_yaml=ONE_FLAG
        + f"    purpose: migration\n    migrationSettings: {{stageCount: {stages}{context}}}\n"
    )
    settings = {"stageCount": stages, **({"contextKind": "account"} if stages == 6 else {})}
    assert dict(flag(state, "a").fields) == {
        "key": "a",
        "name": "A",
        "purpose": "migration",
        "migrationSettings": settings,
    }


# -- links ---------------------------------------------------------------------------------


def test_a_link_key_used_twice_on_a_flag_is_reported_at_the_second_link() -> None:
    assert one_flag(
        """\
            links:
              - {key: l, deepLink: "https://a.example.com"}
              - {key: l, deepLink: "https://b.example.com"}
        """
    ) == [
        "f.yaml:7:9: flags[0].links[1]: link key 'l' is used twice on flag 'a' "
        "(first at f.yaml:6:9)"
    ]


def test_two_links_to_the_same_place_without_keys_are_reported() -> None:
    assert one_flag(
        """\
            links:
              - {deepLink: "https://a.example.com", title: One}
              - {deepLink: "https://a.example.com", title: Two}
        """
    ) == [
        "f.yaml:7:9: flags[0].links[1]: this link points where link 0 does "
        "(at f.yaml:6:9); give one of them an explicit key"
    ]


def test_the_same_link_key_on_two_flags_is_fine() -> None:
    state = state_of(
        f_yaml="""\
        project: web
        flags:
          - {key: a, name: A, links: [{key: l, deepLink: "https://x.example.com"}]}
          - {key: b, name: B, links: [{key: l, deepLink: "https://x.example.com"}]}
        """
    )
    assert [link.address for link in state.links] == ["web/a/l", "web/b/l"]


def test_a_derived_link_key_depends_on_the_target_not_the_words() -> None:
    url = "https://jira.example.com/browse/PAY-1"
    first = derive_link_key({"deepLink": url, "title": "Epic", "description": "old"})
    assert first == derive_link_key({"deepLink": url, "title": "Renamed"})
    assert first != derive_link_key({"deepLink": url + "0"})
    assert re.fullmatch(r"link-[0-9a-f]{12}", first)
    integration = {"integrationKey": "jira", "metadata": {"issueKey": "PAY-1"}}
    assert derive_link_key(integration) != derive_link_key({**integration, "metadata": {}})


def test_links_become_specs_with_their_key_explicit_or_derived() -> None:
    text = with_fields(
        """\
        links:
          - {key: pay-1, deepLink: "https://jira.example.com/browse/PAY-1"}
          - {deepLink: "https://docs.example.com/a", title: Design}
        """
    )
    explicit, derived = flag(state_of(f_yaml=text), "a").links
    assert (explicit.key, explicit.key_derived, dict(explicit.fields)) == (
        "pay-1",
        False,
        {"key": "pay-1", "deepLink": "https://jira.example.com/browse/PAY-1"},
    )
    expected_key = derive_link_key({"deepLink": "https://docs.example.com/a"})
    assert (derived.key, derived.key_derived, dict(derived.fields)) == (
        expected_key,
        True,
        {"key": expected_key, "deepLink": "https://docs.example.com/a", "title": "Design"},
    )
    assert (derived.project, derived.flag_key, str(derived.location)) == (
        "web",
        "a",
        at(text, 7, "{deepLink"),
    )


# -- prerequisites ---------------------------------------------------------------------------

BASE = """\
project: web
flags:
  - key: base
    name: Base
    variations: [{value: {c: red}}, {value: {c: green}}, {value: {c: blue, shade: 1.0}}]
  - key: a
    name: A
"""


def with_prerequisite(prerequisite: str, base: str = BASE) -> tuple[str, DesiredState, list[str]]:
    """Flag 'a' of ``base`` with one line of initialPrerequisites: the text, state, findings."""
    text = base + f"    initialPrerequisites: [{prerequisite}]\n"
    state, problems = check(f_yaml=text)
    return text, state, problems


@pytest.mark.parametrize(
    ("prerequisite", "index"),
    [
        ("{key: base, variationIndex: 1}", 1),
        ("{key: base, variationValue: {c: green}}", 1),
        ("{key: base, variationValue: {shade: 1, c: blue}}", 2),  # any key order; 1 is 1.0
    ],
)
def test_a_prerequisite_resolves_to_a_variation_index(prerequisite: str, index: int) -> None:
    text, state, problems = with_prerequisite(prerequisite)
    assert problems == []
    (resolved,) = flag(state, "a").prerequisites
    assert (resolved.key, resolved.variation, str(resolved.location)) == (
        "base",
        index,
        at(text, 8, "{key: base"),
    )


def test_a_prerequisite_on_a_flag_without_variations_names_true_or_false() -> None:
    base = "project: web\nflags:\n  - {key: base, name: Base}\n  - key: a\n    name: A\n"
    _, state, _ = with_prerequisite("{key: base, variationValue: false}", base)
    assert flag(state, "a").prerequisites[0].variation == 1


@pytest.mark.parametrize(("stages", "names"), sorted(MIGRATION_STAGES.items()))
def test_a_prerequisite_on_a_migration_flag_names_a_stage(
    stages: int, names: tuple[str, ...]
) -> None:
    context = ", contextKind: account" if stages == 6 else ""
    base = (
        "project: web\nflags:\n  - key: base\n    name: Base\n    purpose: migration\n"
        f"    migrationSettings: {{stageCount: {stages}{context}}}\n  - key: a\n    name: A\n"
    )
    _, state, problems = with_prerequisite("{key: base, variationValue: complete}", base)
    assert problems == []
    assert flag(state, "a").prerequisites[0].variation == names.index("complete") == stages - 1
    text, _, problems = with_prerequisite(f"{{key: base, variationIndex: {stages}}}", base)
    assert problems == [
        f"{at(text, 9, f'{stages}}}]')}: flags[1].initialPrerequisites[0].variationIndex: "
        f"{stages} is out of range: flag 'base' has {stages} variations"
    ]


def test_migration_stages_are_launchdarklys_stage_names_in_order() -> None:
    assert MIGRATION_STAGES[6] == ("off", "dualwrite", "shadow", "live", "rampdown", "complete")
    for stages in (2, 4):
        assert len(MIGRATION_STAGES[stages]) == stages
        assert set(MIGRATION_STAGES[stages]) <= set(MIGRATION_STAGES[6])
        assert MIGRATION_STAGES[stages][0] == "off"
        assert MIGRATION_STAGES[stages][-1] == "complete"


@pytest.mark.parametrize(
    ("prerequisite", "needle", "expected"),
    [
        (
            "{key: nowhere, variationIndex: 0}",
            "nowhere",
            "flags[1].initialPrerequisites[0].key: no flag 'nowhere' is declared in project 'web'",
        ),
        (
            "{key: base, variationIndex: 3}",
            "3}",
            "flags[1].initialPrerequisites[0].variationIndex: 3 is out of range: flag 'base' "
            "has 3 variations",
        ),
        (
            "{key: base, variationValue: {c: black}}",
            "{c: black}",
            "flags[1].initialPrerequisites[0].variationValue: flag 'base' has no variation "
            'with this value (its values: {"c":"red"}, {"c":"green"}, '
            '{"c":"blue","shade":1.0})',
        ),
        (
            "{key: base, variationIndex: 0}, {key: base, variationIndex: 1}",
            "base, variationIndex: 1",
            "flags[1].initialPrerequisites[1].key: 'base' is named twice as a prerequisite",
        ),
        (
            "{key: a, variationIndex: 0}",
            "a, variationIndex",
            "flags[1].initialPrerequisites[0].key: flag 'a' cannot be its own prerequisite",
        ),
    ],
    ids=["undeclared", "index-out-of-range", "value-not-found", "named-twice", "itself"],
)
def test_a_bad_prerequisite_is_one_finding_and_keeps_its_flag_out_of_the_state(
    prerequisite: str, needle: str, expected: str
) -> None:
    text, state, problems = with_prerequisite(prerequisite)
    assert problems == [f"{at(text, 8, needle)}: {expected}"]
    assert [f.key for f in state.flags] == ["base"]


def test_a_prerequisite_in_another_project_says_where_that_flag_is() -> None:
    web = (
        "project: web\nflags:\n"
        "  - {key: a, name: A, initialPrerequisites: [{key: base, variationIndex: 0}]}\n"
    )
    _, problems = check(
        mobile_yaml="project: mobile\nflags:\n  - {key: base, name: Base}\n", web_yaml=web
    )
    assert problems == [
        f"{at(web, 3, 'base', 'web.yaml')}: flags[0].initialPrerequisites[0].key: no flag "
        "'base' is declared in project 'web' (it is declared in project 'mobile'; "
        "a prerequisite must be in the same project)"
    ]


def test_a_prerequisite_may_name_a_flag_declared_later_or_in_another_file() -> None:
    state = state_of(
        a_yaml="project: web\nflags:\n"
        "  - {key: a, name: A, initialPrerequisites: [{key: b, variationIndex: 0}]}\n",
        b_yaml="project: web\nflags:\n  - {key: b, name: B}\n",
    )
    assert flag(state, "a").prerequisites[0].key == "b"


@pytest.mark.parametrize(
    ("base_fields", "expected"),
    [
        pytest.param(
            "variations: yes",
            lambda text: [
                f"{at(text, 3, 'yes')}: flags[0].variations: expected a list, got a string"
            ],
            id="test_a_prerequisite_on_a_flag_with_broken_variations_adds_no_finding_of_its_own",
        ),
        pytest.param(
            "tags: [bad tag]",
            lambda text: [
                f"{at(text, 3, 'bad tag')}: flags[0].tags[0]: 'bad tag' is not a valid tag: a tag "
                "holds only letters, digits, '.', '_' and '-'",
                f"{at(text, 6, '7')}: flags[1].initialPrerequisites[0].variationIndex: 7 is out of "
                "range: flag 'base' has 2 variations",
            ],
            id="test_a_prerequisite_on_a_flag_with_an_unrelated_shape_error_is_still_checked",
        ),
    ],
)
def test_a_prerequisite_on_a_flag_with_a_shape_error(
    base_fields: str, expected: Callable[[str], list[str]]
) -> None:
    """A broken variations list adds no prerequisite finding of its own (the prerequisite's index
    cannot be checked); an unrelated shape error leaves the prerequisite still checked."""
    base = (
        f"project: web\nflags:\n  - {{key: base, name: Base, {base_fields}}}\n"
        "  - key: a\n    name: A\n"
    )
    text, _, problems = with_prerequisite("{key: base, variationIndex: 7}", base)
    assert problems == expected(text)


CYCLE = """\
project: web
flags:
  - key: z
    name: Z
    initialPrerequisites: [{key: ok, variationIndex: 0}, {key: y, variationIndex: 0}]
  - {key: ok, name: OK}
  - {key: y, name: Y, initialPrerequisites: [{key: x, variationIndex: 0}]}
  - {key: x, name: X, initialPrerequisites: [{key: z, variationIndex: 0}]}
  - {key: after, name: After, initialPrerequisites: [{key: x, variationIndex: 0}]}
"""


def test_a_prerequisite_cycle_is_reported_once_from_its_first_flag() -> None:
    state, problems = check(f_yaml=CYCLE)
    assert problems == [
        f"{at(CYCLE, 5, 'y, variationIndex')}: flags[0].initialPrerequisites[1].key: "
        "prerequisites form a cycle: z -> y -> x -> z"
    ]
    # The flags on the cycle are left out; a flag that only depends on one is kept.
    assert [f.key for f in state.flags] == ["after", "ok"]


def test_a_cycle_across_files_is_reported_in_the_first_file() -> None:
    a = "project: web\nflags:\n  - {key: a, name: A, initialPrerequisites: [{key: b}]}\n"
    b = "project: web\nflags:\n  - {key: b, name: B, initialPrerequisites: [{key: a}]}\n"
    a, b = (t.replace("}]}", ", variationIndex: 0}]}") for t in (a, b))
    _, problems = check(b_yaml=b, a_yaml=a)
    assert problems == [
        f"{at(a, 3, 'b, variationIndex', 'a.yaml')}: flags[0].initialPrerequisites[0].key: "
        "prerequisites form a cycle: a -> b -> a"
    ]


# -- the DesiredState -------------------------------------------------------------------------


FULL = """\
project: web
flags:
  - key: zeta
    name: Zeta
    description: Last by key
    temporary: false
    tags: [t]
    variations: [{value: 1, name: One}, {value: 2}]
    defaults: {onVariation: 1, offVariation: 0}
    initialPrerequisites: [{key: alpha, variationValue: false}]
    links: [{key: l, deepLink: "https://x.example.com"}]
  - key: alpha
    name: Alpha
"""


def test_flag_fields_are_the_declared_fields_without_links_and_prerequisites() -> None:
    zeta = flag(state_of(f_yaml=FULL), "zeta")
    assert dict(zeta.fields) == {
        "key": "zeta",
        "name": "Zeta",
        "description": "Last by key",
        "temporary": False,
        "tags": ["t"],
        "variations": [{"value": 1, "name": "One"}, {"value": 2}],
        "defaults": {"onVariation": 1, "offVariation": 0},
    }
    assert zeta.prerequisites == (PrerequisiteSpec("alpha", 1, Location("f.yaml", 10, 28)),)
    assert zeta.spec["initialPrerequisites"] == [{"key": "alpha", "variation": 1}]
    assert [link.key for link in zeta.links] == ["l"]
    assert zeta.location == Location("f.yaml", 3, 5)


def test_flags_are_sorted_by_project_then_key_whatever_the_file_order() -> None:
    state = state_of(
        z_yaml=FULL,
        a_yaml="project: api\nflags:\n  - {key: m, name: M}\n",
    )
    assert [f.address for f in state.flags] == ["api/m", "web/alpha", "web/zeta"]
    assert state.files == ("z.yaml", "a.yaml")
    assert state.projects == ("api", "web")
    assert state.link_count == 1


def test_the_state_is_the_same_however_the_files_are_ordered() -> None:
    other = "project: web\nflags:\n  - {key: m, name: M}\n"
    one = state_of(x_yaml=FULL, y_yaml=other)
    two = state_of(y_yaml=other, x_yaml=FULL)
    assert [f.digest for f in one.flags] == [f.digest for f in two.flags]


def test_an_unknown_field_is_reported_but_the_flag_is_still_checked() -> None:
    state, problems = check(
        f_yaml=ONE_FLAG + "    tmeporary: true\n    defaults: {onVariation: 5, offVariation: 0}\n"
    )
    assert problems == [
        "f.yaml:5:5: flags[0].tmeporary: unknown field 'tmeporary'; did you mean 'temporary'?",
        "f.yaml:6:29: flags[0].defaults.onVariation: 5 is out of range (with no variations "
        "listed, the flag has 2 (true and false), indices 0 to 1)",
    ]
    assert state.flags == ()


def test_a_file_whose_top_level_is_wrong_adds_no_rule_findings() -> None:
    _, problems = check(
        f_yaml="project: 12\nflags:\n  - {key: a, name: A}\n  - {key: a, name: A}\n"
    )
    assert problems == ["f.yaml:1:10: project: expected a string, got a number"]
