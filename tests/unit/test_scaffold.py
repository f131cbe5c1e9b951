"""``reconciler.config.scaffold``: what ``init`` writes, and that it never overwrites."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reconciler.config.configuration import CONFIG_NAME, load_config
from reconciler.config.scaffold import WORKFLOWS, ignored_lines, init, scaffold
from reconciler.errors import InputError
from reconciler.files.discovery import NOT_FLAG_FILES
from reconciler.files.validator import validate_paths


def test_an_empty_directory_gets_a_configuration_that_validates_its_example(
    tmp_path: Path,
) -> None:
    outcomes = init(tmp_path, project="web-app")
    assert all(o.written for o in outcomes)
    config = load_config(start=tmp_path)
    assert config.findings == ()
    assert config.paths == (tmp_path / "flags",)
    result = validate_paths([str(tmp_path / "flags")], config)
    assert result.ok, result.findings
    keys = [f.key for f in result.state.flags]
    assert keys == ["example-feature", "example-kill-switch"]


def test_the_example_flag_file_starts_with_the_schema_modeline(tmp_path: Path) -> None:
    init(tmp_path, project="web-app")
    first = (tmp_path / "flags" / "web-app.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/flag-file.schema.json"
    assert (tmp_path / "flags" / "../schemas/flag-file.schema.json").is_file()


def test_the_base_url_is_a_comment_and_policies_are_empty(tmp_path: Path) -> None:
    init(tmp_path)
    text = (tmp_path / "ld-reconciler.yaml").read_text()
    assert "# baseUrl: https://app.launchdarkly.com" in text
    data = yaml.safe_load(text)
    assert "baseUrl" not in data
    assert data["policies"] == []
    assert set(data["templates"]) == {"kill-switch"}


def test_an_existing_file_is_skipped_and_said_so(tmp_path: Path) -> None:
    (tmp_path / "ld-reconciler.yaml").write_text("paths: [flags]\n")
    outcomes = {o.path: o for o in init(tmp_path)}
    assert (tmp_path / "ld-reconciler.yaml").read_text() == "paths: [flags]\n"
    skipped = outcomes["ld-reconciler.yaml"]
    assert not skipped.written
    assert str(skipped) == "skipped ld-reconciler.yaml (it exists; left as it is)"
    assert outcomes["flags/default.yaml"].written


def test_gitignore_is_appended_to_once_and_ignores_lock_and_journal_not_the_ledger(
    tmp_path: Path,
) -> None:
    gitignore = tmp_path / ".gitignore"
    gitignore.write_text("node_modules/\n/.ld-reconciler/ledger.json.lock")  # no final newline
    init(tmp_path)
    init(tmp_path)
    lines = gitignore.read_text().splitlines()
    assert lines[0] == "node_modules/"
    for line in ignored_lines():
        assert lines.count(line) == 1
    assert not any(line.endswith("ledger.json") for line in lines)


def test_github_adds_the_shipped_workflows_and_a_pre_commit_configuration() -> None:
    files = scaffold(github=True)
    repo = Path(__file__).resolve().parents[2]
    for shipped, target in WORKFLOWS.items():
        assert files[target] == (repo / "examples" / "github-workflows" / shipped).read_text()
    hooks = yaml.safe_load(files[".pre-commit-config.yaml"])["repos"][0]["hooks"]
    assert hooks == [{"id": "ld-reconciler-validate"}]
    assert not any(".github" in path for path in scaffold())


def test_a_project_that_is_not_a_key_is_refused() -> None:
    with pytest.raises(InputError, match="'web app' is not a project key"):
        scaffold(project="web app")


def test_a_directory_search_never_reads_the_configuration_as_a_flag_file(tmp_path: Path) -> None:
    assert CONFIG_NAME in NOT_FLAG_FILES
    init(tmp_path)
    (tmp_path / "ld-reconciler.yaml").write_text(
        (tmp_path / "ld-reconciler.yaml").read_text().replace("paths: [flags]", "paths: [.]")
    )
    config = load_config(start=tmp_path)
    result = validate_paths(config.flag_paths(), config)
    assert result.ok, result.findings
