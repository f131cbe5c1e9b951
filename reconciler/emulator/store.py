"""The emulator's state: projects, their flags and flag links, behind one lock.

Every create checks and inserts under the lock, so that of many concurrent creates of one key
exactly one succeeds and the rest get 409. With a data file, the new state is written before the
create returns; if that write fails, the create is undone and answered with a 500.
Representations never change once stored, so readers may serialise them outside the lock.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.emulator import datafile, representation
from reconciler.emulator.responses import ApiProblem, conflict, invalid, not_found
from reconciler.emulator.validation import NewFlag, NewLink
from reconciler.errors import InputError

Clock = Callable[[], float]


@dataclass
class _Project:
    flags: dict[str, dict[str, Any]] = field(default_factory=dict)
    links: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class Store:
    """Thread-safe state; optionally persisted to ``data_path`` after every create."""

    def __init__(
        self,
        projects: Iterable[str] = (),
        *,
        data_path: Path | None = None,
        clock: Clock = time.time,
    ) -> None:
        self._lock = threading.Lock()
        self._projects: dict[str, _Project] = {}
        self._data_path = data_path
        self._clock = clock
        if data_path is not None:
            if not data_path.parent.is_dir():
                raise InputError(f"{data_path}: its directory does not exist")
            saved = datafile.read(data_path)
            if saved is not None:
                self._load(data_path, saved["projects"])
        for key in projects:
            self._projects.setdefault(key, _Project())

    # -- creates ---------------------------------------------------------------------------

    def create_flag(self, project: str, spec: NewFlag, *, archived: bool = False) -> dict[str, Any]:
        with self._lock:
            proj = self._project(project)
            clash = proj.flags.get(spec.key)
            if clash is not None:
                state = "an archived flag" if clash["archived"] else "a flag"
                raise conflict(
                    f"The key {spec.key!r} is already used by {state} in project {project!r}"
                )
            self._check_prerequisites(proj, spec)
            rep = representation.flag(project, spec, now_ms=self._now_ms(), archived=archived)
            proj.flags[spec.key] = rep
            try:
                self._persist()
            except OSError as e:
                del proj.flags[spec.key]
                raise ApiProblem(500, "internal_server_error", f"cannot save: {e}") from e
            return rep

    def create_link(self, project: str, flag_key: str, spec: NewLink) -> dict[str, Any]:
        with self._lock:
            proj = self._project(project)
            self._flag(proj, project, flag_key)
            existing = proj.links.setdefault(flag_key, [])
            if spec.key is not None and any(r.get("_key") == spec.key for r in existing):
                raise conflict(f"A flag link with key {spec.key!r} already exists on {flag_key!r}")
            rep = representation.flag_link(project, flag_key, spec, now_ms=self._now_ms())
            existing.append(rep)
            try:
                self._persist()
            except OSError as e:
                existing.pop()
                raise ApiProblem(500, "internal_server_error", f"cannot save: {e}") from e
            return rep

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
        with self._lock:
            self._projects.setdefault(project, _Project())

    def flags(self, project: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self.all_flags(project))

    def links(self, project: str, flag_key: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self.flag_links(project, flag_key))

    # -- internals ----------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _project(self, project: str) -> _Project:
        proj = self._projects.get(project)
        if proj is None:
            raise not_found(f"Unknown project key {project!r}")
        return proj

    def _flag(self, proj: _Project, project: str, flag_key: str) -> dict[str, Any]:
        rep = proj.flags.get(flag_key)
        if rep is None:
            raise not_found(f"Unknown flag key {flag_key!r} in project {project!r}")
        return rep

    def _check_prerequisites(self, proj: _Project, spec: NewFlag) -> None:
        for i, (key, variation_id) in enumerate(spec.prerequisites):
            where = f"initialPrerequisites[{i}]"
            target = proj.flags.get(key)
            if target is None:
                raise invalid(f"{where}.key: unknown flag {key!r}")
            if target["archived"]:
                raise invalid(f"{where}.key: flag {key!r} is archived")
            if variation_id not in {v["_id"] for v in target["variations"]}:
                raise invalid(
                    f"{where}.variationId: {variation_id!r} is not a variation of {key!r}"
                )

    def _persist(self) -> None:
        if self._data_path is None:
            return
        datafile.write(
            self._data_path,
            {
                key: {"flags": list(p.flags.values()), "links": p.links}
                for key, p in self._projects.items()
            },
        )

    def _load(self, path: Path, projects: dict[str, Any]) -> None:
        for key, saved in projects.items():
            proj = self._projects.setdefault(key, _Project())
            for rep in saved.get("flags", []):
                if not isinstance(rep, dict) or not isinstance(rep.get("key"), str):
                    raise InputError(f"{path}: project {key!r} has a malformed flag")
                proj.flags[rep["key"]] = rep
            for flag_key, reps in saved.get("links", {}).items():
                if not isinstance(reps, list) or not all(isinstance(r, dict) for r in reps):
                    raise InputError(f"{path}: links of {key}/{flag_key} are malformed")
                proj.links[flag_key] = reps
