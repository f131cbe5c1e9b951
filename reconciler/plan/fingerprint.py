"""A plan's fingerprints: digests of everything it rests on.

A saved plan is applied only if the flag files, the ledger and the plan made now match
its fingerprints (``plan/saved.py``). Hashed as one netstring line per resource rather
than as one JSON document: JSON-encoding the data of 40,000 actions took longer than
making them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from reconciler.model import DesiredState, canonical_json, netstring_line

if TYPE_CHECKING:
    from reconciler.plan.plan import Action
    from reconciler.state.ledger import Ledger


def plan_fingerprint(target: str, live: bool, ledger: str, actions: Sequence[Action]) -> str:
    """A digest of everything a plan rests on: its target and mode, what the ledger
    records, and every action with all of its data (so every declared spec's digest)."""
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
