"""Measuring one command in a fresh process: wall time, CPU time, peak memory, output.

``run`` starts the command, reaps it with ``os.wait4`` (which gives that child's own
resource usage, not the sum over all children) and returns a ``Run``. Timings on a
shared machine are noisy, so benchmarks interleave the commands they compare, repeat
the rounds, and report medians of per-round ratios.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# ru_maxrss is in kilobytes on Linux, in bytes on macOS.
_RSS_UNIT = 1024 * 1024 if sys.platform == "darwin" else 1024


@dataclass(frozen=True)
class Run:
    """One finished process."""

    wall: float  # seconds, from start to reaped
    cpu: float  # user + system seconds of the process itself
    rss_mb: float  # peak resident set size
    code: int
    stdout: str
    stderr: str


class CommandFailed(Exception):
    """A measured command exited with a code other than the expected one."""


def run(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    expect: int | None = 0,
    timeout: float = 900.0,
) -> Run:
    """Run ``argv`` to completion and measure it; ``expect`` None accepts any exit code."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdout=out, stderr=err)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    result = Run(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        rss_mb=usage.ru_maxrss / _RSS_UNIT,
        code=code,
        stdout=stdout,
        stderr=stderr,
    )
    if expect is not None and code != expect:
        raise CommandFailed(f"{' '.join(argv)} exited {code}, expected {expect}:\n{stderr[-2000:]}")
    return result


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def reconciler(*args: str) -> list[str]:
    """The command line of ``ld-reconciler ARGS`` with this interpreter."""
    return [sys.executable, "-m", "reconciler", *args]


FLOOR_SCRIPT = """
import os, sys, yaml
for root, dirs, files in os.walk(sys.argv[1]):
    dirs.sort()
    for name in sorted(files):
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(root, name), "rb") as f:
                yaml.load(f, Loader=yaml.CSafeLoader)
"""


def floor(directory: Path) -> list[str]:
    """The command line of the floor: a fresh process that only parses the same files."""
    return [sys.executable, "-c", FLOOR_SCRIPT, str(directory)]
