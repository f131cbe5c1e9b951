"""The emulator's state: projects, their flags and flag links, behind one lock.

Every create checks and inserts under the lock, so that of many concurrent creates of one key
exactly one succeeds and the rest get 409. With a data file, each create is appended to its
journal (``datafile``) before it returns; if that write fails, the create is undone and answered
with a 500. ``compact`` folds the journal into the data file; ``batch`` saves a series of creates
(a seed file) together or not at all. A store holds the data file's lock from ``open`` (on
construction) to ``close``, so that no two emulators write one data file.
Representations never change once stored, so readers may serialise them outside the lock.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from reconciler.emulator import clone, datafile, representation
from reconciler.emulator.datafile import ProjectState
from reconciler.emulator.responses import ApiProblem, conflict, invalid, not_found
from reconciler.emulator.validation import NewFlag, NewLink
from reconciler.errors import InputError

Clock = Callable[[], float]


class Store:
    """Thread-safe state; optionally persisted to ``data_path`` by every create."""

    def __init__(
        self,
        projects: Iterable[str] = (),
        *,
        data_path: Path | None = None,
        claim: datafile.Claim = datafile.IN_PROCESS,
        clock: Clock = time.time,
    ) -> None:
        self._lock = threading.Lock()
        self._initial = tuple(projects)
        self._projects = {key: ProjectState() for key in self._initial}
        self._data_path = data_path
        self._claim = claim
        self._journal: datafile.Journal | None = None
        self._held: weakref.finalize[[], Store] | None = None  # releases the data file's lock
        self._batching = False
        self._unsaved = False  # creates and projects that only compact() will save
        self._clock = clock
        if data_path is not None:
            if not data_path.parent.is_dir():
                raise InputError(f"{data_path}: its directory does not exist")
            self._journal = datafile.Journal(datafile.journal_path(data_path))
            self.open()

    def open(self) -> None:
        """Take the data file's lock (waiting as ``claim`` says) and load the file; again after
        ``close``. Raises ``LedgerLockedError`` naming the holder if another emulator keeps it."""
        if self._data_path is None or self._held is not None:
            return
        assert self._journal is not None
        # Released also if the store is dropped unclosed (an emulator built only to seed a file).
        held = weakref.finalize(self, datafile.lock(self._data_path, self._claim).release)
        try:
            saved = datafile.load(self._data_path)
            projects = {} if saved is None else saved
            for key in self._initial:
                projects.setdefault(key, ProjectState())
            with self._lock:
                self._projects = projects
                # A journal is one left by a crash (the lock is ours), maybe with a torn last
                # line: never append to it.
                self._unsaved = saved is not None and self._journal.exists
                self._held = held
            self.compact()
        except BaseException:
            self._held = None
            held()
            raise

    def close(self) -> None:
        """Fold what this store wrote into the data file (``compact``), then release the file's
        lock, even if that fails."""
        if self._held is None:
            return
        try:
            self.compact()
        finally:
            held, self._held = self._held, None
            held()

    # -- creates ---------------------------------------------------------------------------

    def create_flag(self, project: str, spec: NewFlag, *, archived: bool = False) -> dict[str, Any]:
        with self._lock:
            proj = self._project(project)
            self._refuse_taken(proj, project, spec.key)
            rep = representation.flag(
                project,
                spec,
                now_ms=self._now_ms(),
                archived=archived,
                prerequisites=self._prerequisites(proj, spec),
            )
            return self._insert(proj, project, rep)

    def clone_flag(
        self, project: str, source_key: str, spec: NewFlag, *, archived: bool = False
    ) -> dict[str, Any]:
        """Create ``spec`` as a copy of the flag ``source_key`` (``clone``), saved as a create."""
        with self._lock:
            proj = self._project(project)
            self._refuse_taken(proj, project, spec.key)
            source = clone.source_flag(proj.flags, source_key, project)
            rep = clone.flag(project, source, spec, now_ms=self._now_ms(), archived=archived)
            return self._insert(proj, project, rep)

    def create_link(self, project: str, flag_key: str, spec: NewLink) -> dict[str, Any]:
        with self._lock:
            proj = self._project(project)
            self._flag(proj, project, flag_key)
            existing = proj.links.setdefault(flag_key, [])
            if spec.key is not None and any(r.get("_key") == spec.key for r in existing):
                raise conflict(f"A flag link with key {spec.key!r} already exists on {flag_key!r}")
            rep = representation.flag_link(project, flag_key, spec, now_ms=self._now_ms())
            existing.append(rep)
            self._save({"project": project, "flagKey": flag_key, "link": rep}, undo=existing.pop)
            return rep

    # -- saving ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Creates in the block reach the data file together at its end; if it raises, they
        are undone and never saved. Only while nothing else uses the store (before serving)."""
        with self._lock:
            before = {
                key: ProjectState(dict(p.flags), {k: list(v) for k, v in p.links.items()})
                for key, p in self._projects.items()
            }
            unsaved = self._unsaved
            self._batching = True
        try:
            yield
        except BaseException:
            with self._lock:
                self._projects = before
                self._unsaved = unsaved
            raise
        finally:
            with self._lock:
                self._batching = False
        self.compact()

    def compact(self) -> None:
        """Write the whole state to the data file and remove the journal, if this store has
        changes that only its journal holds, or none does; else (a store that only read, or
        one without a data file), do nothing."""
        if self._journal is None:
            return
        assert self._data_path is not None
        with self._lock:
            if self._held is None or not (self._unsaved or self._journal.appended):
                return
            try:
                datafile.write(self._data_path, self._projects)
                self._journal.remove()
            except OSError as e:
                raise InputError(
                    f"{self._data_path}: cannot write the emulator data file: {e.strerror or e}"
                ) from e
            self._unsaved = False

    # -- reads (representations are immutable: no copies) -----------------------------------

    def has_project(self, project: str) -> bool:
        with self._lock:
            return project in self._projects

    def get_flag(self, project: str, flag_key: str) -> dict[str, Any]:
        with self._lock:
            return self._flag(self._project(project), project, flag_key)

    def all_flags(self, project: str) -> list[dict[str, Any]]:
        """Every flag of the project, archived included, in creation order."""
        with self._lock:
            return list(self._project(project).flags.values())

    def flag_links(self, project: str, flag_key: str) -> list[dict[str, Any]]:
        with self._lock:
            proj = self._project(project)
            self._flag(proj, project, flag_key)
            return list(proj.links.get(flag_key, ()))

    # -- inspection (deep copies, safe to modify) ----------------------------------------------

    def projects(self) -> list[str]:
        with self._lock:
            return list(self._projects)

    def add_project(self, project: str) -> None:
        """Add an empty project; refused once closed, as creates are: ``compact`` could not
        save it, and the next ``open`` would load the file without it."""
        with self._lock:
            if self._closed:
                raise RuntimeError(
                    f"cannot add project {project!r}: the emulator was stopped and its data "
                    "file is closed; start it again first"
                )
            if project not in self._projects:
                self._projects[project] = ProjectState()
                self._unsaved = True

    def flags(self, project: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self.all_flags(project))

    def links(self, project: str, flag_key: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self.flag_links(project, flag_key))

    # -- internals ----------------------------------------------------------------------------

    @property
    def _closed(self) -> bool:
        """Whether the store has a data file it does not hold (stopped): nothing can be saved."""
        return self._journal is not None and self._held is None

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _project(self, project: str) -> ProjectState:
        proj = self._projects.get(project)
        if proj is None:
            raise not_found(f"Unknown project key {project!r}")
        return proj

    def _flag(self, proj: ProjectState, project: str, flag_key: str) -> dict[str, Any]:
        rep = proj.flags.get(flag_key)
        if rep is None:
            raise not_found(f"Unknown flag key {flag_key!r} in project {project!r}")
        return rep

    def _refuse_taken(self, proj: ProjectState, project: str, key: str) -> None:
        clash = proj.flags.get(key)
        if clash is not None:
            state = "an archived flag" if clash["archived"] else "a flag"
            raise conflict(f"The key {key!r} is already used by {state} in project {project!r}")

    def _insert(self, proj: ProjectState, project: str, rep: dict[str, Any]) -> dict[str, Any]:
        key = rep["key"]
        proj.flags[key] = rep
        self._save({"project": project, "flag": rep}, undo=lambda: proj.flags.pop(key))
        return rep

    def _prerequisites(self, proj: ProjectState, spec: NewFlag) -> list[tuple[str, int]]:
        """The create's prerequisites by key and variation index (LaunchDarkly's ``Prerequisite``
        names the variation by index; the create names it by ``_id``)."""
        result = []
        for i, (key, variation_id) in enumerate(spec.prerequisites):
            where = f"initialPrerequisites[{i}]"
            target = proj.flags.get(key)
            if target is None:
                raise invalid(f"{where}.key: unknown flag {key!r}")
            if target["archived"]:
                raise invalid(f"{where}.key: flag {key!r} is archived")
            ids = [v["_id"] for v in target["variations"]]
            if variation_id not in ids:
                raise invalid(
                    f"{where}.variationId: {variation_id!r} is not a variation of {key!r}"
                )
            result.append((key, ids.index(variation_id)))
        return result

    def _save(self, record: Mapping[str, Any], *, undo: Callable[[], object]) -> None:
        """Make a create durable before it is answered (under the lock); if it cannot be, undo
        it and answer 500."""
        if self._journal is None:
            return
        if self._batching:
            self._unsaved = True
            return
        try:
            if self._closed:  # its lock is another emulator's to take
                raise OSError("the emulator was stopped: its data file is closed")
            self._journal.record(record)
        except OSError as e:
            undo()
            raise ApiProblem(500, "internal_server_error", f"cannot save: {e}") from e
