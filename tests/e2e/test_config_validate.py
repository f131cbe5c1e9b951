"""``ld-reconciler validate`` with a repository configuration, through the real CLI.

The repositories are real directories: ``tests/data/config/repo`` (valid) and
``tests/data/config/repo-with-mistakes``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from reconciler.config.configuration import load_config
from reconciler.files.validator import validate_paths

from .support import Cli

DATA = Path(__file__).resolve().parents[1] / "data" / "config"
REPO = DATA / "repo"
MISTAKES = DATA / "repo-with-mistakes"


def test_validate_with_no_path_reads_the_configured_paths() -> None:
    result = Cli(REPO)("validate")
    assert result.code == 0, result
    assert result.stdout == "2 flags, 0 links in 1 file: valid\n"


def test_validate_from_a_subdirectory_finds_the_configuration_upwards() -> None:
    result = Cli(REPO / "flags" / "web-app")("validate")
    assert result.code == 0, result
    assert result.stdout == "2 flags, 0 links in 1 file: valid\n"


def test_the_configurations_mistakes_are_reported_with_the_flag_files() -> None:
    result = Cli(MISTAKES)("validate")
    assert result.code == 1
    assert result.stdout.splitlines() == [
        "flags/web-app.yaml:8:15: flags[1].template: unknown template 'kill-swich'; "
        "did you mean 'kill-switch'?",
        'ld-reconciler.yaml:8:46: templates["kill-switch"].defaults.offVariation: 2 is out of '
        "range (the flag has 2 variations, indices 0 to 1); "
        "affects flag web-app/kill-payments (flags/web-app.yaml:3:5)",
        "ld-reconciler.yaml:9:5: templates[\"kill-switch\"].temprary: unknown field 'temprary'; "
        "did you mean 'temporary'?",
        "3 problems in 1 file",
    ]


def test_findings_from_a_subdirectory_name_files_relative_to_it() -> None:
    result = Cli(MISTAKES / "flags")("validate", "--format", "json")
    files = sorted({f["file"] for f in json.loads(result.stdout)["findings"]})
    assert files == ["../ld-reconciler.yaml", "web-app.yaml"]


def test_a_path_given_is_read_instead_of_the_configured_ones_with_the_configuration(
    tmp_path: Path,
) -> None:
    shutil.copytree(REPO, tmp_path / "repo")
    (tmp_path / "repo" / "flags" / "broken.yaml").write_text("project: web-app\n")
    result = Cli(tmp_path / "repo")("validate", "flags/web-app")
    assert result.code == 0, result


def test_config_names_another_configuration(tmp_path: Path) -> None:
    result = Cli(tmp_path)("--config", str(REPO / "ld-reconciler.yaml"), "validate")
    assert result.code == 0, result


def test_a_missing_config_file_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = Cli(tmp_path)("--config", "nope.yaml", "validate", ".")
    assert result.code == 1
    assert result.stderr == "Error: nope.yaml: no such file (given as the configuration)\n"


def test_without_a_path_or_configured_paths_it_is_a_usage_error_that_says_both(
    tmp_path: Path,
) -> None:
    (tmp_path / "ld-reconciler.yaml").write_text("defaults: {temporary: false}\n")
    result = Cli(tmp_path)("validate")
    assert result.code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Missing argument 'PATHS...'. "
        "Give a flag file or directory, or set paths in ld-reconciler.yaml."
    )


def test_wrong_configured_paths_are_reported_as_findings(tmp_path: Path) -> None:
    (tmp_path / "ld-reconciler.yaml").write_text("paths: flags\n")
    result = Cli(tmp_path)("validate")
    assert result.code == 1
    assert result.stdout.splitlines()[0] == (
        "ld-reconciler.yaml:1:8: paths: expected a list, got a string"
    )


def test_the_readmes_configuration_example_resolves_as_the_readme_says(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## The repository configuration\n", 1)[1].split("\n## ", 1)[0]
    config, flags = [b.split("```")[0] for b in section.split("```yaml\n")[1:3]]
    (tmp_path / "ld-reconciler.yaml").write_text(config)
    (tmp_path / "flags").mkdir()
    (tmp_path / "flags" / "web-app.yaml").write_text(flags)
    assert Cli(tmp_path)("validate").code == 0
    (flag,) = validate_paths([str(tmp_path / "flags")], load_config(start=tmp_path)).state.flags
    assert flag.fields["tags"] == ["managed", "web", "kill-switch", "payments"]
    assert flag.fields["temporary"] is False
    assert flag.fields["maintainerTeamKey"] == "web-platform"
    assert flag.fields["defaults"] == {"onVariation": 0, "offVariation": 1}
