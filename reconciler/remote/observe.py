"""Observing what exists: from LaunchDarkly in bulk, or from the ledger alone.

Live observation reads each project's flags by paged list (``limit=100``), live and
archived, and lists the links only of flags that declare links the ledger does not
already know from the spec the file declares now. When a project holds far more flags
than the files declare, fetching the declared flags one by one is cheaper; the first
page's ``totalCount`` decides.
Never one GET per flag when a list will do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from reconciler.model import DesiredState, FlagSpec, LinkSpec
from reconciler.plan.compare import variation_ids

if TYPE_CHECKING:
    from reconciler.state.ledger import Ledger, LedgerEntry

PAGE = 100


class FlagSource(Protocol):
    """The reads of flags and links (``LaunchDarklyClient`` fits): what export needs."""

    def list_flags(
        self, project: str, *, archived: bool = False, limit: int = 100, offset: int = 0
    ) -> Iterable[dict[str, Any]]: ...

    def get_flag(self, project: str, key: str) -> dict[str, Any] | None: ...

    def list_links(self, project: str, flag_key: str) -> list[dict[str, Any]]: ...


class FlagReader(FlagSource, Protocol):
    """What observation reads: those, and flags a page at a time (``LaunchDarklyClient`` fits)."""

    def list_flags_page(
        self, project: str, *, offset: int = 0, limit: int = 100, archived: bool = False
    ) -> Any: ...


@dataclass(frozen=True)
class ExistingFlag:
    """A flag that exists in LaunchDarkly (possibly archived)."""

    key: str
    archived: bool
    data: Mapping[str, Any]

    @property
    def variation_ids(self) -> tuple[str, ...]:
        return variation_ids(self.data)


@dataclass
class ExistingState:
    """What exists. ``live`` is false when only the ledger was consulted.

    ``links`` holds, per (project, flag key), the links of flags whose links were
    listed; a flag missing there had its links taken from the ledger.
    """

    live: bool
    flags: dict[tuple[str, str], ExistingFlag] = field(default_factory=dict)
    links: dict[tuple[str, str], dict[str, Mapping[str, Any]]] = field(default_factory=dict)
    strategy: dict[str, str] = field(default_factory=dict)

    def flag(self, project: str, key: str) -> ExistingFlag | None:
        return self.flags.get((project, key))


def observe_offline() -> ExistingState:
    """Nothing is read from LaunchDarkly: the plan rests on the ledger alone."""
    return ExistingState(live=False)


def observe_live(
    reader: FlagReader, desired: DesiredState, ledger: Ledger, target: str
) -> ExistingState:
    """Read what exists for every declared project, in as few calls as possible."""
    state = ExistingState(live=True)
    for project in desired.projects:
        declared = desired.flags_of(project)
        _observe_flags(reader, project, declared, state)
        known_links = ledger.links(target, project)
        for spec in declared:
            existing = state.flag(project, spec.key)
            if existing is None or not spec.links:
                continue
            if existing.archived and ledger.get_flag(target, project, spec.key) is None:
                continue  # the plan blocks the flag and its links: nothing to compare
            if all(_known(known_links.get(f"{spec.key}/{link.key}"), link) for link in spec.links):
                continue
            state.links[(project, spec.key)] = {
                str(item.get("_key")): item
                for item in reader.list_links(project, spec.key)
                if item.get("_key")
            }
    return state


def _known(recorded: LedgerEntry | None, link: LinkSpec) -> bool:
    """Whether the ledger's record of ``link`` can stand for LaunchDarkly's: recorded, from
    the spec the file declares now (a file changed since is compared with the live link)."""
    return recorded is not None and recorded.digest == link.digest


def _observe_flags(
    reader: FlagReader, project: str, declared: tuple[FlagSpec, ...], state: ExistingState
) -> None:
    first = reader.list_flags_page(project, offset=0, limit=PAGE)
    _add(state, project, first.items, archived=False)
    # A clone's source is looked for too: the plan blocks a clone of a flag that is not there.
    wanted = {spec.key for spec in declared} | {s.clone for s in declared if s.clone is not None}
    missing = wanted - {item["key"] for item in first.items}
    full_page = len(first.items) >= PAGE
    if full_page and first.total_count is None:
        # No count to weigh the pages against: listing costs at most a call per page of
        # flags, fetching one by one a call per missing declared flag, possibly thousands.
        one_by_one = False
    else:
        total = first.total_count or 0
        remaining_live_pages = math.ceil(max(total - PAGE, 0) / PAGE) if full_page else 0
        listing_cost = remaining_live_pages + 1  # the archived list costs at least one call
        one_by_one = len(missing) < listing_cost
    if one_by_one:
        state.strategy[project] = f"get {len(missing)} declared flag(s) one by one"
        for key in sorted(missing):
            found = reader.get_flag(project, key)
            if found is not None:
                state.flags[(project, key)] = ExistingFlag(key, bool(found.get("archived")), found)
        return
    state.strategy[project] = "list all flags"
    if full_page:
        rest = reader.list_flags(project, limit=PAGE, offset=PAGE)
        _add(state, project, rest, archived=False)
    _add(state, project, reader.list_flags(project, archived=True, limit=PAGE), archived=True)


def _add(
    state: ExistingState, project: str, items: Iterable[dict[str, Any]], *, archived: bool
) -> None:
    for item in items:
        key = str(item["key"])
        state.flags[(project, key)] = ExistingFlag(
            key, archived or bool(item.get("archived")), item
        )
