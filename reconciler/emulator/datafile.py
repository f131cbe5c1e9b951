"""The ``--data`` file: everything the emulator holds, kept across restarts.

Two files, written with ``reconciler.state.durable`` as the ledger is. ``FILE`` is a snapshot,
only ever replaced atomically, so it is never torn. ``FILE.journal`` holds the creates made
since: one JSON line each, appended and fsynced before the create is answered, so that what a
201 answered survives a crash or ``kill -9``, and a create costs one small write (rewriting the
whole file every time made 1,500 creates take 13 s instead of under one).
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
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler import notices
from reconciler.errors import InputError, LedgerError, LedgerLockedError
from reconciler.state import durable
from reconciler.state.lock import ExclusiveFileLock, FlockLock, LedgerLock, LockHolder

log = logging.getLogger(__name__)

FORMAT = "ld-reconciler-emulator"
JOURNAL_FORMAT = "ld-reconciler-emulator-journal"
VERSION = 2
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
# Likewise of each FeatureFlagConfig in a flag's ``environments``.
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


@dataclass
class ProjectState:
    """One project's flags (by key, in creation order) and each flag's links."""

    flags: dict[str, dict[str, Any]] = field(default_factory=dict)
    links: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


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
            waiting = _waiting_for(held, claim.wait)  # first: the holder may go meanwhile
            log.info("waiting up to %g s for %s to be released", claim.wait, held.path)
            notices.say(waiting)
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


def _waiting_for(held: LedgerLock, wait: float) -> str:
    holder = held.holder()
    who = holder.describe() if holder else "another run"
    return f"{held.path} is in use by {who}; waiting up to {notices.seconds(wait)} for it"


def load(path: Path) -> dict[str, ProjectState] | None:
    """The saved state (snapshot and journal), or None if neither file exists yet."""
    text = _read(path, "the emulator data file")
    journal = _read(journal_path(path), "the emulator data journal")
    if text is None and journal is None:
        return None
    projects = {} if text is None else _snapshot(path, text)
    if journal is not None:
        _replay(journal_path(path), journal, projects)
    return projects


def write(path: Path, projects: Mapping[str, ProjectState]) -> None:
    """Replace ``path`` atomically with the given state."""
    document = {
        key: {"flags": list(p.flags.values()), "links": p.links} for key, p in projects.items()
    }
    payload = json.dumps(
        {"format": FORMAT, "version": VERSION, "projects": document}, separators=(",", ":")
    ).encode()
    durable.replace(path, payload)


class Journal(durable.Journal):
    """Appends create records durably. Not thread-safe: the store calls it under its lock.

    Opened for each record, so that a data directory removed under a running emulator makes
    creates fail (500) instead of going into a file nobody will read.
    """

    def __init__(self, path: Path) -> None:
        # The store compacts (removes) a journal it finds before appending.
        super().__init__(path, JOURNAL_HEADER, keep_open=False)

    def record(self, record: Mapping[str, Any]) -> None:
        """Write one record and fsync it; on failure leave the journal as it was."""
        self.append((json.dumps(record, separators=(",", ":")) + "\n").encode())


def _read(path: Path, what: str) -> bytes | None:
    """The file's content, checked to be UTF-8 text; None if it does not exist."""
    try:
        raw = durable.read(path)
        if raw is not None:
            raw.decode("utf-8")
    except OSError as e:
        raise InputError(f"{path}: cannot read {what}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: {what} is not UTF-8 text ({e.reason} at byte {e.start})") from e
    return raw


def _snapshot(path: Path, text: bytes) -> dict[str, ProjectState]:
    try:
        data = json.loads(text)
    except ValueError as e:
        raise InputError(f"{path}: the emulator data file is not valid JSON: {e}") from e
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{path}: not an emulator data file (refusing to overwrite it)")
    version = data.get("version")
    if isinstance(version, bool) or version != VERSION:
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
            _check_flag(where, rep)
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
    return projects


def _replay(path: Path, raw: bytes, projects: dict[str, ProjectState]) -> None:
    # A torn last line was being written by a crash: that create was never answered.
    try:
        lines, _ = durable.journal_lines(raw)
    except durable.JournalLineError as e:
        raise InputError(f"{path}: line {e.number}: not valid JSON: {e.__cause__}") from e
    if lines and lines[0] != json.loads(JOURNAL_HEADER):
        raise InputError(f"{path}: line 1: not a {JOURNAL_FORMAT} header of version {VERSION}")
    for number, record in enumerate(lines[1:], start=2):
        _apply(f"{path}: line {number}", record, projects)


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
        _check_flag(where, rep)
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


def _check_flag(where: str, rep: object) -> None:
    _check(where, rep, FLAG_FIELDS)
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
