"""Applying a plan: the creates it lists, in dependency order, and nothing else.

A flag is created before its links and before the flags that name it as a prerequisite
or copy it (``clone``); independent creates run concurrently (the client paces them
within the rate limits). Every success is recorded in the ledger at once. A create whose
outcome is unknown (timeout, dropped connection, a gateway error) is never blindly sent
again: the flag or link is looked up first, and sent again, after a growing pause, only
if it is not there (at most ``MAX_SENDS`` sends; the last error is kept). A 409 is
looked up too: adopted if it matches what the file declares, a conflict otherwise. One
failure does not stop independent creates; what depended on it is skipped. But when
``OUTAGE_LIMIT`` creates in a row fail for want of an answer (LaunchDarkly down or
unreachable, each after its own retries), the creates not yet started are skipped: one
more would only wait out the same retries, and a thousand of them would take hours.
An exception that is not a ``ReconcilerError`` is a bug: it stops the apply (the creates
already running finish, and each success is in the ledger) and propagates as it is.
Ctrl-C stops it too: the running creates finish without sending again, and
``ApplyInterrupted`` tells every create that ended, those that ended after the interrupt too.
"""

from __future__ import annotations

import contextlib
import heapq
import random
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, Literal, Protocol

from reconciler import notices
from reconciler.errors import (
    ApiError,
    CreateFailed,
    OutcomeStayedUnknown,
    OutcomeUnknownError,
    ReconcilerError,
    went_unanswered,
)
from reconciler.model import DesiredState, FlagSpec, LinkSpec
from reconciler.plan import compare
from reconciler.plan.plan import Action, Kind, Plan
from reconciler.progress import ApplyResult, Progress, SilentProgress, Tally
from reconciler.remote.retry import RetryPolicy
from reconciler.settlement import record_adoption

if TYPE_CHECKING:
    from reconciler.state.ledger import Ledger

Outcome = Literal["created", "adopted"]
MAX_SENDS = 5
MAX_RESEND_PAUSE = 30.0  # seconds; the pauses between sends grow 0.5, 1, 2, 4 (jittered)
# Re-sends follow the one retry policy; looking before each one is apply's own rule.
RESENDS = RetryPolicy(max_retries=MAX_SENDS - 1, max_backoff=MAX_RESEND_PAUSE)
OUTAGE_LIMIT = 3


class FlagWriter(Protocol):
    """The part of the API client apply uses (``LaunchDarklyClient`` fits)."""

    def create_flag(
        self, project: str, body: dict[str, Any], clone: str | None = None
    ) -> dict[str, Any]: ...

    def get_flag(self, project: str, key: str) -> dict[str, Any] | None: ...

    def create_link(self, project: str, flag_key: str, body: dict[str, Any]) -> dict[str, Any]: ...

    def list_links(self, project: str, flag_key: str) -> list[dict[str, Any]]: ...


def apply_plan(
    plan: Plan,
    desired: DesiredState,
    client: FlagWriter,
    ledger: Ledger,
    *,
    concurrency: int = 4,
    progress: Progress | None = None,
    sleep: Callable[[float], object] | None = None,
    rng: random.Random | None = None,
) -> ApplyResult:
    """Record the plan's adoptions and run its creates; refuses a plan with blocked actions.

    ``sleep`` and ``rng`` pace the re-sends of a create whose outcome stayed unknown; by
    default a pause ends early when the apply is stopping (an outage, Ctrl-C).
    """
    blocked = plan.of(Kind.BLOCKED)
    if blocked:
        listing = "; ".join(f"{a.address}: {a.reason}" for a in blocked)
        raise ReconcilerError(f"{len(blocked)} blocked action(s), nothing was applied: {listing}")
    runner = _Runner(plan, desired, client, ledger, progress or SilentProgress(), sleep, rng)
    runner.adopt_all()
    runner.create_all(max(1, concurrency))
    return runner.result


class _Runner:
    def __init__(
        self,
        plan: Plan,
        desired: DesiredState,
        client: FlagWriter,
        ledger: Ledger,
        progress: Progress,
        sleep: Callable[[float], object] | None,
        rng: random.Random | None,
    ) -> None:
        self.plan = plan
        self.stopping = threading.Event()  # set once LaunchDarkly stopped answering, or on Ctrl-C
        self.sleep = sleep if sleep is not None else self.stopping.wait
        self.rng = rng if rng is not None else random.Random()
        self.client = client
        self.ledger = ledger
        self.target = plan.target
        self.progress = progress
        self.result = ApplyResult()
        self.tally = Tally(self.result, progress)
        self.flags: dict[str, FlagSpec] = {f.address: f for f in desired.flags}
        self.links: dict[str, LinkSpec] = {link.address: link for link in desired.links}
        self.variation_ids: dict[tuple[str, str], tuple[str, ...]] = {}
        self.lock = threading.Lock()
        for action in plan.actions:
            if action.resource == "flag" and action.variation_ids:
                self.variation_ids[(action.project, action.flag_key)] = action.variation_ids

    def adopt_all(self) -> None:
        for action in self.plan.of(Kind.ADOPT):
            spec = self.flags.get(action.address) or self.links[action.address]
            record_adoption(self.ledger, self.target, action, spec)
            self.result.adopted.append(action.address)

    def create_all(self, concurrency: int) -> None:
        creates = {a.address: a for a in self.plan.of(Kind.CREATE)}
        if not creates:
            return
        waiting_on = {
            address: {d for d in action.depends_on if d in creates}
            for address, action in creates.items()
        }
        dependents: dict[str, list[str]] = {address: [] for address in creates}
        for address, deps in waiting_on.items():
            for dep in deps:
                dependents[dep].append(address)
        # Ready creates wait here, per resource, in address order; the pool only ever holds
        # as many as it has workers. Flags and links are separate routes with separate rate
        # limits, so each free worker takes the kind with fewer running: both routes stay
        # busy, and a link whose flag was just created does not queue behind every flag.
        ready: dict[str, list[str]] = {"flag": [], "link": []}
        in_flight: Counter[str] = Counter()

        def make_ready(address: str) -> None:
            del waiting_on[address]
            heapq.heappush(ready[creates[address].resource], address)

        for address in [a for a, deps in waiting_on.items() if not deps]:
            make_ready(address)
        self.progress.started(len(creates))
        running: dict[Future[Outcome], Action] = {}
        pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="apply")
        join_pool = True

        def submit_ready() -> None:
            while len(running) < concurrency:
                kinds = [kind for kind, queue in ready.items() if queue]
                if not kinds:
                    return
                kind = min(kinds, key=in_flight.__getitem__)
                action = creates[heapq.heappop(ready[kind])]
                in_flight[kind] += 1
                running[pool.submit(self._run, action)] = action

        try:
            unanswered = 0  # creates in a row that failed for want of an answer
            submit_ready()
            while running:
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    action = running[future]
                    error = future.exception()
                    if error is not None and not isinstance(error, ReconcilerError):
                        raise error  # a bug stops the apply (see the module docstring)
                    self.tally.report(action, None if error else future.result(), error)
                    del running[future]
                    in_flight[action.resource] -= 1
                    unanswered = unanswered + 1 if went_unanswered(error) else 0
                    if unanswered >= OUTAGE_LIMIT:
                        self.stopping.set()  # no create sends again
                    if error is None:
                        for child in dependents[action.address]:
                            if child in waiting_on:  # not skipped after another failure
                                waiting_on[child].discard(action.address)
                                if not waiting_on[child]:
                                    make_ready(child)
                    else:
                        self._skip_dependents(action.address, dependents, waiting_on)
                if unanswered >= OUTAGE_LIMIT:
                    reason = (
                        f"not attempted: the last {unanswered} creates got no answer from "
                        "LaunchDarkly"
                    )
                    for address in sorted([*waiting_on, *ready["flag"], *ready["link"]]):
                        self.result.skipped.append((address, reason))
                    waiting_on.clear()
                    for queue in ready.values():
                        queue.clear()
                submit_ready()
        except KeyboardInterrupt:  # Ctrl-C: the running creates send no more
            self.stopping.set()
            join_pool = False  # waited for here, unless a second Ctrl-C says not to
            with contextlib.suppress(KeyboardInterrupt):
                pool.shutdown(wait=True)
            raise self.tally.interrupted(len(creates)) from None
        except BaseException:
            self.stopping.set()
            raise
        finally:
            pool.shutdown(wait=join_pool)
        self.progress.finished()

    def _skip_dependents(
        self, failed: str, dependents: Mapping[str, list[str]], waiting_on: dict[str, set[str]]
    ) -> None:
        stack = list(dependents[failed])
        while stack:
            address = stack.pop()
            if address in waiting_on:
                del waiting_on[address]
                self.result.skipped.append((address, f"depends on {failed}, which failed"))
                stack.extend(dependents[address])

    # -- one create ---------------------------------------------------------------

    def _run(self, action: Action) -> Outcome:
        """One create on a worker, noted where an interrupted apply finds it."""
        self.tally.start(action)
        try:
            outcome = self.create(action)
        except BaseException as e:
            self.tally.end(action, None, e)
            raise
        self.tally.end(action, outcome, None)
        return outcome

    def create(self, action: Action) -> Outcome:
        if action.resource == "flag":
            return self._create_flag(self.flags[action.address])
        return self._create_link(self.links[action.address])

    def _create_flag(self, spec: FlagSpec) -> Outcome:
        body = spec.post_body(self._prerequisite_ids(spec))
        flag, outcome, looked_up = self._send(
            lambda: self.client.create_flag(spec.project, body, clone=spec.clone),
            lambda: self.client.get_flag(spec.project, spec.key),
            f"flag {spec.key!r}",
        )
        if looked_up:
            return self._settle_flag(spec, flag, outcome)
        return self._record_flag(spec, flag, outcome)

    def _send(
        self,
        send: Callable[[], dict[str, Any]],
        look: Callable[[], dict[str, Any] | None],
        what: str,
    ) -> tuple[dict[str, Any], Outcome, bool]:
        """Send one create, looking before each re-send; what was created or found, the
        outcome, and whether it was found by looking (and must be checked against the spec).

        A 5xx may have been committed before the error (commit-then-500), so the look comes
        first; a server that keeps failing is given a growing pause between sends.
        """
        unknown: OutcomeUnknownError | None = None
        for attempt in range(MAX_SENDS):
            if attempt:
                pause = RESENDS.pause(attempt - 1, self.rng, full_jitter=False)
                notices.waiting(
                    "resend",
                    pause,
                    f"Creating {what}: its outcome was unknown and it did not land; sending it "
                    f"again in {notices.seconds(pause)} (send {attempt + 1} of {MAX_SENDS})",
                )
                self.sleep(pause)
                if self.stopping.is_set():
                    raise OutcomeStayedUnknown(
                        f"not sent again: the apply is stopping; the last: {unknown}"
                    ) from unknown
            try:
                return send(), "created", False
            except OutcomeUnknownError as e:
                unknown = e
            except ApiError as e:
                if e.status != 409:
                    raise
                found = look()
                if found is None:
                    raise CreateFailed(
                        f"LaunchDarkly answered 409 conflict, but no {what} can be read back"
                    ) from e
                return found, "adopted", True
            found = look()
            if found is not None:
                return found, "created", True
            # It did not land: sending again cannot duplicate it.
        raise OutcomeStayedUnknown(
            f"the outcome of creating it stayed unknown after {MAX_SENDS} tries; "
            f"the last: {unknown}"
        ) from unknown

    def _settle_flag(self, spec: FlagSpec, found: dict[str, Any], outcome: Outcome) -> Outcome:
        if found.get("archived"):
            raise CreateFailed("the key belongs to an archived flag")
        diff = compare.flag_differences(spec.fields, found)
        if diff:
            shown = ", ".join(d.path for d in diff)
            raise CreateFailed(f"a flag with this key exists with other settings ({shown})")
        return self._record_flag(spec, found, outcome)

    def _record_flag(self, spec: FlagSpec, flag: dict[str, Any], outcome: Outcome) -> Outcome:
        ids = compare.variation_ids(flag)
        with self.lock:
            self.variation_ids[(spec.project, spec.key)] = ids
        self.ledger.record_flag(self.target, spec, action=outcome, variation_ids=ids)
        return outcome

    def _prerequisite_ids(self, spec: FlagSpec) -> dict[tuple[str, int], str]:
        resolved: dict[tuple[str, int], str] = {}
        for prereq in spec.prerequisites:
            with self.lock:
                ids = self.variation_ids.get((spec.project, prereq.key))
            if ids is None or prereq.variation >= len(ids):
                found = self.client.get_flag(spec.project, prereq.key)
                if found is None:
                    raise CreateFailed(f"prerequisite flag {prereq.key!r} does not exist")
                ids = compare.variation_ids(found)
                with self.lock:
                    self.variation_ids[(spec.project, prereq.key)] = ids
            if prereq.variation >= len(ids):
                raise CreateFailed(
                    f"prerequisite flag {prereq.key!r} has no variation {prereq.variation}"
                )
            resolved[(prereq.key, prereq.variation)] = ids[prereq.variation]
        return resolved

    def _create_link(self, spec: LinkSpec) -> Outcome:
        body = spec.post_body()
        link, outcome, looked_up = self._send(
            lambda: self.client.create_link(spec.project, spec.flag_key, body),
            lambda: self._find_link(spec),
            f"link {spec.key!r}",
        )
        if looked_up:
            return self._settle_link(spec, link, outcome)
        self.ledger.record_link(self.target, spec, action=outcome, link_id=_link_id(link))
        return outcome

    def _find_link(self, spec: LinkSpec) -> dict[str, Any] | None:
        links = self.client.list_links(spec.project, spec.flag_key)
        return next((item for item in links if item.get("_key") == spec.key), None)

    def _settle_link(self, spec: LinkSpec, found: dict[str, Any], outcome: Outcome) -> Outcome:
        diff = compare.link_differences(spec.fields, found)
        if diff:
            shown = ", ".join(d.path for d in diff)
            raise CreateFailed(f"a link with this key exists with other settings ({shown})")
        self.ledger.record_link(self.target, spec, action=outcome, link_id=_link_id(found))
        return outcome


def _link_id(link: Mapping[str, Any]) -> str | None:
    value = link.get("_id")
    return str(value) if value is not None else None
