"""The ledger lock: one writer at a time, and a dead holder never blocks anyone."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from reconciler.errors import LedgerError, LedgerLockedError
from reconciler.state.lock import (
    ExclusiveFileLock,
    FileLock,
    FlockLock,
    LedgerLock,
    LockHolder,
    ledger_lock,
)
from support.process import read_line

REPO = Path(__file__).resolve().parents[2]
LOCKS = [FlockLock, ExclusiveFileLock] if sys.platform != "win32" else [ExclusiveFileLock]

HOLDER = """
import sys
from reconciler.state import lock
held = getattr(lock, sys.argv[1])(sys.argv[2], command="ld-reconciler apply")
held.acquire()
print("locked", flush=True)
sys.stdin.readline()
held.release()
"""


class Holder:
    """A child process holding the lock until told to release it (or killed)."""

    def __init__(self, lock_cls: type[LedgerLock], ledger: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, lock_cls.__name__, ledger],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert self.proc.stdout is not None
        assert read_line(self.proc.stdout, 60) == "locked\n"

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("release\n")
        self.proc.stdin.close()
        assert self.proc.wait(10) == 0

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture
def ledger(tmp_path: Path) -> str:
    return str(tmp_path / ".ld-reconciler" / "ledger.json")


@pytest.fixture(params=LOCKS)
def lock_cls(request: pytest.FixtureRequest) -> type[LedgerLock]:
    """Every test that takes it runs once with each lock class."""
    cls: type[LedgerLock] = request.param
    return cls


Hold = Callable[[type[LedgerLock], str], Holder]


@pytest.fixture
def hold() -> Iterator[Hold]:
    """Starts a Holder of the ledger's lock; each is closed when the test ends."""
    started: list[Holder] = []

    def start(lock_cls: type[LedgerLock], ledger: str) -> Holder:
        started.append(Holder(lock_cls, ledger))
        return started[-1]

    yield start
    for h in started:
        h.close()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(10)
    return proc.pid


def write_lock_file(ledger: str, pid: int, host: str | None = None) -> None:
    os.makedirs(os.path.dirname(ledger), exist_ok=True)
    holder = LockHolder(pid, host or socket.gethostname(), "2024-01-01T00:00:00Z", "apply")
    Path(ledger + ".lock").write_text(json.dumps(holder.data))


def test_the_platform_lock_is_flock_where_fcntl_exists() -> None:
    assert FileLock is (ExclusiveFileLock if sys.platform == "win32" else FlockLock)


def test_lock_file_names_pid_host_since_and_command_while_held(ledger: str) -> None:
    clock = lambda: datetime(2024, 5, 1, 12, 30, 5, 999, tzinfo=timezone.utc)  # noqa: E731
    with ledger_lock(ledger, command="ld-reconciler apply", clock=clock) as lock:
        assert lock.held
        holder = LockHolder.parse(Path(ledger + ".lock").read_bytes())
    assert holder == LockHolder(
        os.getpid(), socket.gethostname(), "2024-05-01T12:30:05Z", "ld-reconciler apply"
    )


def test_lock_creates_the_ledger_directory_and_removes_its_file_on_release(
    lock_cls: type[LedgerLock], ledger: str
) -> None:
    lock = lock_cls(ledger)
    lock.acquire()
    assert os.path.isdir(os.path.dirname(ledger))
    assert os.path.exists(ledger + ".lock")
    lock.release()
    assert not lock.held
    assert not os.path.exists(ledger + ".lock")
    assert not os.path.exists(ledger)


def test_two_lockers_in_one_process_exclude_each_other(
    lock_cls: type[LedgerLock], ledger: str
) -> None:
    with lock_cls(ledger), pytest.raises(LedgerLockedError, match=f"pid {os.getpid()} "):
        lock_cls(ledger).acquire()
    with lock_cls(ledger) as again:
        assert again.held


def test_second_locker_fails_fast_naming_the_holders_pid_host_and_what_to_do(
    lock_cls: type[LedgerLock], ledger: str, hold: Hold
) -> None:
    holder = hold(lock_cls, ledger)
    started = time.monotonic()
    with pytest.raises(LedgerLockedError) as raised:
        lock_cls(ledger).acquire(wait=0)
    assert time.monotonic() - started < 1
    message = str(raised.value)
    assert message.startswith(f"ledger {ledger} is locked by pid {holder.proc.pid} on ")
    assert socket.gethostname() in message
    assert "(ld-reconciler apply)" in message
    assert "wait for it to finish and retry" in message
    assert f"delete {ledger}.lock" in message


def test_waiting_locker_gets_the_lock_once_the_holder_releases_it(
    lock_cls: type[LedgerLock], ledger: str, hold: Hold
) -> None:
    holder = hold(lock_cls, ledger)
    refused = threading.Event()

    class Observed(lock_cls):  # type: ignore[valid-type,misc]
        def _try_acquire(self) -> LockHolder | None:
            found: LockHolder | None = super()._try_acquire()
            if not self.held:
                refused.set()
            return found

    waiter = Observed(ledger)
    thread = threading.Thread(target=waiter.acquire, kwargs={"wait": 30})
    thread.start()
    assert refused.wait(10)
    holder.release()
    thread.join(30)
    assert waiter.held
    assert LockHolder.parse(Path(ledger + ".lock").read_bytes()).pid == os.getpid()  # type: ignore[union-attr]
    waiter.release()


def test_wait_gives_up_after_the_given_seconds(ledger: str) -> None:
    with ledger_lock(ledger):
        started = time.monotonic()
        with pytest.raises(LedgerLockedError, match="is locked by pid"):
            FileLock(ledger).acquire(wait=0.2)
        assert 0.2 <= time.monotonic() - started < 5


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_killed_holder_leaves_a_lock_file_that_blocks_no_one(
    lock_cls: type[LedgerLock], ledger: str, hold: Hold, caplog: pytest.LogCaptureFixture
) -> None:
    holder = hold(lock_cls, ledger)
    holder.kill()
    left = LockHolder.parse(Path(ledger + ".lock").read_bytes())
    assert left is not None
    assert left.pid == holder.proc.pid
    caplog.set_level(logging.DEBUG, logger="reconciler.state.lock")
    with lock_cls(ledger) as lock:
        assert lock.held
    assert f"stale lock {ledger}.lock left by pid {holder.proc.pid}" in caplog.text
    assert all(r.levelno == logging.DEBUG for r in caplog.records)


def test_a_lock_file_naming_a_dead_pid_is_cleared(lock_cls: type[LedgerLock], ledger: str) -> None:
    write_lock_file(ledger, dead_pid())
    with lock_cls(ledger):
        holder = LockHolder.parse(Path(ledger + ".lock").read_bytes())
        assert holder is not None
        assert holder.pid == os.getpid()


def test_flock_ignores_a_lock_file_with_garbage_when_nobody_holds_it(ledger: str) -> None:
    os.makedirs(os.path.dirname(ledger))
    Path(ledger + ".lock").write_bytes(b"\x00garbage{")
    with FlockLock(ledger) as lock:
        assert lock.held


def test_exclusive_lock_of_a_live_pid_blocks(ledger: str) -> None:
    write_lock_file(ledger, os.getppid())
    with pytest.raises(LedgerLockedError, match=f"locked by pid {os.getppid()} on "):
        ExclusiveFileLock(ledger).acquire(wait=0)
    assert os.path.exists(ledger + ".lock")


def test_exclusive_lock_from_another_host_is_never_presumed_dead(ledger: str) -> None:
    write_lock_file(ledger, dead_pid(), host="elsewhere.example")
    with pytest.raises(LedgerLockedError, match=r"on elsewhere\.example since"):
        ExclusiveFileLock(ledger).acquire(wait=0)
    assert os.path.exists(ledger + ".lock")


def test_acquiring_a_lock_twice_through_one_object_is_a_bug(ledger: str) -> None:
    with ledger_lock(ledger) as lock, pytest.raises(RuntimeError, match="already held"):
        lock.acquire()


@pytest.mark.parametrize("ledger_under", ["afile", "afile/deeper"])
def test_a_file_where_the_ledger_directory_must_be_is_one_clear_error(
    lock_cls: type[LedgerLock], tmp_path: Path, ledger_under: str
) -> None:
    (tmp_path / "afile").write_text("not a directory")
    directory = str(tmp_path / ledger_under)
    with pytest.raises(LedgerError) as raised:
        lock_cls(os.path.join(directory, "ledger.json")).acquire()
    assert not isinstance(raised.value, LedgerLockedError)
    assert str(raised.value).startswith(f"cannot create the ledger directory {directory}: ")
    assert str(raised.value).endswith(
        "(a part of the path is a file, not a directory); choose another --ledger"
    )
    assert (tmp_path / "afile").read_text() == "not a directory"
