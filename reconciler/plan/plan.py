"""Planning: desired state against what exists, as sorted, immutable actions.

| action    | meaning                                                        | on apply       |
|-----------|----------------------------------------------------------------|----------------|
| create    | declared, does not exist                                       | 1 POST         |
| adopt     | declared, exists with matching settings, not yet recorded      | ledger only    |
| unchanged | declared, exists, recorded, nothing differs                    | nothing        |
| drift     | declared and exists, but the file or LaunchDarkly differs from | nothing: the   |
|           | what was created (or it was deleted/archived since)            | UI owns it     |
| orphan    | recorded in the ledger, no longer declared                     | nothing        |
| blocked   | cannot be created (the key belongs to an archived flag, or the | apply refuses  |
|           | flag a clone copies is missing or archived: ``clones.py``)     |                |

A plan is data: its actions (``action.py``) are frozen values with a ``.data`` dict, sorted by
address, so its JSON, its fingerprint and its text follow deterministically.
"""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reconciler.model import (
    DesiredState,
    FlagSpec,
    LinkSpec,
    canonical_json,
    flag_address,
    link_address,
    netstring_line,
)
from reconciler.plan import compare

# Re-exported: callers take Action and Kind from here, where plans are made.
from reconciler.plan.action import SUMMARY_ORDER as SUMMARY_ORDER
from reconciler.plan.action import Action as Action
from reconciler.plan.action import Kind as Kind
from reconciler.plan.clones import check_source
from reconciler.remote.observe import ExistingState

if TYPE_CHECKING:
    from reconciler.state.ledger import Ledger, LedgerEntry


@dataclass(frozen=True)
class Plan:
    """Every action, sorted; a summary; and a fingerprint of everything it rests on."""

    target: str
    live: bool
    actions: tuple[Action, ...]
    # What the fingerprints rest on. Only a saved or JSON plan needs them, so they are
    # hashed when first asked for: hashing 40,000 resources three ways was ~10% of an
    # offline plan that only shows text.
    desired: DesiredState | None = field(default=None, repr=False, compare=False)
    ledger: Ledger | None = field(default=None, repr=False, compare=False)
    ledger_records: int = field(default=0, repr=False, compare=False)
    # The flag files and directories the plan was made from, as given: what a saved plan
    # re-reads when applied without paths. Not in the fingerprint: the files' contents are.
    paths: tuple[str, ...] = field(default=(), compare=False)

    @functools.cached_property
    def desired_fingerprint(self) -> str:
        """What a saved plan is checked against, before any call, for the flag files."""
        return desired_fingerprint(self.desired) if self.desired is not None else ""

    @functools.cached_property
    def ledger_fingerprint(self) -> str:
        """What a saved plan is checked against, before any call, for the ledger."""
        if self.desired is None or self.ledger is None:
            return ""
        if self.ledger.records != self.ledger_records:  # a bug: it would describe another plan
            raise RuntimeError("the ledger changed after the plan was made")
        return ledger_fingerprint(self.desired, self.ledger, self.target)

    @functools.cached_property
    def fingerprint(self) -> str:
        """A digest of everything the plan rests on: a saved plan must match it exactly."""
        return _fingerprint(self.target, self.live, self.ledger_fingerprint, self.actions)

    def of(self, *kinds: Kind) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.kind in kinds)

    @property
    def counts(self) -> Counter[Kind]:
        return Counter(a.kind for a in self.actions)

    @property
    def has_changes(self) -> bool:
        return bool(self.of(Kind.CREATE, Kind.ADOPT))

    @property
    def summary(self) -> str:
        """``Plan: 3 to create, 1 to adopt, 12 unchanged, 1 drifted.``"""
        counts = self.counts
        parts = [f"{counts[kind]} {label}" for kind, label in SUMMARY_ORDER if counts[kind]]
        if not parts:
            return "Plan: nothing declared."
        if not counts[Kind.CREATE] and not counts[Kind.ADOPT]:
            parts.insert(0, "nothing to create")
        return "Plan: " + ", ".join(parts) + "."

    @property
    def data(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "mode": "live" if self.live else "offline",
            "fingerprint": self.fingerprint,
            "inputs": {"desired": self.desired_fingerprint, "ledger": self.ledger_fingerprint},
            **({"paths": list(self.paths)} if self.paths else {}),
            "summary": {kind.value: self.counts[kind] for kind, _ in SUMMARY_ORDER},
            "actions": [a.data for a in self.actions],
        }


def make_plan(desired: DesiredState, existing: ExistingState, ledger: Ledger, target: str) -> Plan:
    """Compare what the files declare with what exists and what was recorded."""
    actions: list[Action] = []
    declared_links: set[str] = set()
    clones = any(spec.clone is not None for spec in desired.flags)
    declared = {spec.address for spec in desired.flags} if clones else set()
    for spec in desired.flags:
        flag_action = _flag_action(spec, existing, ledger, target, declared)
        actions.append(flag_action)
        for link in spec.links:
            declared_links.add(link.address)
            actions.append(_link_action(link, flag_action, existing, ledger, target))
    actions.extend(_orphans(desired, declared_links, ledger, target))
    actions.sort(key=lambda a: a.sort_key)
    return Plan(target, existing.live, tuple(actions), desired, ledger, ledger.records)


def _fingerprint(target: str, live: bool, ledger: str, actions: Sequence[Action]) -> str:
    """A digest of everything a plan rests on: its target and mode, what the ledger
    records, and every action with all of its data (so every declared spec's digest).

    Hashed as one line per action rather than as one JSON document: JSON-encoding the
    data of 40,000 actions took longer than making them.
    """
    mode = "live" if live else "offline"
    h = hashlib.sha256(netstring_line(("ld-reconciler-plan", target, mode, ledger)).encode())
    for a in actions:
        diff = canonical_json([d.data for d in a.diff]) if a.diff else None
        fields = (a.kind.value, a.resource, a.project, a.flag_key, a.link_key, a.source)
        line = netstring_line((*fields, a.digest, a.reason, diff, *a.depends_on))
        h.update(line.encode())
    return "sha256:" + h.hexdigest()


def desired_fingerprint(desired: DesiredState) -> str:
    """A digest of every declared flag and link: its address, source and spec digest."""
    h = hashlib.sha256(netstring_line(("ld-reconciler-desired",)).encode())
    for spec in desired.flags:
        h.update(netstring_line(("flag", spec.address, str(spec.location), spec.digest)).encode())
        for link in spec.links:
            fields = ("link", link.address, str(link.location), link.digest)
            h.update(netstring_line(fields).encode())
    return "sha256:" + h.hexdigest()


def ledger_fingerprint(desired: DesiredState, ledger: Ledger, target: str) -> str:
    """A digest of what the ledger records for the target's declared and recorded projects."""
    return ledger.fingerprint(target, sorted({*desired.projects, *ledger.projects(target)}))


def _flag_action(
    spec: FlagSpec, existing: ExistingState, ledger: Ledger, target: str, declared: set[str]
) -> Action:
    recorded = ledger.get_flag(target, spec.project, spec.key)
    base: dict[str, Any] = {
        "resource": "flag",
        "project": spec.project,
        "flag_key": spec.key,
        "source": str(spec.location),
        "digest": spec.digest,
    }
    prerequisites = tuple(flag_address(spec.project, p.key) for p in spec.prerequisites)
    if spec.clone is not None:
        base["clone"] = flag_address(spec.project, spec.clone)
        if base["clone"] in declared:  # created first, like a prerequisite
            prerequisites = (*prerequisites, base["clone"])
        if recorded is None and existing.flag(spec.project, spec.key) is None:
            source = check_source(spec, existing, declared)
            kind = Kind.BLOCKED if source.blocked else Kind.CREATE
            deps = () if source.blocked else prerequisites
            return Action(kind, reason=source.reason, depends_on=deps, **base)
    if not existing.live:
        if recorded is None:
            return Action(Kind.CREATE, depends_on=prerequisites, **base)
        return _recorded_flag(spec, recorded, None, base)
    live = existing.flag(spec.project, spec.key)
    if live is None:
        if recorded is None:
            archived = [
                p.key
                for p in spec.prerequisites
                if (found := existing.flag(spec.project, p.key)) is not None and found.archived
            ]
            if archived:
                return Action(
                    Kind.BLOCKED,
                    reason=f"its prerequisite flag {archived[0]!r} is archived in LaunchDarkly; "
                    "restore it or remove the prerequisite",
                    **base,
                )
            return Action(Kind.CREATE, depends_on=prerequisites, **base)
        return Action(
            Kind.DRIFT,
            reason="deleted in LaunchDarkly since it was created; not re-created "
            "(remove it from the files, or from the ledger to create it again)",
            **base,
        )
    if live.archived:
        if recorded is None:
            return Action(
                Kind.BLOCKED,
                reason="the key belongs to an archived flag; restore that flag in "
                "LaunchDarkly or choose another key",
                **base,
            )
        return Action(Kind.DRIFT, reason="archived in LaunchDarkly since it was created", **base)
    if recorded is not None:
        return _recorded_flag(spec, recorded, live.data, base, live.variation_ids)
    diff = compare.flag_differences(spec.fields, live.data)
    if diff:
        return Action(
            Kind.DRIFT,
            reason="exists in LaunchDarkly with other settings; not adopted",
            diff=diff,
            **base,
        )
    return Action(Kind.ADOPT, variation_ids=live.variation_ids, **base)


def _recorded_flag(
    spec: FlagSpec,
    recorded: LedgerEntry,
    live: Mapping[str, Any] | None,
    base: dict[str, Any],
    variation_ids: tuple[str, ...] = (),
) -> Action:
    ids = variation_ids or recorded.variation_ids
    if recorded.digest != spec.digest:
        diff = compare.differences(recorded.spec, spec.spec)
        return Action(
            Kind.DRIFT,
            reason="the file changed since the flag was created; LaunchDarkly is not updated",
            diff=diff,
            variation_ids=ids,
            **base,
        )
    if live is not None:
        diff = compare.flag_differences(spec.fields, live)
        if diff:
            return Action(
                Kind.DRIFT,
                reason="changed in LaunchDarkly since it was created",
                diff=diff,
                variation_ids=ids,
                **base,
            )
    return Action(Kind.UNCHANGED, variation_ids=ids, **base)


def _link_action(
    spec: LinkSpec, flag: Action, existing: ExistingState, ledger: Ledger, target: str
) -> Action:
    recorded = ledger.get_link(target, spec.project, spec.flag_key, spec.key)
    base: dict[str, Any] = {
        "resource": "link",
        "project": spec.project,
        "flag_key": spec.flag_key,
        "link_key": spec.key,
        "source": str(spec.location),
        "digest": spec.digest,
    }
    if flag.kind is Kind.BLOCKED:
        return Action(Kind.BLOCKED, reason=f"its flag {flag.address} is blocked", **base)
    if flag.kind is Kind.CREATE:
        return Action(Kind.CREATE, depends_on=(flag.address,), **base)
    listed = existing.links.get((spec.project, spec.flag_key))
    if listed is None:  # links known from the ledger alone (offline, or all recorded)
        if existing.live and existing.flag(spec.project, spec.flag_key) is None:
            # Its flag was deleted since: the link went with it, recorded or not.
            return Action(Kind.DRIFT, reason=f"its flag {flag.address} no longer exists", **base)
        if recorded is None:
            return Action(Kind.CREATE, **base)
        return _recorded_link(spec, recorded, None, base)
    live = listed.get(spec.key)
    if live is None:
        if recorded is None:
            return Action(Kind.CREATE, **base)
        return Action(
            Kind.DRIFT,
            reason="deleted in LaunchDarkly since it was created; not re-created",
            **base,
        )
    if recorded is not None:
        return _recorded_link(spec, recorded, live, base)
    diff = compare.link_differences(spec.fields, live)
    if diff:
        return Action(
            Kind.DRIFT,
            reason="a link with this key exists with other settings; not adopted",
            diff=diff,
            **base,
        )
    return Action(Kind.ADOPT, link_id=str(live.get("_id")), **base)


def _recorded_link(
    spec: LinkSpec, recorded: LedgerEntry, live: Mapping[str, Any] | None, base: dict[str, Any]
) -> Action:
    if recorded.digest != spec.digest:
        return Action(
            Kind.DRIFT,
            reason="the file changed since the link was created; LaunchDarkly is not updated",
            diff=compare.differences(recorded.spec, spec.fields),
            **base,
        )
    if live is not None:
        diff = compare.link_differences(spec.fields, live)
        if diff:
            return Action(
                Kind.DRIFT, reason="changed in LaunchDarkly since it was created", diff=diff, **base
            )
    return Action(Kind.UNCHANGED, link_id=recorded.id, **base)


def _orphans(
    desired: DesiredState, declared_links: set[str], ledger: Ledger, target: str
) -> list[Action]:
    declared_flags = {f.address for f in desired.flags}
    orphans: list[Action] = []
    orphan = functools.partial(
        Action, Kind.ORPHAN, reason="recorded in the ledger but no longer declared; never deleted"
    )
    for project in ledger.projects(target):
        for key, entry in ledger.flags(target, project).items():
            if flag_address(project, key) not in declared_flags:
                orphans.append(orphan("flag", project, key, source=entry.source))
        for entry in ledger.links(target, project).values():
            flag_key = entry.flag_key or ""
            if link_address(project, flag_key, entry.key) not in declared_links:
                orphans.append(orphan("link", project, flag_key, entry.key, source=entry.source))
    return orphans
