"""Durable files: replaced whole or not at all, and journals whose appends survive a crash.

The one place that writes files meant to outlive the process (the ledger and its journal, the
emulator's data file and its journal, a saved plan, exported YAML):

- ``replace(path, data)`` writes a temporary file beside ``path`` (``.NAME.<12 hex>.tmp``),
  fsyncs it, renames it over ``path`` and fsyncs the directory: after a crash ``path`` holds
  the old content or the new, never a torn mix, and once it returns the new content is on disk.
  A process killed before the rename leaves its temporary file; ``remove_temporary_files``
  clears them for a caller that holds the file's lock.
- ``Journal`` appends lines to a file, each fsynced before ``append`` returns, so what a caller
  confirmed after an append survives ``kill -9``. The first append creates the file (never one
  that exists: another writer's) with a header line. A failed append leaves the file as it was,
  so that no partial line precedes the next record. ``journal_lines`` reads one back: a crash
  can only tear the last line, an append that never returned, and that line is dropped.

Errors are ``OSError``; each caller translates them into its own message.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import secrets
from typing import Any, NamedTuple

log = logging.getLogger(__name__)

_O_BINARY: int = getattr(os, "O_BINARY", 0)
_TEMPORARY = r"[0-9a-f]{12}\.tmp"


def read(path: str | os.PathLike[str]) -> bytes | None:
    """The file's bytes, or None if it does not exist."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def replace(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` by ``data`` atomically and durably; on failure ``path`` is unchanged
    and the temporary file is removed. The directory must exist."""
    directory = _directory(path)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o644)
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    fsync_directory(directory)


def is_temporary(name: str | None, path: str | os.PathLike[str]) -> bool:
    """Whether ``name`` (a path or a file name) is a temporary file of ``replace(path)``."""
    if not name:
        return False
    pattern = re.escape(f".{os.path.basename(path)}.") + _TEMPORARY
    return re.fullmatch(pattern, os.path.basename(name)) is not None


def remove_temporary_files(path: str | os.PathLike[str]) -> None:
    """Remove the temporary files that processes killed in ``replace(path)`` left behind.

    Only for a caller holding ``path``'s lock: then no other process can be writing one.
    """
    directory = _directory(path)
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if is_temporary(name, path):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(directory, name))
                log.debug("removed %s, left by an interrupted write", name)


class Journal:
    """An append-only file of lines, the first one ``header``. Not thread-safe: callers
    append under their own lock.

    ``keep_open`` keeps the file open between appends (the ledger, at up to ~100 appends a
    second); without it the file is opened for each append, so that a journal removed under
    a running writer makes the append fail instead of going into a file nobody will read.
    """

    def __init__(self, path: str | os.PathLike[str], header: bytes, *, keep_open: bool) -> None:
        self.path = os.fspath(path)
        self.header = header
        self._keep_open = keep_open
        self._fd: int | None = None
        self._size = 0  # bytes this object appended; 0: it has not created the file

    @property
    def appended(self) -> bool:
        """Whether this object wrote lines that were not removed since."""
        return self._size > 0

    @property
    def exists(self) -> bool:
        return os.path.exists(self.path)

    def append(self, data: bytes) -> None:
        """Append ``data`` (whole lines) and fsync it; on failure leave the file as it was.

        ``FileExistsError`` if another process created the file or appended to it.
        """
        new = self._size == 0
        if new:
            data = self.header + data
        fd = self._fd if self._fd is not None else self._open(new)
        try:
            write_all(fd, data)
            os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):  # no partial line for the next record to follow
                if new:
                    os.remove(self.path)
                else:
                    os.ftruncate(fd, self._size)
            self._close(fd, always=new)
            raise
        self._close(fd, always=False)
        if new:
            fsync_directory(_directory(self.path))
        self._size += len(data)

    def close(self) -> None:
        """Close the file (lines already appended are on disk either way)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def remove(self) -> None:
        """Delete the file (its lines are saved elsewhere); the next append starts a new one."""
        self.close()
        self._size = 0
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path)
        fsync_directory(_directory(self.path))

    def _open(self, new: bool) -> int:
        flags = os.O_WRONLY | os.O_APPEND | _O_BINARY
        if new:
            return os.open(self.path, flags | os.O_CREAT | os.O_EXCL, 0o644)
        fd = os.open(self.path, flags)  # ours, reopened
        if os.fstat(fd).st_size != self._size:
            os.close(fd)
            raise FileExistsError(errno.EEXIST, "changed by another process", self.path)
        return fd

    def _close(self, fd: int, *, always: bool) -> None:
        if self._keep_open and not always:
            self._fd = fd
        else:
            self._fd = None
            os.close(fd)


class JournalLines(NamedTuple):
    lines: list[Any]
    """Each line's JSON value, the header first."""
    torn: bool
    """Whether a torn last line was dropped."""


class JournalLineError(ValueError):
    """A line of a journal, not its last, is not JSON."""

    def __init__(self, number: int) -> None:
        super().__init__(f"line {number} is not valid JSON")
        self.number = number


def journal_lines(raw: bytes) -> JournalLines:
    """Parse a journal's lines (UTF-8 JSON); a last line that is not JSON is dropped."""
    lines = raw.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    parsed = []
    for number, line in enumerate(lines, start=1):
        try:
            parsed.append(json.loads(line.decode("utf-8")))
        except ValueError as e:
            if number == len(lines):
                return JournalLines(parsed, torn=True)
            raise JournalLineError(number) from e
    return JournalLines(parsed, torn=False)


def write_all(fd: int, data: bytes) -> None:
    written = 0
    while written < len(data):
        written += os.write(fd, data[written:])


def fsync_directory(directory: str | os.PathLike[str]) -> None:
    """Make a rename or a new file in ``directory`` durable (not possible on Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    with contextlib.suppress(OSError):
        os.fsync(fd)
    os.close(fd)


def _directory(path: str | os.PathLike[str]) -> str:
    return os.path.dirname(os.fspath(path)) or "."
