"""The semantic rules a JSON Schema cannot express, and the specs they yield.

Runs on flags that passed the schema. Per flag: variation values unique and of one
type, ``defaults`` in range, migration rules, one maintainer, link keys unique (explicit
and derived). Across files, per project: flag keys unique, prerequisites naming a
declared flag and one of its variations, and no prerequisite cycles.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from reconciler.files.loader import Document
from reconciler.files.schema_errors import readable_path
from reconciler.model import Finding as _Finding
from reconciler.model import (
    FlagSpec,
    LinkSpec,
    Location,
    PrerequisiteSpec,
    canonical_json,
    derive_link_key,
)

_NOT_SENT = ("links", "initialPrerequisites")

# The variation values LaunchDarkly gives a migration flag, per stage count, so that a
# prerequisite can name a stage by value. The six are the SDKs' stage names in order;
# which subset 2 and 4 stages use is the reading of LaunchDarkly's documentation that
# the emulator also follows (reconciler/emulator/representation.py).
MIGRATION_STAGES: dict[int, tuple[str, ...]] = {
    2: ("off", "complete"),
    4: ("off", "shadow", "live", "complete"),
    6: ("off", "dualwrite", "shadow", "live", "rampdown", "complete"),
}


@dataclass
class _Declared:
    """A flag that passed the schema, with what the cross-file rules need."""

    doc: Document
    index: int
    data: dict[str, Any]
    project: str
    values: list[Any] | None  # None: the flag's variations are unknown
    spec: FlagSpec | None = None
    checked: bool = True  # False: the schema refused the flag's shape

    def path(self, *rest: Any) -> list[Any]:
        return ["flags", self.index, *rest]

    def at(self, *rest: Any, key: bool = False) -> Location:
        return self.doc.locate(self.path(*rest), key=key)


@dataclass
class RuleChecker:
    """Collects findings while checking the declared flags of all files."""

    findings: list[_Finding] = field(default_factory=list)
    _flags: dict[tuple[str, str], _Declared] = field(default_factory=dict)

    def report(self, flag: _Declared, path: list[Any], message: str, *, key: bool = False) -> None:
        self.findings.append(_Finding(flag.doc.locate(path, key=key), message, readable_path(path)))

    # -- per flag ---------------------------------------------------------------

    def add(self, doc: Document, index: int, data: Any, *, checked: bool = True) -> None:
        """Check one flag on its own and remember it for the cross-file rules.

        A flag whose shape the schema refused (``checked`` false) is only remembered,
        when it has a usable key, so that it still counts for key uniqueness and as a
        prerequisite target, without a second finding about the same mistake.
        """
        project = doc.data["project"]
        if not checked:
            if isinstance(data, dict) and isinstance(data.get("key"), str):
                self._flags.setdefault(
                    (project, data["key"]),
                    _Declared(doc, index, data, project, None, checked=False),
                )
            return
        flag = _Declared(doc, index, data, project, self._variation_values(data))
        first = self._flags.get((project, data["key"]))
        if first is not None:
            where = first.at("key")
            # An alias (``- *anchor``) repeats a flag: the loader places both copies at the
            # anchor's node, and "first at" the same place would read as nonsense.
            again = (
                f"(first at {where})"
                if where != flag.at("key")
                else f"(a YAML alias repeats flags[{first.index}])"
            )
            self.report(
                flag,
                flag.path("key"),
                f"flag {data['key']!r} is declared twice in project {project!r} {again}",
            )
            return
        self._flags[(project, data["key"])] = flag
        ok = self._check_variations(flag)
        ok = self._check_migration(flag) and ok
        ok = self._check_maintainer(flag) and ok
        links = self._links(flag)
        if ok and links is not None:
            fields = {k: v for k, v in data.items() if k not in _NOT_SENT}
            flag.spec = FlagSpec(project, data["key"], fields, flag.at(), (), links)

    @staticmethod
    def _variation_values(data: dict[str, Any]) -> list[Any] | None:
        if data.get("purpose") == "migration":
            settings = data.get("migrationSettings")
            if settings is None:
                return None  # unknown: the flag's own finding asks for migrationSettings
            return list(MIGRATION_STAGES[settings["stageCount"]])
        if "variations" in data:
            return [v["value"] for v in data["variations"]]
        return [True, False]

    def _check_variations(self, flag: _Declared) -> bool:
        data = flag.data
        ok = True
        variations = data.get("variations", [])
        kinds: dict[str, int] = {}
        seen: dict[tuple[str, Any], int] = {}
        for i, variation in enumerate(variations):
            value = variation["value"]
            if value is None:
                self.report(
                    flag, flag.path("variations", i, "value"), "a variation value cannot be null"
                )
                ok = False
                continue
            kinds.setdefault(_value_kind(value), i)
            identity = _value_identity(value)
            if identity in seen:
                self.report(
                    flag,
                    flag.path("variations", i, "value"),
                    f"the value {canonical_json(value)} is already variation {seen[identity]}; "
                    "variation values must be unique",
                )
                ok = False
            seen.setdefault(identity, i)
        if len(kinds) > 1:
            (first_kind, _), (other_kind, other_index) = sorted(
                kinds.items(), key=lambda kv: kv[1]
            )[:2]
            self.report(
                flag,
                flag.path("variations", other_index, "value"),
                f"this value is {other_kind} but variation 0 is {first_kind}; "
                "all variations of a flag share one type (boolean, string, number or JSON)",
            )
            ok = False
        defaults = data.get("defaults")
        if defaults is not None and "purpose" not in data:
            count = len(variations) if variations else 2
            has = (
                f"the flag has {count} variations"
                if variations
                else "with no variations listed, the flag has 2 (true and false)"
            )
            for name in ("onVariation", "offVariation"):
                if defaults[name] >= count:
                    self.report(
                        flag,
                        flag.path("defaults", name),
                        f"{defaults[name]} is out of range ({has}, indices 0 to {count - 1})",
                    )
                    ok = False
        return ok

    def _check_migration(self, flag: _Declared) -> bool:
        data = flag.data
        settings = data.get("migrationSettings")
        if data.get("purpose") != "migration":
            if settings is not None:
                self.report(
                    flag,
                    flag.path("migrationSettings"),
                    "migrationSettings is only for migration flags; add purpose: migration",
                    key=True,
                )
                return False
            return True
        ok = True
        for name in ("variations", "defaults"):
            if name in data:
                self.report(
                    flag,
                    flag.path(name),
                    f"a migration flag has no {name}: LaunchDarkly makes one variation per stage",
                    key=True,
                )
                ok = False
        if settings is None:
            self.report(
                flag,
                flag.path("purpose"),
                "a migration flag needs migrationSettings with stageCount 2, 4 or 6",
            )
            return False
        stages = settings["stageCount"]
        if stages == 6 and "contextKind" not in settings:
            self.report(
                flag,
                flag.path("migrationSettings"),
                "a 6-stage migration needs contextKind (the context kind whose data moves)",
            )
            ok = False
        if stages != 6 and "contextKind" in settings:
            self.report(
                flag,
                flag.path("migrationSettings", "contextKind"),
                f"contextKind is only for 6-stage migrations; this one has {stages} stages",
                key=True,
            )
            ok = False
        return ok

    def _check_maintainer(self, flag: _Declared) -> bool:
        if "maintainerId" in flag.data and "maintainerTeamKey" in flag.data:
            self.report(
                flag,
                flag.path("maintainerTeamKey"),
                "give maintainerId or maintainerTeamKey, not both",
                key=True,
            )
            return False
        return True

    def _links(self, flag: _Declared) -> tuple[LinkSpec, ...] | None:
        specs: list[LinkSpec] = []
        used: dict[str, int] = {}
        ok = True
        links = flag.data.get("links", [])
        where = flag.doc.locate_items(flag.path("links")) if links else []
        for i, link in enumerate(links):
            derived = "key" not in link
            key = derive_link_key(link) if derived else link["key"]
            if key in used:
                first = flag.at("links", used[key])
                if derived:
                    message = (
                        f"this link points where link {used[key]} does (at {first}); "
                        "give one of them an explicit key"
                    )
                else:
                    message = (
                        f"link key {key!r} is used twice on flag {flag.data['key']!r} "
                        f"(first at {first})"
                    )
                self.report(flag, flag.path("links", i), message)
                ok = False
                continue
            used[key] = i
            fields = {"key": key, **{k: v for k, v in link.items() if k != "key"}}
            specs.append(
                LinkSpec(flag.project, flag.data["key"], key, fields, where[i], derived)
            )
        return tuple(specs) if ok else None

    # -- across files -----------------------------------------------------------

    def finish(self) -> list[FlagSpec]:
        """Apply the cross-file rules; the specs of every flag that passed them all."""
        resolved: dict[tuple[str, str], FlagSpec] = {}
        for (project, key), flag in self._flags.items():
            if not flag.checked:
                continue
            prerequisites = self._prerequisites(flag)
            if flag.spec is not None and prerequisites is not None:
                resolved[(project, key)] = FlagSpec(
                    flag.spec.project,
                    flag.spec.key,
                    flag.spec.fields,
                    flag.spec.location,
                    prerequisites,
                    flag.spec.links,
                )
        cyclic = self._cycles()
        return [spec for k, spec in sorted(resolved.items()) if k not in cyclic]

    def _prerequisites(self, flag: _Declared) -> tuple[PrerequisiteSpec, ...] | None:
        specs: list[PrerequisiteSpec] = []
        ok = True
        named: set[str] = set()
        for i, prereq in enumerate(flag.data.get("initialPrerequisites", [])):
            path = flag.path("initialPrerequisites", i)
            key = prereq["key"]
            target = self._flags.get((flag.project, key))
            if key in named:
                self.report(flag, [*path, "key"], f"{key!r} is named twice as a prerequisite")
                ok = False
                continue
            named.add(key)
            if target is None:
                elsewhere = sorted(p for p, k in self._flags if k == key)
                hint = (
                    f" (it is declared in project {elsewhere[0]!r}; "
                    "a prerequisite must be in the same project)"
                    if elsewhere
                    else ""
                )
                self.report(
                    flag,
                    [*path, "key"],
                    f"no flag {key!r} is declared in project {flag.project!r}{hint}",
                )
                ok = False
                continue
            if target.values is None:
                ok = False  # the target's own findings say what to fix
                continue
            index = self._variation_index(flag, path, prereq, target.values)
            if index is None:
                ok = False
                continue
            specs.append(PrerequisiteSpec(key, index, flag.doc.locate(path)))
        return tuple(specs) if ok else None

    def _variation_index(
        self, flag: _Declared, path: list[Any], prereq: dict[str, Any], values: list[Any]
    ) -> int | None:
        target_key = prereq["key"]
        if "variationIndex" in prereq:
            index: int = prereq["variationIndex"]
            if index < len(values):
                return index
            self.report(
                flag,
                [*path, "variationIndex"],
                f"{index} is out of range: flag {target_key!r} has {len(values)} variations",
            )
            return None
        wanted = _value_identity(prereq["variationValue"])
        for i, value in enumerate(values):
            if _value_identity(value) == wanted:
                return i
        shown = ", ".join(canonical_json(v) for v in values)
        self.report(
            flag,
            [*path, "variationValue"],
            f"flag {target_key!r} has no variation with this value (its values: {shown})",
        )
        return None

    def _cycles(self) -> set[tuple[str, str]]:
        """Report each prerequisite cycle once; the flags on a cycle."""
        graph = {
            k: [(k[0], p["key"]) for p in f.data.get("initialPrerequisites", [])]
            for k, f in self._flags.items()
            if f.checked
        }
        state: dict[tuple[str, str], int] = {}  # 1 on the stack, 2 done
        on_cycle: set[tuple[str, str]] = set()
        for start in sorted(graph):
            if state.get(start):
                continue
            stack: list[tuple[tuple[str, str], Iterable[tuple[str, str]]]] = [
                (start, iter(graph[start]))
            ]
            path = [start]
            state[start] = 1
            while stack:
                node, children = stack[-1]
                child = next(iter(children), None)
                if child is None:
                    state[node] = 2
                    stack.pop()
                    path.pop()
                    continue
                if child not in graph:
                    continue
                if state.get(child) == 1:
                    cycle = path[path.index(child) :]
                    on_cycle.update(cycle)
                    self._report_cycle(cycle)
                elif not state.get(child):
                    state[child] = 1
                    path.append(child)
                    stack.append((child, iter(graph[child])))
        return on_cycle

    def _report_cycle(self, cycle: list[tuple[str, str]]) -> None:
        """Report a cycle at the first of its flags in the files, read from that flag on,
        pointing at the prerequisite that leads into the rest of the cycle."""
        first = min(range(len(cycle)), key=lambda i: self._flags[cycle[i]].at())
        cycle = cycle[first:] + cycle[:first]
        flag = self._flags[cycle[0]]
        following = cycle[1 % len(cycle)][1]
        index = next(
            i for i, p in enumerate(flag.data["initialPrerequisites"]) if p["key"] == following
        )
        if len(cycle) == 1:
            message = f"flag {following!r} cannot be its own prerequisite"
        else:
            names = " -> ".join(k[1] for k in [*cycle, cycle[0]])
            message = f"prerequisites form a cycle: {names}"
        self.report(flag, flag.path("initialPrerequisites", index, "key"), message)


def _value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "JSON"


def _value_identity(value: Any) -> tuple[str, Any]:
    """Values compare as LaunchDarkly compares them: 1 and 1.0 are one number.

    Scalars compare directly (the common case, and cheap); JSON values by their
    canonical text, with the numbers inside them compared the same way.
    """
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, (int, float)):
        return ("number", float(value))
    if isinstance(value, str):
        return ("string", value)
    return ("json", canonical_json(_floats(value)))


def _floats(value: Any) -> Any:
    """``value`` with every number as a float: [1, {"a": 2}] as [1.0, {"a": 2.0}]."""
    if isinstance(value, list):
        return [_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value
