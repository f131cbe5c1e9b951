"""Clones: a flag that says ``clone: SOURCE_KEY`` is created as a copy of that flag.

The copy takes from its source everything ``SOURCE_FIELDS`` names, so declaring one of
them beside ``clone`` is a finding. The source is a flag of the same project: declared in
the files (then created first; ``prerequisites.cycles`` refuses a cycle through clones),
or one that exists only in LaunchDarkly (checked by a live plan). A clone of a declared
flag has that flag's variation values, so a prerequisite may name one of them.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.files.declared import Declared
from reconciler.files.prerequisites import FlagKey
from reconciler.model import Finding

# What the copy takes from its source. UNCONFIRMED: LaunchDarkly's documentation does not say
# what it does with these beside ?clone=; the strict reading is chosen (refused here, and by the
# emulator with a 400), rather than letting the file claim a value the copy does not get.
# ``includeInSnippet`` is the deprecated form of ``clientSideAvailability.usingEnvironmentId``.
SOURCE_FIELDS = (
    "variations",
    "defaults",
    "purpose",
    "migrationSettings",
    "initialPrerequisites",
    "isFlagOn",
    "clientSideAvailability",
    "includeInSnippet",
)


def clone_source(data: Mapping[str, object]) -> str | None:
    """The key of the flag ``data`` is a copy of, or None for an ordinary flag."""
    source = data.get("clone")
    return source if isinstance(source, str) else None


def check_clone(flag: Declared, findings: list[Finding]) -> bool:
    """Whether a clone declares nothing its source gives it; a finding for each field that is."""
    source = clone_source(flag.data)
    if source is None:
        return True
    ok = True
    for name in SOURCE_FIELDS:
        if name in flag.data:
            message = f"a clone takes {name} from {source!r}; remove it"
            findings.append(flag.finding(flag.path(name), message, key=True))
            ok = False
    return ok


def copy_values(flags: Mapping[FlagKey, Declared]) -> None:
    """Give each clone the variation values of the declared flag its chain of clones starts
    from; a clone of a flag that is not declared (or of a cycle) has unknown values (None)."""
    for (project, _key), flag in flags.items():
        if not flag.checked or clone_source(flag.data) is None:
            continue
        seen = {id(flag)}
        root: Declared | None = flag
        while root is not None and (source := clone_source(root.data)) is not None:
            root = flags.get((project, source))
            if root is not None and id(root) in seen:
                root = None
            elif root is not None:
                seen.add(id(root))
        flag.values = None if root is None else root.values
