"""Route and global rate limits in fixed windows, with LaunchDarkly's headers.

A route is a method and a path template (``POST /api/v2/flags/{projectKey}``); all tokens share
its limit, as in LaunchDarkly. Windows are aligned to multiples of their length since the epoch,
so ``X-Ratelimit-Reset`` (epoch milliseconds) is the end of the current window. Only requests
that are admitted count. Each limit's headers are sent only when that limit is enforced.

``X-Ratelimit-Reset`` names the end of the window of the limit that binds: on a 429 the latest
end among the exhausted limits, otherwise the limit with the fewest requests remaining.
In ``retry_after_mode`` the limits behave like LaunchDarkly's IP-based ones: no reset header;
a 429 carries ``Retry-After`` in whole seconds (at least 1) instead.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

from reconciler.emulator.config import RateLimit


@dataclass(frozen=True)
class Decision:
    admitted: bool
    headers: tuple[tuple[str, str], ...]


class _Counter:
    """Counts admitted requests in the current fixed window of one limit."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self.window = -1
        self.count = 0

    def refresh(self, now: float) -> None:
        window = math.floor(now / self.limit.window_seconds)
        if window != self.window:
            self.window, self.count = window, 0

    @property
    def remaining(self) -> int:
        return max(0, self.limit.requests - self.count)

    @property
    def reset(self) -> float:
        return (self.window + 1) * self.limit.window_seconds


class RateLimiter:
    def __init__(
        self,
        route_limit: RateLimit | None,
        global_limit: RateLimit | None,
        *,
        retry_after_mode: bool,
        clock: Callable[[], float],
    ) -> None:
        self._route_limit = route_limit
        self._global = _Counter(global_limit) if global_limit else None
        self._routes: dict[str, _Counter] = {}
        self._retry_after_mode = retry_after_mode
        self._clock = clock
        self._lock = threading.Lock()

    @property
    def enforced(self) -> bool:
        return self._route_limit is not None or self._global is not None

    def admit(self, route: str) -> Decision:
        if not self.enforced:
            return Decision(True, ())
        with self._lock:
            now = self._clock()
            named: list[tuple[str, _Counter]] = []
            if self._route_limit is not None:
                counter = self._routes.get(route)
                if counter is None:
                    counter = self._routes[route] = _Counter(self._route_limit)
                named.append(("Route", counter))
            if self._global is not None:
                named.append(("Global", self._global))
            for _, c in named:
                c.refresh(now)
            exhausted = [c for _, c in named if c.remaining == 0]
            admitted = not exhausted
            if admitted:
                for _, c in named:
                    c.count += 1
            headers = []
            for name, c in named:
                headers.append((f"X-Ratelimit-{name}-Limit", str(c.limit.requests)))
                headers.append((f"X-Ratelimit-{name}-Remaining", str(c.remaining)))
            counters = [c for _, c in named]
            if exhausted:
                reset = max(c.reset for c in exhausted)
            else:
                binding = min(counters, key=lambda c: (c.remaining, -c.reset))
                reset = binding.reset
            if not self._retry_after_mode:
                headers.append(("X-Ratelimit-Reset", str(math.ceil(reset * 1000))))
            elif not admitted:
                headers.append(("Retry-After", str(max(1, math.ceil(reset - now)))))
            return Decision(admitted, tuple(headers))
