"""The ledger lock: at most one process writes a ledger at a time.

The lock is the file ``<ledger>.lock`` beside the ledger. Where ``fcntl`` exists it is
held with ``flock``, which the operating system releases when the holding process
exits, however it exits: a killed apply never leaves a lock that blocks anyone. The
holder writes ``{pid, host, since, command}`` into the file, only so that a second
process can say who holds the lock. The file is removed on release; a process that is
killed leaves it behind, and the next locker finds the file unlocked although it names
another pid: that stale lock is cleared automatically (logged at debug level).
Deleting the ``.lock`` file is always safe when no apply runs. A lock file (or ledger
directory) that cannot be created is a ``LedgerError`` naming the path and the reason.

Where ``fcntl`` is missing (Windows), the lock is the existence of the file, created
with ``O_CREAT | O_EXCL`` and kept open while held. A lock file whose pid is no longer
running on this host is stale and is removed. On Windows a file that is open cannot be
deleted, so the removal of a stale file can never delete a live holder's file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from reconciler.errors import LedgerError, LedgerLockedError

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.05
"""Seconds between attempts while waiting for a held lock."""

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def timestamp(moment: datetime) -> str:
    """``moment`` as UTC ISO-8601 to the second, e.g. ``2024-05-01T12:00:00Z``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def lock_path(ledger_path: str | os.PathLike[str]) -> str:
    """The lock file of a ledger: ``<ledger>.lock``."""
    return os.fspath(ledger_path) + ".lock"


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or held) a lock, as written in the lock file."""

    pid: int
    host: str
    since: str
    command: str

    @property
    def data(self) -> dict[str, Any]:
        return {"pid": self.pid, "host": self.host, "since": self.since, "command": self.command}

    @classmethod
    def parse(cls, text: bytes) -> LockHolder | None:
        """The holder named by a lock file's content, or None if it names none."""
        try:
            data = json.loads(text)
            holder = cls(data["pid"], data["host"], data["since"], data["command"])
        except (ValueError, TypeError, KeyError):
            return None
        if type(holder.pid) is not int or not all(
            isinstance(v, str) for v in (holder.host, holder.since, holder.command)
        ):
            return None
        return holder

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.since} ({self.command})"


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this host."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        try:
            code = ctypes.c_ulong()
            kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LedgerLock:
    """The lock of one ledger; base of the two implementations below.

    ``with lock:`` acquires without waiting unless already acquired, and releases;
    ``ledger_lock()`` is the usual way in.
    """

    def __init__(
        self,
        ledger_path: str | os.PathLike[str],
        *,
        command: str = "ld-reconciler",
        clock: Clock = utc_now,
    ) -> None:
        self.ledger_path = ledger_path
        self.path = lock_path(ledger_path)
        self.command = command
        self._clock = clock
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, wait: float = 0.0) -> None:
        """Take the lock, waiting up to ``wait`` seconds; else raise ``LedgerLockedError``."""
        if self.held:
            raise RuntimeError(f"lock {self.path} is already held by this object")
        directory = os.path.dirname(self.path)
        if directory:
            try:
                os.makedirs(directory, exist_ok=True)
            except OSError as e:
                raise LedgerError(_cannot("create the ledger directory", directory, e)) from e
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            for _ in range(3):  # a lock released or cleared meanwhile is retried at once
                try:
                    holder = self._try_acquire()
                except OSError as e:
                    raise LedgerError(_cannot("create the lock file", self.path, e)) from e
                if self._fd is not None:
                    return
                if holder is not None:
                    break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LedgerLockedError(self._locked_message(holder))
            time.sleep(min(POLL_INTERVAL, remaining))

    def holder(self) -> LockHolder | None:
        """Who holds the lock, as its file says (None: unknown), to tell a run that waits."""
        try:
            with open(self.path, "rb") as f:
                return LockHolder.parse(f.read())
        except OSError:
            return None

    def release(self) -> None:
        if self._fd is not None:
            self._release(self._fd)
            self._fd = None

    def __enter__(self) -> LedgerLock:
        if not self.held:
            self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _try_acquire(self) -> LockHolder | None:
        """One attempt: sets ``_fd`` on success; else returns the holder, None if unknown."""
        raise NotImplementedError

    def _release(self, fd: int) -> None:
        raise NotImplementedError

    def _holder_bytes(self) -> bytes:
        now = timestamp(self._clock())
        holder = LockHolder(os.getpid(), socket.gethostname(), now, self.command)
        return (json.dumps(holder.data, sort_keys=True) + "\n").encode()

    def _locked_message(self, holder: LockHolder | None) -> str:
        who = holder.describe() if holder else "another process"
        return (
            f"ledger {os.fspath(self.ledger_path)} is locked by {who}; another apply is writing "
            "it: wait for it to finish and retry, or give apply --lock-wait SECONDS to wait for "
            f"it. If no apply is running, delete {self.path}"
        )

    def _note_stale(self, previous: bytes) -> None:
        holder = LockHolder.parse(previous)
        if holder and holder.pid != os.getpid():
            log.debug("cleared a stale lock %s left by %s", self.path, holder.describe())


class FlockLock(LedgerLock):
    """``flock`` on the lock file: released by the OS when the holder dies."""

    def _try_acquire(self) -> LockHolder | None:
        if sys.platform == "win32":
            raise OSError("flock is not available on Windows")
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = LockHolder.parse(_read_all(fd))
            os.close(fd)
            return holder
        except BaseException:
            os.close(fd)
            raise
        # A holder removes the file before unlocking it, so we may have locked a file
        # that no longer has this name; then the lock is not ours: try again.
        try:
            named = os.stat(self.path)
        except FileNotFoundError:
            named = None
        opened = os.fstat(fd)
        if named is None or (named.st_dev, named.st_ino) != (opened.st_dev, opened.st_ino):
            os.close(fd)
            return None
        self._note_stale(_read_all(fd))
        os.ftruncate(fd, 0)
        os.pwrite(fd, self._holder_bytes(), 0)
        self._fd = fd
        return None

    def _release(self, fd: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path)
        os.close(fd)


class ExclusiveFileLock(LedgerLock):
    """The lock file's existence, for platforms without ``fcntl``."""

    def _try_acquire(self) -> LockHolder | None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return self._clear_if_stale()
        os.write(fd, self._holder_bytes())
        self._fd = fd
        return None

    def _clear_if_stale(self) -> LockHolder | None:
        try:
            with open(self.path, "rb") as f:
                content = f.read()
        except FileNotFoundError:
            return None  # released meanwhile: try again
        holder = LockHolder.parse(content)
        if holder is None or holder.host != socket.gethostname() or pid_alive(holder.pid):
            return holder
        with contextlib.suppress(FileNotFoundError, PermissionError):
            os.remove(self.path)
            self._note_stale(content)
        return None

    def _release(self, fd: int) -> None:
        os.close(fd)  # first: Windows cannot delete an open file
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path)


FileLock: type[LedgerLock] = ExclusiveFileLock if sys.platform == "win32" else FlockLock
"""The lock implementation for this platform."""


@contextlib.contextmanager
def ledger_lock(
    ledger_path: str | os.PathLike[str],
    wait: float = 0.0,
    *,
    command: str = "ld-reconciler",
    clock: Clock = utc_now,
) -> Iterator[LedgerLock]:
    """Hold the lock of ``ledger_path`` for the ``with`` block.

    Raises ``LedgerLockedError`` naming the holder if the lock is still held after
    ``wait`` seconds (0: fail at once). Creates the ledger's directory if missing.
    """
    lock = FileLock(ledger_path, command=command, clock=clock)
    lock.acquire(wait)
    try:
        yield lock
    finally:
        lock.release()


def _cannot(what: str, path: str, error: OSError) -> str:
    """One line saying what could not be created, why, and what to do about it."""
    reason = error.strerror or type(error).__name__
    if isinstance(error, (FileExistsError, NotADirectoryError)):  # makedirs met a file
        return (
            f"cannot {what} {path}: {reason} (a part of the path is a file, not a "
            "directory); choose another --ledger"
        )
    directory = os.path.dirname(path) or os.curdir
    return (
        f"cannot {what} {path}: {reason}; check the permissions of {directory} "
        "or choose another --ledger"
    )


def _read_all(fd: int) -> bytes:
    chunks = []
    offset = 0
    while chunk := os.pread(fd, 65536, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)
