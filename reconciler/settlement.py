"""Settling the ledger's records with the files: what a record becomes when the file and
LaunchDarkly agree, or differ only as a user accepted.

What the ledger recorded at creation is only the offline stand-in for LaunchDarkly. When a
live plan finds a file and LaunchDarkly agreeing while the ledger holds an older spec,
``refresh`` records the file's spec, so that offline plans settle too. Only an apply (which
holds the ledger's lock) refreshes: a plan, like Terraform's, writes nothing.
``ledger accept`` (``reconciler.tracking``) records with ``settled`` as well, and
``record_adoption`` records what an apply adopts (with accepted differences, if any).
"""

from __future__ import annotations

from reconciler.model import DesiredState, FlagSpec, LinkSpec
from reconciler.plan import compare
from reconciler.plan.plan import Action, Kind, Plan
from reconciler.state.ledger import Ledger, LedgerEntry


def specs_by_address(desired: DesiredState) -> dict[str, FlagSpec | LinkSpec]:
    specs: dict[str, FlagSpec | LinkSpec] = {f.address: f for f in desired.flags}
    specs.update({link.address: link for link in desired.links})
    return specs


def settled(recorded: LedgerEntry, spec: FlagSpec | LinkSpec, accepted: str | None) -> LedgerEntry:
    """``recorded`` as of the file's current ``spec``, keeping when and how it was made."""
    data = spec.spec if isinstance(spec, FlagSpec) else dict(spec.fields)
    return recorded._replace(
        source=str(spec.location), digest=spec.digest, spec=data, accepted=accepted
    )


def recorded_entry(ledger: Ledger, target: str, spec: FlagSpec | LinkSpec) -> LedgerEntry | None:
    if isinstance(spec, FlagSpec):
        return ledger.get_flag(target, spec.project, spec.key)
    return ledger.get_link(target, spec.project, spec.flag_key, spec.key)


def record_adoption(
    ledger: Ledger, target: str, action: Action, spec: FlagSpec | LinkSpec
) -> LedgerEntry:
    """Record an ``adopt`` action; one adopted with differences (``--adopt-drifted``) is
    recorded with them as accepted."""
    accepted = compare.differences_digest(action.diff) if action.diff else None
    if isinstance(spec, FlagSpec):
        ids = action.variation_ids
        return ledger.record_flag(
            target, spec, action="adopted", variation_ids=ids, accepted=accepted
        )
    return ledger.record_link(
        target, spec, action="adopted", link_id=action.link_id, accepted=accepted
    )


def refresh(plan: Plan, ledger: Ledger) -> tuple[str, ...]:
    """Bring the ledger's records up to date where a live plan found the files and
    LaunchDarkly agreeing (or differing only as accepted); returns the addresses updated.
    Call it after everything else that reads the plan's ledger fingerprint."""
    if not plan.live or plan.desired is None:
        return ()
    specs = specs_by_address(plan.desired)
    updated = []
    for action in plan.of(Kind.UNCHANGED):
        spec = specs[action.address]
        recorded = recorded_entry(ledger, plan.target, spec)
        if recorded is None:
            continue
        accepted = recorded.accepted if action.diff else None
        ids = action.variation_ids or recorded.variation_ids
        # Not for a moved declaration alone: every apply would rewrite the sources of the
        # flags below a new one, and the committed ledger would churn.
        if (recorded.digest, recorded.accepted, recorded.variation_ids) != (
            spec.digest, accepted, ids,
        ):  # fmt: skip
            new = settled(recorded, spec, accepted)._replace(variation_ids=ids)
            ledger.record(plan.target, new)
            updated.append(action.address)
    return tuple(updated)
