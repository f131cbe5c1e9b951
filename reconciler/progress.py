"""What an apply reports while it runs and when it ends: the ``Progress`` it tells each
finished create, the ``Tally`` that counts each create once, the ``ApplyResult`` it returns,
and ``ApplyInterrupted``, the Ctrl-C that carries what was done before it."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Protocol

from reconciler.plan.plan import Action


class Progress(Protocol):
    def started(self, total: int) -> None: ...

    def finished_one(self, action: Action, outcome: str) -> None: ...

    def finished(self) -> None: ...


class SilentProgress:
    """A Progress that shows nothing: the default, and a base for one that shows a part."""

    def started(self, total: int) -> None:
        pass

    def finished_one(self, action: Action, outcome: str) -> None:
        pass

    def finished(self) -> None:
        pass


@dataclass
class ApplyResult:
    """What apply did, resource by resource."""

    created: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped

    @property
    def summary(self) -> str:
        text = (
            f"Apply {'complete' if self.ok else 'incomplete'}: {len(self.created)} created, "
            f"{len(self.adopted)} adopted"
        )
        if self.failed:
            text += f", {len(self.failed)} failed"
        if self.skipped:
            text += f", {len(self.skipped)} skipped"
        return text + "."


class ApplyInterrupted(KeyboardInterrupt):
    """Ctrl-C during the creates, raised once the creates that were running have finished
    (or a second Ctrl-C stopped waiting for them): what was done, and how many creates of
    the plan were not (``unfinished`` of them may still have landed: they were running)."""

    def __init__(self, result: ApplyResult, left: int, unfinished: int) -> None:
        super().__init__()
        self.result = result
        self.left = left
        self.unfinished = unfinished


class Tally:
    """The creates of one apply, each counted in the ``ApplyResult`` and shown once.

    The workers note each create they start and how it ends (``start``, ``end``); the apply
    reports each finished create from its futures (``report``). After Ctrl-C the workers'
    notes are what counts (``interrupted``): the interrupt may come between a submit and
    the apply's own bookkeeping, and a create that landed then is in the ledger all the same.
    """

    def __init__(self, result: ApplyResult, progress: Progress) -> None:
        self.result = result
        self.progress = progress
        self.reported: set[str] = set()
        self.landed = 0  # creates that were created or found, and recorded
        self._lock = threading.Lock()
        self._started: dict[str, Action] = {}
        self._ended: dict[str, tuple[str | None, BaseException | None]] = {}

    def start(self, action: Action) -> None:
        with self._lock:
            self._started[action.address] = action

    def end(self, action: Action, outcome: str | None, error: BaseException | None) -> None:
        with self._lock:
            self._ended[action.address] = (outcome, error)

    def report(self, action: Action, outcome: str | None, error: BaseException | None) -> None:
        """Count and show a finished create (``outcome``, else failed with ``error``), once."""
        if action.address in self.reported:
            return
        self.reported.add(action.address)
        if outcome is not None:
            self.landed += 1
            (self.result.created if outcome == "created" else self.result.adopted).append(
                action.address
            )
            self.progress.finished_one(action, outcome)
        else:
            self.result.failed.append((action.address, str(error)))
            self.progress.finished_one(action, "failed")

    def interrupted(self, total: int) -> ApplyInterrupted:
        """Ctrl-C after the workers stopped (or were left): report every create that ended,
        and say how many of ``total`` are left and how many were still running."""
        with self._lock:
            started, ended = dict(self._started), dict(self._ended)
        unfinished = 0
        for address, action in started.items():
            if address not in ended:
                unfinished += 1
                continue
            outcome, error = ended[address]
            with contextlib.suppress(Exception):  # a bug's error: the interrupt comes first
                self.report(action, outcome, error)
        self.progress.finished()
        return ApplyInterrupted(self.result, total - self.landed, unfinished)
