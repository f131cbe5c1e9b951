"""Renderers of validation results: text, json, github; the summary line; escaping."""

from __future__ import annotations

import json

import click
import pytest

from reconciler.commands.validate import validate as validate_command
from reconciler.files.report import (
    REPORTERS,
    GithubReporter,
    JsonReporter,
    TextReporter,
    github_annotation,
    github_escape,
    summary,
)
from reconciler.files.validator import ValidationResult
from reconciler.model import DesiredState, Finding, FlagSpec, LinkSpec, Location

HERE = Location("flags/web.yaml", 3, 5)


def a_flag(key: str, links: int = 0) -> FlagSpec:
    link_specs = tuple(
        LinkSpec("web", key, f"l{i}", {"key": f"l{i}", "deepLink": "https://x.example"}, HERE)
        for i in range(links)
    )
    return FlagSpec("web", key, {"key": key, "name": key}, HERE, (), link_specs)


def valid(flags: int, links_each: int, files: int) -> ValidationResult:
    state = DesiredState(tuple(a_flag(f"f{i}", links_each) for i in range(flags)))
    return ValidationResult(state, (), files)


FINDINGS = (
    Finding(Location("flags/a.yaml", 2, 1), "a tab character cannot indent YAML; use spaces"),
    Finding(
        Location("flags/web.yaml", 14, 7),
        "3 is out of range (the flag has 2 variations, indices 0 to 1)",
        "flags[2].defaults.onVariation",
    ),
)
INVALID = ValidationResult(DesiredState(()), FINDINGS, 2)


# -- summary ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "line"),
    [
        (valid(1, 1, 1), "1 flag, 1 link in 1 file: valid"),
        (valid(2, 0, 3), "2 flags, 0 links in 3 files: valid"),
        (valid(1234, 1, 40), "1,234 flags, 1,234 links in 40 files: valid"),
        (INVALID, "2 problems in 2 files"),
        (ValidationResult(DesiredState(()), FINDINGS[:1], 1), "1 problem in 1 file"),
    ],
)
def test_the_summary_counts_in_words(result: ValidationResult, line: str) -> None:
    assert summary(result) == line


# -- text --------------------------------------------------------------------------------------


def test_text_lists_each_finding_as_file_line_col_then_the_summary() -> None:
    assert TextReporter().render(INVALID) == (
        "flags/a.yaml:2:1: a tab character cannot indent YAML; use spaces\n"
        "flags/web.yaml:14:7: flags[2].defaults.onVariation: 3 is out of range "
        "(the flag has 2 variations, indices 0 to 1)\n"
        "2 problems in 2 files\n"
    )


def test_text_for_valid_files_is_the_summary_alone() -> None:
    assert TextReporter().render(valid(2, 1, 1)) == "2 flags, 2 links in 1 file: valid\n"


# -- json --------------------------------------------------------------------------------------


def test_json_holds_every_finding_with_its_parts() -> None:
    data = json.loads(JsonReporter().render(INVALID))
    assert data == {
        "format_version": 1,
        "valid": False,
        "summary": "2 problems in 2 files",
        "files": 2,
        "flags": None,
        "links": None,
        "findings": [
            {
                "file": "flags/a.yaml",
                "line": 2,
                "col": 1,
                "path": "",
                "message": "a tab character cannot indent YAML; use spaces",
                "severity": "error",
            },
            {
                "file": "flags/web.yaml",
                "line": 14,
                "col": 7,
                "path": "flags[2].defaults.onVariation",
                "message": "3 is out of range (the flag has 2 variations, indices 0 to 1)",
                "severity": "error",
            },
        ],
    }


def test_json_counts_flags_and_links_only_when_valid() -> None:
    data = json.loads(JsonReporter().render(valid(3, 2, 2)))
    assert (data["valid"], data["flags"], data["links"], data["findings"]) == (True, 3, 6, [])


def test_json_keeps_non_ascii_text_readable() -> None:
    result = ValidationResult(DesiredState(()), (Finding(HERE, "'café' is listed twice"),), 1)
    rendered = JsonReporter().render(result)
    assert "'café' is listed twice" in rendered
    assert json.loads(rendered)["findings"][0]["message"] == "'café' is listed twice"


# -- github ------------------------------------------------------------------------------------


def test_github_renders_an_error_annotation_per_finding_then_the_summary() -> None:
    assert GithubReporter().render(INVALID).splitlines() == [
        "::error file=flags/a.yaml,line=2,col=1,title=ld-reconciler::"
        "a tab character cannot indent YAML; use spaces",
        "::error file=flags/web.yaml,line=14,col=7,title=ld-reconciler::"
        "flags[2].defaults.onVariation: 3 is out of range (the flag has 2 variations, "
        "indices 0 to 1)",
        "2 problems in 2 files",
    ]


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain text", "plain text"),
        ("100% sure", "100%25 sure"),
        ("two\nlines", "two%0Alines"),
        ("crlf\r\n", "crlf%0D%0A"),
        ("a: b, c", "a: b, c"),  # ':' and ',' are fine in the message
        ("%0A", "%250A"),  # an escape in the text is not an escape
    ],
)
def test_github_escape_of_a_message(text: str, escaped: str) -> None:
    assert github_escape(text) == escaped


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("flags/web.yaml", "flags/web.yaml"),
        ("dir,with:odd%name.yaml", "dir%2Cwith%3Aodd%25name.yaml"),
        ("new\nline.yaml", "new%0Aline.yaml"),
    ],
)
def test_github_escape_of_a_property_also_escapes_colon_and_comma(text: str, escaped: str) -> None:
    assert github_escape(text, property=True) == escaped


def test_a_multi_line_message_stays_one_annotation() -> None:
    finding = Finding(Location("a,b.yaml", 1, 2), "first\nsecond: 100%", "flags[0]")
    assert github_annotation("warning", finding, title="lint: x") == (
        "::warning file=a%2Cb.yaml,line=1,col=2,title=lint%3A x::flags[0]: first%0Asecond: 100%25"
    )


# -- the registry -------------------------------------------------------------------------------


def test_the_format_choices_of_the_cli_are_the_registered_reporters() -> None:
    option = next(p for p in validate_command.params if p.name == "fmt")
    assert isinstance(option.type, click.Choice)
    assert sorted(option.type.choices) == sorted(REPORTERS) == ["github", "json", "text"]


@pytest.mark.parametrize("name", sorted(REPORTERS))
def test_every_reporter_ends_with_a_newline_and_the_summary(name: str) -> None:
    rendered = REPORTERS[name].render(INVALID)
    assert rendered.endswith("\n")
    assert "2 problems in 2 files" in rendered


# -- warnings (policies of severity warning) ---------------------------------------------------

WARNING = Finding(
    Location("flags/web.yaml", 9, 5),
    "policy temporary-needs-ticket: a temporary flag links its Jira ticket",
    "",
    "warning",
)


def test_warnings_fail_nothing_and_are_counted_apart_from_errors() -> None:
    warned = ValidationResult(valid(2, 1, 1).state, (WARNING,), 1)
    assert warned.ok
    assert TextReporter().render(warned).splitlines() == [
        "flags/web.yaml:9:5: warning: policy temporary-needs-ticket: "
        "a temporary flag links its Jira ticket",
        "2 flags, 2 links in 1 file: valid (1 warning)",
    ]
    both = ValidationResult(DesiredState(()), (*FINDINGS, WARNING), 2)
    assert not both.ok
    assert TextReporter().render(both).splitlines()[-1] == "2 problems and 1 warning in 2 files"


def test_json_and_github_carry_each_finding_s_severity() -> None:
    both = ValidationResult(DesiredState(()), (FINDINGS[0], WARNING), 2)
    data = json.loads(JsonReporter().render(both))
    assert [f["severity"] for f in data["findings"]] == ["error", "warning"]
    lines = GithubReporter().render(both).splitlines()
    assert lines[0].startswith("::error file=flags/a.yaml,")
    assert lines[1].startswith("::warning file=flags/web.yaml,line=9,col=5,")
