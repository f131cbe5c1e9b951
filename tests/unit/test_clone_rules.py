"""Clones in flag files: ``clone: SOURCE_KEY``, what may stand beside it, cycles through
clones, and what a repository configuration's defaults and templates give a clone."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from reconciler.config.configuration import load_config
from reconciler.files.loader import load_text
from reconciler.files.validator import validate_documents, validate_paths
from reconciler.model import DesiredState, FlagSpec


def check(**files: str) -> tuple[DesiredState, list[str]]:
    """Validate in-memory files (``a_yaml=...`` is a.yaml); the state and the findings."""
    documents = [load_text(text, name.replace("_", ".")) for name, text in files.items()]
    state, found = validate_documents(documents)
    return state, [str(f) for f in found]


def findings(text: str) -> list[str]:
    return check(f_yaml=text)[1]


def at(text: str, line: int, needle: str) -> str:
    return f"f.yaml:{line}:{text.splitlines()[line - 1].index(needle) + 1}"


def state_of(**files: str) -> DesiredState:
    state, problems = check(**files)
    assert problems == []
    return state


def flag(state: DesiredState, key: str) -> FlagSpec:
    return next(f for f in state.flags if f.key == key)

SOURCE = """\
project: web
flags:
  - key: base
    name: Base
    variations: [{value: a}, {value: b}, {value: c}]
"""


def test_a_clone_keeps_its_source_out_of_the_body_and_in_its_spec() -> None:
    state = state_of(f_yaml=SOURCE + "  - {key: copy, name: Copy, clone: base, tags: [x]}\n")
    copy = flag(state, "copy")
    assert copy.clone == "base"
    assert "clone" not in copy.fields
    assert copy.post_body({}) == {"key": "copy", "name": "Copy", "tags": ["x"]}
    assert copy.spec["clone"] == "base"  # the ledger records what it was copied from
    assert flag(state, "base").clone is None
    assert "clone" not in flag(state, "base").spec


def test_a_clone_of_a_flag_that_is_not_declared_is_valid() -> None:
    state = state_of(f_yaml="project: web\nflags:\n  - {key: copy, name: Copy, clone: ui-made}\n")
    assert flag(state, "copy").clone == "ui-made"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("variations", "[{value: 1}, {value: 2}]"),
        ("defaults", "{onVariation: 0, offVariation: 1}"),
        ("purpose", "migration"),
        ("migrationSettings", "{stageCount: 2}"),
        ("initialPrerequisites", "[{key: base, variationIndex: 0}]"),
        ("isFlagOn", "true"),
        ("clientSideAvailability", "{usingEnvironmentId: true, usingMobileKey: true}"),
        ("includeInSnippet", "true"),
    ],
)
def test_a_field_the_copy_takes_from_its_source_is_refused_at_the_field(
    field: str, value: str
) -> None:
    text = SOURCE + f"  - key: copy\n    name: Copy\n    clone: base\n    {field}: {value}\n"
    message = f"flags[1].{field}: a clone takes {field} from 'base'; remove it"
    assert f"{at(text, 9, field)}: {message}" in findings(text)


def test_a_clone_of_itself_is_refused() -> None:
    text = "project: web\nflags:\n  - {key: me, name: Me, clone: me}\n"
    assert findings(text) == [
        f"{at(text, 3, 'me}')}: flags[0].clone: a flag cannot be a clone of itself"
    ]


def test_a_cycle_of_clones_names_both_flags_and_where_they_are() -> None:
    text = dedent(
        """\
        project: web
        flags:
          - {key: a, name: A, clone: b}
          - {key: b, name: B, clone: a}
        """
    )
    assert findings(text) == [
        f"{at(text, 3, 'b}')}: flags[0].clone: clones form a cycle: a -> b -> a "
        f"('b' is at {at(text, 4, '{')})"
    ]


def test_a_cycle_through_a_clone_and_a_prerequisite_is_refused_with_both_locations() -> None:
    text = dedent(
        """\
        project: web
        flags:
          - key: a
            name: A
            initialPrerequisites: [{key: b, variationIndex: 0}]
          - {key: b, name: B, clone: a}
        """
    )
    (problem,) = findings(text)
    assert problem == (
        f"{at(text, 5, 'b,')}: flags[0].initialPrerequisites[0].key: clones and prerequisites "
        f"form a cycle: a -> b -> a ('b' is at {at(text, 6, '{')})"
    )


def test_a_clone_of_a_clone_has_the_first_flags_variations_for_a_prerequisite() -> None:
    text = SOURCE + (
        "  - {key: copy, name: Copy, clone: base}\n"
        "  - {key: copy2, name: Copy 2, clone: copy}\n"
        "  - key: gated\n"
        "    name: Gated\n"
        "    initialPrerequisites: [{key: copy2, variationValue: c}]\n"
    )
    state = state_of(f_yaml=text)
    assert flag(state, "gated").prerequisites[0].variation == 2
    assert flag(state, "copy2").clone == "copy"


def test_a_prerequisite_on_a_clone_of_an_undeclared_flag_is_refused() -> None:
    text = dedent(
        """\
        project: web
        flags:
          - {key: copy, name: Copy, clone: ui-made}
          - key: gated
            name: Gated
            initialPrerequisites: [{key: copy, variationIndex: 0}]
        """
    )
    assert findings(text) == [
        f"{at(text, 6, 'copy')}: flags[1].initialPrerequisites[0].key: flag 'copy' is a clone "
        "of a flag whose variations are not declared in the files; it cannot be named as a "
        "prerequisite"
    ]


def test_defaults_and_templates_give_a_clone_only_what_describes_it(tmp_path: Path) -> None:
    (tmp_path / "ld-reconciler.yaml").write_text(
        dedent(
            """\
            defaults:
              tags: [team]
              clientSideAvailability: {usingEnvironmentId: true, usingMobileKey: false}
            templates:
              switch:
                temporary: false
                defaults: {onVariation: 0, offVariation: 1}
            """
        )
    )
    flags = tmp_path / "flags.yaml"
    flags.write_text(
        "project: web\nflags:\n"
        "  - {key: made, name: Made}\n"
        "  - {key: copy, name: Copy, clone: made, template: switch}\n"
    )
    result = validate_paths([str(flags)], load_config(tmp_path / "ld-reconciler.yaml"))
    assert result.findings == ()
    made, copy = sorted(result.state.flags, key=lambda f: f.key)[::-1]
    assert copy.key == "copy"
    assert copy.fields == {"key": "copy", "name": "Copy", "tags": ["team"], "temporary": False}
    assert "clientSideAvailability" in made.fields


def test_clone_in_the_configurations_defaults_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "ld-reconciler.yaml"
    config.write_text("defaults:\n  clone: base\n")
    (finding,) = load_config(config).findings
    assert finding.path == "defaults.clone"
    assert "a flag names the flag it copies itself" in finding.message


def test_a_clone_names_its_source_in_the_same_project_only() -> None:
    # A key declared only in another project is not this project's flag: the clone's source
    # is left for LaunchDarkly (a live plan) to find, so the files alone are still valid.
    _, problems = check(
        a_yaml="project: other\nflags:\n  - {key: base, name: Base}\n",
        b_yaml="project: web\nflags:\n  - {key: copy, name: Copy, clone: base}\n",
    )
    assert problems == []
