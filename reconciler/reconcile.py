"""Reconciling: the pipeline from flag files to a plan, and from a plan to creates.

``connect`` builds what a run talks to (the API client, the target's name, the ledger
path; the in-process emulator for ``--emulator``); ``load_desired`` loads and validates,
``build_plan`` observes and plans. ``save_plan`` and ``SavedPlan`` (writing a plan file,
and checking one) are the saved plan's, in ``plan/saved.py``. The CLI only wires these.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.errors import ConfigError, ValidationFailed
from reconciler.files.validator import validate_paths
from reconciler.model import DesiredState
from reconciler.plan.plan import Plan, make_plan
from reconciler.plan.saved import SavedPlan as SavedPlan
from reconciler.plan.saved import save_plan as save_plan
from reconciler.remote import secret
from reconciler.remote.baseurl import normalise_base_url
from reconciler.remote.observe import ExistingState, observe_live, observe_offline
from reconciler.state.ledger import Ledger

if TYPE_CHECKING:
    from reconciler.remote.client import LaunchDarklyClient

DEFAULT_BASE_URL = "https://app.launchdarkly.com"
STATE_DIR = Path(".ld-reconciler")
DEFAULT_LEDGER = STATE_DIR / "ledger.json"
EMULATOR_LEDGER = STATE_DIR / "emulator-ledger.json"
EMULATOR_DATA = STATE_DIR / "emulator.json"
EMULATOR_TARGET = "emulator"


@dataclass(frozen=True)
class Connection:
    """What one run talks to. ``client`` is None for an offline run."""

    target: str
    ledger_path: Path
    client: LaunchDarklyClient | None
    note: str = ""


def load_desired(paths: Sequence[str]) -> DesiredState:
    """Load and validate the flag files; every finding at once, or the desired state."""
    result = validate_paths(paths)
    if not result.ok:
        raise ValidationFailed(result.findings)
    return result.state


@contextlib.contextmanager
def connect(
    desired: DesiredState,
    *,
    base_url: str | None,
    ledger_path: Path | None,
    emulator: bool,
    offline: bool,
    timeout: float = 30.0,
    need_token: bool = False,
    command: str = "ld-reconciler",
    lock_wait: float | None = None,
) -> Iterator[Connection]:
    """Open the connection a run needs; closes it (and stops the emulator) afterwards.

    ``command`` names the run to another that finds the emulator's data file in use; the run
    waits ``lock_wait`` seconds for it (None: the command has no ``--lock-wait``, and waits not).
    """
    if emulator:
        if base_url is not None:
            raise ConfigError("--emulator and --base-url cannot be used together")
        with _emulator(desired, command, lock_wait) as url:
            from reconciler.emulator import DEV_TOKEN
            from reconciler.remote.client import LaunchDarklyClient

            ledger = ledger_path or EMULATOR_LEDGER
            if offline:
                yield Connection(EMULATOR_TARGET, ledger, None)
                return
            with LaunchDarklyClient(url, DEV_TOKEN, timeout=timeout) as client:
                yield Connection(EMULATOR_TARGET, ledger, client)
        return
    token = secret.token_from_env()  # first: a base URL in an error may hold the token
    url = DEFAULT_BASE_URL if base_url is None else base_url  # "" is refused, not the default
    target = normalise_base_url(url)
    ledger = ledger_path or DEFAULT_LEDGER
    if offline or token is None:
        if need_token:
            raise ConfigError(
                "apply needs an access token: set LAUNCHDARKLY_ACCESS_TOKEN "
                "(or LD_ACCESS_TOKEN), or use --emulator to try it locally"
            )
        note = (
            ""
            if offline
            else "No access token (LAUNCHDARKLY_ACCESS_TOKEN or LD_ACCESS_TOKEN) is set, "
            "so this plan is offline, from the ledger alone."
        )
        yield Connection(target, ledger, None, note)
        return
    from reconciler.remote.client import LaunchDarklyClient

    with LaunchDarklyClient(url, token, timeout=timeout) as client:
        yield Connection(target, ledger, client)


@contextlib.contextmanager
def _emulator(desired: DesiredState, command: str, lock_wait: float | None) -> Iterator[str]:
    from reconciler.emulator import Emulator, EmulatorConfig
    from reconciler.emulator.datafile import Claim

    STATE_DIR.mkdir(parents=True, exist_ok=True)
    config = EmulatorConfig(projects=desired.projects or ("default",), data_path=EMULATOR_DATA)
    # The data file is not the user's choice here: no advice to use another one.
    advice = "wait for it to finish and retry"
    if lock_wait is not None:
        advice += ", or pass --lock-wait SECONDS"
    claim = Claim(command=command, wait=lock_wait or 0.0, advice=advice)
    with Emulator(config, claim=claim) as emu:
        for project in desired.projects:
            emu.add_project(project)
        yield emu.base_url


def build_plan(desired: DesiredState, connection: Connection, ledger: Ledger) -> Plan:
    """Observe (live when there is a client) and plan."""
    existing: ExistingState
    if connection.client is None:
        existing = observe_offline()
    else:
        existing = observe_live(connection.client, desired, ledger, connection.target)
    return make_plan(desired, existing, ledger, connection.target)
