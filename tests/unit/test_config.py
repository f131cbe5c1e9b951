"""ld-reconciler.yaml: finding it, loading it, its settings, and every mistake in it located.

Bad configurations are real files in ``tests/data/config/<case>/ld-reconciler.yaml``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from reconciler.config.configuration import (
    CONFIG_NAME,
    Config,
    check,
    config_schema,
    find_config,
    load_config,
    no_config,
)
from reconciler.errors import InputError
from reconciler.files.loader import load_text
from reconciler.files.schema import schema
from support.schemas import properties

DATA = Path(__file__).resolve().parents[1] / "data" / "config"


@pytest.fixture
def in_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test in ``tmp_path`` (findings name the file relative to it)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def findings_of(case: str) -> list[str]:
    """The findings for ``tests/data/config/<case>``, loaded from its own directory."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(DATA / case)
        return [str(f) for f in load_config().findings]


# -- finding the file --------------------------------------------------------------------


def test_the_file_is_found_in_the_nearest_parent_that_has_one(tmp_path: Path) -> None:
    (tmp_path / CONFIG_NAME).write_text("paths: [flags]\n")
    (tmp_path / "a" / CONFIG_NAME).parent.mkdir()
    (tmp_path / "a" / CONFIG_NAME).write_text("paths: [here]\n")
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    assert find_config(deep) == (tmp_path / "a" / CONFIG_NAME).resolve()
    assert find_config(tmp_path) == (tmp_path / CONFIG_NAME).resolve()


def test_without_a_file_up_to_the_root_there_is_none_and_built_in_defaults_apply(
    tmp_path: Path,
) -> None:
    if find_config(tmp_path) is not None:
        pytest.skip("a configuration file above the temporary directory")
    config = load_config(start=tmp_path)
    assert config.file is None
    assert config.findings == ()
    assert config.paths == ()
    assert config.ledger == tmp_path.resolve() / ".ld-reconciler" / "ledger.json"
    assert config.base_url is None
    assert config.templates == {}


def test_a_directory_named_like_the_file_is_not_taken_for_it(tmp_path: Path) -> None:
    (tmp_path / "sub" / CONFIG_NAME).mkdir(parents=True)
    (tmp_path / CONFIG_NAME).write_text("{}\n")
    assert find_config(tmp_path / "sub") == (tmp_path / CONFIG_NAME).resolve()


def test_an_explicit_path_wins_over_the_file_found(tmp_path: Path) -> None:
    (tmp_path / CONFIG_NAME).write_text("paths: [found]\n")
    other = tmp_path / "other.yaml"
    other.write_text("paths: [named]\n")
    config = load_config(other, start=tmp_path)
    assert config.paths == (tmp_path.resolve() / "named",)


def test_an_explicit_path_that_does_not_exist_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing\.yaml: no such file"):
        load_config(tmp_path / "missing.yaml")


# -- settings ----------------------------------------------------------------------------


def test_relative_paths_and_the_ledger_are_relative_to_the_files_directory(
    tmp_path: Path,
) -> None:
    (tmp_path / CONFIG_NAME).write_text(
        "paths: [flags, ../common/flags.yaml]\nledger: state/ledger.json\n"
        "baseUrl: https://app.eu.launchdarkly.com\n"
    )
    (tmp_path / "flags" / "web").mkdir(parents=True)
    config = load_config(start=tmp_path / "flags" / "web")
    root = tmp_path.resolve()
    assert config.paths == (root / "flags", root / "../common/flags.yaml")
    assert config.ledger == root / "state" / "ledger.json"
    assert config.base_url == "https://app.eu.launchdarkly.com"


def test_the_default_ledger_is_kept_next_to_the_file(tmp_path: Path) -> None:
    (tmp_path / CONFIG_NAME).write_text("paths: [flags]\n")
    (tmp_path / "sub").mkdir()
    config = load_config(start=tmp_path / "sub")
    assert config.ledger == tmp_path.resolve() / ".ld-reconciler" / "ledger.json"


def test_defaults_project_defaults_templates_and_policies_are_read(tmp_path: Path) -> None:
    (tmp_path / CONFIG_NAME).write_text(
        "defaults: {tags: [managed]}\n"
        "projects:\n  web-app:\n    defaults: {maintainerTeamKey: web}\n"
        "templates:\n  kill-switch: {temporary: false}\n"
        "policies:\n  - {name: p, expression: 'true', message: m}\n"
    )
    config = load_config(start=tmp_path)
    assert config.findings == ()
    assert config.defaults == {"tags": ["managed"]}
    assert config.project_defaults("web-app") == {"maintainerTeamKey": "web"}
    assert config.project_defaults("other") == {}
    assert config.templates == {"kill-switch": {"temporary": False}}
    assert config.policies == ({"name": "p", "expression": "true", "message": "m"},)


def test_a_part_of_the_wrong_type_reads_as_unset_and_is_reported() -> None:
    config = Config(load_text("paths: flags\ntemplates: [a]\n", "c.yaml"), Path("/r"))
    assert config.paths == ()
    assert config.templates == {}
    assert [str(f) for f in check(config.document)] == [
        "c.yaml:1:8: paths: expected a list, got a string",
        "c.yaml:2:12: templates: expected a mapping, got a list",
    ]


# -- mistakes, located -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        pytest.param(
            "typo-in-template",
            [
                f"{CONFIG_NAME}:5:5: templates[\"kill-switch\"].temprary: "
                "unknown field 'temprary'; did you mean 'temporary'?"
            ],
            id="an unknown field in a template is located with a did you mean",
        ),
        pytest.param(
            "unknown-field",
            [
                f"{CONFIG_NAME}:1:1: path: unknown field 'path'; did you mean 'paths'?"
            ],
            id="an unknown top level field is located with a did you mean",
        ),
        pytest.param(
            "key-in-template",
            [
                f'{CONFIG_NAME}:3:10: templates["kill-switch"].key: not allowed in defaults or '
                "templates: each flag sets its own key"
            ],
            id="a key in a template is refused saying that each flag sets its own",
        ),
        pytest.param(
            "wrong-types",
            [
                f"{CONFIG_NAME}:1:8: paths: expected a list, got a string",
                f"{CONFIG_NAME}:2:10: baseUrl: 'ftp://app.launchdarkly.com' is not a valid "
                "base URL: a base URL is http:// or https:// and a host, "
                "e.g. https://app.launchdarkly.com",
                f'{CONFIG_NAME}:4:14: defaults.temporary: expected true or false, got the string '
                '"no": YAML 1.2 reads no as a string; write true or false',
                f'{CONFIG_NAME}:8:31: projects["web-app"].defaults.defaults.onVariation: '
                "expected an integer; write 0, not 0.0",
                f"{CONFIG_NAME}:13:15: policies[0].severity: 'fatal' is not allowed; "
                'use one of "error", "warning"',
            ],
            id="wrong types and values are each located in one pass",
        ),
        pytest.param(
            "bad-project-key",
            [
                f"{CONFIG_NAME}:2:3: projects[\"web app\"]: the key 'web app' is not a valid "
                "key: a key starts with a letter or digit and holds only letters, digits, "
                "'.', '_' and '-'"
            ],
            id="a project key that is not a key is named once",
        ),
        pytest.param(
            "not-a-mapping",
            [
                f"{CONFIG_NAME}:1:1: the top level is a list; ld-reconciler.yaml is a mapping "
                "of settings (paths, ledger, baseUrl, defaults, projects, templates, policies)"
            ],
            id="a top level list is one finding that says what the file is",
        ),
    ],
)
def test_each_mistake_is_located_and_says_what_to_do(case: str, expected: list[str]) -> None:
    assert findings_of(case) == expected


@pytest.mark.parametrize("case", ["empty", "comments-only"])
def test_an_empty_or_commented_out_file_is_a_valid_configuration(case: str) -> None:
    assert findings_of(case) == []


def test_a_yaml_error_is_located(in_dir: Path) -> None:
    (in_dir / CONFIG_NAME).write_text("paths: [flags\n")
    (finding,) = load_config().findings
    assert str(finding).startswith(f"{CONFIG_NAME}:2:1: ")


def test_findings_name_the_file_relative_to_the_working_directory(in_dir: Path) -> None:
    (in_dir / CONFIG_NAME).write_text("pathz: []\n")
    (in_dir / "flags").mkdir()
    os.chdir(in_dir / "flags")
    (finding,) = load_config().findings
    assert str(finding).startswith(f"../{CONFIG_NAME}:1:1: pathz: ")


# -- the schema ----------------------------------------------------------------------------


def test_the_config_schema_is_a_valid_2020_12_schema_and_documents_every_property() -> None:
    Draft202012Validator.check_schema(config_schema())
    assert config_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    undocumented = [
        pointer
        for pointer, prop in properties(config_schema())
        if not (prop.get("title") and prop.get("description"))
    ]
    assert undocumented == []


def test_defaults_and_templates_take_the_flag_file_schemas_own_flag_definition() -> None:
    flag_defaults = config_schema()["$defs"]["flagDefaults"]
    assert flag_defaults["$ref"] == "flag-file.schema.json#/$defs/flag"
    assert config_schema()["$id"].rsplit("/", 1)[0] == schema()["$id"].rsplit("/", 1)[0]
    assert "template" in schema()["$defs"]["flag"]["properties"]


def test_the_config_schemas_examples_are_valid(tmp_path: Path) -> None:
    example = {
        name: prop["examples"][0]
        for name, prop in config_schema()["properties"].items()
        if "examples" in prop
    }
    assert check(load_text(json.dumps(example), "c.yaml")) == []


def test_no_config_reads_as_empty(tmp_path: Path) -> None:
    config = no_config(tmp_path)
    assert config.data == {}
    assert config.defaults == {}
    assert config.policies == ()
