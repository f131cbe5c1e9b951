"""What editors get: the flag-file schema documents every field, and its examples are valid.

Editors (the YAML language server behind VS Code and others) show a field's ``title`` and
``description`` on hover, and offer its ``examples`` and ``default`` on completion; an example
that does not validate would teach users a mistake.
"""

from __future__ import annotations

import fnmatch
import json
import os
from pathlib import Path
from typing import Any

import pytest
from e2e.support import Cli
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from support.schemas import properties, subschemas

from .support import REPO

SCHEMA_FILE = REPO / "schemas" / "flag-file.schema.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def _properties() -> list[tuple[str, dict[str, Any]]]:
    return properties(SCHEMA)


def _examples() -> list[tuple[str, Any]]:
    return [
        (pointer, example)
        for pointer, node in subschemas(SCHEMA)
        for example in node.get("examples", [])
    ]


def test_the_schema_is_a_valid_2020_12_schema_with_an_id() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"].startswith("https://")


@pytest.mark.parametrize(("pointer", "prop"), _properties(), ids=[p for p, _ in _properties()])
def test_every_property_has_a_title_and_a_description(pointer: str, prop: dict[str, Any]) -> None:
    assert prop.get("title"), pointer
    assert prop.get("description"), pointer


def test_examples_are_offered_for_most_properties() -> None:
    properties = _properties()
    with_examples = [p for p, prop in properties if "examples" in prop or "default" in prop]
    assert len(with_examples) >= 0.75 * len(properties)


@pytest.mark.parametrize(
    ("pointer", "example"), _examples(), ids=[f"{p}:{i}" for i, (p, _) in enumerate(_examples())]
)
def test_every_example_is_valid_where_it_is_offered(pointer: str, example: Any) -> None:
    registry = Registry().with_resource(SCHEMA["$id"], Resource.from_contents(SCHEMA))
    validator = Draft202012Validator({"$ref": f"{SCHEMA['$id']}#{pointer}"}, registry=registry)
    errors = [e.message for e in validator.iter_errors(example)]
    assert errors == [], f"{pointer}: example {example!r}"


def test_a_wrong_example_would_be_caught() -> None:
    registry = Registry().with_resource(SCHEMA["$id"], Resource.from_contents(SCHEMA))
    pointer = "/$defs/flag/properties/tags"
    validator = Draft202012Validator({"$ref": f"{SCHEMA['$id']}#{pointer}"}, registry=registry)
    assert not validator.is_valid(["not a tag!"])


def test_schema_command_prints_the_schema_and_where_it_is_installed(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    printed = cli("schema")
    assert printed.code == 0
    assert json.loads(printed.stdout) == SCHEMA
    where = cli("schema", "--path")
    assert where.code == 0
    assert json.loads(Path(where.stdout.strip()).read_text(encoding="utf-8")) == SCHEMA


def _readme_block(language: str, containing: str) -> str:
    """The one code block of the README's "Editor support" section with ``containing``."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    text = text.split("\n## Editor support\n", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("```")[0] for b in text.split(f"```{language}\n")[1:]]
    (block,) = [b for b in blocks if containing in b]
    return block


def test_the_readmes_editor_settings_point_at_the_schema_it_says_to_save(tmp_path: Path) -> None:
    save = _readme_block("sh", "ld-reconciler schema >").strip()
    target = save.split(">", 1)[1].strip()  # where the README says to save the schema
    settings = json.loads(_readme_block("json", "yaml.schemas"))
    ((schema, globs),) = settings["yaml.schemas"].items()
    assert Path(schema) == Path(target)
    assert any(fnmatch.fnmatch("flags/web-app/checkout.yaml", g) for g in globs)

    modeline = _readme_block("yaml", "yaml-language-server").splitlines()[0]
    relative = modeline.split("$schema=", 1)[1]
    flag_file = Path("flags/web-app/checkout.yaml")
    assert os.path.normpath(flag_file.parent / relative) == os.path.normpath(target)
