"""What a policy looks at: a flag as it will be sent, and where each of its fields is written.

The engine takes plain data so that it can be fed from a loaded document, from a
``DesiredState`` or from the configuration's resolved flags: the flag's fields (after
defaults and templates), its project and file, its location, and a function that
locates a field path (None: the flag does not set it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.files.positions import Document
from reconciler.model import Location

Locator = Callable[[Sequence[str | int]], "Location | None"]


def _nowhere(_path: Sequence[str | int]) -> Location | None:
    return None


# LaunchDarkly's own defaults for what a flag leaves out, so a rule may read any of these
# fields without ``has()``: a policy sees the flag LaunchDarkly will hold.
LAUNCHDARKLY_DEFAULTS: Mapping[str, Any] = {
    "description": "",
    "temporary": True,
    "tags": [],
    "variations": [{"value": True}, {"value": False}],
    "defaults": {"onVariation": 0, "offVariation": 1},
    "clientSideAvailability": {"usingEnvironmentId": False, "usingMobileKey": False},
    "maintainerId": "",
    "maintainerTeamKey": "",
    "customProperties": {},
    "initialPrerequisites": [],
    "links": [],
    "template": "",
    "clone": "",
}


@dataclass(frozen=True)
class FlagSubject:
    """One flag, as a flag rule sees it."""

    project: str
    file: str
    fields: Mapping[str, Any]
    location: Location
    locate_path: Locator = _nowhere

    @property
    def key(self) -> str:
        return str(self.fields.get("key", ""))

    def view(self) -> dict[str, Any]:
        """The flag with LaunchDarkly's defaults filled in (``links`` always a list)."""
        # Shallow: the CEL library converts the values and never changes them.
        view = {k: v for k, v in LAUNCHDARKLY_DEFAULTS.items() if k not in self.fields}
        view.update(self.fields)
        return view

    def locate(self, steps: Sequence[str | int]) -> Location:
        """Where ``steps`` is written; the flag itself when it does not set it."""
        if not steps:
            return self.location
        return self.locate_path(steps) or self.location


def subject_from_document(
    doc: Document, index: int, file: str | None = None, location: Location | None = None
) -> FlagSubject:
    """The flag at ``flags[index]`` of a loaded flag file, located by its source map
    (``location``, when given, is where it is: ``doc.locate_items(["flags"])[index]``)."""
    data = doc.data
    flag = data["flags"][index]

    def locate(steps: Sequence[str | int]) -> Location | None:
        node: Any = flag
        for step in steps:  # only a path the flag sets has a location of its own
            try:
                node = node[step]
            except (KeyError, IndexError, TypeError):
                return None
        return doc.locate(["flags", index, *steps])

    return FlagSubject(
        project=str(data.get("project", "")),
        file=file if file is not None else doc.file,
        fields=flag,
        location=location if location is not None else doc.locate(["flags", index]),
        locate_path=locate,
    )
