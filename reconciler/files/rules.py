"""The semantic rules a JSON Schema cannot express, and the specs they yield.

Runs on flags that passed the schema. Per flag: variation values unique and of one
type, ``defaults`` in range (``variations``), migration rules (``migration``), one
maintainer, link keys unique, explicit and derived (``links``). Across files, per
project: flag keys unique (here), prerequisites naming a declared flag and one of its
variations, clones declaring nothing their source gives them (``clones``), and no
cycle through prerequisites and clones (``prerequisites``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.files.clones import check_clone, clone_source, copy_values
from reconciler.files.declared import Declared
from reconciler.files.links import link_specs
from reconciler.files.migration import check_migration
from reconciler.files.positions import Document
from reconciler.files.prerequisites import FlagKey, cycles, prerequisite_specs
from reconciler.files.variations import check_variations, variation_values
from reconciler.model import Finding, FlagSpec

_NOT_SENT = ("links", "initialPrerequisites", "clone")


@dataclass
class RuleChecker:
    """Collects findings while checking the declared flags of all files."""

    findings: list[Finding] = field(default_factory=list)
    _flags: dict[FlagKey, Declared] = field(default_factory=dict)

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
                    Declared(doc, index, data, project, None, checked=False),
                )
            return
        flag = Declared(doc, index, data, project, variation_values(data))
        findings = self.findings
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
            findings.append(
                flag.finding(
                    flag.path("key"),
                    f"flag {data['key']!r} is declared twice in project {project!r} {again}",
                )
            )
            return
        self._flags[(project, data["key"])] = flag
        ok = check_variations(flag, findings)
        ok = check_migration(flag, findings) and ok
        ok = _check_maintainer(flag, findings) and ok
        ok = check_clone(flag, findings) and ok
        links = link_specs(flag, findings)
        if ok and links is not None:
            fields = {k: v for k, v in data.items() if k not in _NOT_SENT}
            clone = clone_source(data)
            own = doc.source.own_fields(index)
            flag.spec = FlagSpec(
                project, data["key"], fields, flag.at(), (), links, clone, own
            )

    def finish(self) -> list[FlagSpec]:
        """Apply the cross-file rules; the specs of every flag that passed them all."""
        resolved: dict[FlagKey, FlagSpec] = {}
        copy_values(self._flags)
        for (project, key), flag in self._flags.items():
            if not flag.checked:
                continue
            prerequisites = prerequisite_specs(flag, self._flags, self.findings)
            if flag.spec is not None and prerequisites is not None:
                resolved[(project, key)] = FlagSpec(
                    flag.spec.project,
                    flag.spec.key,
                    flag.spec.fields,
                    flag.spec.location,
                    prerequisites,
                    flag.spec.links,
                    flag.spec.clone,
                    flag.spec.own,
                )
        cyclic = cycles(self._flags, self.findings)
        return [spec for k, spec in sorted(resolved.items()) if k not in cyclic]


def _check_maintainer(flag: Declared, findings: list[Finding]) -> bool:
    if "maintainerId" in flag.data and "maintainerTeamKey" in flag.data:
        findings.append(
            flag.finding(
                flag.path("maintainerTeamKey"),
                "give maintainerId or maintainerTeamKey, not both",
                key=True,
            )
        )
        return False
    return True
