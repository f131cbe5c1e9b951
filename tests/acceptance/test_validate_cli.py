"""`ld-reconciler validate` and `schema` through the real command line, on real files.

The bulk runs ``reconciler.cli.main`` in-process (the same entry point as the console
script, with its exit codes and error handling); a handful run it as a separate
process, where a crash, a hang or a traceback cannot hide. Each invalid case under
tests/data/invalid states its one expected finding in its first line:
``# expect: <line>:<col>: <path>: <message>`` (files that cannot carry a comment are
listed in EXPECTATIONS.txt; for a directory case the expectation sits in the file
that gets the finding).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from reconciler.cli import main
from support.process import python_module

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
INVALID = DATA / "invalid"
VALID = DATA / "valid"
MULTIPLE = DATA / "multiple-problems"
EXAMPLES = REPO / "examples" / "flags"
SCHEMA = REPO / "schemas" / "flag-file.schema.json"

_EXPECT = re.compile(r"# expect: (\d+:\d+: .+)")


@dataclass(frozen=True)
class Case:
    """One invalid case: the path given to validate and the one line it must print."""

    name: str  # relative to INVALID: a file, or a directory of files
    finding: str  # "file:line:col: path: message", file relative to INVALID
    file_count: int


def _first_line_expectation(path: Path) -> str | None:
    with path.open("rb") as f:
        first = f.readline().decode("utf-8-sig", "replace").rstrip("\r\n")
    match = _EXPECT.fullmatch(first)
    return match[1] if match else None


def _invalid_cases() -> list[Case]:
    listed: dict[str, str] = {}
    for line in (INVALID / "EXPECTATIONS.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, expected = line.split(": ", 1)
            listed[name] = expected
    cases = []
    for entry in sorted(INVALID.iterdir()):
        if entry.suffix not in (".yaml", ".yml") and not entry.is_dir():
            continue
        files = sorted(entry.rglob("*.y*ml")) if entry.is_dir() else [entry]
        findings = [
            f"{f.relative_to(INVALID).as_posix()}:{said}"
            for f in files
            if (said := _first_line_expectation(f)) is not None
        ]
        if entry.name in listed:
            findings.append(f"{entry.name}:{listed[entry.name]}")
        if len(findings) != 1:
            raise AssertionError(f"{entry}: needs exactly one expectation, has {findings}")
        cases.append(Case(entry.name, findings[0], len(files)))
    return cases


INVALID_CASES = _invalid_cases()


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def ld(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run the command line in-process, as the console script does."""

    def run(*args: str) -> Run:
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        out, err = capsys.readouterr()
        code = exited.value.code
        return Run(code if isinstance(code, int) else 1, out, err)

    return run


def ld_process(
    *args: str, cwd: Path = REPO, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m reconciler`` as its own process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return python_module("reconciler", *args, cwd=cwd, env=env, timeout=timeout)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _counted_summary(paths: list[Path]) -> str:
    """The summary line, counted from the files themselves."""
    docs = [yaml.safe_load(p.read_text(encoding="utf-8-sig")) for p in paths]
    flags = [flag for doc in docs for flag in doc["flags"]]
    links = sum(len(flag.get("links", [])) for flag in flags)
    return (
        f"{_plural(len(flags), 'flag')}, {_plural(links, 'link')} "
        f"in {_plural(len(paths), 'file')}: valid"
    )


def _yaml_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml"))


# -- invalid files: one finding each, exactly as expected ----------------------------


def test_the_invalid_corpus_covers_yaml_schema_and_semantic_rules() -> None:
    kinds = Counter(case.name.split("-")[0] for case in INVALID_CASES)
    assert len(INVALID_CASES) >= 45
    assert min(kinds["yaml"], kinds["schema"], kinds["rule"]) >= 10, kinds


@pytest.mark.parametrize("case", INVALID_CASES, ids=[c.name for c in INVALID_CASES])
def test_invalid_case_exits_1_with_exactly_its_finding(
    case: Case, ld: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(INVALID)
    result = ld("validate", case.name)
    assert result.out == f"{case.finding}\n1 problem in {_plural(case.file_count, 'file')}\n"
    assert (result.code, result.err) == (1, "")


@pytest.mark.parametrize(
    "name",
    [
        "yaml-binary-nul.yaml",
        "yaml-alias-bomb.yaml",
        "schema-unknown-flag-field-did-you-mean.yaml",
        "rule-duplicate-flag-key-across-files",
        "rule-prerequisite-two-flag-cycle.yaml",
    ],
)
def test_invalid_case_fails_cleanly_in_its_own_process(name: str) -> None:
    case = next(c for c in INVALID_CASES if c.name == name)
    result = ld_process("validate", name, cwd=INVALID)
    assert result.stdout.splitlines()[0] == case.finding
    assert (result.returncode, result.stderr) == (1, "")


def test_nesting_a_hundred_thousand_levels_deep_is_a_finding_not_a_crash(
    tmp_path: Path,
) -> None:
    # libyaml's composer recurses per level: this depth overflowed the C stack (SIGSEGV).
    deep = tmp_path / "deep.yaml"
    deep.write_text("project: web-app\nflags: " + "[" * 100_000 + "]" * 100_000 + "\n")
    result = ld_process("validate", "deep.yaml", cwd=tmp_path)
    assert (
        result.stdout == "deep.yaml:2:72: nesting is deeper than 64 levels\n1 problem in 1 file\n"
    )
    assert result.returncode == 1


# -- valid files ---------------------------------------------------------------------


def test_examples_validate_with_a_summary_counted_from_the_files(ld: Callable[..., Run]) -> None:
    result = ld("validate", str(EXAMPLES))
    assert result.out == _counted_summary(_yaml_files(EXAMPLES)) + "\n"
    assert (result.code, result.err) == (0, "")


def test_examples_validate_in_their_own_process() -> None:
    result = ld_process("validate", "examples/flags")
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        _counted_summary(_yaml_files(EXAMPLES)) + "\n",
        "",
    )


VALID_CASES = sorted(p.name for p in VALID.iterdir() if p.suffix in (".yaml", ".yml") or p.is_dir())


@pytest.mark.parametrize("name", VALID_CASES)
def test_valid_case_validates(
    name: str, ld: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(VALID)
    files = _yaml_files(VALID / name) if (VALID / name).is_dir() else [VALID / name]
    result = ld("validate", name)
    assert result.out == _counted_summary(files) + "\n"
    assert result.code == 0


def test_the_whole_valid_corpus_validates_together(ld: Callable[..., Run]) -> None:
    files = _yaml_files(VALID)
    assert len(files) >= 8
    result = ld("validate", str(VALID))
    assert result.out == _counted_summary(files) + "\n"
    assert result.code == 0


@pytest.mark.parametrize("name", ["byte-order-mark.yaml", "crlf-line-ends.yaml"])
def test_positions_are_exact_in_a_file_with_a_bom_or_crlf_line_ends(
    name: str, ld: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = (VALID / name).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") or b"\r\n" in raw
    lines = raw.decode("utf-8-sig").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "temporary: true" in text)
    col = lines[line - 1].index("true") + 1
    monkeypatch.chdir(tmp_path)
    Path(name).write_bytes(raw.replace(b"temporary: true", b"temporary: maybe"))
    result = ld("validate", name)
    assert result.out.splitlines()[0] == (
        f"{name}:{line}:{col}: flags[0].temporary: expected true or false, got a string"
    )


def test_columns_on_the_first_line_do_not_count_the_byte_order_mark(
    ld: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bom.yaml").write_bytes(
        b"\xef\xbb\xbfproject: -web\r\nflags:\r\n  - {key: a, name: A, temporary: maybe}\r\n"
    )
    assert ld("validate", "bom.yaml").out.splitlines()[:2] == [
        "bom.yaml:1:10: project: '-web' is not a valid project key: a key starts with a letter "
        "or digit and holds only letters, digits, '.', '_' and '-'",
        "bom.yaml:3:34: flags[0].temporary: expected true or false, got a string",
    ]


def test_a_python_tag_is_refused_and_never_executed(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    (tmp_path / "flags.yaml").write_text(
        f"project: web-app\nflags:\n  - key: a\n    name: !!python/object/apply:os.mkdir "
        f"[{json.dumps(str(canary))}]\n"
    )
    result = ld_process("validate", "flags.yaml", cwd=tmp_path)
    assert result.stdout == (
        "flags.yaml:4:11: the YAML tag !!python/object/apply:os.mkdir is not allowed: "
        "flag files hold plain data only\n1 problem in 1 file\n"
    )
    assert result.returncode == 1
    assert not canary.exists()


def test_a_file_named_twice_is_validated_once(ld: Callable[..., Run]) -> None:
    one = str(VALID / "suffix.yml")
    result = ld("validate", one, str(VALID), one)
    assert result.out == _counted_summary(_yaml_files(VALID)) + "\n"


# -- several problems: all at once, sorted ----------------------------------------------

MULTIPLE_FINDINGS = [
    "mobile.yaml:5:1: a tab character cannot indent YAML; use spaces",
    'web.yaml:8:16: flags[0].variations[1].value: the value "a" is already variation 0; '
    "variation values must be unique",
    "web.yaml:10:11: flags[1].name: expected a string, got a number",
    "web.yaml:13:5: flags[2].tmeporary: unknown field 'tmeporary'; did you mean 'temporary'?",
    "web.yaml:14:29: flags[2].defaults.onVariation: 5 is out of range (with no variations "
    "listed, the flag has 2 (true and false), indices 0 to 1)",
    "web.yaml:16:15: flags[2].initialPrerequisites[0].key: no flag 'nowhere' is declared in "
    "project 'web-app'",
    "web.yaml:17:10: flags[3].key: flag 'checkout' is declared twice in project 'web-app' "
    "(first at web.yaml:4:10)",
]


def test_all_findings_come_together_sorted_by_file_and_line(
    ld: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(MULTIPLE)
    result = ld("validate", "web.yaml", "mobile.yaml")
    assert result.out.splitlines() == [*MULTIPLE_FINDINGS, "7 problems in 2 files"]
    assert result.code == 1


def test_json_format_carries_every_finding(
    ld: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(MULTIPLE)
    result = ld("validate", "--format", "json", ".")
    data = json.loads(result.out)
    assert result.code == 1
    assert {k: data[k] for k in ("valid", "summary", "files", "flags", "links")} == {
        "valid": False,
        "summary": "7 problems in 2 files",
        "files": 2,
        "flags": None,
        "links": None,
    }
    as_text = [
        f"{f['file']}:{f['line']}:{f['col']}: "
        + (f"{f['path']}: " if f["path"] else "")
        + f["message"]
        for f in data["findings"]
    ]
    assert as_text == MULTIPLE_FINDINGS
    assert data["findings"][1] == {
        "file": "web.yaml",
        "line": 8,
        "col": 16,
        "path": "flags[0].variations[1].value",
        "message": 'the value "a" is already variation 0; variation values must be unique',
    }


def test_json_format_of_valid_files_counts_flags_and_links(ld: Callable[..., Run]) -> None:
    data = json.loads(ld("validate", "--format", "json", str(VALID / "split-project")).out)
    assert data == {
        "format_version": 1,
        "valid": True,
        "summary": "2 flags, 4 links in 2 files: valid",
        "files": 2,
        "flags": 2,
        "links": 4,
        "findings": [],
    }


def test_github_format_emits_one_error_annotation_per_finding(
    ld: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(MULTIPLE)
    lines = ld("validate", "--format", "github", ".").out.splitlines()
    assert lines[0] == (
        "::error file=mobile.yaml,line=5,col=1,title=ld-reconciler::"
        "a tab character cannot indent YAML; use spaces"
    )
    assert lines[2] == (
        "::error file=web.yaml,line=10,col=11,title=ld-reconciler::"
        "flags[1].name: expected a string, got a number"
    )
    assert len(lines) == 8
    assert all(line.startswith("::error file=") for line in lines[:7])
    assert lines[7] == "7 problems in 2 files"


def test_github_format_escapes_file_names_in_properties(
    ld: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a,b:c%.yaml").write_text("project: web-app\n")
    lines = ld("validate", "--format", "github", "a,b:c%.yaml").out.splitlines()
    assert lines[0] == (
        "::error file=a%2Cb%3Ac%25.yaml,line=1,col=1,title=ld-reconciler::"
        "missing required field 'flags'"
    )


# -- paths and usage -------------------------------------------------------------------


def test_validate_without_a_path_is_a_usage_error(ld: Callable[..., Run]) -> None:
    result = ld("validate")
    assert result.code == 2
    assert "Missing argument 'PATHS...'" in result.err
    assert result.out == ""


def test_an_empty_path_is_a_usage_error_not_the_current_directory(
    ld: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(EXAMPLES)  # valid files here: validating "." would pass
    result = ld("validate", "")
    assert result.code == 2
    assert result.err.splitlines()[-1] == (
        "Error: Invalid value for 'PATHS...': an empty path names no file; "
        "give a file or a directory"
    )
    assert result.out == ""


def test_an_unknown_format_is_a_usage_error_naming_the_choices(ld: Callable[..., Run]) -> None:
    result = ld("validate", "--format", "xml", str(EXAMPLES))
    assert result.code == 2
    assert "'xml' is not one of 'github', 'json', 'text'" in result.err


def test_usage_errors_exit_2_in_their_own_process() -> None:
    for args in (["validate"], ["validate", "--format", "xml", "examples/flags"], ["nosuch"]):
        result = ld_process(*args)
        assert result.returncode == 2, args
        assert result.stderr.startswith("Usage: "), args
        assert "Traceback" not in result.stderr


def test_a_missing_path_exits_1_with_one_clear_line(ld: Callable[..., Run]) -> None:
    result = ld("validate", "no/such/flags.yaml")
    assert (result.code, result.out) == (1, "")
    assert result.err == "Error: no/such/flags.yaml: no such file or directory\n"


def test_a_directory_without_flag_files_exits_1(
    ld: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("empty").mkdir()
    Path("empty", "README.md").write_text("flags: none here\n")
    Path("empty", ".hidden").mkdir()
    Path("empty", ".hidden", "skipped.yaml").write_text("project: web-app\nflags: []\n")
    result = ld("validate", "empty")
    assert (result.code, result.out) == (1, "")
    assert result.err == "Error: no *.yaml or *.yml files found in empty\n"


def test_a_directory_named_like_a_yaml_file_is_searched_not_read(
    ld: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("flags.yaml", "team").mkdir(parents=True)
    shutil.copy(VALID / "suffix.yml", "flags.yaml/team/one.yml")
    result = ld("validate", "flags.yaml")
    assert (result.code, result.out) == (0, "1 flag, 0 links in 1 file: valid\n")


def test_symbolic_link_loops_neither_hang_nor_crash(tmp_path: Path) -> None:
    flags = tmp_path / "flags"
    flags.mkdir()
    shutil.copy(VALID / "suffix.yml", flags / "one.yml")
    (flags / "loop").symlink_to(".", target_is_directory=True)  # a directory loop
    (flags / "self.yaml").symlink_to("self.yaml")  # a file that links to itself
    result = ld_process("validate", "flags", cwd=tmp_path, timeout=30)
    assert result.stdout.splitlines() == [
        "flags/self.yaml:1:1: cannot read the file: Too many levels of symbolic links",
        "1 problem in 2 files",
    ]
    assert result.returncode == 1


def test_a_broken_symbolic_link_is_reported_where_it_is(
    ld: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("flags").mkdir()
    Path("flags", "gone.yaml").symlink_to("nowhere.yaml")
    for path in ("flags", "flags/gone.yaml"):
        result = ld("validate", path)
        assert result.out == "flags/gone.yaml:1:1: a broken symbolic link\n1 problem in 1 file\n"
        assert result.code == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_reported_without_waiting_for_a_writer(tmp_path: Path) -> None:
    # Unreadable in practice: opening it blocks until something writes to it.
    (tmp_path / "flags").mkdir()
    os.mkfifo(tmp_path / "flags" / "pipe.yaml")
    result = ld_process("validate", "flags", cwd=tmp_path, timeout=30)
    assert result.stdout == (
        "flags/pipe.yaml:1:1: a named pipe, not a flag file\n1 problem in 1 file\n"
    )
    assert result.returncode == 1


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root reads a file whatever its mode; the named pipe and link-loop tests cover "
    "unreadable files there",
)
def test_a_file_without_read_permission_is_reported(
    ld: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("locked.yaml").write_text("project: web-app\nflags: []\n")
    Path("locked.yaml").chmod(0)
    result = ld("validate", "locked.yaml")
    assert (
        result.out
        == "locked.yaml:1:1: cannot read the file: Permission denied\n1 problem in 1 file\n"
    )
    assert result.code == 1


def test_an_oversized_file_is_refused_before_it_is_read(
    ld: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with open("huge.yaml", "wb") as f:
        f.truncate(10 * 1024 * 1024 + 1)  # sparse: costs no disk
    result = ld("validate", "huge.yaml")
    assert result.out == (
        "huge.yaml:1:1: the file is 10,485,761 bytes; flag files may be at most "
        "10,485,760 bytes\n1 problem in 1 file\n"
    )


# -- schema and help -------------------------------------------------------------------


def test_schema_prints_the_flag_file_schema(ld: Callable[..., Run]) -> None:
    result = ld("schema")
    assert result.code == 0
    assert json.loads(result.out) == json.loads(SCHEMA.read_text(encoding="utf-8"))


OPENAPI = REPO / "tests" / "data" / "launchdarkly" / "openapi-excerpt.json"


def test_the_schema_covers_every_field_of_the_api_bodies_it_stands_for() -> None:
    bodies = json.loads(OPENAPI.read_text(encoding="utf-8"))["components"]["schemas"]
    ours = json.loads(SCHEMA.read_text(encoding="utf-8"))["$defs"]
    flag_fields = set(ours["flag"]["properties"])
    assert set(bodies["FeatureFlagBody"]["properties"]) <= flag_fields
    # links are sent by their own call; template is resolved before anything is sent; clone
    # is the create's query parameter
    assert flag_fields - set(bodies["FeatureFlagBody"]["properties"]) == {
        "links",
        "template",
        "clone",
    }
    assert set(ours["link"]["properties"]) == set(bodies["flagLinkPost"]["properties"])


def test_schema_path_points_at_the_same_schema(ld: Callable[..., Run]) -> None:
    result = ld("schema", "--path")
    path = Path(result.out.strip())
    assert result.code == 0
    assert path.is_file()
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(SCHEMA.read_text())


def test_the_console_script_prints_the_schema() -> None:
    script = shutil.which("ld-reconciler", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the package is not installed with its console script")
    result = subprocess.run([script, "schema"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert json.loads(result.stdout)["$id"].endswith("/flag-file.schema.json")


def test_python_dash_m_reconciler_help_lists_validate() -> None:
    result = ld_process("--help")
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: ")
    assert re.search(r"^\s+validate\s+Check flag files", result.stdout, re.MULTILINE)
    assert re.search(r"^\s+schema\s+", result.stdout, re.MULTILINE)


def test_validate_help_describes_the_formats() -> None:
    result = ld_process("validate", "--help")
    assert result.returncode == 0
    assert "--format [github|json|text]" in result.stdout


def test_schema_config_prints_the_configuration_schema_and_its_path(ld: Callable[..., Run]) -> None:
    config_schema = REPO / "schemas" / "config.schema.json"
    result = ld("schema", "config")
    assert result.code == 0
    assert json.loads(result.out) == json.loads(config_schema.read_text(encoding="utf-8"))
    where = ld("schema", "config", "--path")
    assert json.loads(Path(where.out.strip()).read_text()) == json.loads(config_schema.read_text())
