"""The plan: desired state against what exists, as sorted, immutable actions.

| action    | meaning                                                        | on apply       |
|-----------|----------------------------------------------------------------|----------------|
| create    | declared, does not exist                                       | 1 POST         |
| adopt     | declared, exists with matching settings (or, with              | ledger only    |
|           | --adopt-drifted, other settings), not yet recorded             |                |
| unchanged | declared, exists, recorded, the file and LaunchDarkly agree    | a stale record |
|           | (or differ only as a user accepted)                            | is refreshed   |
| drift     | declared and exists, but the file and LaunchDarkly differ      | nothing: the   |
|           | (offline: the file and the ledger's record), or it was         | UI owns it     |
|           | deleted/archived since                                         |                |
| orphan    | recorded in the ledger, no longer declared (in a project the   | nothing        |
|           | files declare)                                                 |                |
| blocked   | cannot be created (the key belongs to an archived flag, or the | apply refuses  |
|           | flag a clone copies is missing or archived: ``clones.py``)     |                |

This module owns the plan (``Plan``; its actions are ``action.py``'s ``Action`` and
``Kind``); ``planner`` makes the actions, ``fingerprint`` the digests a saved plan is
checked against. A plan is data: its actions are frozen values with a ``.data`` dict,
sorted by address, so its JSON, its fingerprint and its text follow deterministically.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reconciler.model import DesiredState, Finding

# Re-exported: callers take Action and Kind from here, where plans are made.
from reconciler.plan.action import SUMMARY_ORDER as SUMMARY_ORDER
from reconciler.plan.action import Action as Action
from reconciler.plan.action import Kind as Kind
from reconciler.plan.fingerprint import desired_fingerprint, ledger_fingerprint, plan_fingerprint
from reconciler.plan.planner import plan_actions
from reconciler.remote.observe import ExistingState

if TYPE_CHECKING:
    from reconciler.state.ledger import Ledger


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
    findings: tuple[Finding, ...] = field(default=(), compare=False)  # policies' warnings
    # The flag files and directories the plan was made from, as given: what a saved plan
    # re-reads when applied without paths. Not in the fingerprint: the files' contents are.
    paths: tuple[str, ...] = field(default=(), compare=False)
    # Where the bundled emulator keeps its data, for the plan to say (its plans only).
    emulator_data: str = field(default="", compare=False)

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
        return plan_fingerprint(self.target, self.live, self.ledger_fingerprint, self.actions)

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


def make_plan(
    desired: DesiredState,
    existing: ExistingState,
    ledger: Ledger,
    target: str,
    *,
    adopt_drifted: bool = False,
) -> Plan:
    """Compare what the files declare with what exists and what was recorded (the
    comparisons are the planner's: ``reconciler.plan.planner``).

    With ``adopt_drifted``, a resource that exists in LaunchDarkly with other settings and
    is not recorded is adopted with its differences instead of reported as drift.
    """
    actions = plan_actions(desired, existing, ledger, target, adopt_drifted=adopt_drifted)
    return Plan(target, existing.live, actions, desired, ledger, ledger.records)
