"""The retry policy: which failures are tried again, and after how long.

One policy for every request the reconciler sends: the LaunchDarkly client's calls
(``remote.session``), the GitHub client's (``github.client``) and apply's re-sends of a
create whose outcome stayed unknown (``apply``). The rules come from
``launchdarkly/API-NOTES.md``:

- **What is retried.** A transport error raised before a byte of the request left
  (connect error or timeout, no pooled connection free) always, a POST included. A
  transient transport error (a timeout, a network error, a dropped connection) and a
  5xx only for a method that may be sent twice (``RetryPolicy.idempotent``). A 429 always: it
  was not processed. Never a 409, another 4xx or a 3xx: sending again cannot change them.
- **What is not decided here.** A request that may have taken effect (a POST that was sent
  and failed, a POST answered 5xx) is not simply sent again: the caller looks (GET) first and
  re-sends only what did not land. That rule stays with the caller (``apply``).
- **How long.** Capped exponential backoff with jitter (``backoff``): full jitter spreads
  retries of transient failures, equal jitter guarantees a growing pause (a 429 without
  usable headers, a re-send). Never sooner than the server asked: ``Retry-After`` (seconds or
  an HTTP date) and LaunchDarkly's ``X-Ratelimit-Reset`` (Unix ms), each trusted only up to
  ``MAX_RESET_WAIT`` ahead and ``SKEW_TOLERANCE`` behind our clock.

A library (tenacity, stamina) was weighed and not taken: the callers need an injectable
sleep, clock and random source for exact tests, waits that come from headers the rate-limit
pacer shares, and a different error for each way of giving up; a library's retry loop would
have to be bent to each of those, and this policy is a few small functions.
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

logger = logging.getLogger("reconciler.remote.retry")

BACKOFF_BASE = 0.5
MAX_RESET_WAIT = 120.0
SKEW_TOLERANCE = 2.0


@dataclass(frozen=True)
class _TransportErrors:
    not_sent: tuple[type[BaseException], ...]
    fatal: tuple[type[BaseException], ...]
    transient: tuple[type[BaseException], ...]


@functools.cache
def _transport_errors() -> _TransportErrors:
    # Imported on first use: apply uses the policy too, and an offline plan that imports
    # apply must not pay for httpx (tests/perf/test_imports.py).
    import httpx

    return _TransportErrors(
        # Raised before a byte of the request left: always safe to retry, a POST included.
        not_sent=(httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout),
        # Raised before sending too, but retrying cannot help.
        fatal=(httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError),
        # Worth retrying when the request may be sent twice.
        transient=(httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError),
    )


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry; see the module docstring."""

    max_retries: int = 8
    max_backoff: float = 60.0
    # Methods whose second send does no harm; a POST is not one (it would create twice).
    idempotent: frozenset[str] = frozenset({"GET", "HEAD"})

    def retries_error(self, method: str, error: BaseException) -> bool:
        """Whether a request that failed with this transport error may be sent again."""
        kinds = _transport_errors()
        if isinstance(error, kinds.not_sent):
            return True
        return method in self.idempotent and isinstance(error, kinds.transient)

    def outcome_unknown(self, method: str, error: BaseException) -> bool:
        """Whether a request that failed with this transport error, and is not retried, may
        have taken effect: the caller must look before sending it again."""
        return method not in self.idempotent and not isinstance(error, _transport_errors().fatal)

    def retries_status(self, method: str, status: int) -> bool:
        """Whether a request answered with this status may be sent again."""
        if status == 429:
            return True
        return status >= 500 and method in self.idempotent

    def gives_up(self, attempt: int) -> bool:
        """Whether attempt ``attempt`` (from 0) was the last one allowed."""
        return attempt >= self.max_retries

    def pause(
        self,
        attempt: int,
        rng: random.Random,
        *,
        full_jitter: bool = True,
        at_least: float | None = None,
    ) -> float:
        """Seconds to wait before retry ``attempt + 1``: the backoff, or what the server asked
        (``at_least``, already bounded) if that is longer."""
        delay = backoff(attempt, self.max_backoff, rng, full_jitter=full_jitter)
        return max(delay, at_least or 0.0)


def backoff(attempt: int, cap: float, rng: random.Random, *, full_jitter: bool = True) -> float:
    """Seconds to wait before retry ``attempt + 1``: exponential, capped, jittered.

    Full jitter (0..ceiling) spreads retries of transient failures; equal jitter
    (ceiling/2..ceiling) guarantees a growing pause, as a 429 without headers needs.
    """
    ceiling = min(cap, BACKOFF_BASE * 2.0 ** min(attempt, 32))
    if full_jitter:
        return rng.uniform(0.0, ceiling)
    return ceiling / 2 + rng.uniform(0.0, ceiling / 2)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from ``Retry-After`` (delta-seconds or an HTTP date), or None if unusable.

    An HTTP date is read against our clock, so one in the past is taken as skew, not as "now".
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RESET_WAIT)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when <= now:
        return None
    return min(when - now, MAX_RESET_WAIT)


def header_int(value: str | None) -> int | None:
    """A non-negative integer header, or None if absent or not one."""
    if value is None:
        return None
    try:
        n = int(value.strip())
    except ValueError:
        return None
    return n if n >= 0 else None


def parse_reset(value: str | None, now: float) -> float | None:
    """A ``*-Reset`` header (Unix ms) as our epoch seconds, or None if absent or not believable."""
    ms = header_int(value)
    if ms is None:
        return None
    at = ms / 1000.0
    if not now - SKEW_TOLERANCE <= at <= now + MAX_RESET_WAIT:
        logger.debug("ignoring rate-limit reset %.1fs from now: clock skew?", at - now)
        return None
    return at


def throttled_until(headers: Mapping[str, str], now: float) -> float | None:
    """When a request answered 429 may go again (our epoch seconds): the latest of
    ``Retry-After``, ``X-Ratelimit-Reset`` and, when the token's budget is spent,
    ``X-Ratelimit-Auth-Token-Reset``; None when none is usable and backoff must decide."""
    h = {k.lower(): v for k, v in headers.items()}
    candidates: list[float] = []
    retry_after = parse_retry_after(h.get("retry-after"), now)
    if retry_after is not None:
        candidates.append(now + retry_after)
    reset = parse_reset(h.get("x-ratelimit-reset"), now)
    if reset is not None and reset > now:
        candidates.append(reset)
    token_reset = parse_reset(h.get("x-ratelimit-auth-token-reset"), now)
    if token_spent(h) and token_reset is not None and token_reset > now:
        candidates.append(token_reset)
    return max(candidates) if candidates else None


def token_spent(lowered: Mapping[str, str]) -> bool:
    """Whether the answer (headers lower-cased) says the token's own budget is spent."""
    return lowered.get("x-ratelimit-auth-token-remaining", "").strip() == "0"
