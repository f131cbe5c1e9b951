"""What a plan says about a clone's source before the clone is created.

A source declared in the files is created first (the clone's create depends on it). A
source that is not declared must exist in LaunchDarkly and be live: a live plan knows
(observe reads the project's flags, clone sources included), and blocks a clone of a
missing or archived flag, so nothing is sent; an offline plan cannot know, and says so.
"""

from __future__ import annotations

from collections.abc import Container
from typing import NamedTuple

from reconciler.model import FlagSpec, flag_address
from reconciler.remote.observe import ExistingState

COPIES = "copies variations, defaults, targeting from"
"""What the plan's formats say a clone takes from its source, before the source's address."""


class SourceCheck(NamedTuple):
    """The outcome for a clone's create: blocked (``reason`` says why) or a create,
    with a note in ``reason`` when the source could not be checked."""

    blocked: bool
    reason: str = ""


def check_source(spec: FlagSpec, existing: ExistingState, declared: Container[str]) -> SourceCheck:
    """Whether the source of ``spec`` (a clone) allows it to be created."""
    assert spec.clone is not None
    source = flag_address(spec.project, spec.clone)
    live = existing.flag(spec.project, spec.clone) if existing.live else None
    if live is not None and live.archived:
        return SourceCheck(
            True,
            f"the flag it clones, {source}, is archived in LaunchDarkly; restore it or clone "
            "another flag",
        )
    if source in declared or live is not None:
        return SourceCheck(False)
    if existing.live:
        return SourceCheck(
            True,
            f"the flag it clones, {spec.clone!r}, exists neither in the files nor in "
            f"LaunchDarkly project {spec.project!r}; declare it or clone an existing flag",
        )
    return SourceCheck(
        False,
        f"could not check that {source}, which it clones, exists: an offline plan sees only "
        "the ledger (a live plan checks it)",
    )
