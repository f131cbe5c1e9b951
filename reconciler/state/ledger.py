"""The ledger: each resource this tool created or adopted, per target and project.

The ledger is a JSON file (default ``.ld-reconciler/ledger.json``) that the user's CI
commits, so it is written deterministically: sorted keys, indent 2, UTF-8, a final
newline; the same content always gives the same bytes. A *target* is the LaunchDarkly
instance, its base URL (``https://app.launchdarkly.com``) or ``emulator``::

    {"format": "ld-reconciler-ledger", "version": 1,
     "targets": {TARGET: {PROJECT: {
        "flags": {FLAG_KEY: {"kind": "flag", "project", "key", "id": null,
                             "variation_ids": [VARIATION _id, ...], "action", "at",
                             "source", "digest", "spec"}},
        "links": {"FLAG_KEY/LINK_KEY": {"kind": "link", "project", "key", "flag_key",
                                        "id": LINK _id, "action", "at", "source",
                                        "digest", "spec"}}}}}}

``action`` is ``created`` or ``adopted``; ``at`` a UTC ISO-8601 time to the second;
``source`` the ``file:line:col`` the resource was declared at; ``digest`` the spec's
``sha256:`` digest and ``spec`` the declared spec itself, for field-level drift. Flags
have no ``_id`` in the API, so their ``id`` is null; ``variation_ids`` lets a later run
resolve prerequisites without a GET. Nothing here can carry the access token.

Reading is strict: invalid JSON, another ``format``, a ``version`` other than 1 (newer
or older), unknown fields or entries missing fields raise ``LedgerCorruptError``, and
the file is never written or modified. A missing file is an empty ledger.

Durability. Apply calls ``record`` after every create, from several threads, up to
thousands of times at ~100/s; rewriting the whole file each time would be quadratic.
So ``record`` appends one JSON line to a journal beside the ledger
(``ledger.json.journal``, first line a format header) and fsyncs it before returning:
a crash loses nothing that was created, and costs one small write per create. The
ledger file itself is only ever replaced atomically (temp file in the same directory,
fsync, ``os.replace``, fsync of the directory), so it is never torn. ``load`` replays
the journal; a crash can only tear the journal's last line, whose record never
returned, and that line is ignored. ``compact`` (at the end of apply, and in ``load``
when the caller holds the lock) folds the journal into the ledger and then removes it;
journal records are idempotent upserts, so a crash between the two replays harmlessly.

Writes need the ledger's lock (``reconciler.state.lock``): a ledger loaded with ``lock=`` is
writable, one loaded without is read-only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, NamedTuple, cast

from reconciler.errors import LedgerCorruptError, LedgerError
from reconciler.gcpause import gc_paused
from reconciler.model import FlagSpec, LinkSpec, canonical_json, netstring_line
from reconciler.state.lock import Clock, LedgerLock, timestamp, utc_now

log = logging.getLogger(__name__)

FORMAT = "ld-reconciler-ledger"
JOURNAL_FORMAT = "ld-reconciler-journal"
VERSION = 1

Kind = Literal["flag", "link"]
Action = Literal["created", "adopted"]
_SECTION: dict[str, str] = {"flag": "flags", "link": "links"}
_COMMON = ("kind", "project", "key", "id", "action", "at", "source", "digest", "spec")
_FIELDS: dict[str, frozenset[str]] = {
    "flag": frozenset((*_COMMON, "variation_ids")),
    "link": frozenset((*_COMMON, "flag_key")),
}
_STRINGS: dict[str, tuple[str, ...]] = {
    "flag": ("project", "key", "action", "at", "source", "digest"),
    "link": ("project", "key", "action", "at", "source", "digest", "flag_key"),
}
_RESTORE = (
    "it is never overwritten: fix it or restore it from git, "
    "or move it away and run a live plan to rebuild it"
)


class LedgerEntry(NamedTuple):
    """One recorded flag or link; ``spec`` is JSON data that must not be mutated.

    A NamedTuple rather than a frozen dataclass: a ledger holds tens of thousands, all
    made at every load, and a tuple is made in a third of the time.
    """

    kind: Kind
    project: str
    key: str
    action: Action
    at: str
    source: str
    digest: str
    spec: Mapping[str, Any]
    flag_key: str | None = None
    id: str | None = None
    variation_ids: tuple[str, ...] = ()

    @classmethod
    def for_flag(
        cls, spec: FlagSpec, *, action: Action, variation_ids: Sequence[str], at: str
    ) -> LedgerEntry:
        return cls(
            "flag", spec.project, spec.key, action, at, str(spec.location), spec.digest,
            spec.spec, variation_ids=tuple(variation_ids),
        )  # fmt: skip

    @classmethod
    def for_link(
        cls, spec: LinkSpec, *, action: Action, link_id: str | None, at: str
    ) -> LedgerEntry:
        return cls(
            "link", spec.project, spec.key, action, at, str(spec.location), spec.digest,
            dict(spec.fields), flag_key=spec.flag_key, id=link_id,
        )  # fmt: skip

    @property
    def name(self) -> str:
        """The entry's key in its section: the flag key, or ``flag_key/link_key``."""
        return f"{self.flag_key}/{self.key}" if self.kind == "link" else self.key

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind, "project": self.project, "key": self.key, "id": self.id,
            "action": self.action, "at": self.at, "source": self.source,
            "digest": self.digest, "spec": dict(self.spec),
        }  # fmt: skip
        if self.kind == "link":
            data["flag_key"] = self.flag_key
        else:
            data["variation_ids"] = list(self.variation_ids)
        return data

    @classmethod
    def from_data(cls, data: object) -> LedgerEntry:
        """Parse an entry; raises ``ValueError`` saying what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("is not a JSON object")
        kind = data.get("kind")
        if kind not in _FIELDS:
            raise ValueError(f"kind is {kind!r}, expected 'flag' or 'link'")
        if data.keys() != _FIELDS[kind]:  # one comparison for the usual, well-formed entry
            missing = ", ".join(repr(n) for n in sorted(_FIELDS[kind] - data.keys()))
            if missing:
                raise ValueError(f"missing field(s) {missing}")
            unknown = ", ".join(repr(n) for n in sorted(data.keys() - _FIELDS[kind]))
            raise ValueError(f"unknown field(s) {unknown}")
        for name in _STRINGS[kind]:
            value = data[name]
            if not value or not isinstance(value, str):
                raise ValueError(f"{name} must be a non-empty string")
        if data["action"] not in ("created", "adopted"):
            raise ValueError(f"action is {data['action']!r}, expected 'created' or 'adopted'")
        if data["id"] is not None and not isinstance(data["id"], str):
            raise ValueError("id must be a string or null")
        if not isinstance(data["spec"], dict):
            raise ValueError("spec must be a JSON object")
        ids = data.get("variation_ids", [])
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValueError("variation_ids must be a list of strings")
        return cls(
            cast(Kind, kind), data["project"], data["key"], data["action"], data["at"],
            data["source"], data["digest"], data["spec"], data.get("flag_key"), data["id"],
            tuple(ids),
        )  # fmt: skip


_Projects = dict[str, dict[str, dict[str, LedgerEntry]]]  # project -> section -> name -> entry


class Ledger:
    """The ledger of one file, in memory; thread-safe. Construct it with ``load``."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        lock: LedgerLock | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.path = path
        self.journal_path = os.fspath(path) + ".journal"
        self._lock = lock
        self._clock = clock
        self._targets: dict[str, _Projects] = {}
        self._mutex = threading.Lock()
        self._journal_fd: int | None = None
        self._journal_size = 0  # bytes of the journal this object wrote; 0: it wrote none
        self.records = 0  # how many times ``record`` changed it: what a plan was made on

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        lock: LedgerLock | None = None,
        clock: Clock = utc_now,
    ) -> Ledger:
        """Read the ledger at ``path`` and replay its journal.

        A missing file is an empty ledger, unless ``create`` is false: then it is a
        ``LedgerError``. With ``lock`` (held, for this ledger) the ledger is writable,
        and a journal left by an interrupted run is compacted at once.
        """
        if lock is not None and (
            not lock.held or os.path.abspath(lock.ledger_path) != os.path.abspath(path)
        ):
            raise ValueError(f"lock {lock.path} is not a held lock of ledger {os.fspath(path)}")
        ledger = cls(path, lock=lock, clock=clock)
        # The journal first: a compaction in between then only moves records into the file.
        journal = ledger._read(ledger.journal_path)
        raw = ledger._read(os.fspath(path))
        if raw is None and not create and journal is None:
            raise LedgerError(f"no ledger at {os.fspath(path)}")
        with gc_paused():  # tens of thousands of entries, acyclic and kept for the run
            if raw is not None:
                ledger._load_document(raw)
            if journal is not None:
                ledger._replay(journal)
        if lock is not None:
            ledger._remove_stale_temporary_files()
            if journal is not None:
                ledger.compact()
        return ledger

    # Queries

    def targets(self) -> tuple[str, ...]:
        with self._mutex:
            return tuple(sorted(self._targets))

    def projects(self, target: str) -> tuple[str, ...]:
        with self._mutex:
            return tuple(sorted(self._targets.get(target, {})))

    def flags(self, target: str, project: str) -> Mapping[str, LedgerEntry]:
        return self._section(target, project, "flags")

    def links(self, target: str, project: str) -> Mapping[str, LedgerEntry]:
        """The project's links, keyed by ``flag_key/link_key``."""
        return self._section(target, project, "links")

    def get_flag(self, target: str, project: str, key: str) -> LedgerEntry | None:
        return self._entry(target, project, "flags", key)

    def get_link(
        self, target: str, project: str, flag_key: str, link_key: str
    ) -> LedgerEntry | None:
        return self._entry(target, project, "links", f"{flag_key}/{link_key}")

    def fingerprint(self, target: str, projects: Iterable[str]) -> str:
        """A digest of what is recorded for ``projects`` of ``target``, to detect stale plans.

        Each entry counts by its fields with its ``digest`` standing for its ``spec``,
        so that a plan does not serialise every recorded spec again (a spec edited by
        hand under an unchanged digest shows in the plan's own actions, as a diff).
        """
        h = hashlib.sha256(netstring_line((FORMAT, str(VERSION), target)).encode())
        with self._mutex:
            recorded = self._targets.get(target, {})
            for project in sorted(set(projects)):
                h.update(netstring_line(("project", project)).encode())
                for section, entries in sorted(recorded.get(project, _empty()).items()):
                    for name in sorted(entries):
                        e = entries[name]
                        fields = (section, name, e.kind, e.id, e.action, e.at, e.source, e.digest)
                        h.update(netstring_line((*fields, e.flag_key, *e.variation_ids)).encode())
        return "sha256:" + h.hexdigest()

    @property
    def data(self) -> dict[str, Any]:
        """The whole ledger as the JSON document written to the file."""
        with self._mutex:
            return self._document()

    def dumps(self) -> str:
        """The ledger file's text."""
        return _dumps(self.data)

    # Writes

    def record(self, target: str, entry: LedgerEntry) -> None:
        """Record ``entry``; it is on disk (in the journal) when this returns."""
        self._require_lock()
        if not target:
            raise ValueError("target must be a non-empty string")
        line = (canonical_json({"target": target, "entry": entry.data}) + "\n").encode()
        with self._mutex:
            self._append(line)
            self._put(target, entry)
            self.records += 1

    def record_flag(
        self, target: str, spec: FlagSpec, *, action: Action, variation_ids: Sequence[str]
    ) -> LedgerEntry:
        """Record a created or adopted flag, stamped with the ledger's clock."""
        at = timestamp(self._clock())
        entry = LedgerEntry.for_flag(spec, action=action, variation_ids=variation_ids, at=at)
        self.record(target, entry)
        return entry

    def record_link(
        self, target: str, spec: LinkSpec, *, action: Action, link_id: str | None
    ) -> LedgerEntry:
        """Record a created or adopted link, stamped with the ledger's clock."""
        entry = LedgerEntry.for_link(
            spec, action=action, link_id=link_id, at=timestamp(self._clock())
        )
        self.record(target, entry)
        return entry

    def save(self) -> None:
        """Write the whole ledger atomically (the journal, if any, stays valid)."""
        self._require_lock()
        with self._mutex:
            self._write_atomically()

    def compact(self) -> None:
        """Fold the journal into the ledger file, atomically; without a journal, do nothing."""
        self._require_lock()
        with self._mutex:
            if self._journal_fd is None and not os.path.exists(self.journal_path):
                return
            self._write_atomically()
            if self._journal_fd is not None:
                os.close(self._journal_fd)
                self._journal_fd = None
            self._journal_size = 0
            try:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(self.journal_path)
                _fsync_dir(self._directory)
            except OSError as e:
                raise LedgerError(f"cannot remove {self.journal_path}: {e.strerror}") from e

    def close(self) -> None:
        """Close the journal (records already returned are on disk either way)."""
        with self._mutex:
            if self._journal_fd is not None:
                os.close(self._journal_fd)
                self._journal_fd = None

    # Internals

    @property
    def _directory(self) -> str:
        return os.path.dirname(os.fspath(self.path)) or "."

    def _remove_stale_temporary_files(self) -> None:
        """Remove the temporary files of atomic writes a killed process left behind.

        Only with the lock held: then no other process can be writing one.
        """
        pattern = re.compile(re.escape(f".{os.path.basename(self.path)}.") + r"[0-9a-f]{12}\.tmp")
        try:
            names = os.listdir(self._directory)
        except OSError:
            return
        for name in names:
            if pattern.fullmatch(name):
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(self._directory, name))
                    log.debug("removed %s, left by an interrupted write", name)

    def _require_lock(self) -> None:
        if self._lock is None or not self._lock.held:
            raise RuntimeError(f"ledger {os.fspath(self.path)} is read-only: load it with its lock")

    def _section(self, target: str, project: str, section: str) -> Mapping[str, LedgerEntry]:
        with self._mutex:
            return dict(self._targets.get(target, {}).get(project, {}).get(section, {}))

    def _entry(self, target: str, project: str, section: str, name: str) -> LedgerEntry | None:
        # One look-up, no copy: a plan asks once per declared resource.
        with self._mutex:
            return self._targets.get(target, {}).get(project, {}).get(section, {}).get(name)

    def _put(self, target: str, entry: LedgerEntry) -> None:
        projects = self._targets.setdefault(target, {})
        sections = projects.get(entry.project)
        if sections is None:
            sections = projects[entry.project] = _empty()
        sections[_SECTION[entry.kind]][entry.name] = entry

    def _read(self, path: str) -> bytes | None:
        try:
            with open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise LedgerError(f"cannot read {path}: {e.strerror}") from e

    def _corrupt(self, problem: str, path: str | None = None) -> LedgerCorruptError:
        return LedgerCorruptError(f"ledger {path or os.fspath(self.path)} {problem}; {_RESTORE}")

    def _load_document(self, raw: bytes) -> None:
        try:
            doc = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as e:
            raise self._corrupt(f"is not UTF-8 text ({e.reason} at byte {e.start})") from e
        except json.JSONDecodeError as e:
            raise self._corrupt(
                f"is not valid JSON (line {e.lineno} column {e.colno}: {e.msg})"
            ) from e
        if not isinstance(doc, dict):
            raise self._corrupt("is not a JSON object")
        if doc.get("format") != FORMAT:
            found = f"format {doc['format']!r}" if "format" in doc else "no 'format' field"
            raise self._corrupt(
                f"is not an ld-reconciler ledger: it has {found}, expected {FORMAT!r}"
            )
        version = doc.get("version")
        if type(version) is not int:
            raise self._corrupt(f"has no valid version (found {version!r}, expected {VERSION})")
        if version > VERSION:
            raise LedgerCorruptError(
                f"ledger {os.fspath(self.path)} has version {version}, but this ld-reconciler "
                f"reads only version {VERSION}: upgrade ld-reconciler; the ledger is left as it is"
            )
        if version != VERSION:
            raise self._corrupt(
                f"has version {version}, unknown to this ld-reconciler (reads {VERSION})"
            )
        unknown = ", ".join(repr(n) for n in sorted(doc.keys() - {"format", "version", "targets"}))
        if unknown:
            raise self._corrupt(f"has unknown field(s) {unknown}")
        targets = doc.get("targets")
        if not isinstance(targets, dict):
            raise self._corrupt("has no 'targets' object")
        for target, projects in targets.items():
            where = f"targets[{json.dumps(target)}]"
            for project, sections in self._items(projects, where):
                pwhere = f"{where}[{json.dumps(project)}]"
                for section, entries in self._items(sections, pwhere):
                    swhere = f"{pwhere}.{section}"
                    if section not in ("flags", "links"):
                        raise self._corrupt(f"is invalid: {pwhere}: unknown section {section!r}")
                    for name, data in self._items(entries, swhere):
                        self._load_entry(target, project, section, name, data, swhere)

    def _load_entry(
        self, target: str, project: str, section: str, name: str, data: object, where: str
    ) -> None:
        try:
            entry = LedgerEntry.from_data(data)
        except ValueError as e:
            raise self._corrupt(f"is invalid: {where}[{json.dumps(name)}]: {e}") from e
        if _SECTION[entry.kind] != section or entry.project != project or entry.name != name:
            raise self._corrupt(
                f"is invalid: {where}[{json.dumps(name)}] holds {entry.kind} "
                f"{entry.project}/{entry.name}, which belongs elsewhere"
            )
        self._put(target, entry)

    def _replay(self, raw: bytes) -> None:
        lines = raw.split(b"\n")
        if lines[-1] == b"":
            lines.pop()
        for number, line in enumerate(lines, start=1):
            try:
                record = json.loads(line.decode("utf-8"))
            except ValueError as e:
                if number == len(lines):
                    log.warning(
                        "ledger journal %s: ignored its incomplete last line, left by an "
                        "interrupted run (that create had not been confirmed)", self.journal_path
                    )  # fmt: skip
                    return
                raise self._corrupt(f"line {number} is not valid JSON", self.journal_path) from e
            if number == 1:
                if record != {"format": JOURNAL_FORMAT, "version": VERSION}:
                    raise self._corrupt(
                        f"does not start with a {JOURNAL_FORMAT} version {VERSION} header",
                        self.journal_path,
                    )
                continue
            try:
                if not isinstance(record, dict) or record.keys() != {"target", "entry"}:
                    raise ValueError("is not a {target, entry} record")
                if not isinstance(record["target"], str) or not record["target"]:
                    raise ValueError("target must be a non-empty string")
                entry = LedgerEntry.from_data(record["entry"])
            except ValueError as e:
                raise self._corrupt(f"is invalid: line {number}: {e}", self.journal_path) from e
            self._put(record["target"], entry)

    def _append(self, line: bytes) -> None:
        try:
            if self._journal_fd is None:
                self._open_journal()
            self._append_durably(line)
        except FileExistsError as e:
            raise LedgerError(
                f"ledger journal {self.journal_path} was written by another process while "
                "this one held the lock; is something writing the ledger without the lock?"
            ) from e
        except OSError as e:
            raise LedgerError(f"cannot write {self.journal_path}: {e.strerror}") from e

    def _open_journal(self) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | _O_BINARY
        if not self._journal_size:  # a new journal: ``load`` with the lock compacted any other
            os.makedirs(self._directory, exist_ok=True)
            self._journal_fd = os.open(self.journal_path, flags | os.O_EXCL, 0o644)
            header = {"format": JOURNAL_FORMAT, "version": VERSION}
            try:
                self._append_durably((canonical_json(header) + "\n").encode())
                _fsync_dir(self._directory)
            except OSError:
                os.close(self._journal_fd)
                self._journal_fd = None
                self._journal_size = 0
                with contextlib.suppress(OSError):
                    os.remove(self.journal_path)
                raise
            return
        fd = os.open(self.journal_path, flags)  # ours, reopened after ``close``
        if os.fstat(fd).st_size != self._journal_size:
            os.close(fd)
            raise FileExistsError(self.journal_path)
        self._journal_fd = fd

    def _append_durably(self, data: bytes) -> None:
        fd = self._journal_fd
        assert fd is not None
        try:
            _write_all(fd, data)
            os.fsync(fd)
        except OSError:
            # Leave no partial line behind for the next record to follow.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self._journal_size)
            raise
        self._journal_size += len(data)

    def _write_atomically(self) -> None:
        path = os.fspath(self.path)
        text = _dumps(self._document()).encode()
        tmp = os.path.join(self._directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
        try:
            os.makedirs(self._directory, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o644)
            try:
                _write_all(fd, text)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
            _fsync_dir(self._directory)
        except OSError as e:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise LedgerError(f"cannot write ledger {path}: {e.strerror}") from e

    def _document(self) -> dict[str, Any]:
        targets = {
            t: {p: {s: _data(es) for s, es in sections.items()} for p, sections in ps.items()}
            for t, ps in self._targets.items()
        }
        return {"format": FORMAT, "version": VERSION, "targets": targets}

    def _items(self, value: object, where: str) -> Iterable[tuple[str, Any]]:
        if not isinstance(value, dict):
            raise self._corrupt(f"is invalid: {where} is not a JSON object")
        return value.items()


_O_BINARY: int = getattr(os, "O_BINARY", 0)


def _empty() -> dict[str, dict[str, LedgerEntry]]:
    return {"flags": {}, "links": {}}


def _data(entries: Mapping[str, LedgerEntry]) -> dict[str, Any]:
    return {name: e.data for name, e in entries.items()}


def _dumps(document: Mapping[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _write_all(fd: int, data: bytes) -> None:
    written = 0
    while written < len(data):
        written += os.write(fd, data[written:])


def _fsync_dir(directory: str) -> None:
    """Make a rename or a new file in ``directory`` durable (not possible on Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    with contextlib.suppress(OSError):
        os.fsync(fd)
    os.close(fd)
