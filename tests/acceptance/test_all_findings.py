"""Every finding in one run, and the messages that say what a YAML reader would not guess,
through the real command line on real files.

A shape error in a flag (``onVariation: 1.0``, ``isFlagOn: yes``, a bad key) once hid the
flag's other findings, and a wrong project key hid every finding of its file's flags: a
draft took three rounds to fix.
"""

from __future__ import annotations

from pathlib import Path

from support.cli import run_child, run_main

REPO = Path(__file__).resolve().parents[2]
MULTIPLE = REPO / "tests" / "data" / "multiple-problems"

KEY_HINT = "a key starts with a letter or digit and holds only letters, digits, '.', '_' and '-'"
YES = "YAML 1.2 reads {0} as a string; write true or false"

DRAFT_FINDINGS = [
    f"draft/flags.yaml:3:10: project: 'Web App' is not a valid project key: {KEY_HINT}",
    f"draft/flags.yaml:5:10: flags[0].key: 'checkout button' is not a valid key: {KEY_HINT}",
    'draft/flags.yaml:7:15: flags[0].isFlagOn: expected true or false, got the string "yes": '
    + YES.format("yes"),
    'draft/flags.yaml:10:16: flags[0].variations[1].value: the value "blue" is already '
    "variation 0; variation values must be unique",
    "draft/flags.yaml:11:16: flags[0].variations[2].value: this value is a number but "
    "variation 0 is a string; all variations of a flag share one type (boolean, string, "
    "number or JSON)",
    "draft/flags.yaml:12:29: flags[0].defaults.onVariation: expected an integer; write 1, not 1.0",
    "draft/flags.yaml:12:48: flags[0].defaults.offVariation: 5 is out of range (the flag has "
    "3 variations, indices 0 to 2)",
    "draft/flags.yaml:14:5: flags[0].maintainerTeamKey: give maintainerId or "
    "maintainerTeamKey, not both",
    "draft/flags.yaml:16:41: flags[0].initialPrerequisites[0].variationValue: flag 'new-cart' "
    'has no variation with the string "true" (its values: true, false)',
    "draft/flags.yaml:19:16: flags[1].temporary: expected true or false, got a string",
    "draft/flags.yaml:20:17: flags[1].tags[1]: 'sdk' is listed twice",
    "draft/flags.yaml:22:15: flags[1].initialPrerequisites[0].key: no flag 'checkout-flow' is "
    "declared in project 'Web App'",
    "draft/flags.yaml:24:11: flags[2].name: expected a string, got a number",
    "draft/flags.yaml:27:5: flags[2].variations: a migration flag has no variations: "
    "LaunchDarkly makes one variation per stage",
    "draft/flags.yaml:32:9: flags[3].links[1]: link key 'spec' is used twice on flag "
    "'new-cart' (first at draft/flags.yaml:31:9)",
    "draft/flags.yaml:33:50: flags[3].clientSideAvailability.usingEnvironmentId: expected "
    'true or false, got the string "on": ' + YES.format("on"),
    "draft/flags.yaml:33:70: flags[3].clientSideAvailability.usingMobileKey: expected true or "
    'false, got the string "no": ' + YES.format("no"),
    "draft/flags.yaml:34:10: flags[4].key: flag 'search' is declared twice in project "
    "'Web App' (first at draft/flags.yaml:17:10)",
    "draft/flags.yaml:36:1: links: unknown field 'links'; 'links' is a field of a flag: write "
    "it inside one (flags[].links)",
]


def test_a_draft_with_nineteen_mistakes_gets_all_nineteen_in_one_run() -> None:
    # Shape errors in flags 0 to 3 and a wrong project key: none of them hides another.
    result = run_child(MULTIPLE, ["validate", "draft"])
    assert result.stdout.splitlines() == [*DRAFT_FINDINGS, "19 problems in 1 file"]
    assert (result.code, result.stderr) == (1, "")


def _validate(tmp_path: Path, text: str, *more: tuple[str, str]) -> list[str]:
    (tmp_path / "flags.yaml").write_text(text, encoding="utf-8")
    for name, other in more:
        (tmp_path / name).write_text(other, encoding="utf-8")
    result = run_main(tmp_path, ["validate", "."])
    assert (result.code, result.stderr) == (1, ""), result
    return result.stdout.splitlines()


def test_yes_where_a_boolean_is_expected_says_yaml_reads_it_as_a_string(tmp_path: Path) -> None:
    text = "project: web-app\nflags:\n  - {key: a, name: A, isFlagOn: yes, temporary: Off}\n"
    assert _validate(tmp_path, text) == [
        'flags.yaml:3:33: flags[0].isFlagOn: expected true or false, got the string "yes": '
        + YES.format("yes"),
        'flags.yaml:3:49: flags[0].temporary: expected true or false, got the string "Off": '
        + YES.format("Off"),
        "2 problems in 1 file",
    ]


def test_a_top_level_links_field_says_links_go_inside_a_flag(tmp_path: Path) -> None:
    text = (
        "project: web-app\nflags:\n  - {key: a, name: A}\n"
        "links:\n  - deepLink: https://docs.example.com/a\n"
    )
    assert _validate(tmp_path, text) == [
        "flags.yaml:4:1: links: unknown field 'links'; 'links' is a field of a flag: write it "
        "inside one (flags[].links)",
        "1 problem in 1 file",
    ]


def test_a_string_prerequisite_value_for_a_boolean_flag_is_named_a_string(
    tmp_path: Path,
) -> None:
    text = (
        "project: web-app\nflags:\n  - {key: base, name: Base}\n"
        '  - {key: a, name: A, initialPrerequisites: [{key: base, variationValue: "true"}]}\n'
    )
    assert _validate(tmp_path, text) == [
        "flags.yaml:4:74: flags[1].initialPrerequisites[0].variationValue: flag 'base' has no "
        'variation with the string "true" (its values: true, false)',
        "1 problem in 1 file",
    ]


def test_the_summary_says_how_many_of_the_files_have_problems(tmp_path: Path) -> None:
    valid = "project: web-app\nflags:\n  - {{key: {0}, name: {0}}}\n"
    text = "project: web-app\nflags:\n  - {key: a, name: 1, temporary: maybe}\n"
    lines = _validate(
        tmp_path,
        text,
        ("b.yaml", valid.format("b")),
        ("c.yaml", valid.format("c")),
        ("d.yaml", valid.format("d")),
    )
    assert lines[-1] == "2 problems in 1 of 4 files"
