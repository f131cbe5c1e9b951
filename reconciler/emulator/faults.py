"""Deciding, reproducibly, which faults hit a request.

One ``random.Random(seed)`` behind a lock draws the same five numbers for every request, whatever
the fault settings, so a given seed and sequence of requests always meets the same faults (with
concurrent clients the order of requests, and so the pairing, is up to the scheduler).

- ``fail``: answered 500, 502 or 503 before processing; nothing happens.
- ``throttle``: an extra 429 before processing; half carry ``Retry-After: 1``, half
  ``X-Ratelimit-Reset`` one second ahead.
- ``drop``: processed (a create is stored), then the connection is closed with no response.
- ``stall``: processed, then the response is held for ``stall_seconds`` and the connection closed.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, replace
from typing import Any, Literal

from reconciler.emulator.config import Faults

FAIL_STATUSES = (500, 502, 503)
THROTTLE_SECONDS = 1

Before = Literal["fail", "throttle"]
After = Literal["drop", "stall"]


@dataclass(frozen=True)
class FaultPlan:
    """The faults one request meets."""

    latency_seconds: float = 0.0
    before: Before | None = None
    fail_status: int = 500
    throttle_with_retry_after: bool = False
    after: After | None = None
    stall_seconds: float = 0.0


NO_FAULTS = FaultPlan()


class FaultInjector:
    def __init__(self, faults: Faults, seed: int | None) -> None:
        self._faults = faults
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    @property
    def faults(self) -> Faults:
        return self._faults

    def set(self, faults: Faults | None = None, **changes: Any) -> Faults:
        """Replace the fault settings (all of them, or the named fields); returns the new ones."""
        with self._lock:
            base = faults if faults is not None else self._faults
            self._faults = replace(base, **changes) if changes else base
            return self._faults

    def plan(self) -> FaultPlan:
        with self._lock:
            f = self._faults
            u_before, u_status, u_kind, u_jitter, u_after = (
                self._random.random() for _ in range(5)
            )
        if not f.active:
            return NO_FAULTS
        before: Before | None = None
        if u_before < f.fail_rate:
            before = "fail"
        elif u_before < f.fail_rate + f.throttle_rate:
            before = "throttle"
        after: After | None = None
        if u_after < f.drop_rate:
            after = "drop"
        elif u_after < f.drop_rate + f.stall_rate:
            after = "stall"
        return FaultPlan(
            latency_seconds=(f.latency_ms + u_jitter * f.latency_jitter_ms) / 1000,
            before=before,
            fail_status=FAIL_STATUSES[int(u_status * len(FAIL_STATUSES))],
            throttle_with_retry_after=u_kind < 0.5,
            after=after,
            stall_seconds=f.stall_seconds,
        )
