"""One client's HTTP session with LaunchDarkly: sending a call, pacing and retrying it.

It owns the headers (the token, the API version), base-URL and TLS safety, timeouts, pacing
by the rate-limit headers (``ratelimit.RatePacer``), retrying by the one retry policy
(``retry.RetryPolicy``), reading an answer no larger than ``max_response_bytes`` and no
slower than the timeout, and turning each transport failure and error status into the
``errors`` tree with the access token scrubbed out:

- GET is retried on 5xx, connection errors, timeouts and dropped connections; a server that
  has never answered gets ``FIRST_CONTACT_RETRIES`` quick tries, not minutes of backoff.
- POST is retried only when it certainly never reached the server and on 429 (not
  processed). Any other failure once it was sent, a 5xx included (a gateway may have
  committed it), raises ``OutcomeUnknownError``: the caller looks (GET) before sending it
  again. A 409 or any other 4xx is final.
- 3xx is never followed (the token would go with it); it is an ``ApiError``.

TLS is verified. A custom CA bundle (a PEM file, replacing the default trust store) is read
from ``LD_RECONCILER_CA_BUNDLE``, else ``SSL_CERT_FILE``; neither is consulted when a
transport is injected.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from reconciler import __version__, notices
from reconciler.errors import ConfigError, OutcomeUnknownError, TransportError
from reconciler.remote import secret
from reconciler.remote.answer import Answer, api_error, decode, fault
from reconciler.remote.baseurl import is_loopback
from reconciler.remote.ratelimit import RatePacer
from reconciler.remote.retry import RetryPolicy, parse_retry_after

# The requests are the client's: its log lines keep the name users know and filter by.
logger = logging.getLogger("reconciler.remote.client")

API_VERSION = "20240415"
BETA_API_VERSION = "beta"
CA_BUNDLE_ENV_VARS = ("LD_RECONCILER_CA_BUNDLE", "SSL_CERT_FILE")
# Connection attempts before giving up on a server that has never answered.
FIRST_CONTACT_RETRIES = 2


@dataclass
class ClientStats:
    """What one client did; updated from many threads."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    server_errors: int = 0
    transport_errors: int = 0
    by_route: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def count(self, name: str, route: str | None = None) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)
            if route is not None:
                self.by_route[route] += 1


def verify() -> ssl.SSLContext | bool:
    """httpx's ``verify``: the CA bundle the environment names, else the default trust store."""
    for name in CA_BUNDLE_ENV_VARS:
        path = os.environ.get(name, "").strip()
        if path:
            try:
                return ssl.create_default_context(cafile=path)
            except (OSError, ssl.SSLError) as e:
                raise ConfigError(f"{name}={path}: cannot load the CA bundle: {e}") from e
    return True


class Session:
    """Sends calls for one ``LaunchDarklyClient``; thread-safe; see the module docstring."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None,
        timeout: float,
        policy: RetryPolicy,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        rng: random.Random,
        max_response_bytes: int,
    ) -> None:
        self.base_url = base_url
        self.stats = ClientStats()
        self._token = token
        self._answered = False  # has any response ever arrived from this base URL?
        self._timeout = httpx.Timeout(timeout)
        self._policy = policy
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._max_bytes = max_response_bytes
        self._pacer = RatePacer(clock=clock, sleep=sleep, rng=rng)
        host = httpx.URL(base_url).host
        self._http = httpx.Client(
            transport=transport,
            verify=True if transport is not None else verify(),
            timeout=self._timeout,
            follow_redirects=False,
            # No proxy (HTTP_PROXY, ALL_PROXY, ...) for a loopback host: the proxy, not this
            # machine, would get the request, and over http:// the token in plain text.
            trust_env=not is_loopback(host),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
            headers={"Accept": "application/json", "User-Agent": f"ld-reconciler/{__version__}"},
        )

    def close(self) -> None:
        self._http.close()

    def call(
        self,
        method: str,
        route: str,
        target: str | httpx.URL,
        *,
        body: Mapping[str, Any] | None = None,
        beta: bool = False,
        missing_ok: bool = False,
    ) -> tuple[Answer | None, str]:
        """Send one request, pacing and retrying it; a 2xx answer, or None for a tolerated
        404; and where it went (``"GET /path"``) for messages.

        ``target`` is a path below the base URL, or a URL already resolved against it.
        """
        url = target if isinstance(target, httpx.URL) else httpx.URL(self.base_url + target)
        where = f"{method} {url.raw_path.decode('ascii')}"
        headers = {
            "Authorization": self._token,
            "LD-API-Version": BETA_API_VERSION if beta else API_VERSION,
        }
        content = None
        if body is not None:
            content = json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        route_key = f"{method} {route}"
        attempt = 0
        while True:
            request = self._http.build_request(
                method, url, content=content, headers=headers, timeout=self._timeout
            )
            began = time.monotonic()
            try:
                answer = self._attempt(request, route_key, where, attempt)
            except httpx.HTTPError as e:
                reason, delay = self._failed(e, method, where, attempt)
            else:
                if 200 <= answer.status < 300:
                    return answer, where
                if answer.status == 404 and missing_ok:
                    # A proxy's 404 is not "missing": only LaunchDarkly's error body is.
                    decode(answer, where, method, self.scrub, error=True)
                    return None, where
                reason, delay = self._refused(answer, method, where, attempt)
            self.stats.count("retries")
            logger.debug("%s: retrying in %.2fs after %s", where, delay, reason)
            self._announce(where, reason, delay, attempt, time.monotonic() - began)
            if delay > 0:
                self._sleep(delay)
            attempt += 1

    def _announce(self, where: str, reason: str, delay: float, attempt: int, took: float) -> None:
        """Say why and how long a retry waits, once per wait (see ``notices``), when the pause
        or the failed attempt (a timeout) was long. A 429 whose headers say when to go on
        waits in the pacer, which says so itself."""
        if reason.startswith("429"):
            kind, why = "throttled", "rate limited"
        elif reason[:1].isdigit():
            kind, why = "server error", f"answered {reason}"
        else:
            kind, why = "unreachable", f"did not answer ({reason})"
        notices.waiting(
            kind,
            max(delay, took),
            f"LaunchDarkly {why} to {where}; trying again in {notices.seconds(delay)} "
            f"(retry {attempt + 1} of {self._policy.max_retries})",
        )

    def _failed(
        self, error: httpx.HTTPError, method: str, where: str, attempt: int
    ) -> tuple[str, float]:
        """Why and how long to wait before trying again after a transport error; or raise."""
        self.stats.count("transport_errors")
        e = error
        reason = self.scrub(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)
        untrusted = _certificate_error(e)
        if untrusted is not None:  # retrying cannot make a certificate trusted
            raise TransportError(
                f"{where}: the server's TLS certificate cannot be verified "
                f"({untrusted.verify_message or untrusted.reason}); if a proxy intercepts "
                f"TLS, name its CA bundle in {CA_BUNDLE_ENV_VARS[0]}"
            ) from e
        if self._policy.retries_error(method, e):
            last = self._policy.gives_up(attempt)
            if not self._answered and isinstance(e, httpx.ConnectError):
                # Never reached at all: most likely a wrong --base-url or no route;
                # a couple of quick tries, not minutes of backoff.
                last = last or attempt >= FIRST_CONTACT_RETRIES
            if last:
                raise TransportError(
                    f"{where}: {reason} (gave up after {attempt + 1} attempts)"
                ) from e
            return reason, self._policy.pause(attempt, self._rng)
        if self._policy.outcome_unknown(method, e):
            raise OutcomeUnknownError(
                f"{where}: {reason} after the request was sent; it may or may not have "
                "taken effect (look before sending it again)"
            ) from e
        raise TransportError(f"{where}: {reason}") from e

    def _refused(self, answer: Answer, method: str, where: str, attempt: int) -> tuple[str, float]:
        """Why and how long to wait before trying again after an error status; or raise."""
        status = answer.status
        if status == 429:
            self.stats.count("throttled")
        elif status >= 500:
            self.stats.count("server_errors")
            if not self._policy.retries_status(method, status):
                raise OutcomeUnknownError(
                    f"{where}: the server answered {status} "
                    f"({api_error(answer, where, method, self.scrub).api_message}); the create "
                    "may have been committed (look before sending it again)"
                )
        if not self._policy.retries_status(method, status) or self._policy.gives_up(attempt):
            raise api_error(answer, where, method, self.scrub)
        if status == 429:
            # With a usable Retry-After or reset the pacer holds the next acquire back.
            if answer.throttled_until is not None:
                return "429 rate limited", 0.0
            return "429 rate limited", self._policy.pause(attempt, self._rng, full_jitter=False)
        after = parse_retry_after(answer.headers.get("Retry-After"), self._clock())
        return f"{status} server error", self._policy.pause(attempt, self._rng, at_least=after)

    def _attempt(self, request: httpx.Request, route: str, where: str, attempt: int) -> Answer:
        self._pacer.acquire(route)
        self.stats.count("requests", route)
        headers: httpx.Headers | None = None
        status = 0
        until: float | None = None
        started = time.monotonic()
        try:
            response = self._http.send(request, stream=True)
            self._answered = True
            headers, status = response.headers, response.status_code
            try:
                content = self._read(response, where, request, started)
            finally:
                response.close()
        finally:
            if status == 429 and headers is not None:
                until = self._pacer.release_throttled(route, headers)
            else:
                self._pacer.release(route, headers)
            logger.debug(
                "%s -> %s in %.0f ms (attempt %d)",
                where,
                status or "no answer",
                (time.monotonic() - started) * 1000,
                attempt + 1,
            )
        return Answer(status, headers, content, until)

    def _read(
        self, response: httpx.Response, where: str, request: httpx.Request, started: float
    ) -> bytes:
        """The body, read no further than ``max_response_bytes`` and no longer than the timeout.

        httpx's read timeout bounds each wait for bytes, not the whole answer: a server that
        trickles a byte at a time would never trip it. So the whole answer must have come
        within the timeout of sending the request; else this is a read timeout like any other.
        """
        method = request.method
        too_big = f"the answer is larger than {self._max_bytes} bytes; stopped reading"
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise fault(method, where, response.status_code, self.scrub)(too_big)
        deadline = started + (self._timeout.read or math.inf)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                raise fault(method, where, response.status_code, self.scrub)(too_big)
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout(
                    f"the answer did not arrive within {self._timeout.read:g}s", request=request
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def scrub(self, text: str) -> str:
        """``text`` without any registered secret, this client's token included."""
        text = secret.scrub(text)
        return text.replace(self._token, secret.REDACTED) if self._token in text else text


def _certificate_error(error: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification failure behind an httpx error, if that is its cause."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None
