"""The ``--data`` file: everything the emulator holds, kept across restarts.

Two files. ``FILE`` is a snapshot, only ever replaced atomically (a temporary file beside it,
fsync, rename, then fsync of the directory), so it is never torn. ``FILE.journal`` holds the
creates made since: one JSON line each, appended and fsynced before the create is answered, so
that what a 201 answered survives a crash or ``kill -9``, and a create costs one small write
(rewriting the whole file every time made 1,500 creates take 13 s instead of under one).
Loading reads the snapshot, then replays the journal; a crash can only tear the journal's last
line, a create that was never answered, and that line is ignored. ``Store.compact`` folds the
journal into the snapshot and then removes it; replaying a record the snapshot already holds
changes nothing, so a crash between the two is harmless.

One emulator at a time uses a data file: it holds ``FILE.lock`` (``reconciler.state.lock``, the
ledger's lock: an OS lock that a killed emulator never leaves held) from loading the file until
it stops, and a second emulator on the file is refused naming the first (after waiting for it as
long as its ``Claim`` says: ``apply --emulator --lock-wait``). So a journal found at start-up
is one left by an emulator that crashed, never one another emulator still appends to.

Snapshot format (version 2)::

    {"format": "ld-reconciler-emulator", "version": 2,
     "projects": {"<projectKey>": {"flags": [<FeatureFlag>, ...],
                                   "links": {"<flagKey>": [<FlagLinkRep>, ...]}}}}

Journal: the line ``{"format": "ld-reconciler-emulator-journal", "version": 2}``, then one
``{"project": P, "flag": <FeatureFlag>}`` or ``{"project": P, "flagKey": K, "link":
<FlagLinkRep>}`` per create. Flags are in creation order; the representations are exactly what
the API returned. Loading checks that every flag and link has the fields the API's responses
require, with their types, so that a hand-edited file missing one is refused at start-up,
naming the item, instead of breaking the requests that would serve it.

A version 1 snapshot (before the emulator modelled environments; there was no journal then) is
still read: its flags have no ``environments`` and name their prerequisites as
``_prerequisites`` (``{key, variationId}``, written only when there were some); loading gives
them the environments a create gives, with those prerequisites by variation index, and
``Saved.outdated`` has the store rewrite the file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from reconciler.emulator import representation
from reconciler.errors import InputError, LedgerError, LedgerLockedError
from reconciler.state.lock import ExclusiveFileLock, FlockLock, LedgerLock, LockHolder

log = logging.getLogger(__name__)

FORMAT = "ld-reconciler-emulator"
JOURNAL_FORMAT = "ld-reconciler-emulator-journal"
VERSION = 2
READABLE_VERSIONS = (1, 2)
"""Of snapshots; a journal is always of ``VERSION``."""
JOURNAL_HEADER = (json.dumps({"format": JOURNAL_FORMAT, "version": VERSION}) + "\n").encode()

# The required fields of the spec's FeatureFlag and FlagLinkRep, which the API serves as stored.
FLAG_FIELDS: dict[str, type] = {
    "name": str,
    "kind": str,
    "key": str,
    "_version": int,
    "creationDate": int,
    "variations": list,
    "temporary": bool,
    "tags": list,
    "_links": dict,
    "experiments": dict,
    "customProperties": dict,
    "archived": bool,
}
# Likewise of each FeatureFlagConfig in a flag's ``environments`` (from version 2 on).
CONFIG_FIELDS: dict[str, type] = {
    "on": bool,
    "archived": bool,
    "salt": str,
    "sel": str,
    "lastModified": int,
    "version": int,
    "_site": dict,
    "_environmentName": str,
    "trackEvents": bool,
    "trackEventsFallthrough": bool,
}
LINK_FIELDS: dict[str, type] = {
    "_links": dict,
    "_id": str,
    "_deepLink": str,
    "_timestamp": dict,
    "_createdAt": int,
}
RECORD_FIELDS = ({"project", "flag"}, {"project", "flagKey", "link"})
_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    bool: "a boolean",
    list: "a list",
    dict: "an object",
}
_O_BINARY: int = getattr(os, "O_BINARY", 0)


@dataclass
class ProjectState:
    """One project's flags (by key, in creation order) and each flag's links."""

    flags: dict[str, dict[str, Any]] = field(default_factory=dict)
    links: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class Saved(NamedTuple):
    projects: dict[str, ProjectState]
    outdated: bool
    """Whether the snapshot is of an older version, to be rewritten in this one."""


def journal_path(path: Path) -> Path:
    return path.with_name(path.name + ".journal")


@dataclass(frozen=True)
class Claim:
    """Who takes a data file's lock (the holder's ``command``, named to those it refuses), how
    many seconds they wait for another holder to release it, and what their refusal advises."""

    command: str = "reconciler.emulator.Emulator"
    wait: float = 0.0
    advice: str = "stop that one or wait for it to finish, or use another data file"


IN_PROCESS = Claim()
"""The claim of an ``Emulator`` built in-process without one."""


class _DataFileLock(LedgerLock):
    """The ledger's lock, its refusal worded for a data file and for its claimant."""

    def __init__(self, path: Path, claim: Claim) -> None:
        super().__init__(path, command=claim.command)
        self.advice = claim.advice

    def _locked_message(self, holder: LockHolder | None) -> str:
        who = holder.describe() if holder else "another process"
        return (
            f"the emulator's data file {os.fspath(self.ledger_path)} is in use by {who}: "
            f"one emulator at a time may use it; {self.advice}. If no emulator is running, "
            f"delete {self.path}"
        )


class _DataFileFlock(_DataFileLock, FlockLock):
    pass


class _DataFileExclusiveLock(_DataFileLock, ExclusiveFileLock):
    pass


def lock(path: Path, claim: Claim = IN_PROCESS) -> LedgerLock:
    """Take ``FILE.lock`` for this process, waiting up to ``claim.wait`` seconds:
    ``LedgerLockedError`` naming the holder if another emulator keeps it, ``InputError`` if the
    lock file cannot be created."""
    kind = _DataFileExclusiveLock if sys.platform == "win32" else _DataFileFlock
    held = kind(path, claim)
    try:
        try:
            held.acquire()
        except LedgerLockedError:
            if claim.wait <= 0:
                raise
            # Said, so that a run that pauses says why (and a test knows it is waiting).
            log.info("waiting up to %g s for %s to be released", claim.wait, held.path)
            held.acquire(claim.wait)
    except LedgerLockedError:
        raise
    except LedgerError as e:  # its message suggests another --ledger
        cause = e.__cause__
        reason = (cause.strerror if isinstance(cause, OSError) else None) or str(e)
        raise InputError(
            f"{held.path}: cannot create the emulator's lock file: {reason}; check the "
            "permissions of its directory"
        ) from e
    return held


def load(path: Path) -> Saved | None:
    """The saved state (snapshot and journal), or None if neither file exists yet."""
    text = _read_text(path, "the emulator data file")
    journal = _read_text(journal_path(path), "the emulator data journal")
    if text is None and journal is None:
        return None
    projects, version = ({}, VERSION) if text is None else _snapshot(path, text)
    if journal is not None:
        _replay(journal_path(path), journal, projects)
    for key, proj in projects.items():
        for rep in proj.flags.values():
            if "environments" not in rep:  # only version 1 lets a flag lack them
                _upgrade(f"{path}: projects.{key}.flags ({rep['key']!r})", key, rep, proj)
    return Saved(projects, outdated=version < VERSION)


def write(path: Path, projects: Mapping[str, ProjectState]) -> None:
    """Replace ``path`` atomically with the given state."""
    document = {
        key: {"flags": list(p.flags.values()), "links": p.links} for key, p in projects.items()
    }
    payload = json.dumps(
        {"format": FORMAT, "version": VERSION, "projects": document}, separators=(",", ":")
    ).encode()
    directory = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_directory(directory)


class Journal:
    """Appends create records durably. Not thread-safe: the store calls it under its lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._size = 0  # the store compacts (removes) a journal it finds before appending

    @property
    def exists(self) -> bool:
        return self.path.exists()

    @property
    def appended(self) -> bool:
        """Whether this object wrote records that are not yet folded (removed)."""
        return self._size > 0

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one record and fsync it; on failure leave the journal as it was."""
        data = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        new = self._size == 0
        if new:
            data = JOURNAL_HEADER + data
        # Opened for each record, so that a data directory removed under a running emulator
        # makes creates fail (500) instead of going into a file nobody will read.
        flags = os.O_WRONLY | os.O_APPEND | _O_BINARY | (os.O_CREAT | os.O_EXCL if new else 0)
        fd = os.open(self.path, flags, 0o644)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):  # no partial line for the next record to follow
                if new:
                    os.unlink(self.path)
                else:
                    os.ftruncate(fd, self._size)
            raise
        finally:
            os.close(fd)
        if new:
            _fsync_directory(self.path.parent)
        self._size += len(data)

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        _fsync_directory(self.path.parent)
        self._size = 0


def _read_text(path: Path, what: str) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise InputError(f"{path}: cannot read {what}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: {what} is not UTF-8 text ({e.reason} at byte {e.start})") from e


def _snapshot(path: Path, text: str) -> tuple[dict[str, ProjectState], int]:
    try:
        data = json.loads(text)
    except ValueError as e:
        raise InputError(f"{path}: the emulator data file is not valid JSON: {e}") from e
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{path}: not an emulator data file (refusing to overwrite it)")
    version = data.get("version")
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise InputError(f"{path}: unsupported emulator data file version {version!r}")
    saved = data.get("projects")
    if not isinstance(saved, dict) or not all(
        isinstance(p, dict)
        and isinstance(p.get("flags", []), list)
        and isinstance(p.get("links", {}), dict)
        for p in saved.values()
    ):
        raise InputError(f"{path}: the emulator data file's 'projects' is malformed")
    projects: dict[str, ProjectState] = {}
    for key, value in saved.items():
        proj = projects[key] = ProjectState()
        for i, rep in enumerate(value.get("flags", [])):
            where = f"{path}: projects.{key}.flags[{i}]"
            _check_flag(where, rep, version)
            if rep["key"] in proj.flags:
                first = list(proj.flags).index(rep["key"])
                raise InputError(f"{where}: the key {rep['key']!r} is used by flags[{first}] too")
            proj.flags[rep["key"]] = rep
        for flag_key, reps in value.get("links", {}).items():
            where = f"{path}: projects.{key}.links.{flag_key}"
            if flag_key not in proj.flags:
                raise InputError(f"{where}: the project has no flag {flag_key!r}")
            if not isinstance(reps, list):
                raise InputError(f"{where}: must be a list of flag links")
            for j, rep in enumerate(reps):
                _check(f"{where}[{j}]", rep, LINK_FIELDS)
            proj.links[flag_key] = reps
    return projects, version


def _replay(path: Path, text: str, projects: dict[str, ProjectState]) -> None:
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        where = f"{path}: line {number}"
        try:
            record = json.loads(line)
        except ValueError as e:
            if number == len(lines):
                return  # torn by a crash while it was written: that create was never answered
            raise InputError(f"{where}: not valid JSON: {e}") from e
        if number == 1:
            if record != json.loads(JOURNAL_HEADER):
                raise InputError(f"{where}: not a {JOURNAL_FORMAT} header of version {VERSION}")
            continue
        _apply(where, record, projects)


def _apply(where: str, record: object, projects: dict[str, ProjectState]) -> None:
    """Replay one journal record; one the snapshot already holds changes nothing."""
    if not isinstance(record, dict) or set(record) not in RECORD_FIELDS:
        raise InputError(f"{where}: not a flag or flag link record")
    project = record["project"]
    if not isinstance(project, str):
        raise InputError(f"{where}: project must be a string")
    proj = projects.setdefault(project, ProjectState())
    if "flag" in record:
        rep = record["flag"]
        _check_flag(where, rep, VERSION)
        if proj.flags.setdefault(rep["key"], rep) != rep:
            raise InputError(f"{where}: flag {rep['key']!r} differs from the one already saved")
        return
    flag_key, rep = record["flagKey"], record["link"]
    if flag_key not in proj.flags:
        raise InputError(f"{where}: project {project!r} has no flag {flag_key!r}")
    _check(where, rep, LINK_FIELDS)
    links = proj.links.setdefault(flag_key, [])
    if not any(saved["_id"] == rep["_id"] for saved in links):
        links.append(rep)


def _upgrade(where: str, project: str, rep: dict[str, Any], proj: ProjectState) -> None:
    """Give a version 1 flag the environments a create gives, from its ``_prerequisites``."""
    old = rep.pop("_prerequisites", [])
    if not isinstance(old, list):
        raise InputError(f"{where}: _prerequisites must be a list")
    prerequisites = []
    for i, item in enumerate(old):
        key = item.get("key") if isinstance(item, dict) else None
        target = proj.flags.get(key) if isinstance(key, str) else None
        ids = [v["_id"] for v in target["variations"]] if target is not None else []
        if key is None or item.get("variationId") not in ids:
            raise InputError(
                f"{where}: _prerequisites[{i}] is not the key and variationId of a variation "
                f"of a flag of project {project!r}"
            )
        prerequisites.append((key, ids.index(item["variationId"])))
    rep["environments"] = representation.environments(
        project, rep, on=False, prerequisites=prerequisites
    )


def _check_flag(where: str, rep: object, version: int) -> None:
    _check(where, rep, FLAG_FIELDS)
    if version < 2:
        return
    assert isinstance(rep, dict)  # _check has made sure
    configs = rep.get("environments")
    if not isinstance(configs, dict):
        raise InputError(f"{where} ({rep['key']!r}): environments must be an object")
    for env, config in configs.items():
        _check(f"{where} ({rep['key']!r}): environments.{env}", config, CONFIG_FIELDS)


def _check(where: str, rep: object, fields: Mapping[str, type]) -> None:
    if not isinstance(rep, dict):
        raise InputError(f"{where}: not a JSON object")
    key = rep.get("key", rep.get("_key"))
    if isinstance(key, str):
        where = f"{where} ({key!r})"
    for name, kind in fields.items():
        if name not in rep:
            raise InputError(f"{where}: {name} is missing")
        value = rep[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise InputError(f"{where}: {name} must be {_TYPE_NAMES[kind]}")
    for i, variation in enumerate(rep.get("variations", ())):
        if not (isinstance(variation, dict) and isinstance(variation.get("_id"), str)):
            raise InputError(f"{where}: variations[{i}] must be an object with an _id")
        if "value" not in variation:
            raise InputError(f"{where}: variations[{i}].value is missing")


def _write_all(fd: int, data: bytes) -> None:
    written = 0
    while written < len(data):
        written += os.write(fd, data[written:])


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform (Windows); the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
