"""Reconciling, as a library: connect, plan, apply.

``apply_run`` is a whole apply: it loads the flag files, connects, holds the ledger's lock
and keeps the ledger open for the run (compacted and closed whatever happens), checks a
saved plan, plans, asks ``confirm`` and applies. ``plan_run`` is a whole plan. Their parts:
``connect`` builds what a run talks to (the API client, the target's name, the ledger
path; the in-process emulator for ``--emulator``); ``load_desired`` loads and validates,
``build_plan`` observes and plans. ``save_plan`` and ``SavedPlan`` (writing a plan file,
and checking one) are the saved plan's, in ``plan/saved.py``. The CLI turns options into
their arguments and their results into output and exit codes.
"""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler import notices
from reconciler.config.configuration import Config
from reconciler.errors import ConfigError, LedgerLockedError, ValidationFailed
from reconciler.files.validator import ValidationResult, validate_paths
from reconciler.model import DesiredState
from reconciler.plan.plan import Kind, Plan, make_plan
from reconciler.plan.saved import SavedPlan
from reconciler.progress import ApplyResult, Progress
from reconciler.remote import secret
from reconciler.remote.baseurl import normalise_base_url
from reconciler.remote.observe import ExistingState, observe_live, observe_offline
from reconciler.settlement import refresh
from reconciler.state.ledger import Ledger
from reconciler.state.lock import FileLock, LedgerLock

if TYPE_CHECKING:
    from reconciler.config.configuration import Config
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
    emulator_data: str = ""  # the bundled emulator's directory, which its plans name


@dataclass(frozen=True)
class Endpoint:
    """Where a run goes: LaunchDarkly at ``base_url`` (None: the default) or the bundled
    emulator, and the ledger that records what was created there (None: the default)."""

    base_url: str | None = None
    ledger_path: Path | None = None
    emulator: bool = False
    timeout: float = 30.0
    state_dir: Path = STATE_DIR  # the default ledger's and the emulator's data's directory

    def configured(self, config: Config | None) -> Endpoint:
        """This endpoint with what ``config`` sets where the command line set nothing:
        options and environment variables win over it, it wins over the defaults. The
        emulator keeps its own ledger (next to the configuration), never the configured one."""
        if config is None or config.file is None:
            return self
        base_url, ledger = self.base_url, self.ledger_path
        if not self.emulator:
            base_url = base_url if base_url is not None else config.base_url
            ledger = ledger if ledger is not None else Path(config.display(config.ledger))
        state_dir = Path(config.display(config.directory / STATE_DIR))
        return replace(self, base_url=base_url, ledger_path=ledger, state_dir=state_dir)

    @property
    def options(self) -> tuple[str, ...]:
        """The command-line options that choose this endpoint, for the exact commands that
        hints spell out."""
        options: list[str] = []
        if self.emulator:
            options.append("--emulator")
        if self.base_url is not None:
            options += ["--base-url", self.base_url]
        if self.ledger_path is not None:
            options += ["--ledger", os.fspath(self.ledger_path)]
        return tuple(options)


def command_line(*args: str | Path) -> str:
    """``ld-reconciler ARGS`` as a user would type it (quoted for a POSIX shell)."""
    return shlex.join(["ld-reconciler", *(os.fspath(a) for a in args)])


def load_desired(paths: Sequence[str], config: Config | None = None) -> DesiredState:
    """Load and validate the flag files, resolved against ``config`` (None: the built-in
    defaults); every finding at once, or the desired state."""
    return load_checked(paths, config).state


def load_checked(paths: Sequence[str], config: Config | None = None) -> ValidationResult:
    """Load and validate the flag files, resolved against ``config`` and checked by its
    policies (None: no configuration): ``ValidationFailed`` with every finding when one is
    an error, else the result, whose findings are the warnings every run shows."""
    result = validate_paths(paths, config)
    if not result.ok:
        raise ValidationFailed(result.findings)
    return result


@contextlib.contextmanager
def connect(
    desired: DesiredState,
    endpoint: Endpoint,
    *,
    offline: bool = False,
    need_token: bool = False,
    command: str = "ld-reconciler",
    lock_wait: float | None = None,
) -> Iterator[Connection]:
    """Open the connection a run needs; closes it (and stops the emulator) afterwards.

    ``command`` names the run to another that finds the emulator's data file in use; the run
    waits ``lock_wait`` seconds for it (None: the command has no ``--lock-wait``, and waits not).
    """
    base_url, ledger_path, timeout = endpoint.base_url, endpoint.ledger_path, endpoint.timeout
    if endpoint.emulator:
        if base_url is not None:
            raise ConfigError("--emulator and --base-url cannot be used together")
        with _emulator(desired, endpoint.state_dir, command, lock_wait) as url:
            from reconciler.emulator import DEV_TOKEN
            from reconciler.remote.client import LaunchDarklyClient

            ledger = ledger_path or endpoint.state_dir / EMULATOR_LEDGER.name
            data = os.fspath(endpoint.state_dir)
            if offline:
                yield Connection(EMULATOR_TARGET, ledger, None, emulator_data=data)
                return
            with LaunchDarklyClient(url, DEV_TOKEN, timeout=timeout) as client:
                yield Connection(EMULATOR_TARGET, ledger, client, emulator_data=data)
        return
    token = secret.token_from_env()  # first: a base URL in an error may hold the token
    url = DEFAULT_BASE_URL if base_url is None else base_url  # "" is refused, not the default
    target = normalise_base_url(url)
    ledger = ledger_path or endpoint.state_dir / DEFAULT_LEDGER.name
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
def _emulator(
    desired: DesiredState, state_dir: Path, command: str, lock_wait: float | None
) -> Iterator[str]:
    from reconciler.emulator import Emulator, EmulatorConfig
    from reconciler.emulator.datafile import Claim

    state_dir.mkdir(parents=True, exist_ok=True)
    data_path = state_dir / EMULATOR_DATA.name
    config = EmulatorConfig(projects=desired.projects or ("default",), data_path=data_path)
    # The data file is not the user's choice here: no advice to use another one.
    advice = "wait for it to finish and retry"
    if lock_wait is not None:
        advice += ", or pass --lock-wait SECONDS"
    claim = Claim(command=command, wait=lock_wait or 0.0, advice=advice)
    with Emulator(config, claim=claim) as emu:
        for project in desired.projects:
            emu.add_project(project)
        yield emu.base_url


def build_plan(
    desired: DesiredState,
    connection: Connection,
    ledger: Ledger,
    paths: Sequence[str] = (),
    *,
    adopt_drifted: bool = False,
) -> Plan:
    """Observe (live when there is a client) and plan the flag files at ``paths``."""
    existing: ExistingState
    if connection.client is None:
        existing = observe_offline()
    else:
        existing = observe_live(connection.client, desired, ledger, connection.target)
    plan = make_plan(desired, existing, ledger, connection.target, adopt_drifted=adopt_drifted)
    return replace(plan, paths=tuple(paths), emulator_data=connection.emulator_data)


@contextlib.contextmanager
def _ledger_lock(path: Path, wait: float) -> Iterator[LedgerLock]:
    """The ledger's lock for an apply; says who holds it when this apply waits for it."""
    lock = FileLock(path, command="ld-reconciler apply")
    try:
        lock.acquire()
    except LedgerLockedError:
        if wait <= 0:
            raise
        holder = lock.holder()
        who = holder.describe() if holder else "another process"
        notices.say(
            f"The ledger {path} is locked by {who}; waiting up to "
            f"{notices.seconds(wait)} (--lock-wait) for it to be released"
        )
        lock.acquire(wait)
    with lock:
        yield lock


@dataclass(frozen=True)
class PlanRun:
    """What ``plan_run`` made: the plan, and a note for the user (why it is offline)."""

    plan: Plan
    note: str = ""


def plan_run(
    paths: Sequence[str],
    endpoint: Endpoint,
    *,
    offline: bool = False,
    adopt_drifted: bool = False,
    config: Config | None = None,
) -> PlanRun:
    """Load the flag files, connect (live when there is a token, unless ``offline``) and plan.
    A plan writes nothing, not even the records a live plan finds out of date (see
    ``reconciler.settlement``): like Terraform's, only an apply writes state.

    ``config`` (None: none) resolves the flags, checks its policies and fills what
    ``endpoint`` leaves unset. Raises ``ValidationFailed`` with every finding when the files
    have an error (a failing policy included): nothing is sent. The plan carries the
    policies' warnings.
    """
    checked = load_checked(paths, config)
    desired = checked.state
    endpoint = endpoint.configured(config)
    command = "ld-reconciler plan --emulator"
    with connect(desired, endpoint, offline=offline, command=command) as connection:
        ledger = Ledger.load(connection.ledger_path)
        plan = build_plan(desired, connection, ledger, paths, adopt_drifted=adopt_drifted)
    return PlanRun(replace(plan, findings=checked.findings), connection.note)


@dataclass(frozen=True)
class ApplyRun:
    """What ``apply_run`` did: the plan it made, and what applying it did (None when
    nothing was applied: the plan has blocked actions, nothing to create, or ``declined``);
    ``refreshed``, the records brought up to date because the files and LaunchDarkly agree."""

    plan: Plan
    outcome: ApplyResult | None = None
    declined: bool = False
    refreshed: tuple[str, ...] = ()


def apply_run(
    paths: Sequence[str],
    endpoint: Endpoint,
    *,
    saved_plan: Path | None = None,
    concurrency: int = 4,
    lock_wait: float = 0.0,
    show_plan: Callable[[Plan], object] = lambda plan: None,
    confirm: Callable[[Plan], bool] | None = None,
    progress: Progress | None = None,
    adopt_drifted: bool = False,
    config: Config | None = None,
) -> ApplyRun:
    """Apply the flag files at ``paths``: plan live, show the plan, confirm, create.

    The ledger's lock is held (waiting up to ``lock_wait`` seconds for another apply) and the
    ledger open from before planning until the end, and the ledger is compacted and closed
    whatever happens: a create recorded before an error, an interrupt or a bug stays recorded.
    A ``saved_plan`` is checked before any call (target, mode, inputs), then against the plan
    made now, and refused (``StalePlanError``) if anything differs. ``show_plan`` is given
    every plan made (with the policies' warnings); ``confirm`` (None: do not ask) is asked
    only when there is something to create, and nothing is created unless it says yes.
    ``adopt_drifted`` adopts what exists with other settings, recording its differences as
    accepted. Unless the plan is blocked or declined, the records of what the files and
    LaunchDarkly now agree on are refreshed. ``config`` as for ``plan_run`` (a failing policy
    is a ``ValidationFailed`` before any connection). With a ``saved_plan``, ``paths`` may be
    empty: the plan's own are applied (given, they must be the same). A Ctrl-C during the
    creates raises ``ApplyInterrupted`` with what was done.
    """
    saved = None
    if saved_plan is not None:
        options: list[str | Path] = [*endpoint.options, "--out", saved_plan]
        saved = SavedPlan.read(saved_plan, command_line("plan", *(paths or ["PATH..."]), *options))
        if saved.paths:
            saved = replace(saved, remake=command_line("plan", *saved.paths, *options))
        paths = saved.paths_for(paths)
    checked = load_checked(paths, config)
    desired = checked.state
    endpoint = endpoint.configured(config)
    adopt_drifted = adopt_drifted or (saved is not None and saved.adopts_drifted)
    with (
        connect(
            desired,
            endpoint,
            need_token=True,
            command="ld-reconciler apply --emulator",
            lock_wait=lock_wait,
        ) as connection,
        _ledger_lock(connection.ledger_path, lock_wait) as lock,
    ):
        assert connection.client is not None  # need_token: connect gives a client or raises
        ledger = Ledger.load(connection.ledger_path, lock=lock)
        try:
            if saved is not None:  # before observing: a stale plan costs no call
                saved.check_inputs(desired, ledger, connection.target)
            plan = build_plan(desired, connection, ledger, paths, adopt_drifted=adopt_drifted)
            plan = replace(plan, findings=checked.findings)
            if saved is not None:
                saved.check(plan)
            show_plan(plan)
            if plan.of(Kind.BLOCKED):
                return ApplyRun(plan)
            if not plan.has_changes:
                return ApplyRun(plan, refreshed=refresh(plan, ledger))
            if confirm is not None and not confirm(plan):
                return ApplyRun(plan, declined=True)
            from reconciler.apply import apply_plan  # only an apply that creates needs it

            outcome = apply_plan(
                plan, desired, connection.client, ledger, concurrency=concurrency,
                progress=progress,
            )  # fmt: skip
            refreshed = refresh(plan, ledger)
        finally:
            ledger.compact()
            ledger.close()
    return ApplyRun(plan, outcome, refreshed=refreshed)
