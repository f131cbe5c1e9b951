"""Child processes of the tests: what they inherit, how they take Ctrl-C, bounded reads and runs.

A test suite started with SIGINT ignored (``nohup``, ``cmd &`` in a script) passes that
disposition to every child, and Python's ``subprocess`` does not restore it: a child interrupted
by a test would then never react. ``default_sigint`` is the ``preexec_fn`` that gives the child
the default disposition back before it runs, so that Python installs its KeyboardInterrupt handler.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO

# Variables of the host that would change what the CLI does; every run starts without them.
HOST_VARIABLES = (
    "LAUNCHDARKLY_ACCESS_TOKEN",
    "LD_ACCESS_TOKEN",
    "LAUNCHDARKLY_BASE_URL",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_ACTIONS",
    "NO_COLOR",
    "FORCE_COLOR",
    "CLICOLOR_FORCE",
    "LD_RECONCILER_CA_BUNDLE",
    "SSL_CERT_FILE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


def host_free_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without ``HOST_VARIABLES``, then ``env`` on top."""
    full = {k: v for k, v in os.environ.items() if k not in HOST_VARIABLES}
    full.update(env or {})
    return full


def cache_bytecode(directory: str) -> bool:
    """Let this process's children cache their bytecode in ``directory``, if
    ``PYTHONDONTWRITEBYTECODE`` would have each of them compile the package from source
    (0.15 s a process: an installed package, like the floor's yaml, has its bytecode).
    Returns whether it changed the environment; a ``PYTHONPYCACHEPREFIX`` the user chose
    is left as it is."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE") or os.environ.get("PYTHONPYCACHEPREFIX"):
        return False
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    os.environ["PYTHONPYCACHEPREFIX"] = directory
    return True


def default_sigint() -> None:
    """``preexec_fn`` of a child a test may interrupt: SIGINT back to its default before exec."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def read_line(stream: IO[str], timeout: float) -> str:
    """The next line of a child's pipe, or a failed assertion if none comes within ``timeout``."""
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert line, f"no line from the child within {timeout} s"
    return line[0]


def python_module(
    *argv: str | Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``python -m ARGV`` with this interpreter, its output captured, ended after ``timeout`` s.

    ``env`` is the child's whole environment (this process's when None)."""
    return subprocess.run(
        [sys.executable, "-m", *map(str, argv)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
