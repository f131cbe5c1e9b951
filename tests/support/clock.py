"""A fake clock for the client's and the rate pacer's waits (time moves only when slept on),
and a random source that always draws the same number (for jitter)."""

from __future__ import annotations

import random
import threading

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z, the clock's default start


class FakeTime:
    """A clock that only moves when someone sleeps.

    Threads sleep concurrently: a sleep ends ``seconds`` after that thread last read the
    clock, so two threads sleeping 10 s side by side move time by 10 s, not 20.
    """

    def __init__(self, start: float = T0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()
        self._local = threading.local()

    def clock(self) -> float:
        with self._lock:
            self._local.read = self.now
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            base = getattr(self._local, "read", self.now)
            self.now = max(self.now, base + seconds)


class FixedRandom(random.Random):
    """``random()`` is always ``value``: a jitter the test knows."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value
