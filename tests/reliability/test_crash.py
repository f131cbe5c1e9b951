"""Apply killed with SIGKILL at random moments: the ledger always parses, and re-runs
converge with every flag and link created exactly once.

The emulator runs in the test's process, so it survives each kill. Kill moments are
drawn from a seeded RNG: mostly "after the Nth ``created`` line" (read from the apply's
stdout as it runs, so the kill lands among the creates that follow, mid-POST or
mid-journal write), sometimes a plain delay after start (during start-up, the live plan,
or the final compaction of the journal into the ledger).

CI runs seeds 1 and 2; ``LD_RECONCILER_CRASH_SEEDS`` names others, as numbers and ranges
(``LD_RECONCILER_CRASH_SEEDS=3-12``: ten more seeds, 60 more kills).
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path

import pytest

from reconciler.emulator import Emulator, EmulatorConfig, Faults
from reconciler.state.ledger import Ledger
from reconciler.state.lock import ledger_lock

from .support import (
    LEDGER,
    addresses,
    commits,
    conflicts,
    declared_flags,
    duplicates,
    ledger_mismatches,
    live_env,
    posts,
    run,
    spawn,
    stored,
    write_repository,
)

PROJECT = "crash"
FLAGS, LINKS = 60, 60
KILLS_PER_SEED = 6


def crash_seeds(spec: str) -> list[int]:
    """The seeds ``spec`` names: numbers and ranges, comma-separated (``"1,4-6"``)."""
    seeds: list[int] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        first, _, last = part.partition("-")
        seeds.extend(range(int(first), int(last or first) + 1))
    return seeds


SEEDS = crash_seeds(os.environ.get("LD_RECONCILER_CRASH_SEEDS", "1,2"))


def kill_at_random(argv: tuple[str, ...], cwd: Path, env: dict[str, str],
                   rng: random.Random, after: int | None) -> tuple[bool, str]:  # fmt: skip
    """Start an apply and SIGKILL it at a random moment: ``after`` that many ``created``
    lines, or with None after a random delay. (killed?, what it printed)."""
    child = spawn(*argv, cwd=cwd, env=env)
    assert child.stdout is not None
    lines: list[str] = []
    if after is None:  # a plain delay: start-up, planning or the first creates
        timer = threading.Timer(rng.uniform(0.0, 0.8), child.send_signal, [signal.SIGKILL])
        timer.start()
        lines.extend(child.stdout)
        timer.cancel()
    else:
        created = 0
        for line in child.stdout:
            lines.append(line)
            if line.startswith("created "):
                created += 1
                if created > after:
                    time.sleep(rng.uniform(0.0, 0.05))
                    child.send_signal(signal.SIGKILL)
                    break
        lines.extend(child.stdout)
    child.wait(timeout=60)
    assert child.stderr is not None
    stderr = child.stderr.read()
    child.stdout.close()
    child.stderr.close()
    output = "".join(lines) + stderr
    assert "Traceback" not in output, output
    return child.returncode == -signal.SIGKILL, output


def assert_ledger_parses_and_records_only_what_exists(cwd: Path, emu: Emulator) -> None:
    """After any kill: the ledger (with its journal) parses, and what it records exists
    (the last creates may be missing from it: the next run adopts them)."""
    problems = ledger_mismatches(Ledger.load(cwd / LEDGER), emu, PROJECT)
    assert all(p.endswith("only in the emulator") for p in problems), problems
    assert duplicates(stored(emu, PROJECT)) == 0
    assert conflicts(emu) == 0  # what a killed run created, the next one adopted unasked


@pytest.mark.parametrize("seed", SEEDS)
def test_apply_killed_at_random_moments_loses_nothing_and_converges_without_duplicates(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    declared = declared_flags(FLAGS, LINKS)
    write_repository(tmp_path / "flags", PROJECT, declared)
    expected = addresses(PROJECT, declared)
    # Some latency, so that a kill lands among the creates rather than after the last one.
    config = EmulatorConfig(projects=(PROJECT,), faults=Faults(latency_ms=20, latency_jitter_ms=40))
    argv = ("apply", "flags", "--yes")
    kills = 0
    with Emulator(config) as emu:
        env = live_env(emu)
        for _ in range(3 * KILLS_PER_SEED):
            remaining = len(expected) - len(stored(emu, PROJECT))
            if kills == KILLS_PER_SEED or remaining < 2:
                break
            after = None if rng.random() < 0.25 else rng.randrange(0, max(1, remaining // 4))
            killed, output = kill_at_random(argv, tmp_path, env, rng, after)
            kills += killed
            assert killed or "Apply complete" in output, output  # else it finished
            assert_ledger_parses_and_records_only_what_exists(tmp_path, emu)
        assert kills == KILLS_PER_SEED, f"only {kills} kills landed"
        # One more, after the last create: it lands in the summary or the final compaction
        # of the journal into the ledger, or misses (the apply was done).
        remaining = len(expected) - len(stored(emu, PROJECT))
        killed, output = kill_at_random(argv, tmp_path, env, rng, remaining - 1)
        assert killed or "Apply complete" in output, output
        assert_ledger_parses_and_records_only_what_exists(tmp_path, emu)

        finished = run(*argv, cwd=tmp_path, env=env)
        assert finished.code == 0, finished
        assert stored(emu, PROJECT) == dict.fromkeys(expected, 1)
        assert commits(emu) == len(expected)  # each committed once, across every kill
        assert ledger_mismatches(Ledger.load(tmp_path / LEDGER), emu, PROJECT) == []
        assert not (tmp_path / f"{LEDGER}.journal").exists()
        leftovers = sorted(p.name for p in (tmp_path / LEDGER).parent.iterdir())
        assert leftovers == ["ledger.json"], leftovers

        before = posts(emu)
        again = run(*argv, cwd=tmp_path, env=env)
        assert again.code == 0, again
        assert "Nothing to create" in again.stdout
        assert posts(emu) == before


def test_temporary_files_of_a_write_cut_short_are_removed_by_the_next_locked_load(
    tmp_path: Path,
) -> None:
    # A kill between the temporary file's creation and its rename leaves it behind.
    path = tmp_path / "ledger.json"
    stale = tmp_path / ".ledger.json.0123456789ab.tmp"
    stale.write_text('{"format": "ld-reconciler-ledger", "vers')
    other = tmp_path / ".other.json.0123456789ab.tmp"  # not this ledger's: kept
    other.write_text("{}")
    Ledger.load(path)  # read-only: another process may be writing it
    assert stale.exists()
    with ledger_lock(path) as lock:
        Ledger.load(path, lock=lock)
    assert not stale.exists()
    assert other.exists()
