"""What an apply reports while it runs and when it ends: the ``Progress`` it tells each
finished create, the ``ApplyResult`` it returns, and ``ApplyInterrupted``, the Ctrl-C that
carries what was done before it."""

from __future__ import annotations

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
