"""``ld-reconciler ledger``: what the ledger tracks, like ``terraform state``.

``list``, ``show``, ``forget`` and ``accept`` translate options into calls of
``reconciler.tracking`` and its results into output and exit codes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from reconciler import reconcile, tracking
from reconciler.commands.configuration import (
    command_config,
    command_paths,
    format_option,
    seconds_option,
)
from reconciler.commands.reconcile import TARGET_OPTIONS, TIMEOUT_OPTION, options
from reconciler.commands.validate import FLAG_PATHS
from reconciler.errors import ValidationFailed
from reconciler.state.ledger import LedgerEntry

FORMAT_OPTION = format_option(["json", "text"], "How to show it.")
LOCK_WAIT_OPTION = seconds_option(
    "--lock-wait", 0, 0.0, "Seconds to wait for an apply to release the ledger."
)


@click.group()
def ledger() -> None:
    """Read and settle what the ledger tracks: list, show, forget, accept.

    Each acts on the ledger of one LaunchDarkly instance (--base-url, or --emulator).
    Nothing is ever sent to LaunchDarkly.
    """


def _endpoint(base_url: str | None, ledger_path: Path | None, emulator: bool) -> reconcile.Endpoint:
    """The ledger the options name, else the one ld-reconciler.yaml names (as plan and apply)."""
    return reconcile.Endpoint(base_url, ledger_path, emulator).configured(command_config())


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))


def _json(entry: LedgerEntry) -> dict[str, Any]:
    return {"address": tracking.address_of(entry), **entry.data}


@ledger.command("list")
@options(*TARGET_OPTIONS, FORMAT_OPTION)
def list_(base_url: str | None, ledger_path: Path | None, emulator: bool, fmt: str) -> int:
    """List every flag and link the ledger tracks for the instance."""
    found = tracking.tracked(_endpoint(base_url, ledger_path, emulator))
    if fmt == "json":
        entries = [_json(e) for e in found.entries]
        _echo_json({"target": found.target, "ledger": str(found.ledger_path), "entries": entries})
        return 0
    if not found.entries:
        click.echo(f"Nothing is tracked for {found.target} in {found.ledger_path}.")
        return 0
    click.echo(f"Tracked for {found.target} in {found.ledger_path}:")
    width = max(len(tracking.address_of(e)) for e in found.entries)
    for e in found.entries:
        note = "  (differences accepted)" if e.accepted else ""
        address = tracking.address_of(e)
        click.echo(f"  {e.kind:<4} {address:<{width}}  {e.action} {e.at}  ({e.source}){note}")
    flags = sum(e.kind == "flag" for e in found.entries)
    links = len(found.entries) - flags
    click.echo(f"{len(found.entries)} tracked: {flags} flag(s), {links} link(s).")
    return 0


@ledger.command()
@click.argument("address")
@options(*TARGET_OPTIONS, FORMAT_OPTION)
def show(
    address: str, base_url: str | None, ledger_path: Path | None, emulator: bool, fmt: str
) -> int:
    """Show everything the ledger records of ADDRESS (PROJECT/FLAG or PROJECT/FLAG/LINK)."""
    found, entry = tracking.entry(_endpoint(base_url, ledger_path, emulator), address)
    if fmt == "json":
        _echo_json({"target": found.target, **_json(entry)})
        return 0
    rows: list[tuple[str, Any]] = [
        ("target", found.target),
        ("action", entry.action),
        ("at", entry.at),
        ("source", entry.source),
        ("id", entry.id if entry.id is not None else "(none: flags have no id)"),
    ]
    if entry.kind == "flag":
        rows.append(("variation ids", ", ".join(entry.variation_ids) or "(none)"))
    rows.append(("digest", entry.digest))
    if entry.accepted:
        rows.append(("accepted", f"differences from LaunchDarkly {entry.accepted}"))
    click.echo(f"{entry.kind} {address}")
    for name, value in rows:
        click.echo(f"  {name + ':':<14} {value}")
    click.echo("  spec:")
    for line in json.dumps(dict(entry.spec), indent=2, sort_keys=True).splitlines():
        click.echo(f"    {line}")
    return 0


@ledger.command()
@click.argument("addresses", nargs=-1, required=True, metavar="ADDRESS...")
@options(*TARGET_OPTIONS, LOCK_WAIT_OPTION)
def forget(
    addresses: tuple[str, ...],
    base_url: str | None,
    ledger_path: Path | None,
    emulator: bool,
    lock_wait: float,
) -> int:
    """Stop tracking ADDRESS... (a flag's links go with it); nothing is sent to LaunchDarkly.

    A forgotten resource that is still declared and exists is adopted again by the next
    live plan and apply; one no longer declared stops showing as an orphan.
    """
    endpoint = _endpoint(base_url, ledger_path, emulator)
    gone = tracking.forget(endpoint, addresses, lock_wait=lock_wait)
    links = 0
    for e in gone.entries:
        address = tracking.address_of(e)
        if address in addresses:
            click.echo(f"forgot {e.kind} {address}")
        else:
            links += 1
            click.echo(f"forgot {e.kind} {address} (a link of a forgotten flag)")
    also = f", {links} of them link(s) of the forgotten flags" if links else ""
    click.echo(
        f"Forgot {len(gone.entries)} resource(s){also} in {gone.ledger_path}; "
        "nothing was sent to LaunchDarkly."
    )
    return 0


@ledger.command()
@click.argument("addresses", nargs=-1, required=True, metavar="ADDRESS...")
@click.option(
    "--files",
    "paths",
    multiple=True,
    type=FLAG_PATHS,
    metavar="PATH",
    help="The flag files (files or directories) that declare ADDRESS...; repeatable. "
    "None given, the paths ld-reconciler.yaml sets.",
)
@click.option("--offline", is_flag=True, help="Accept from the ledger alone; no token needed.")
@options(*TARGET_OPTIONS, TIMEOUT_OPTION, LOCK_WAIT_OPTION)
def accept(
    addresses: tuple[str, ...],
    paths: tuple[str, ...],
    offline: bool,
    base_url: str | None,
    ledger_path: Path | None,
    emulator: bool,
    timeout: float,
    lock_wait: float,
) -> int:
    """Accept the drift of ADDRESS...: the files and LaunchDarkly differ, and that is known.

    The ledger records the file's spec (offline plans stop showing the drift) and, live,
    the differences from LaunchDarkly as they are now (live plans show them as accepted
    until they change). Nothing is sent to LaunchDarkly.
    """
    config = command_config()
    paths = command_paths(paths, config)
    endpoint = reconcile.Endpoint(base_url, ledger_path, emulator, timeout).configured(config)
    try:
        plan, accepted = tracking.accept(
            paths, endpoint, addresses, offline=offline, lock_wait=lock_wait, config=config
        )
    except ValidationFailed as e:
        for finding in e.findings:
            click.echo(str(finding), err=True)
        click.echo(
            f"{len(e.findings)} problem(s) in the flag files: nothing was accepted.", err=True
        )
        return 1
    for item in accepted:
        if not item.changed:
            click.echo(f"{item.address}: nothing to accept (already settled)")
            continue
        known = "; ".join(d.path for d in item.differences)
        click.echo(f"accepted {item.entry.kind} {item.address}" + (f": {known}" if known else ""))
    if not plan.live:
        click.echo(
            "Accepted offline: the ledger records the files' specs; a live plan still shows "
            "differences from LaunchDarkly until they are accepted live."
        )
    return 0
