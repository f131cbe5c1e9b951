"""The planner: each declared flag and link against what exists and what was recorded.

Live, a resource is compared with LaunchDarkly: drift means the files and LaunchDarkly
differ. What the ledger recorded (at creation, refreshed by apply since) is the offline
stand-in for LaunchDarkly, and what a live plan falls back on for links it did not list.
A difference a user accepted (``ledger accept``, ``apply --adopt-drifted``) is unchanged
while it stays the same. Orphans are reported only for the projects the files declare.

Offline, a resource the ledger recorded with the very spec the file declares takes the
recorded digest rather than hashing its spec again. Live it is always hashed: a digest
the ledger holds out of date is what makes apply refresh the record.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from reconciler.model import DesiredState, FlagSpec, LinkSpec, flag_address, link_address
from reconciler.plan import compare
from reconciler.plan.action import Action, Kind
from reconciler.plan.clones import check_source
from reconciler.remote.observe import ExistingState

if TYPE_CHECKING:
    from reconciler.state.ledger import Ledger, LedgerEntry


def plan_actions(
    desired: DesiredState,
    existing: ExistingState,
    ledger: Ledger,
    target: str,
    *,
    adopt_drifted: bool = False,
) -> tuple[Action, ...]:
    """Every action of the plan, sorted by address."""
    actions: list[Action] = []
    declared_links: set[str] = set()
    clones = any(spec.clone is not None for spec in desired.flags)
    declared = {spec.address for spec in desired.flags} if clones else set()
    # What the ledger records, a project at a time: one look-up per resource, no lock.
    recorded: dict[str, tuple[Mapping[str, LedgerEntry], Mapping[str, LedgerEntry]]] = {}
    for spec in desired.flags:
        project = spec.project
        if project not in recorded:
            recorded[project] = (ledger.flags(target, project), ledger.links(target, project))
        flags, links = recorded[project]
        flag_action = _flag_action(spec, flags.get(spec.key), existing, declared, adopt_drifted)
        actions.append(flag_action)
        for link in spec.links:
            declared_links.add(link.address)
            entry = links.get(f"{link.flag_key}/{link.key}")
            actions.append(_link_action(link, entry, flag_action, existing, adopt_drifted))
    actions.extend(_orphans(desired, declared_links, ledger, target))
    actions.sort(key=lambda a: a.sort_key)
    return tuple(actions)


def _flag_action(
    spec: FlagSpec,
    recorded: LedgerEntry | None,
    existing: ExistingState,
    declared: set[str],
    adopt_drifted: bool,
) -> Action:
    if recorded is not None and not existing.live:
        spec.take_digest(recorded.digest, recorded.spec)
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
            body = None if source.blocked else spec.post_body()
            return Action(kind, reason=source.reason, depends_on=deps, body=body, **base)
    if not existing.live:
        if recorded is None:
            return Action(Kind.CREATE, depends_on=prerequisites, body=spec.post_body(), **base)
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
            return Action(Kind.CREATE, depends_on=prerequisites, body=spec.post_body(), **base)
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
        return _differing(diff, adopt_drifted, base, variation_ids=live.variation_ids)
    return Action(Kind.ADOPT, variation_ids=live.variation_ids, **base)


def _differing(
    diff: tuple[compare.FieldDiff, ...], adopt: bool, base: dict[str, Any], **ids: Any
) -> Action:
    """A resource that exists in LaunchDarkly with other settings and is not recorded."""
    what = "a link with this key exists" if base["resource"] == "link" else "exists in LaunchDarkly"
    if adopt:
        reason = f"{what} with other settings; adopted with its differences (--adopt-drifted)"
        return Action(Kind.ADOPT, reason=reason, diff=diff, **ids, **base)
    reason = f"{what} with other settings; not adopted (apply --adopt-drifted adopts it as it is)"
    return Action(Kind.DRIFT, reason=reason, diff=diff, **ids, **base)


def _recorded_flag(
    spec: FlagSpec,
    recorded: LedgerEntry,
    live: Mapping[str, Any] | None,
    base: dict[str, Any],
    variation_ids: tuple[str, ...] = (),
) -> Action:
    ids: dict[str, Any] = {"variation_ids": variation_ids or recorded.variation_ids}
    configured = compare.configured_changes(recorded, spec)
    if configured:  # not drift: only the configuration's defaults or templates changed
        if live is not None:
            diff = compare.flag_differences(compare.created_fields(recorded, spec), live)
            if diff:
                reason = "changed in LaunchDarkly since it was created"
                return Action(Kind.DRIFT, reason=reason, diff=diff, **ids, **base)
        return Action(Kind.UNCHANGED, reason=compare.CONFIGURED, diff=configured, **ids, **base)
    return _against_record(recorded, spec.spec, spec.fields, live, base, ids, _FLAG_DIFFERENCES)


_Differences = Callable[[Mapping[str, Any], Mapping[str, Any]], tuple[compare.FieldDiff, ...]]
_FLAG_DIFFERENCES = (compare.flag_differences, compare.recorded_flag_differences)
_LINK_DIFFERENCES = (compare.link_differences, compare.recorded_link_differences)
"""(how LaunchDarkly differs from the file, how the file differs from the ledger's record)"""


def _against_record(
    recorded: LedgerEntry,
    declared: Mapping[str, Any],
    fields: Mapping[str, Any],
    live: Mapping[str, Any] | None,
    base: dict[str, Any],
    ids: dict[str, Any],
    differences: tuple[_Differences, _Differences],
) -> Action:
    """A recorded flag or link (``declared`` as the ledger records it, ``fields`` as sent)
    compared offline with the ledger, or live with LaunchDarkly."""
    live_differences, recorded_differences = differences
    if live is None:
        return _offline_recorded(declared, recorded, base, recorded_differences, ids)
    return _live_recorded(
        recorded,
        live_differences(fields, live),
        lambda: recorded_differences(recorded.spec, declared),
        base,
        ids,
    )


def _offline_recorded(
    declared: Mapping[str, Any],
    recorded: LedgerEntry,
    base: dict[str, Any],
    differences: Callable[[Mapping[str, Any], Mapping[str, Any]], tuple[compare.FieldDiff, ...]],
    ids: dict[str, Any],
) -> Action:
    """Offline, what the ledger last recorded (at creation, or refreshed since) stands for
    LaunchDarkly: only a difference between it and the file is drift."""
    if recorded.digest != base["digest"]:
        diff = differences(recorded.spec, declared)
        if diff:
            reason = (
                f"the file changed since the {base['resource']} was created; "
                "LaunchDarkly is not updated"
            )
            return Action(Kind.DRIFT, reason=reason, diff=diff, **ids, **base)
    return Action(Kind.UNCHANGED, **ids, **base)


def _live_recorded(
    recorded: LedgerEntry,
    diff: tuple[compare.FieldDiff, ...],
    file_changed: Callable[[], tuple[compare.FieldDiff, ...]],
    base: dict[str, Any],
    ids: dict[str, Any],
) -> Action:
    """Live, the file is compared with LaunchDarkly: they agree (unchanged, and apply
    refreshes a stale record), differ as a user accepted (unchanged, the difference shown),
    or differ (drift). ``diff`` goes from the file to LaunchDarkly; shown, it goes from the
    side that stayed to the side that changed."""
    if not diff:
        reason = ""
        if recorded.digest != base["digest"] or recorded.accepted:
            reason = "the file and LaunchDarkly agree again; apply updates the ledger's record"
        return Action(Kind.UNCHANGED, reason=reason, **ids, **base)
    if recorded.accepted == compare.differences_digest(diff):
        reason = "differs from LaunchDarkly as accepted with `ld-reconciler ledger accept`"
        return Action(Kind.UNCHANGED, reason=reason, diff=diff, **ids, **base)
    if recorded.digest != base["digest"] and file_changed():
        reason = (
            f"the file changed since the {base['resource']} was created; "
            "LaunchDarkly is not updated"
        )
        diff = compare.reversed_differences(diff)
    else:
        reason = "changed in LaunchDarkly since it was created"
    return Action(Kind.DRIFT, reason=reason, diff=diff, **ids, **base)


_NEW = (Kind.BLOCKED, Kind.CREATE)  # a flag whose links are blocked or created with it


def _link_action(
    spec: LinkSpec,
    recorded: LedgerEntry | None,
    flag: Action,
    existing: ExistingState,
    adopt_drifted: bool,
) -> Action:
    if recorded is not None and not existing.live:
        spec.take_digest(recorded.digest, recorded.spec)
        # Most links of an offline plan: recorded as declared, of a flag neither blocked nor
        # to create. What ``_offline_recorded`` would find, made directly (a repository's
        # links outnumber its flags).
        if recorded.digest == spec.digest and flag.kind not in _NEW:
            return Action(
                Kind.UNCHANGED, "link", spec.project, spec.flag_key, spec.key,
                str(spec.location), spec.digest, link_id=recorded.id,
            )  # fmt: skip
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
        return Action(Kind.CREATE, depends_on=(flag.address,), body=spec.post_body(), **base)
    listed = existing.links.get((spec.project, spec.flag_key))
    if listed is None:  # links known from the ledger alone (offline, or all recorded)
        if existing.live and existing.flag(spec.project, spec.flag_key) is None:
            # Its flag was deleted since: the link went with it, recorded or not.
            return Action(Kind.DRIFT, reason=f"its flag {flag.address} no longer exists", **base)
        if recorded is None:
            return Action(Kind.CREATE, body=spec.post_body(), **base)
        return _recorded_link(spec, recorded, None, base)
    live = listed.get(spec.key)
    if live is None:
        if recorded is None:
            return Action(Kind.CREATE, body=spec.post_body(), **base)
        return Action(
            Kind.DRIFT,
            reason="deleted in LaunchDarkly since it was created; not re-created",
            **base,
        )
    if recorded is not None:
        return _recorded_link(spec, recorded, live, base)
    diff = compare.link_differences(spec.fields, live)
    if diff:
        return _differing(diff, adopt_drifted, base, link_id=str(live.get("_id")))
    return Action(Kind.ADOPT, link_id=str(live.get("_id")), **base)


def _recorded_link(
    spec: LinkSpec, recorded: LedgerEntry, live: Mapping[str, Any] | None, base: dict[str, Any]
) -> Action:
    ids = {"link_id": recorded.id}
    return _against_record(recorded, spec.fields, spec.fields, live, base, ids, _LINK_DIFFERENCES)


def _orphans(
    desired: DesiredState, declared_links: set[str], ledger: Ledger, target: str
) -> list[Action]:
    declared_flags = {f.address for f in desired.flags}
    orphans: list[Action] = []
    orphan = functools.partial(
        Action, Kind.ORPHAN, reason="recorded in the ledger but no longer declared; never deleted"
    )
    # Only the projects the files declare: a plan of one project's files says nothing of
    # what the ledger records for another.
    for project in sorted(set(desired.projects) & set(ledger.projects(target))):
        for key, entry in ledger.flags(target, project).items():
            if flag_address(project, key) not in declared_flags:
                orphans.append(orphan("flag", project, key, source=entry.source))
        for entry in ledger.links(target, project).values():
            flag_key = entry.flag_key or ""
            if link_address(project, flag_key, entry.key) not in declared_links:
                orphans.append(orphan("link", project, flag_key, entry.key, source=entry.source))
    return orphans
