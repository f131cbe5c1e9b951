"""Chaos: apply many flags and links to an emulator with every fault on at once.

Per seed, an emulator in this process injects 5% 5xx, 5% 429 (each with ``Retry-After`` or
``X-Ratelimit-Reset``, a coin toss of the seeded fault RNG), 3% "commit, then drop the
connection", 1% "commit, then stall past the client's timeout" and 0-50 ms of latency into
every request. ``ld-reconciler -v apply`` runs against it as a child process (``--timeout 2``)
until it exits 0; an exit 1 must carry apply's summary, and the next run must finish the job.
Then the emulator must hold exactly the declared flags and links, each committed once; the
ledger must record exactly that (with LaunchDarkly's ids); and one more apply, faults still
on, must send no create at all.

    python -m tests.reliability.chaos --flags 1000 --links 2000 --seeds 3

prints a table of the figures. ``tests/reliability/test_chaos.py`` runs it small in CI.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.emulator import Emulator, EmulatorConfig, Faults
from reconciler.state.ledger import Ledger

from .support import (
    CREATE_FLAG,
    LEDGER,
    Run,
    addresses,
    commits,
    conflicts,
    declared_flags,
    duplicates,
    ledger_mismatches,
    live_env,
    posts,
    run,
    stored,
    write_repository,
)

PROJECT = "chaos"
TIMEOUT_SECONDS = 2.0
FAULTS = Faults(
    fail_rate=0.05,
    throttle_rate=0.05,
    drop_rate=0.03,
    stall_rate=0.01,
    stall_seconds=TIMEOUT_SECONDS + 0.5,
    latency_ms=0,
    latency_jitter_ms=50,
)
MAX_APPLIES = 5

# The client's -v log of a request that got no answer: a drop (at once) or a stall (at
# the timeout, which the chaos run sets to TIMEOUT_SECONDS).
NO_ANSWER = re.compile(r" -> no answer in (\d+) ms \(attempt")


@dataclass
class Figures:
    """What one seed's chaos run did and found."""

    seed: int
    flags: int
    links: int
    runs: list[Run] = field(default_factory=list)
    posts: int = 0  # creates attempted: POSTs that reached the emulator
    commits: int = 0  # creates the emulator stored (each must be stored once)
    duplicates: int = 0
    conflicts: int = 0  # 409s: a create of something that already existed (must be none)
    retries: int = 0  # retries of one request by the client (its debug log)
    timeouts: int = 0  # requests the client gave up waiting for at its timeout (its debug log)
    throttled: int = 0  # 429s the emulator sent, injected or not
    # 429s by the header that said when to come back
    retry_after_429s: int = 0
    reset_429s: int = 0
    server_errors: int = 0
    drops: int = 0
    stalls: int = 0
    requests: int = 0
    wall_seconds: float = 0.0
    missing: set[str] = field(default_factory=set)
    extra: set[str] = field(default_factory=set)
    ledger_problems: list[str] = field(default_factory=list)
    again: Run | None = None  # the apply after convergence
    again_posts: int = -1
    clones: int = 0  # declared flags that are clones (``clone:``)
    clone_commits: int = 0  # creates with ?clone= the emulator stored

    @property
    def declared(self) -> int:
        return self.flags + self.links

    @property
    def reruns(self) -> int:
        return len(self.runs) - 1

    @property
    def converged(self) -> bool:
        return bool(self.runs) and self.runs[-1].code == 0

    def problems(self) -> list[str]:
        """Every way this run broke a promise; [] when it kept them all."""
        found = []
        if not self.converged:
            found.append(f"no apply exited 0 in {len(self.runs)} runs")
        for n, r in enumerate(self.runs[:-1], start=1):
            if r.code != 1 or "Apply incomplete" not in r.stdout:
                found.append(f"apply {n} exited {r.code} without apply's summary:\n{r}")
        for r in self.runs:
            if "Traceback" in r.output or "unexpected error" in r.output:
                found.append(f"an apply crashed:\n{r}")
        if self.duplicates or self.commits != self.declared:
            found.append(
                f"{self.commits} creates committed for {self.declared} resources "
                f"({self.duplicates} duplicates)"
            )
        if self.clone_commits != self.clones:
            found.append(f"{self.clone_commits} clones stored, {self.clones} declared")
        if self.conflicts:
            found.append(f"{self.conflicts} creates were sent for what already existed (409)")
        if self.missing or self.extra:
            found.append(f"missing {sorted(self.missing)[:5]}, unexpected {sorted(self.extra)[:5]}")
        found.extend(self.ledger_problems[:5])
        if (
            self.again is None
            or self.again.code != 0
            or "Nothing to create" not in (self.again.stdout)
        ):
            found.append(f"the apply after convergence did not find nothing to do:\n{self.again}")
        if self.again_posts != 0:
            found.append(f"the apply after convergence sent {self.again_posts} creates")
        return found


def chaos_run(workdir: Path, *, flags: int, links: int, seed: int, concurrency: int = 4) -> Figures:
    """Apply ``flags`` flags and ``links`` links under every fault until done; the figures."""
    workdir.mkdir(parents=True, exist_ok=True)
    declared = declared_flags(flags, links)
    write_repository(workdir / "flags", PROJECT, declared)
    figures = Figures(seed, flags, sum(len(f.get("links", [])) for f in declared))
    config = EmulatorConfig(
        projects=(PROJECT,), faults=FAULTS, seed=seed, request_log_size=1_000_000
    )
    args = ("-v", "apply", "flags", "--yes", "--timeout", str(TIMEOUT_SECONDS))
    args += ("--concurrency", str(concurrency))
    with Emulator(config) as emu:
        env = live_env(emu)
        started = time.monotonic()
        for _ in range(MAX_APPLIES):
            result = run(*args, cwd=workdir, env=env, timeout=1800)
            figures.runs.append(result)
            figures.retries += result.stderr.count(": retrying in ")
            waited = [int(ms) for ms in NO_ANSWER.findall(result.stderr)]
            figures.timeouts += sum(ms >= TIMEOUT_SECONDS * 1000 for ms in waited)
            if result.code != 1 or "Apply incomplete" not in result.stdout:
                break
        figures.wall_seconds = time.monotonic() - started
        figures.posts = posts(emu)
        figures.commits = commits(emu)
        figures.conflicts = conflicts(emu)
        figures.throttled = emu.count(status=429)
        figures.retry_after_429s = emu.count(status=429, retry_header="Retry-After")
        figures.reset_429s = emu.count(status=429, retry_header="X-Ratelimit-Reset")
        figures.server_errors = emu.count(fault="fail")
        figures.drops = emu.count(fault="drop")
        figures.stalls = emu.count(fault="stall")
        figures.requests = len(emu.request_log)
        figures.clones = sum("clone" in spec for spec in declared)
        figures.clone_commits = sum(
            r.route == CREATE_FLAG and r.status == 201 and r.query.startswith("clone=")
            for r in emu.request_log
        )
        held = stored(emu, PROJECT)
        figures.duplicates = duplicates(held)
        expected = addresses(PROJECT, declared)
        figures.missing = expected - held.keys()
        figures.extra = held.keys() - expected
        ledger = Ledger.load(workdir / LEDGER, create=False)
        figures.ledger_problems = ledger_mismatches(ledger, emu, PROJECT)
        before = posts(emu)
        figures.again = run(*args[1:], cwd=workdir, env=env, timeout=600)
        figures.again_posts = posts(emu) - before
    return figures


COLUMNS = (
    ("seed", lambda f: f.seed),
    ("flags", lambda f: f.flags),
    ("links", lambda f: f.links),
    ("creates attempted (POSTs)", lambda f: f.posts),
    ("committed", lambda f: f.commits),
    ("duplicates", lambda f: f.duplicates),
    ("409s", lambda f: f.conflicts),
    ("retries", lambda f: f.retries),
    ("timeouts", lambda f: f.timeouts),
    ("429s seen", lambda f: f.throttled),
    ("with Retry-After", lambda f: f.retry_after_429s),
    ("with X-Ratelimit-Reset", lambda f: f.reset_429s),
    ("5xx", lambda f: f.server_errors),
    ("drops", lambda f: f.drops),
    ("stalls", lambda f: f.stalls),
    ("requests", lambda f: f.requests),
    ("wall time", lambda f: f"{f.wall_seconds:.0f} s"),
    ("re-runs needed", lambda f: f.reruns),
    ("POSTs after", lambda f: f.again_posts),
)


def table(results: list[Figures]) -> str:
    """The figures as a Markdown table, a row per seed."""
    lines = [
        "| " + " | ".join(name for name, _ in COLUMNS) + " |",
        "|" + "---:|" * len(COLUMNS),
    ]
    for f in results:
        lines.append("| " + " | ".join(str(value(f)) for _, value in COLUMNS) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.chaos", description=__doc__)
    parser.add_argument("--flags", type=int, default=1000)
    parser.add_argument("--links", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workdir", type=Path, help="keep the runs' files here")
    options = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="ld-chaos-") as scratch:
        base = options.workdir or Path(scratch)
        for seed in range(options.first_seed, options.first_seed + options.seeds):
            print(f"seed {seed}: applying ...", file=sys.stderr, flush=True)
            figures = chaos_run(
                base / f"seed-{seed}",
                flags=options.flags,
                links=options.links,
                seed=seed,
                concurrency=options.concurrency,
            )
            results.append(figures)
            for problem in figures.problems():
                print(f"seed {seed}: FAILED: {problem}", file=sys.stderr)
    print(table(results))
    return 1 if any(f.problems() for f in results) else 0


if __name__ == "__main__":
    sys.exit(main())
