"""Pacing requests by LaunchDarkly's rate-limit headers, shared by all threads of one client.

LaunchDarkly counts requests in windows of 10 seconds, per route (method and path template),
globally and per access token, and reports where a client stands in response headers, each
present only when that limit is enforced (``launchdarkly/API-NOTES.md``, "Rate limits"):
``X-Ratelimit-{Global,Route,Auth-Token}-{Limit,Remaining}``, ``X-Ratelimit-Reset`` and
``X-Ratelimit-Auth-Token-Reset`` (Unix ms), and ``Retry-After`` (seconds or an HTTP date).

``RatePacer`` keeps a bucket per route, one global and one for the token; every request
counts against its route's bucket and the other two. ``acquire`` blocks before sending:

- a bucket's *budget* is the last ``Remaining`` seen in the current window; once that window's
  reset has passed, it is the limit (``-Limit``, else the largest ``Remaining`` seen + 1);
- a request goes while budget minus the requests already in flight is positive, so a burst of
  threads cannot overshoot. A spent budget sleeps until the reset plus jitter; a budget that
  is promised to requests in flight waits for one of them to finish;
- until a bucket has answered once, one request at a time probes it (the limits are unknown);
- a 429 (``release_throttled``) blocks the route, or everything when the global or token limit
  ran out or ``Retry-After`` (an IP limit) was sent, until the latest of Retry-After and the reset.

Reading ``Retry-After`` and the resets, and how long a 429 waits, is the retry policy's
(``retry``): a reset it does not trust (clock skew) makes a spent budget wait one documented
window here; a 429 then falls back to the policy's backoff.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from reconciler import notices
from reconciler.remote.retry import (
    header_int,
    parse_reset,
    parse_retry_after,
    throttled_until,
    token_spent,
)

logger = logging.getLogger("reconciler.remote.ratelimit")

WINDOW_SECONDS = 10.0
WAKE_JITTER = 0.1
# Real seconds between re-checks while waiting for in-flight requests; a release wakes it sooner.
_INFLIGHT_POLL = 0.25
_SAME_RESET = 0.0005


@dataclass
class _Bucket:
    probe: bool
    remaining: int | None = None
    reset_at: float | None = None
    limit: int | None = None
    inflight: int = 0
    blocked_until: float = 0.0
    seen: bool = False

    def budget(self, now: float) -> int | None:
        """Requests the server still accepts in the current window, or None if unlimited/unknown."""
        if self.remaining is None:
            return None
        if self.reset_at is not None and now >= self.reset_at:
            return self.limit
        return self.remaining

    def gate(self, now: float) -> tuple[float | None, bool]:
        """(when to wake up, or None; whether to wait for an in-flight request instead)."""
        if self.blocked_until > now:
            return self.blocked_until, False
        if self.probe and not self.seen:
            return None, self.inflight > 0
        budget = self.budget(now)
        if budget is None or budget - self.inflight > 0:
            return None, False
        if budget <= 0 and self.reset_at is not None and self.reset_at > now:
            return self.reset_at, False
        return None, self.inflight > 0

    def observe(
        self, remaining: int | None, limit: int | None, reset_at: float | None, now: float
    ) -> None:
        self.seen = True
        if remaining is None:
            if limit is not None:
                self.limit = limit
            return
        self.limit = limit if limit is not None else max(self.limit or 0, remaining + 1)
        if reset_at is None:  # absent or not believable: assume the documented window
            if self.reset_at is not None and self.reset_at > now:
                reset_at = self.reset_at
            else:
                reset_at = now + WINDOW_SECONDS
        if (
            self.remaining is None
            or self.reset_at is None
            or reset_at > self.reset_at + _SAME_RESET
        ):
            self.remaining, self.reset_at = remaining, reset_at  # a newer window
        elif reset_at >= self.reset_at - _SAME_RESET:
            # Answers of one window arrive out of order; the count only goes down.
            self.remaining = min(self.remaining, remaining)
        # else: an answer from an older window, already superseded.

    def unreported(self, now: float) -> None:
        """An answer without this bucket's headers: count it anyway while the window lasts."""
        self.seen = True
        if self.remaining and self.reset_at is not None and self.reset_at > now:
            self.remaining -= 1


class RatePacer:
    """Shared, thread-safe pacing of requests by route; see the module docstring."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._cond = threading.Condition()
        self._global = _Bucket(probe=True)
        self._token = _Bucket(probe=False)
        self._routes: dict[str, _Bucket] = {}

    def _buckets(self, route: str) -> tuple[_Bucket, _Bucket, _Bucket]:
        bucket = self._routes.get(route)
        if bucket is None:
            bucket = self._routes[route] = _Bucket(probe=True)
        return self._global, self._token, bucket

    def acquire(self, route: str) -> float:
        """Block until a request on ``route`` may be sent and count it in flight.

        Returns the seconds slept. Every ``acquire`` must be followed by one ``release``
        or ``release_throttled``.
        """
        slept = 0.0
        while True:
            with self._cond:
                now = self._clock()
                buckets = self._buckets(route)
                wake_at: float | None = None
                wait_inflight = False
                for bucket in buckets:
                    at, inflight = bucket.gate(now)
                    if at is not None:
                        wake_at = at if wake_at is None else max(wake_at, at)
                    wait_inflight = wait_inflight or inflight
                if wake_at is None and not wait_inflight:
                    for bucket in buckets:
                        bucket.inflight += 1
                    return slept
                if wake_at is None:
                    self._cond.wait(_INFLIGHT_POLL)
                    continue
                delay = wake_at - now + self._rng.uniform(0.0, WAKE_JITTER)
            logger.debug("%s: rate limit reached, waiting %.2fs", route, delay)
            notices.waiting(
                "throttled",
                delay,
                f"LaunchDarkly's rate limit is reached for {route}; waiting "
                f"{notices.seconds(delay)} for it to reset",
            )
            self._sleep(delay)
            slept += delay

    def release(self, route: str, headers: Mapping[str, str] | None) -> None:
        """A request on ``route`` finished; ``headers`` of its answer, None if there was none."""
        with self._cond:
            self._settle(route, headers)
            self._cond.notify_all()

    def release_throttled(self, route: str, headers: Mapping[str, str]) -> float | None:
        """A request on ``route`` was answered 429: block until the latest of Retry-After and
        the reset. Returns that time (our epoch seconds), or None when the headers give no
        usable time and the caller must back off on its own."""
        with self._cond:
            now = self._settle(route, headers)
            h = {k.lower(): v for k, v in headers.items()}
            until = throttled_until(h, now)
            self._cond.notify_all()
            if until is None:
                return None
            everything = (
                parse_retry_after(h.get("retry-after"), now) is not None
                or token_spent(h)
                or h.get("x-ratelimit-global-remaining", "").strip() == "0"
            )
            global_, _, bucket = self._buckets(route)
            for b in (global_, bucket) if everything else (bucket,):
                b.blocked_until = max(b.blocked_until, until)
            return until

    def _settle(self, route: str, headers: Mapping[str, str] | None) -> float:
        now = self._clock()
        global_, token, bucket = self._buckets(route)
        for b in (global_, token, bucket):
            b.inflight = max(0, b.inflight - 1)
        if headers is None:
            return now
        h = {k.lower(): v for k, v in headers.items()}
        reset = parse_reset(h.get("x-ratelimit-reset"), now)
        token_reset = parse_reset(h.get("x-ratelimit-auth-token-reset"), now)
        for b, name, at in (
            (global_, "global", reset),
            (token, "auth-token", token_reset),
            (bucket, "route", reset),
        ):
            remaining = header_int(h.get(f"x-ratelimit-{name}-remaining"))
            limit = header_int(h.get(f"x-ratelimit-{name}-limit"))
            if remaining is None and limit is None:
                b.unreported(now)
            else:
                b.observe(remaining, limit, at, now)
        return now
