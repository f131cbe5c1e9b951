"""What the ledger tracks, as a user reads and settles it (``ld-reconciler ledger``).

Like ``terraform state``: ``tracked`` lists what the ledger records for one instance,
``entry`` finds one address in it, ``forget`` stops tracking (nothing is sent to
LaunchDarkly; a forgotten flag's links are forgotten with it), ``accept`` settles a known
difference between the files and LaunchDarkly. ``refresh`` is what an apply writes when its
live plan finds that a file and LaunchDarkly agree again while the ledger still holds an
older spec: what the ledger recorded is only the offline stand-in for LaunchDarkly.

Accepting records the file's current spec (so offline plans stop showing the drift) and,
when the plan is live, a digest of the differences from LaunchDarkly (so live plans show
them as accepted, until LaunchDarkly or the file differ in some other way).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler import reconcile
from reconciler.config.configuration import Config
from reconciler.errors import ConfigError, InputError
from reconciler.model import FlagSpec, LinkSpec, flag_address, link_address
from reconciler.plan import compare
from reconciler.plan.plan import Action, Kind, Plan, make_plan
from reconciler.remote import secret
from reconciler.remote.baseurl import normalise_base_url
from reconciler.remote.observe import ExistingState, observe_live, observe_offline
from reconciler.settlement import recorded_entry, settled, specs_by_address
from reconciler.state.ledger import Ledger, LedgerEntry
from reconciler.state.lock import ledger_lock

_ACCEPT = "ld-reconciler ledger accept"


def location(endpoint: reconcile.Endpoint) -> tuple[str, Path]:
    """The target (instance) an endpoint names and the ledger that records it; no token needed."""
    if endpoint.emulator:
        if endpoint.base_url is not None:
            raise ConfigError("--emulator and --base-url cannot be used together")
        return reconcile.EMULATOR_TARGET, endpoint.ledger_path or reconcile.EMULATOR_LEDGER
    secret.token_from_env()  # first: a base URL in an error may hold the token
    url = reconcile.DEFAULT_BASE_URL if endpoint.base_url is None else endpoint.base_url
    return normalise_base_url(url), endpoint.ledger_path or reconcile.DEFAULT_LEDGER


def address_of(entry: LedgerEntry) -> str:
    if entry.kind == "link":
        return link_address(entry.project, entry.flag_key or "", entry.key)
    return flag_address(entry.project, entry.key)


@dataclass(frozen=True)
class Tracked:
    """What the ledger at ``ledger_path`` records for ``target``, sorted by address."""

    target: str
    ledger_path: Path
    entries: tuple[LedgerEntry, ...]


def tracked(endpoint: reconcile.Endpoint) -> Tracked:
    target, path = location(endpoint)
    return Tracked(target, path, _entries(Ledger.load(path), target))


def entry(endpoint: reconcile.Endpoint, address: str) -> tuple[Tracked, LedgerEntry]:
    """The entry recorded at ``address``; an ``InputError`` saying where to look if none."""
    found = tracked(endpoint)
    by_address = {address_of(e): e for e in found.entries}
    if address not in by_address:
        raise InputError(_not_tracked(found, address))
    return found, by_address[address]


def forget(
    endpoint: reconcile.Endpoint, addresses: Sequence[str], *, lock_wait: float = 0.0
) -> Tracked:
    """Stop tracking ``addresses`` (and the links of a forgotten flag); nothing is sent to
    LaunchDarkly. Every address must be tracked, or nothing is forgotten. Returns what was."""
    target, path = location(endpoint)
    with ledger_lock(path, lock_wait, command="ld-reconciler ledger forget") as lock:
        ledger = Ledger.load(path, lock=lock)
        try:
            now = Tracked(target, path, _entries(ledger, target))
            by_address = {address_of(e): e for e in now.entries}
            unknown = [a for a in dict.fromkeys(addresses) if a not in by_address]
            if unknown:
                raise InputError("; ".join(_not_tracked(now, a) for a in unknown))
            flags = {by_address[a].project + "/" + by_address[a].key for a in addresses
                     if by_address[a].kind == "flag"}  # fmt: skip
            gone = [
                e for a, e in by_address.items()
                if a in addresses or (e.kind == "link" and a.rsplit("/", 1)[0] in flags)
            ]  # fmt: skip
            ledger.forget(target, gone)
        finally:
            ledger.close()
    return Tracked(target, path, tuple(gone))


@dataclass(frozen=True)
class Accepted:
    """One accepted resource: its record now, and the differences from LaunchDarkly
    accepted (empty: none known, or an offline plan that cannot see them)."""

    address: str
    entry: LedgerEntry
    differences: tuple[compare.FieldDiff, ...]
    changed: bool


def accept(
    paths: Sequence[str],
    endpoint: reconcile.Endpoint,
    addresses: Sequence[str],
    *,
    offline: bool = False,
    lock_wait: float = 0.0,
    config: Config | None = None,
) -> tuple[Plan, tuple[Accepted, ...]]:
    """Accept the drift of ``addresses`` (tracked, declared in the files at ``paths``,
    resolved against ``config`` as a plan resolves them).

    Live when there is a token (as ``plan``): the differences from LaunchDarkly are accepted
    as they are now. Every address must be acceptable, or nothing is recorded.
    """
    desired = reconcile.load_desired(paths, config)
    with (
        reconcile.connect(
            desired, endpoint, offline=offline, command=f"{_ACCEPT} --emulator",
            lock_wait=lock_wait,
        ) as connection,
        ledger_lock(connection.ledger_path, lock_wait, command=_ACCEPT) as lock,
    ):  # fmt: skip
        ledger = Ledger.load(connection.ledger_path, lock=lock)
        try:
            target = connection.target
            existing = (
                observe_offline()
                if connection.client is None
                else observe_live(connection.client, desired, ledger, target)
            )
            plan = make_plan(desired, existing, ledger, target)
            actions = {a.address: a for a in plan.actions}
            specs = specs_by_address(desired)
            wanted = list(dict.fromkeys(addresses))
            recorded_now = {
                a: recorded_entry(ledger, target, specs[a]) if a in specs else None for a in wanted
            }
            problems = [
                p for a in wanted if (p := _unacceptable(a, actions.get(a), recorded_now[a]))
            ]
            if problems:
                raise InputError("; ".join(problems))
            accepted = []
            for address in wanted:
                spec, recorded = specs[address], recorded_now[address]
                assert recorded is not None  # _unacceptable refused what is not recorded
                seen = _live_differences(spec, existing)
                diff = seen or ()
                mark = recorded.accepted  # what LaunchDarkly was not read for keeps its mark
                if seen is not None:
                    mark = compare.differences_digest(seen) if seen else None
                new = settled(recorded, spec, mark)
                if new != recorded:
                    ledger.record(target, new)
                accepted.append(Accepted(address, new, diff, new != recorded))
            ledger.compact()
        finally:
            ledger.close()
    return plan, tuple(accepted)


def _entries(ledger: Ledger, target: str) -> tuple[LedgerEntry, ...]:
    entries = [
        e
        for project in ledger.projects(target)
        for section in (ledger.flags(target, project), ledger.links(target, project))
        for e in section.values()
    ]
    return tuple(sorted(entries, key=address_of))


def _not_tracked(tracked: Tracked, address: str) -> str:
    return (
        f"{address} is not tracked for {tracked.target} in {tracked.ledger_path}; "
        "`ld-reconciler ledger list` shows what is"
    )


def _unacceptable(address: str, action: Action | None, recorded: LedgerEntry | None) -> str:
    """Why the drift of ``address`` cannot be accepted ("" if it can)."""
    if action is None:
        return f"{address} is not declared in the flag files given"
    if action.kind is Kind.ORPHAN:
        return (
            f"{address} is no longer declared; `ld-reconciler ledger forget {address}` "
            "stops tracking it"
        )
    if recorded is None and action.diff:
        return (
            f"{address} is not tracked: it exists in LaunchDarkly with other settings; "
            "`ld-reconciler apply --adopt-drifted` adopts it with its differences"
        )
    if recorded is None:
        return f"{address} is not tracked (the plan says {action.kind.value}): nothing to accept"
    if action.kind is Kind.DRIFT and not action.diff:
        return (
            f"{address} cannot be accepted: {action.reason}; "
            f"`ld-reconciler ledger forget {address}` stops tracking it"
        )
    return ""


def _live_differences(
    spec: FlagSpec | LinkSpec, existing: ExistingState
) -> tuple[compare.FieldDiff, ...] | None:
    """How LaunchDarkly differs from the file, file -> LaunchDarkly; None when LaunchDarkly
    was not read for it (offline, or a link the ledger knows from the file's spec)."""
    if not existing.live:
        return None
    if isinstance(spec, FlagSpec):
        flag = existing.flag(spec.project, spec.key)
        return compare.flag_differences(spec.fields, flag.data) if flag is not None else None
    link = existing.links.get((spec.project, spec.flag_key), {}).get(spec.key)
    return compare.link_differences(spec.fields, link) if link is not None else None
