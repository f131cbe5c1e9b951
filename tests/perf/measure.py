"""Measuring one command in a fresh process: wall time, CPU time, peak memory, output.

``run`` starts the command through a small launcher process, which reaps it with
``os.wait4`` (that child's own resource usage, not the sum over all children) and
reports back. The launcher is there for the memory figure: Linux carries the peak RSS
of the process that forks over into the child's ``ru_maxrss`` through ``exec``, so a
command forked straight from this process (which holds generated repositories and an
emulator) would report this process's size. Timings on a shared machine are noisy, so
benchmarks interleave the commands they compare, repeat the rounds, and report
medians of per-round ratios.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
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
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as tmp,
    ):
        report = Path(tmp, "usage.json")
        launcher = [sys.executable, "-c", _LAUNCHER, str(report), str(timeout), *argv]
        subprocess.run(launcher, cwd=cwd, env=env, stdout=out, stderr=err, check=True)
        usage = json.loads(report.read_text(encoding="utf-8"))
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    code = usage["code"]
    result = Run(
        wall=usage["wall"],
        cpu=usage["cpu"],
        rss_mb=usage["maxrss"] / _RSS_UNIT,
        code=code,
        stdout=stdout,
        stderr=stderr,
    )
    if expect is not None and code != expect:
        raise CommandFailed(f"{' '.join(argv)} exited {code}, expected {expect}:\n{stderr[-2000:]}")
    return result


# Runs the command (sys.argv[3:]) with the launcher's stdout and stderr, writes its wall
# time, CPU time, peak RSS and exit code to sys.argv[1] as JSON; kills it after sys.argv[2] s.
_LAUNCHER = """
import json, os, subprocess, sys, threading, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[3:])
killer = threading.Timer(float(sys.argv[2]), proc.kill)
killer.start()
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - start
killer.cancel()
proc.returncode = code = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as f:
    json.dump({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
               "maxrss": usage.ru_maxrss, "code": code}, f)
"""


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
