"""Schema errors in the flag file's terms: where, what, and what to do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
import pytest

from reconciler.files import validator
from reconciler.files.loader import load_file, load_text
from reconciler.files.positions import Document
from reconciler.files.schema import (
    IntegerFields,
    compiled_validator,
    ecma_regex,
    fast_check,
    integer_fields,
    schema,
)
from reconciler.files.schema_errors import describe, readable_path
from reconciler.files.validator import validate_documents

DATA = Path(__file__).resolve().parents[1] / "data"

HEAD = "project: web\nflags:\n  - key: a\n    name: A\n"


def findings(text: str) -> list[str]:
    _, found = validate_documents([load_text(text, "f.yaml")])
    return [str(f) for f in found]


def at(text: str, line: int, needle: str) -> str:
    """``f.yaml:line:col`` of the first ``needle`` on ``line`` of ``text``."""
    return f"f.yaml:{line}:{text.splitlines()[line - 1].index(needle) + 1}"


# -- readable paths --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ([], ""),
        (["project"], "project"),
        (["flags", 2, "defaults", "onVariation"], "flags[2].defaults.onVariation"),
        (
            ["flags", 0, "customProperties", "jira.issues"],
            'flags[0].customProperties["jira.issues"]',
        ),
        (["flags", 0, "customProperties", "a_b"], "flags[0].customProperties.a_b"),
        (["flags", 0, "variations", 0, "_id"], "flags[0].variations[0]._id"),
        (["flags", 0, "customProperties", "café"], "flags[0].customProperties.café"),
        (["x-extension"], '["x-extension"]'),
        (["flags", 0, "customProperties", "1st"], 'flags[0].customProperties["1st"]'),
        (["flags", 0, "customProperties", ""], 'flags[0].customProperties[""]'),
        (["m", 'say "hi"'], 'm["say \\"hi\\""]'),
        ([3, 1], "[3][1]"),
    ],
)
def test_readable_path_reads_like_the_file(path: list[object], shown: str) -> None:
    assert readable_path(path) == shown


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        ({}, "a mapping"),
        ([1], "a list"),
        ("x", "a string"),
        (1, "a number"),
        (1.5, "a number"),
    ],
)
def test_describe_names_a_value_in_yaml_words(value: object, words: str) -> None:
    assert describe(value) == words


# -- unknown fields, and oneOf / anyOf (the best branch, not every branch) ----------------------


def test_each_unknown_field_of_a_mapping_is_its_own_finding() -> None:
    text = HEAD + "    nmae: B\n    tagz: [x]\n"
    assert findings(text) == [
        f"{at(text, 5, 'nmae')}: flags[0].nmae: unknown field 'nmae'; did you mean 'name'?",
        f"{at(text, 6, 'tagz')}: flags[0].tagz: unknown field 'tagz'; did you mean 'tags'?",
    ]


def test_a_prerequisite_with_index_and_value_asks_for_one_of_them() -> None:
    text = HEAD + "    initialPrerequisites: [{key: b, variationIndex: 0, variationValue: x}]\n"
    assert findings(text)[0] == (
        f"{at(text, 5, '{key')}: flags[0].initialPrerequisites[0]: give only one of "
        "variationIndex or variationValue"
    )


def test_an_integration_link_may_leave_metadata_out_as_the_api_allows() -> None:
    # flagLinkPost requires nothing; which metadata an integration wants is its own rule.
    assert findings(HEAD + "    links: [{integrationKey: jira, title: PAY-1}]\n") == []


# -- each kind of error, in words ------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "needle", "message"),
    [
        # An unknown field; the best branch of a oneOf / anyOf, not every branch.
        pytest.param(
            "tmeporary: true",
            "tmeporary",
            "flags[0].tmeporary: unknown field 'tmeporary'; did you mean 'temporary'?",
            id="an unknown field is located at its key with a did-you-mean",
        ),
        pytest.param(
            "variations: [{value: 1, label: One}, {value: 2}]",
            "label",
            "flags[0].variations[0].label: unknown field 'label'; "
            "known fields: description, name, value",
            id="an unknown field unlike any known one lists the known fields",
        ),
        pytest.param(
            "initialPrerequisites: [{key: b}]",
            "{key",
            "flags[0].initialPrerequisites[0]: needs variationIndex or variationValue",
            id="a prerequisite without index or value asks for either",
        ),
        pytest.param(
            "links: [{title: Docs}]",
            "{title",
            "flags[0].links[0]: needs deepLink or integrationKey",
            id="a link without a target asks for a URL or an integration",
        ),
        pytest.param(
            "links: [{metadata: {issueKey: X-1}}]",
            "{metadata",
            "flags[0].links[0]: 'metadata' needs 'integrationKey'",
            id="a link with metadata only is told once what it lacks",
        ),
        pytest.param(
            "links: [{deepLink: 'ftp://files.example.com/x'}]",
            "'ftp",
            "flags[0].links[0].deepLink: 'ftp://files.example.com/x' is not a valid URL: "
            "a link's deepLink must be an http:// or https:// URL",
            id="inside a chosen branch the precise error is given",
        ),
        ("temporary: 'yes'", "'yes'", "flags[0].temporary: expected true or false, got a string"),
        ("tags: checkout", "checkout", "flags[0].tags: expected a list, got a string"),
        ("description: [a]", "[a]", "flags[0].description: expected a string, got a list"),
        (
            "defaults: {onVariation: 0.5, offVariation: 0}",
            "0.5",
            "flags[0].defaults.onVariation: expected an integer, got a number",
        ),
        (
            "defaults: {onVariation: 1.0, offVariation: 0}",
            "1.0",
            "flags[0].defaults.onVariation: expected an integer; write 1, not 1.0",
        ),
        (
            "purpose: experiment",
            "experiment",
            "flags[0].purpose: 'experiment' is not allowed; use one of \"migration\"",
        ),
        (
            "purpose: holdout",
            "holdout",
            "flags[0].purpose: holdout flags are made with "
            "LaunchDarkly's Holdouts API; only 'migration' is supported",
        ),
        ("tags: ['']", "''", "flags[0].tags[0]: must not be empty"),
        ("tags: [a, b, a]", "a]", "flags[0].tags[2]: 'a' is listed twice"),
        (
            "tags: ['no/slash']",
            "'no",
            "flags[0].tags[0]: 'no/slash' is not a valid tag: a tag "
            "holds only letters, digits, '.', '_' and '-'",
        ),
        (
            "defaults: {onVariation: -1, offVariation: 0}",
            "-1",
            "flags[0].defaults.onVariation: -1 is below the minimum of 0",
        ),
        (
            "variations: [{value: 1}]",
            "[{",
            "flags[0].variations: has 1 item; at least 2 are needed",
        ),
        (
            "clientSideAvailability: {usingMobileKey: true}",
            "{using",
            "flags[0].clientSideAvailability: missing required field 'usingEnvironmentId'",
        ),
        (
            "customProperties: {'': {name: x, value: [v]}}",
            "''",
            "flags[0].customProperties[\"\"]: the key '' must not be empty",
        ),
    ],
)
def test_each_schema_error_is_one_finding_in_the_files_terms(
    field: str, needle: str, message: str
) -> None:
    text = HEAD + f"    {field}\n"
    assert findings(text) == [f"{at(text, 5, needle)}: {message}"]


def test_a_wrong_type_is_not_also_reported_as_a_wrong_value() -> None:
    text = HEAD + "    purpose: migration\n    migrationSettings: {stageCount: '4'}\n"
    assert findings(text) == [
        f"{at(text, 6, chr(39) + '4')}: flags[0].migrationSettings.stageCount: expected an "
        "integer, got a string"
    ]


def test_long_values_are_shortened_in_messages() -> None:
    text = HEAD.replace("key: a", "key: " + "bad key " * 20)
    (finding,) = findings(text)
    shown = finding.split(": ", 2)[2].split(" is not a valid")[0]
    assert shown.endswith("...")
    assert len(shown) == 60


def test_a_key_that_is_too_long_is_named_and_located() -> None:
    key = "k" * 70
    text = (
        HEAD
        + f"    customProperties: {{ok: {{name: x, value: [v]}}, {key}: {{name: x, value: [v]}}}}\n"
    )
    (finding,) = findings(text)
    assert finding.startswith(f"{at(text, 5, key)}: flags[0].customProperties.{key}: the key ")
    assert finding.endswith("is 70 characters long; at most 64 are allowed")


def test_missing_top_level_fields_are_reported_at_the_start_of_the_data() -> None:
    text = "# comment\nflags: []\n"
    assert findings(text) == ["f.yaml:2:1: missing required field 'project'"]


# -- the fast check and the full validator agree ---------------------------------------------
# The fast check decides whether a file is valid and the full validator says why not: a file
# one refuses and the other accepts had no finding and was reported valid.


def _corpus_documents() -> list[Document]:
    files = sorted(p for p in DATA.rglob("*") if p.suffix in (".yaml", ".yml"))
    loaded = [load_file(p, p.relative_to(DATA).as_posix()) for p in files]
    return [doc for doc in loaded if isinstance(doc, Document)]


@pytest.mark.parametrize("doc", _corpus_documents(), ids=lambda doc: doc.file)
def test_the_fast_check_and_the_full_validator_agree_on_every_corpus_file(doc: Document) -> None:
    errors = list(compiled_validator().iter_errors(doc.data))
    assert fast_check()(doc.data) == (not errors), [e.message for e in errors]


def _patterns(node: Any) -> set[str]:
    if isinstance(node, dict):
        own = {node["pattern"]} if isinstance(node.get("pattern"), str) else set()
        return own.union(*(_patterns(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_patterns(v) for v in node))
    return set()


# Every line terminator and space of Unicode is below U+3100, but for U+FEFF.
_CHARACTERS = [chr(c) for c in (*range(0x3100), 0xFEFF, 0xFFFD, 0x10000, 0x1F600)]


@pytest.mark.parametrize(
    "pattern",
    [
        *sorted(_patterns(schema())),
        # What the translation handles that the schema does not use (yet).
        r"^a.b$",
        r"^\S+$",
        r"^[\s]$",
        r"^\w\d\b",
        r"^[$.]+$",
    ],
)
def test_patterns_match_as_ecma_262_and_jsonschema_rs_do(pattern: str) -> None:
    fast = jsonschema_rs.validator_for({"pattern": pattern})
    full = ecma_regex(pattern)
    differ = [
        text
        for char in _CHARACTERS
        for text in (char, f"a{char}", f"a{char}b", f"a{char}\n", f"https://x.example/{char}")
        if fast.is_valid(text) != bool(full.search(text))
    ]
    assert differ == []


def test_a_trailing_newline_does_not_match_an_anchored_pattern() -> None:
    text = HEAD.replace("key: a", 'key: "a\\n"')
    assert findings(text) == [
        f"{at(text, 3, chr(34))}: flags[0].key: 'a\\n' is not a valid key: a key starts with "
        "a letter or digit and holds only letters, digits, '.', '_' and '-'"
    ]


def _readable(fields: IntegerFields, at: str = "") -> list[str]:
    found = [at] if fields.here else []
    for name, sub in fields.fields.items():
        found += _readable(sub, f"{at}.{name}" if at else name)
    if fields.items is not None:
        found += _readable(fields.items, f"{at}[]")
    if fields.values is not None:
        found += _readable(fields.values, f"{at}{{}}")
    return found


def test_the_integer_fields_are_read_from_the_schema() -> None:
    assert sorted(_readable(integer_fields())) == [
        "flags[].defaults.offVariation",
        "flags[].defaults.onVariation",
        "flags[].initialPrerequisites[].variationIndex",
        "flags[].links[].timestamp",
        "flags[].migrationSettings.stageCount",
    ]


def test_a_float_at_every_integer_field_fails_both_checks() -> None:
    text = (
        "project: web\nflags:\n"
        "  - {key: a, name: A, defaults: {onVariation: 0, offVariation: 1.0}}\n"
        "  - {key: b, name: B, purpose: migration, migrationSettings: {stageCount: 4.0}}\n"
        "  - key: c\n    name: C\n    initialPrerequisites: [{key: a, variationIndex: 0.0}]\n"
        "    links: [{deepLink: 'https://x.example/', timestamp: 17.0}]\n"
    )
    doc = load_text(text, "f.yaml")
    assert not fast_check()(doc.data)
    assert [str(f) for f in validate_documents([doc])[1]] == [
        f"{at(text, 3, '1.0')}: flags[0].defaults.offVariation: expected an integer; "
        "write 1, not 1.0",
        f"{at(text, 4, '4.0')}: flags[1].migrationSettings.stageCount: expected an integer; "
        "write 4, not 4.0",
        f"{at(text, 7, '0.0')}: flags[2].initialPrerequisites[0].variationIndex: expected an "
        "integer; write 0, not 0.0",
        f"{at(text, 8, '17.0')}: flags[2].links[0].timestamp: expected an integer; "
        "write 17, not 17.0",
    ]


def test_a_refusal_the_full_validator_cannot_explain_is_still_a_located_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The two are made to agree, so the disagreement is staged: a full validator that
    # accepts anything stands for one that misses what the fast check refuses.
    accepting = jsonschema.Draft202012Validator({})
    monkeypatch.setattr(validator, "compiled_validator", lambda: accepting)
    text = HEAD + "    tags: [ok, not ok]\n  - {key: b, name: B}\n"
    state, found = validate_documents([load_text(text, "f.yaml")])
    assert [str(f) for f in found] == [
        f"{at(text, 5, 'not ok')}: flags[0].tags[1]: does not match the flag-file schema: "
        '"not ok" does not match "^[a-zA-Z0-9_.-]+$"'
    ]
    assert [flag.key for flag in state.flags] == ["b"]  # the refused flag is not desired


def test_a_float_too_large_to_be_an_exact_integer_gets_no_bogus_advice() -> None:
    text = "project: web\nflags:\n  - {key: a, name: A, defaults: {onVariation: 1.0e+300}}\n"
    doc = load_text(text, "f.yaml")
    assert doc.data["flags"][0]["defaults"]["onVariation"] == 1e300
    messages = [f.message for f in validate_documents([doc])[1]]
    assert "expected an integer, got a number" in messages
    assert not any("write" in m for m in messages)
