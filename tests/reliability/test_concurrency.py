"""Two applies on one ledger: one waits or fails fast naming the other; never both write.

The applies are real processes against one emulator in the test's process. A lock left
behind by a killed apply is cleared by the next one on its own; a lock held by a live
process is waited for (``--lock-wait``) or named. Readers (``plan``) never see a torn
ledger while an apply writes it.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator import Emulator, EmulatorConfig, Faults
from reconciler.remote.client import normalise_base_url
from reconciler.state.ledger import Ledger
from reconciler.state.lock import LockHolder
from support.process import read_line

from .support import (
    LEDGER,
    addresses,
    commits,
    conflicts,
    declared_flags,
    ledger_mismatches,
    live_env,
    run,
    spawn,
    stored,
    write_repository,
)

PROJECT = "together"
DECLARED = declared_flags(30, 30)
EXPECTED = addresses(PROJECT, DECLARED)
LOCK = Path(f"{LEDGER}.lock")
APPLY = ("apply", "flags", "--yes")


@pytest.fixture
def emu() -> Iterator[Emulator]:
    # Slow enough (about a second and a half of creates) for the applies to overlap.
    config = EmulatorConfig(projects=(PROJECT,), faults=Faults(latency_ms=60, latency_jitter_ms=20))
    with Emulator(config) as emulator:
        yield emulator


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    write_repository(tmp_path / "flags", PROJECT, DECLARED)
    return tmp_path


def finish(child: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = child.communicate(timeout=120)
    return child.returncode, out, err


def assert_created_once(emu: Emulator, cwd: Path) -> None:
    assert stored(emu, PROJECT) == dict.fromkeys(EXPECTED, 1)
    assert commits(emu) == len(EXPECTED)
    assert conflicts(emu) == 0  # an apply that waited for the lock planned afresh
    assert ledger_mismatches(Ledger.load(cwd / LEDGER), emu, PROJECT) == []


def test_a_second_apply_fails_fast_naming_the_first_which_finishes_alone(
    emu: Emulator, workdir: Path
) -> None:
    first = spawn(*APPLY, cwd=workdir, env=live_env(emu))
    assert first.stdout is not None
    assert read_line(first.stdout, 120).startswith("Planned live")  # it holds the lock by now
    first.send_signal(signal.SIGSTOP)  # however slow the second is to start, the first waits
    try:
        second = run(*APPLY, cwd=workdir, env=live_env(emu))
    finally:
        first.send_signal(signal.SIGCONT)
    code, out, err = finish(first)
    assert (code, err) == (0, ""), out + err
    assert "Apply complete: 60 created, 0 adopted." in out

    assert second.code == 1, second
    (line,) = second.stderr.splitlines()
    host = re.escape(socket.gethostname())
    pattern = (
        rf"Error: ledger \.ld-reconciler/ledger\.json is locked by pid {first.pid} on {host} "
        r"since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(ld-reconciler apply\); .*"
        r"If no apply is running, delete \.ld-reconciler/ledger\.json\.lock"
    )
    assert re.fullmatch(pattern, line), line
    assert second.seconds < 10, second  # it did not wait
    assert second.stdout == ""  # it did not even plan
    assert_created_once(emu, workdir)


def test_applies_started_together_with_lock_wait_take_turns(emu: Emulator, workdir: Path) -> None:
    children = [
        spawn(*APPLY, "--lock-wait", "60", cwd=workdir, env=live_env(emu)) for _ in range(4)
    ]
    results = [finish(child) for child in children]
    assert [code for code, _, _ in results] == [0, 0, 0, 0], results
    outputs = [out for _, out, _ in results]
    assert sum("Apply complete: 60 created, 0 adopted." in out for out in outputs) == 1, outputs
    assert sum("Nothing to create" in out for out in outputs) == 3, outputs
    assert_created_once(emu, workdir)


def test_a_lock_left_by_a_killed_apply_is_cleared_by_the_next_one(
    emu: Emulator, workdir: Path
) -> None:
    killed = spawn(*APPLY, cwd=workdir, env=live_env(emu))
    assert killed.stdout is not None
    for line in killed.stdout:
        if line.startswith("created "):
            killed.send_signal(signal.SIGKILL)
            break
    killed.communicate(timeout=60)
    assert killed.returncode == -signal.SIGKILL
    holder = LockHolder.parse((workdir / LOCK).read_bytes())  # the file stays behind
    assert holder is not None
    assert holder.pid == killed.pid

    resumed = run(*APPLY, cwd=workdir, env=live_env(emu))
    assert resumed.code == 0, resumed
    assert "locked" not in resumed.output
    assert not (workdir / LOCK).exists()
    assert_created_once(emu, workdir)


HOLD_LOCK = """\
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, b'{"pid": %d, "host": "ci", "since": "2026-01-01T00:00:00Z", "command": "held"}'
         % os.getpid())
print("held", flush=True)
sys.stdin.readline()  # held until the test has been refused, then for argv[2] seconds more
time.sleep(float(sys.argv[2]))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="holds the lock with flock")
def test_an_apply_waits_for_a_live_holder_with_lock_wait_and_names_it_without(
    emu: Emulator, workdir: Path
) -> None:
    (workdir / LOCK).parent.mkdir(parents=True)
    with subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(workdir / LOCK), "1.5"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdin is not None
        assert holder.stdout is not None
        assert read_line(holder.stdout, 60) == "held\n"
        # However slowly the refused run starts (seconds on a loaded machine), the lock is held.
        refused = run(*APPLY, cwd=workdir, env=live_env(emu))
        holder.stdin.write("go\n")
        holder.stdin.flush()
        waited = run(*APPLY, "--lock-wait", "30", cwd=workdir, env=live_env(emu))
    assert refused.code == 1, refused
    assert f"is locked by pid {holder.pid} on ci since 2026-01-01T00:00:00Z (held)" in (
        refused.stderr
    )
    assert refused.stdout == ""  # refused before planning
    assert waited.code == 0, waited
    assert "Apply complete: 60 created, 0 adopted." in waited.stdout
    assert_created_once(emu, workdir)


def test_the_ledger_read_while_an_apply_writes_it_is_never_torn(
    emu: Emulator, workdir: Path
) -> None:
    writer = spawn(*APPLY, cwd=workdir, env=live_env(emu))
    seen: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                ledger = Ledger.load(workdir / LEDGER)
            except BaseException as e:  # reported below
                errors.append(e)
                return
            target = normalise_base_url(emu.base_url)
            seen.append(len(ledger.flags(target, PROJECT)) + len(ledger.links(target, PROJECT)))
            time.sleep(0.002)

    reader = threading.Thread(target=read)
    reader.start()
    code, out, err = finish(writer)
    stop.set()
    reader.join()
    assert code == 0, out + err
    assert errors == []
    assert len(seen) > 20
    assert seen == sorted(seen)  # what was recorded stays recorded
    offline = run("plan", "flags", "--offline", cwd=workdir, env=live_env(emu))
    assert offline.code == 0, offline
    assert_created_once(emu, workdir)
