"""A policy as the configuration declares it: a CEL rule, its message and where it applies.

The configuration's JSON Schema checks the shape of each entry; this module turns a
checked entry (plain data and the location of each of its fields) into a ``Policy``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.files.positions import Document
from reconciler.model import Location

SEVERITIES = ("error", "warning")
SCOPES = ("flag", "project")


@dataclass(frozen=True)
class Policy:
    """One entry of ``policies`` in the configuration.

    ``projects`` is None for every project. ``locations`` maps each field the entry
    sets (``name``, ``expression``, ...) to where it is written, so a finding about a
    field points at its line; ``location`` is the entry itself.
    """

    name: str
    expression: str
    message: str
    location: Location
    severity: str = "error"
    field_path: str = ""
    projects: tuple[str, ...] | None = None
    scope: str = "flag"
    locations: Mapping[str, Location] = field(default_factory=dict)
    index: int = 0  # its position in ``policies``, for the findings' paths

    def at(self, name: str) -> Location:
        """Where field ``name`` of this entry is written (the entry, if it is not set)."""
        return self.locations.get(name, self.location)

    def path(self, name: str = "") -> str:
        """``policies[2].expression``: how findings about this entry name it."""
        return f"policies[{self.index}]" + (f".{name}" if name else "")

    def applies_to(self, project: str) -> bool:
        return self.projects is None or project in self.projects

    @property
    def blocks(self) -> bool:
        return self.severity == "error"


def policy_from_data(
    data: Mapping[str, Any],
    location: Location,
    locations: Mapping[str, Location] | None = None,
    index: int = 0,
) -> Policy:
    """The ``Policy`` of one configuration entry (already checked against the schema)."""
    projects = data.get("projects")
    return Policy(
        name=str(data.get("name", "")),
        expression=str(data.get("expression", "")),
        message=str(data.get("message", "")),
        location=location,
        severity=str(data.get("severity", "error")),
        field_path=str(data.get("fieldPath", "")),
        projects=None if projects is None else tuple(str(p) for p in projects),
        scope=str(data.get("scope", "flag")),
        locations=dict(locations or {}),
        index=index,
    )


def policies_from_document(doc: Document) -> list[Policy]:
    """The ``policies`` of a loaded configuration document, each field located."""
    entries = doc.data.get("policies") or [] if isinstance(doc.data, dict) else []
    policies = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue  # the configuration's schema says what is wrong with it
        locations = {name: doc.locate(["policies", index, name]) for name in entry}
        policies.append(policy_from_data(entry, doc.locate(["policies", index]), locations, index))
    return policies
