"""Helpers of the reliability tests: the real CLI in its own process, synthetic flag
repositories, and what the emulator holds against what the ledger records.

The apply under test always runs as ``python -m reconciler`` in a child process, so that
what is measured (exit codes, output, memory, a SIGKILL) is a real process's; emulators
run in the test's process (or the chaos script's), so they survive the child's death and
their request logs can be counted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reconciler.emulator import DEV_TOKEN, Emulator
from reconciler.model import derive_link_key
from reconciler.remote.client import normalise_base_url
from reconciler.state.ledger import Ledger
from support.process import host_free_env

REPO = Path(__file__).resolve().parents[2]
LEDGER = Path(".ld-reconciler/ledger.json")

CREATE_FLAG = "POST /api/v2/flags/{projectKey}"
CREATE_LINK = "POST /api/v2/flag-links/projects/{projectKey}/flags/{featureFlagKey}"

@dataclass(frozen=True)
class Run:
    """One finished child process."""

    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float = 0.0

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __repr__(self) -> str:  # what pytest shows when an assertion about a run fails
        return (
            f"exit {self.code} after {self.seconds:.1f}s\n--- stdout\n{self.stdout[-4000:]}"
            f"--- stderr\n{self.stderr[-4000:]}"
        )


def child_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The host's environment without LaunchDarkly, colour, GitHub or proxy variables."""
    full = host_free_env()
    full["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    full.update(env or {})
    return full


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "reconciler", *args]


def run(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    measure_memory: bool = False,
    prefix: Sequence[str] = (),
) -> Run:
    """Run ``ld-reconciler ARGS`` in a child process and wait for it.

    With ``measure_memory`` the child runs under a small wrapper process that reads the
    child's peak RSS (``ru_maxrss`` of its only child), so earlier children do not count.
    ``prefix`` is a command that runs the child (e.g. ``setpriv ...``).
    """
    argv = [*prefix, *command(*args)]
    if measure_memory:
        argv = [sys.executable, "-c", _MEASURE, *argv]
    started = time.monotonic()
    completed = subprocess.run(
        argv,
        cwd=cwd,
        env=child_env(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    seconds = time.monotonic() - started
    stderr, peak = completed.stderr, 0.0
    if measure_memory:
        stderr, _, last = stderr.rpartition("peak-rss-kb=")
        peak = int(last.strip()) / 1024
    return Run(completed.returncode, completed.stdout, stderr, seconds, peak)


# Runs the command given after it and reports the command's peak RSS on its last stderr line.
_MEASURE = """\
import resource, subprocess, sys
code = subprocess.call(sys.argv[1:])
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stderr.write(f"peak-rss-kb={peak}\\n")
sys.exit(code)
"""


def live_env(emu_or_url: Emulator | str, token: str = DEV_TOKEN) -> dict[str, str]:
    """The environment of a run against an emulator (or any base URL)."""
    url = emu_or_url if isinstance(emu_or_url, str) else emu_or_url.base_url
    return {"LAUNCHDARKLY_ACCESS_TOKEN": token, "LAUNCHDARKLY_BASE_URL": url}


def spawn(*args: str, cwd: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``ld-reconciler ARGS`` in a child process, its output piped, line-buffered."""
    return subprocess.Popen(
        command(*args),
        cwd=cwd,
        env=child_env({"PYTHONUNBUFFERED": "1", **(env or {})}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )


# -- synthetic flag repositories ------------------------------------------------------------------


def declared_flags(flags: int, links: int) -> list[dict[str, Any]]:
    """``flags`` flags of every kind and ``links`` links spread over them.

    Booleans, strings, numbers, JSON and migration flags; every tenth flag from the
    tenth on names an earlier boolean flag as its prerequisite, and every tenth from the
    eighteenth is a clone of an earlier string flag (so creates have an order); links
    alternate between an explicit key and a key derived from the URL.
    """
    per_flag = [links // flags] * flags
    for i in range(links - sum(per_flag)):
        per_flag[i] += 1
    result: list[dict[str, Any]] = []
    for i in range(flags):
        spec: dict[str, Any] = {"key": f"flag-{i:05d}", "name": f"Flag {i}"}
        kind = i % 10
        if kind == 1:
            spec["variations"] = [{"value": v, "name": v.title()} for v in ("red", "green", "blue")]
        elif kind == 3:
            spec["variations"] = [{"value": n} for n in (0, 10, 100)]
        elif kind == 5:
            spec["variations"] = [{"value": {"limit": 4}}, {"value": {"limit": 8}}]
        elif kind == 7:
            spec["purpose"] = "migration"
            spec["migrationSettings"] = {"stageCount": 4}
        elif kind == 8 and i >= 10:
            spec["clone"] = f"flag-{i - 7:05d}"
        elif kind == 9 and i >= 10:
            spec["initialPrerequisites"] = [{"key": f"flag-{i - 9:05d}", "variationIndex": 0}]
        spec["links"] = [
            {"key": f"t-{i}-{n}", "deepLink": f"https://jira.example.com/T-{i}-{n}"}
            if n % 2 == 0
            else {"deepLink": f"https://docs.example.com/{i}/{n}", "title": f"Doc {n}"}
            for n in range(per_flag[i])
        ]
        if not spec["links"]:
            del spec["links"]
        result.append(spec)
    return result


def write_repository(root: Path, project: str, flags: Sequence[Mapping[str, Any]]) -> Path:
    """Write ``flags`` as flag files of 25 flags each under ``root``; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for n, start in enumerate(range(0, len(flags), 25)):
        document = {"project": project, "flags": [dict(f) for f in flags[start : start + 25]]}
        (root / f"flags-{n:03d}.yaml").write_text(
            yaml.safe_dump(document, sort_keys=False), encoding="utf-8"
        )
    return root


def addresses(project: str, flags: Sequence[Mapping[str, Any]]) -> set[str]:
    """Every flag and link address the files declare."""
    result = set()
    for spec in flags:
        result.add(f"{project}/{spec['key']}")
        for link in spec.get("links", []):
            result.add(f"{project}/{spec['key']}/{link.get('key') or derive_link_key(link)}")
    return result


# -- what exists, what was recorded ---------------------------------------------------------------


def stored(emu: Emulator, project: str) -> Counter[str]:
    """How many of each flag and link address the emulator holds in ``project``."""
    counts: Counter[str] = Counter()
    for f in emu.flags(project):
        counts[f"{project}/{f['key']}"] += 1
        for link in emu.store.flag_links(project, f["key"]):
            counts[f"{project}/{f['key']}/{link.get('_key')}"] += 1
    return counts


def duplicates(counts: Counter[str]) -> int:
    return sum(n - 1 for n in counts.values() if n > 1)


def posts(emu: Emulator) -> int:
    """Creates that reached the emulator, whatever their outcome."""
    return emu.count(route=CREATE_FLAG) + emu.count(route=CREATE_LINK)


def conflicts(emu: Emulator) -> int:
    """Creates answered 409: sent for something that already existed.

    Apply plans from what LaunchDarkly holds and looks before it sends a create again, so
    neither a fault, nor a kill, nor another apply (which holds the lock in turn) may make
    it send one: a 409 is adopted, so only this count shows a create sent blind.
    """
    return emu.count(route=CREATE_FLAG, status=409) + emu.count(route=CREATE_LINK, status=409)


def commits(emu: Emulator) -> int:
    """Creates the emulator committed (answered 201, or stored before a fault lost the answer)."""
    return emu.count(route=CREATE_FLAG, status=201) + emu.count(route=CREATE_LINK, status=201)


def ledger_mismatches(ledger: Ledger, emu: Emulator, project: str) -> list[str]:
    """Every way the ledger differs from what the emulator holds in ``project``; [] if none.

    The ledger must record every flag and link the emulator holds, with its variation ids
    and link ids, and nothing else.
    """
    target = normalise_base_url(emu.base_url)
    problems = []
    live = {f["key"]: f for f in emu.flags(project)}
    flags = ledger.flags(target, project)
    for key in sorted(live.keys() ^ flags.keys()):
        where = "the emulator" if key in live else "the ledger"
        problems.append(f"flag {key} is only in {where}")
    for key in sorted(live.keys() & flags.keys()):
        ids = tuple(v["_id"] for v in live[key]["variations"])
        if flags[key].variation_ids != ids:
            problems.append(f"flag {key}: variation ids differ")
    live_links = {
        f"{key}/{link['_key']}": link["_id"]
        for key in live
        for link in emu.store.flag_links(project, key)
    }
    links = ledger.links(target, project)
    for name in sorted(live_links.keys() ^ links.keys()):
        where = "the emulator" if name in live_links else "the ledger"
        problems.append(f"link {name} is only in {where}")
    for name in sorted(live_links.keys() & links.keys()):
        if links[name].id != live_links[name]:
            problems.append(f"link {name}: id {links[name].id} != {live_links[name]}")
    return problems
