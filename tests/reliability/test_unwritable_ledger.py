"""A ledger that cannot be written where it is asked for: one clear line, before any request.

The lock file is created first, beside the ledger, before apply plans; a directory that is
read-only, or a file where the ledger's directory must be, stops apply there with the path,
the reason and what to do, exit 1, and LaunchDarkly never hears from it.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator import Emulator, EmulatorConfig

from .support import live_env, run, write_repository

PROJECT = "ledgers"
DECLARED = [{"key": "one", "name": "One"}]


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(projects=(PROJECT,))) as emulator:
        yield emulator


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    write_repository(tmp_path / "flags", PROJECT, DECLARED)
    return tmp_path


def unprivileged() -> list[str]:
    """A command prefix under which file permissions hold, for root too.

    Root ignores a directory's mode through CAP_DAC_OVERRIDE; ``setpriv`` (util-linux) runs
    the child without it (and without CAP_DAC_READ_SEARCH).
    """
    if sys.platform == "win32":
        pytest.skip("a directory's mode does not make it read-only on Windows")
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root, which ignores file modes, and setpriv is not installed")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


@pytest.mark.parametrize("ledger", ["afile/ledger.json", "afile/deeper/ledger.json"])
def test_a_file_where_the_ledger_directory_must_be_stops_apply_before_any_request(
    emu: Emulator, workdir: Path, ledger: str
) -> None:
    (workdir / "afile").write_text("a file")
    result = run("apply", "flags", "--yes", "--ledger", ledger, cwd=workdir, env=live_env(emu))
    assert result.code == 1, result
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    directory = os.path.dirname(ledger)
    assert line.startswith(f"Error: cannot create the ledger directory {directory}: "), line
    assert line.endswith("(a part of the path is a file, not a directory); choose another --ledger")
    assert emu.request_log == []


def test_a_read_only_ledger_directory_stops_apply_before_any_request(
    emu: Emulator, workdir: Path
) -> None:
    prefix = unprivileged()
    (workdir / "ro").mkdir(mode=0o555)
    try:
        result = run(
            "apply", "flags", "--yes", "--ledger", "ro/ledger.json",
            cwd=workdir, env=live_env(emu), prefix=prefix,
        )  # fmt: skip
        under = run(
            "apply", "flags", "--yes", "--ledger", "ro/new/ledger.json",
            cwd=workdir, env=live_env(emu), prefix=prefix,
        )  # fmt: skip
    finally:
        (workdir / "ro").chmod(0o755)
    assert [result.code, under.code] == [1, 1], [result, under]
    assert result.stderr == (
        "Error: cannot create the lock file ro/ledger.json.lock: Permission denied; "
        "check the permissions of ro or choose another --ledger\n"
    )
    assert under.stderr == (
        "Error: cannot create the ledger directory ro/new: Permission denied; "
        "check the permissions of ro or choose another --ledger\n"
    )
    assert result.stdout == under.stdout == ""
    assert list((workdir / "ro").iterdir()) == []
    assert emu.request_log == []
