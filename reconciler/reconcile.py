"""Reconciling: the pipeline from flag files to a plan, and from a plan to creates.

``connect`` builds what a run talks to (the API client, the target's name, the ledger
path; the in-process emulator for ``--emulator``); ``load_desired`` loads and validates,
``build_plan`` observes and plans; ``save_plan`` and ``SavedPlan`` write a plan file and
check one (what needs no call before connecting, the rest against the live plan). The CLI
only wires these.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.errors import ConfigError, InputError, StalePlanError, ValidationFailed
from reconciler.files.validator import validate_paths
from reconciler.model import DesiredState
from reconciler.plan.plan import Plan, desired_fingerprint, ledger_fingerprint, make_plan
from reconciler.plan.render import FORMAT_VERSION, plan_document
from reconciler.remote import secret
from reconciler.remote.baseurl import normalise_base_url
from reconciler.remote.observe import ExistingState, observe_live, observe_offline
from reconciler.state import durable
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


def save_plan(path: Path, document: dict[str, Any]) -> None:
    """Write the plan file whole or not at all (``durable.replace``)."""
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        durable.replace(path, text.encode())
    except OSError as e:
        if isinstance(e, FileExistsError):  # from mkdir: a file where a directory must be
            detail = f"{e.filename} exists and is not a directory"
        elif e.filename and not durable.is_temporary(e.filename, path):
            detail = f"{e.filename}: {e.strerror or e}"
        else:
            detail = e.strerror or str(e)
        raise InputError(f"--out {path}: cannot write the plan ({detail})") from e


@dataclass(frozen=True)
class SavedPlan:
    """A plan file (``plan --out``), checked in two steps: against what needs no call to
    LaunchDarkly before connecting, then against the plan made from the live state."""

    path: Path
    document: dict[str, Any]

    @classmethod
    def read(cls, path: Path) -> SavedPlan:
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise ConfigError(f"cannot read the saved plan {path}: {e.strerror or e}") from e
        except ValueError as e:
            raise ConfigError(f"{path} is not a saved plan (invalid JSON: {e})") from e
        if not isinstance(saved, dict) or saved.get("format_version") != FORMAT_VERSION:
            raise ConfigError(
                f"{path} is not a saved plan of format_version {FORMAT_VERSION}; "
                "make it with `ld-reconciler plan --out`"
            )
        inputs = saved.get("inputs")
        shape = {
            "target": isinstance(saved.get("target"), str),
            "mode": saved.get("mode") in ("live", "offline"),
            "fingerprint": isinstance(saved.get("fingerprint"), str),
            "inputs": isinstance(inputs, dict)
            and all(isinstance(inputs.get(k), str) for k in ("desired", "ledger")),
            "summary": isinstance(saved.get("summary"), dict),
            "actions": isinstance(saved.get("actions"), list),
        }
        bad = [name for name, ok in shape.items() if not ok]
        if bad:
            raise ConfigError(
                f"{path} is not a complete saved plan (missing or malformed: {', '.join(bad)}); "
                "make it again with `ld-reconciler plan --out`"
            )
        return cls(path, saved)

    def check_inputs(self, desired: DesiredState, ledger: Ledger, target: str) -> None:
        """Refuse the plan, before any call, if made for another target, offline, or on
        flag files or a ledger other than these."""
        saved, path = self.document, self.path
        if saved["target"] != target:
            raise StalePlanError(f"saved plan {path} was made for {saved['target']}, not {target}")
        if saved["mode"] != "live":
            raise StalePlanError(f"saved plan {path} was made {saved['mode']}; apply plans live")
        changed = [
            what
            for what, key, now in (
                ("the flag files", "desired", desired_fingerprint(desired)),
                ("the ledger", "ledger", ledger_fingerprint(desired, ledger, target)),
            )
            if saved["inputs"][key] != now
        ]
        if changed:
            raise StalePlanError(
                f"saved plan {path} is stale: {' and '.join(changed)} changed since it was made; "
                "run `ld-reconciler plan --out` again and review it"
            )

    def check(self, plan: Plan) -> None:
        """Refuse the plan unless it is, action for action, the plan made now."""
        path = self.path
        if self.document["fingerprint"] != plan.fingerprint:
            raise StalePlanError(
                f"saved plan {path} is stale: LaunchDarkly, the flag files or the ledger changed "
                "since it was made; run `ld-reconciler plan --out` again and review it"
            )
        # The fingerprint alone does not vouch for the file's actions: they may be edited.
        now = json.loads(json.dumps(plan_document(plan), ensure_ascii=False))
        edited = [k for k in ("inputs", "summary", "actions") if self.document[k] != now[k]]
        if edited:
            raise StalePlanError(
                f"saved plan {path} was edited after it was made (its {' and '.join(edited)} "
                "differ from the plan it records); run `ld-reconciler plan --out` again"
            )
