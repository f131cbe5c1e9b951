"""The emulator's settings: what it serves, how it limits, which faults it injects.

Everything here is a frozen value, checked when it is built, so that a bad setting fails at
start-up with a clear message rather than in the middle of a request. The text forms used on the
command line (``N/SECONDS`` for rate limits, ``MS[:JITTER]`` for latency) are parsed here too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

DEV_TOKEN = "api-emulator-dev-token"
"""The access token the emulator accepts unless it is given others. Not a secret."""

DEFAULT_PROJECT = "default"
DEFAULT_WINDOW_SECONDS = 10.0
DEFAULT_STALL_SECONDS = 30.0
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
MIN_WINDOW_SECONDS = 0.001
MAX_DELAY_SECONDS = 86_400.0
"""The longest rate-limit window, latency or stall: a day. Longer ones are typing mistakes, and
past ~1e9 s the timers that wait for them overflow in the middle of a request."""


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` admitted per fixed window of ``window_seconds``."""

    requests: int
    window_seconds: float = DEFAULT_WINDOW_SECONDS

    def __post_init__(self) -> None:
        if isinstance(self.requests, bool) or not isinstance(self.requests, int):
            raise ValueError("the request count must be an integer")
        if self.requests < 1:
            raise ValueError("the request count must be at least 1")
        # Comparisons are False for NaN, so it is refused too.
        if not MIN_WINDOW_SECONDS <= self.window_seconds <= MAX_DELAY_SECONDS:
            raise ValueError(
                f"the window must be between {MIN_WINDOW_SECONDS:g} and {MAX_DELAY_SECONDS:g}"
                " seconds"
            )

    def __str__(self) -> str:
        return f"{self.requests}/{self.window_seconds:g}s"


@dataclass(frozen=True)
class Faults:
    """Injected faults; each rate is the share of requests it hits, drawn from a seeded RNG.

    ``fail_rate`` and ``throttle_rate`` are decided before a request is processed (a 5xx or an
    extra 429; nothing is stored). ``drop_rate`` and ``stall_rate`` are decided after it: a create
    is stored, then its response is lost (connection closed) or held for ``stall_seconds`` and
    then lost. ``latency_ms`` plus a uniform ``0..latency_jitter_ms`` delays every request.
    """

    fail_rate: float = 0.0
    throttle_rate: float = 0.0
    drop_rate: float = 0.0
    stall_rate: float = 0.0
    stall_seconds: float = DEFAULT_STALL_SECONDS
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0

    def __post_init__(self) -> None:
        for name in ("fail_rate", "throttle_rate", "drop_rate", "stall_rate"):
            _check_rate(name, getattr(self, name))
        if self.fail_rate + self.throttle_rate > 1.0:
            raise ValueError("fail_rate + throttle_rate must not exceed 1")
        if self.drop_rate + self.stall_rate > 1.0:
            raise ValueError("drop_rate + stall_rate must not exceed 1")
        for name in ("stall_seconds", "latency_ms", "latency_jitter_ms"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a non-negative number")
        if self.stall_seconds > MAX_DELAY_SECONDS:
            raise ValueError(f"stall_seconds must be at most {MAX_DELAY_SECONDS:g} (a day)")
        _check_latency_ms(self.latency_ms, self.latency_jitter_ms, "latency_ms")

    @property
    def active(self) -> bool:
        return bool(
            self.fail_rate or self.throttle_rate or self.drop_rate or self.stall_rate
            or self.latency_ms or self.latency_jitter_ms
        )


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything an ``Emulator`` needs to start. The defaults suit in-process tests."""

    host: str = "127.0.0.1"
    port: int = 0
    tokens: tuple[str, ...] = (DEV_TOKEN,)
    projects: tuple[str, ...] = (DEFAULT_PROJECT,)
    data_path: Path | None = None
    seed_file: Path | None = None
    rate_limit: RateLimit | None = None
    global_rate_limit: RateLimit | None = None
    retry_after_mode: bool = False
    faults: Faults = field(default_factory=Faults)
    seed: int | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    echo_token_in_errors: bool = False
    request_log_size: int = 100_000

    def __post_init__(self) -> None:
        if not (0 <= self.port <= 65535):
            raise ValueError("port must be between 0 and 65535")
        if not self.tokens or any(not t for t in self.tokens):
            raise ValueError("at least one non-empty token is required")
        if self.max_body_bytes < 1:
            raise ValueError("max_body_bytes must be positive")
        if self.request_log_size < 1:
            raise ValueError("request_log_size must be positive")

    def with_faults(self, **changes: float) -> EmulatorConfig:
        """A copy whose faults have the given fields replaced."""
        return replace(self, faults=replace(self.faults, **changes))


def _check_rate(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be a number between 0 and 1")


def parse_rate_limit(text: str) -> RateLimit:
    """``"N/SECONDS"`` (or just ``"N"``, for the default 10 s window) as a ``RateLimit``."""
    count_text, sep, window_text = text.strip().partition("/")
    try:
        count = int(count_text)
    except ValueError:
        raise ValueError(f"{text!r} is not N/SECONDS (N an integer, e.g. 100/10)") from None
    window = DEFAULT_WINDOW_SECONDS
    if sep:
        try:
            window = float(window_text.rstrip("s"))
        except ValueError:
            raise ValueError(f"{text!r} is not N/SECONDS (SECONDS a number, e.g. 100/10)") from None
    return RateLimit(count, window)


def parse_latency(text: str) -> tuple[float, float]:
    """``"MS[:JITTER]"`` as (fixed milliseconds, jitter milliseconds)."""
    fixed_text, _, jitter_text = text.strip().partition(":")
    try:
        fixed = float(fixed_text)
        jitter = float(jitter_text) if jitter_text else 0.0
    except ValueError:
        raise ValueError(f"{text!r} is not MS[:JITTER] (e.g. 50 or 50:20)") from None
    if not (math.isfinite(fixed) and math.isfinite(jitter) and fixed >= 0 and jitter >= 0):
        raise ValueError(f"{text!r}: latency and jitter must be non-negative milliseconds")
    _check_latency_ms(fixed, jitter, repr(text))
    return fixed, jitter


def _check_latency_ms(fixed: float, jitter: float, what: str) -> None:
    most = MAX_DELAY_SECONDS * 1000
    if fixed + jitter > most:
        raise ValueError(f"{what}: latency plus jitter must be at most a day ({most:.0f} ms)")
