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
an entry may also hold ``accepted``, the digest of differences from LaunchDarkly a user
accepted (optional: older ledgers, and entries with nothing accepted, have none);
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
ledger file itself is only ever replaced atomically, so it is never torn (both with
``reconciler.state.durable``). ``load`` replays
the journal; a crash can only tear the journal's last line, whose record never
returned, and that line is ignored. ``compact`` (at the end of apply, and in ``load``
when the caller holds the lock) folds the journal into the ledger and then removes it;
journal records are idempotent upserts, so a crash between the two replays harmlessly.

Writes need the ledger's lock (``reconciler.state.lock``): a ledger loaded with ``lock=`` is
writable, one loaded without is read-only.

This module owns the ledger in memory, its queries and its writes; ``entry`` owns an entry
and its JSON form, ``ledgerfile`` the file's and the journal's formats.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from reconciler.errors import LedgerError
from reconciler.model import FlagSpec, LinkSpec, netstring_line
from reconciler.state import durable, ledgerfile
from reconciler.state.entry import SECTION, Action, Kind, LedgerEntry
from reconciler.state.ledgerfile import FORMAT, JOURNAL_FORMAT, VERSION
from reconciler.state.lock import Clock, LedgerLock, timestamp, utc_now

__all__ = [
    "FORMAT", "JOURNAL_FORMAT", "VERSION", "Action", "Kind", "Ledger", "LedgerEntry",
]  # fmt: skip

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
        self._journal = durable.Journal(
            self.journal_path, ledgerfile.JOURNAL_HEADER, keep_open=True
        )
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
        journal = _read(ledger.journal_path)
        raw = _read(os.fspath(path))
        if raw is None and not create and journal is None:
            raise LedgerError(f"no ledger at {os.fspath(path)}")
        if raw is not None:
            ledger._targets = ledgerfile.parse(path, raw)
        if journal is not None:
            ledger._put_all(ledgerfile.replay(ledger.journal_path, journal))
        if lock is not None:
            durable.remove_temporary_files(path)
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
                        if e.accepted is not None:
                            h.update(netstring_line(("accepted", e.accepted)).encode())
        return "sha256:" + h.hexdigest()

    @property
    def data(self) -> dict[str, Any]:
        """The whole ledger as the JSON document written to the file."""
        with self._mutex:
            return self._document()

    def dumps(self) -> str:
        """The ledger file's text."""
        return ledgerfile.dumps(self.data)

    # Writes

    def record(self, target: str, entry: LedgerEntry) -> None:
        """Record ``entry``; it is on disk (in the journal) when this returns."""
        self._require_lock()
        if not target:
            raise ValueError("target must be a non-empty string")
        line = ledgerfile.journal_record(target, entry)
        with self._mutex:
            self._append(line)
            self._put(target, entry)
            self.records += 1

    def record_flag(
        self,
        target: str,
        spec: FlagSpec,
        *,
        action: Action,
        variation_ids: Sequence[str],
        accepted: str | None = None,
    ) -> LedgerEntry:
        """Record a created or adopted flag, stamped with the ledger's clock."""
        at = timestamp(self._clock())
        entry = LedgerEntry.for_flag(
            spec, action=action, variation_ids=variation_ids, at=at, accepted=accepted
        )
        self.record(target, entry)
        return entry

    def record_link(
        self,
        target: str,
        spec: LinkSpec,
        *,
        action: Action,
        link_id: str | None,
        accepted: str | None = None,
    ) -> LedgerEntry:
        """Record a created or adopted link, stamped with the ledger's clock."""
        entry = LedgerEntry.for_link(
            spec, action=action, link_id=link_id, at=timestamp(self._clock()), accepted=accepted
        )
        self.record(target, entry)
        return entry

    def forget(self, target: str, entries: Iterable[LedgerEntry]) -> None:
        """Stop tracking ``entries`` of ``target``, and write the ledger at once.

        Written whole and atomically, never journaled (the journal only adds): the journal
        is compacted first, so no record left in it can bring a forgotten entry back.
        """
        self.compact()
        with self._mutex:
            projects = self._targets.get(target, {})
            for entry in entries:
                sections = projects.get(entry.project)
                if sections is not None:
                    sections[SECTION[entry.kind]].pop(entry.name, None)
                    if not sections["flags"] and not sections["links"]:
                        del projects[entry.project]
            if not projects:
                self._targets.pop(target, None)
            self.records += 1
            self._write_atomically()

    def save(self) -> None:
        """Write the whole ledger atomically (the journal, if any, stays valid)."""
        self._require_lock()
        with self._mutex:
            self._write_atomically()

    def compact(self) -> None:
        """Fold the journal into the ledger file, atomically; without a journal, do nothing."""
        self._require_lock()
        with self._mutex:
            if not self._journal.appended and not self._journal.exists:
                return
            self._write_atomically()
            try:
                self._journal.remove()
            except OSError as e:
                raise LedgerError(f"cannot remove {self.journal_path}: {e.strerror}") from e

    def close(self) -> None:
        """Close the journal (records already returned are on disk either way)."""
        with self._mutex:
            self._journal.close()

    # Internals

    @property
    def _directory(self) -> str:
        return os.path.dirname(os.fspath(self.path)) or "."

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

    def _put_all(self, entries: Iterator[tuple[str, LedgerEntry]]) -> None:
        for target, entry in entries:
            self._put(target, entry)

    def _put(self, target: str, entry: LedgerEntry) -> None:
        projects = self._targets.setdefault(target, {})
        sections = projects.get(entry.project)
        if sections is None:
            sections = projects[entry.project] = _empty()
        sections[SECTION[entry.kind]][entry.name] = entry

    def _append(self, line: bytes) -> None:
        try:
            # A new journal: ``load`` with the lock compacted any other.
            if not self._journal.appended:
                os.makedirs(self._directory, exist_ok=True)
            self._journal.append(line)
        except FileExistsError as e:
            raise LedgerError(
                f"ledger journal {self.journal_path} was written by another process while "
                "this one held the lock; is something writing the ledger without the lock?"
            ) from e
        except OSError as e:
            raise LedgerError(f"cannot write {self.journal_path}: {e.strerror}") from e

    def _write_atomically(self) -> None:
        path = os.fspath(self.path)
        text = ledgerfile.dumps(self._document()).encode()
        try:
            os.makedirs(self._directory, exist_ok=True)
            durable.replace(path, text)
        except OSError as e:
            raise LedgerError(f"cannot write ledger {path}: {e.strerror}") from e

    def _document(self) -> dict[str, Any]:
        return ledgerfile.document(self._targets)


def _read(path: str) -> bytes | None:
    try:
        return durable.read(path)
    except OSError as e:
        raise LedgerError(f"cannot read {path}: {e.strerror}") from e


def _empty() -> dict[str, dict[str, LedgerEntry]]:
    return {"flags": {}, "links": {}}
