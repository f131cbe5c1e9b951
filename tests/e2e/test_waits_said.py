"""No silent waits: an apply says when it waits for the ledger's lock (who holds it, how long it
will wait), a run says why and how long it backs off (a failing LaunchDarkly, a rate limit),
and an apply whose output is a CI log prints its counts every few seconds."""

from __future__ import annotations

import re
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from reconciler.emulator import Emulator, EmulatorConfig
from reconciler.emulator.config import Faults
from reconciler.state.lock import ledger_lock
from support.process import read_line

from .support import LEDGER, Cli, flag, stored, write_flags

TIMEOUT = 60


def _declare(tmp_path: Path, count: int) -> None:
    flags = [flag(f"f{i:02}") for i in range(count)]
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", flags)


def _finish(child: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = child.communicate(timeout=TIMEOUT)
    finally:
        child.kill()
    return child.returncode, out, err


def test_an_apply_that_waits_for_the_ledger_lock_says_who_holds_it_and_for_how_long(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    _declare(tmp_path, 2)
    holder = ledger_lock(tmp_path / LEDGER, command="the other apply")
    held = holder.__enter__()
    try:
        child = cli.spawn_live(emu, "apply", "flags", "--yes", "--lock-wait", str(TIMEOUT))
        assert child.stderr is not None
        line = read_line(child.stderr, TIMEOUT)  # said before it waits, not after
    finally:
        releaser = threading.Thread(target=holder.__exit__, args=(None, None, None))
        releaser.start()
    code, out, err = _finish(child)
    releaser.join(TIMEOUT)
    assert held.path == str(tmp_path / LEDGER) + ".lock"
    assert re.fullmatch(
        rf"The ledger {re.escape(str(LEDGER))} is locked by pid \d+ on \S+ since \S+ "
        rf"\(the other apply\); waiting up to {TIMEOUT} s \(--lock-wait\) for it to be released\n",
        line,
    ), line
    assert code == 0, err
    assert "Apply complete: 2 created, 0 adopted." in out


def _first_line_of_a_plan(cli: Cli, emu: Emulator, tmp_path: Path, *options: str) -> str:
    """The first line a plan against ``emu`` writes on stderr; then Ctrl-C ends it (exit 1)."""
    _declare(tmp_path, 1)
    child = cli.spawn_live(emu, "plan", "flags", *options)
    assert child.stderr is not None
    line = read_line(child.stderr, TIMEOUT)
    child.send_signal(signal.SIGINT)
    code, _, err = _finish(child)
    assert code == 1, err
    return line


def test_a_plan_against_a_failing_launchdarkly_says_it_is_retrying(
    cli: Cli, make_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = make_emulator(EmulatorConfig(projects=("web-app",), faults=Faults(fail_rate=1.0)))
    # Once the pauses reach a second (the third or fourth retry), each is said.
    line = _first_line_of_a_plan(cli, emu, tmp_path)
    assert re.fullmatch(
        r"LaunchDarkly answered 5\d\d server error to GET /api/v2/flags/web-app\?\S+; "
        r"trying again in \d+(\.\d)? s \(retry \d of 8\)\n",
        line,
    ), line


def test_a_plan_against_a_launchdarkly_that_does_not_answer_says_so_after_each_timeout(
    cli: Cli, make_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    faults = Faults(stall_rate=1.0, stall_seconds=30)  # every answer held back, then lost
    emu = make_emulator(EmulatorConfig(projects=("web-app",), faults=faults))
    # Said after the first timeout, however short the pause that follows.
    line = _first_line_of_a_plan(cli, emu, tmp_path, "--timeout", "1")
    assert re.fullmatch(
        r"LaunchDarkly did not answer \(ReadTimeout: .*\) to GET /api/v2/flags/web-app\?\S+; "
        r"trying again in \d\.\d s \(retry 1 of 8\)\n",
        line,
    ), line


def test_an_apply_held_back_by_a_rate_limit_says_how_long(
    cli: Cli, make_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    # A third of the requests are answered 429, to wait a second (Retry-After or the reset).
    faults = Faults(throttle_rate=0.3)
    emu = make_emulator(EmulatorConfig(projects=("web-app",), faults=faults, seed=7))
    _declare(tmp_path, 3)
    applied = cli.live(emu, "apply", "flags", "--yes")
    assert applied.code == 0, applied
    assert len(stored(emu, "web-app")) == 3
    waits = [line for line in applied.stderr.splitlines() if "rate limit is reached" in line]
    assert waits, applied
    for line in waits:
        assert re.fullmatch(
            r"LaunchDarkly's rate limit is reached for (GET|POST) /api/v2/\S+; waiting "
            r"1\.\d s for it to reset",
            line,
        ), line
    assert len(waits) <= emu.count(status=429), applied  # never more lines than waits


def test_an_apply_in_a_ci_log_prints_its_counts_every_few_seconds(
    cli: Cli, make_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = make_emulator(EmulatorConfig(projects=("web-app",), faults=Faults(latency_ms=100)))
    _declare(tmp_path, 12)
    env = {"LD_RECONCILER_PROGRESS_INTERVAL": "0.3"}
    applied = cli.live(emu, "apply", "flags", "--yes", "--concurrency", "1", env=env)
    assert applied.code == 0, applied
    counts = [
        re.fullmatch(r"Progress: created (\d+) of 12, 0 failed, \d+ s", line)
        for line in applied.stdout.splitlines()
        if line.startswith("Progress:")
    ]
    assert counts, applied.stdout
    assert all(counts), applied.stdout
    created = [int(match.group(1)) for match in counts if match]
    assert created == sorted(created), created
    assert created[-1] < 12, created
    assert applied.stdout.rstrip().endswith("Apply complete: 12 created, 0 adopted.")


def test_a_progress_interval_that_is_not_a_number_is_refused(cli: Cli, tmp_path: Path) -> None:
    _declare(tmp_path, 1)
    env = {"LD_RECONCILER_PROGRESS_INTERVAL": "soon"}
    result = cli("apply", "flags", "--emulator", "--yes", env=env)
    assert result.code == 1, result
    assert "LD_RECONCILER_PROGRESS_INTERVAL=soon: not a number of seconds" in result.stderr
