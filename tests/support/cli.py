"""The real CLI run as a user runs it, in this process or in a child, and what it returned.

In this process, ``reconciler.cli.main`` (the console script's entry point) runs in click's
isolation, in the test's directory, without the host's variables (``process.HOST_VARIABLES``):
an import costs half a second, so a child per call would make the suite slow. In a child,
``python -m reconciler`` runs, for the tests about the process boundary.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import main
from support.process import HOST_VARIABLES, host_free_env


@dataclass(frozen=True)
class Result:
    """What one run of the CLI printed and returned."""

    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:  # shown by pytest when an assertion about a run fails
        return f"exit {self.code}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"


def run_main(cwd: Path, args: Sequence[str], env: Mapping[str, str] | None = None) -> Result:
    """``ld-reconciler ARGS`` in this process, in ``cwd``, with ``env`` over a host-free one."""
    overrides: dict[str, str | None] = dict.fromkeys(HOST_VARIABLES)
    overrides.update(env or {})
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        with CliRunner().isolation(env=overrides) as (out, err, _):
            try:
                main(list(args))
            except SystemExit as e:
                code = e.code
            else:  # pragma: no cover - main always exits
                code = 0
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    finally:
        os.chdir(previous)
    assert isinstance(code, int), f"exit code {code!r}"
    return Result(code, stdout, stderr)


def run_child(
    cwd: Path,
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    program: Sequence[str] = ("-m", "reconciler"),
) -> Result:
    """``python -m reconciler ARGS`` (or ``python PROGRAM ARGS``) in a child process, in
    ``cwd``; it may take ``timeout`` s."""
    completed = subprocess.run(
        [sys.executable, *program, *args],
        cwd=cwd,
        env=host_free_env(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)
