"""The LaunchDarkly REST client: the one module that talks to LaunchDarkly.

It owns the five operations the reconciler uses (list, get and create flags; list and create
flag links), their headers, base-URL and TLS safety, timeouts, pacing by the rate-limit
headers (``ratelimit.RatePacer``), retries, checking every answer against the contract, and
turning each failure into the ``errors`` tree with the access token scrubbed out. The rules
come from ``launchdarkly/API-NOTES.md``:

- GET is retried on 5xx, connection errors, timeouts and dropped connections, with capped
  exponential backoff and full jitter, up to ``max_retries``.
- POST is retried only when it certainly never reached the server (connect error or timeout,
  no pooled connection free) and on 429 (not processed). Any other failure once it was sent,
  a 5xx included (a gateway may have committed it), raises ``OutcomeUnknownError``: the caller
  looks (GET) before sending it again. A 409 or any other 4xx is final.
- 3xx is never followed (the token would go with it); it is an ``ApiError``.
- An answer that is not JSON, lacks the fields we rely on, or is larger than
  ``max_response_bytes`` is a ``TransportError`` (``OutcomeUnknownError`` for a POST whose
  status says it may have been done).

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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx

from reconciler import __version__
from reconciler.errors import ApiError, ConfigError, OutcomeUnknownError, TransportError
from reconciler.remote import secret
from reconciler.remote.baseurl import is_loopback, normalise_base_url
from reconciler.remote.ratelimit import RatePacer, backoff, parse_retry_after

logger = logging.getLogger("reconciler.remote.client")

API_VERSION = "20240415"
BETA_API_VERSION = "beta"
CA_BUNDLE_ENV_VARS = ("LD_RECONCILER_CA_BUNDLE", "SSL_CERT_FILE")
MAX_PAGE_LIMIT = 100

FLAGS = "/api/v2/flags/{projectKey}"
FLAG = "/api/v2/flags/{projectKey}/{featureFlagKey}"
LINKS = "/api/v2/flag-links/projects/{projectKey}/flags/{featureFlagKey}"

# Raised before a byte of the request left: always safe to retry, a POST included.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Raised before sending too, but retrying cannot help.
_FATAL = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError)
# Worth retrying for a GET.
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


# Connection attempts before giving up on a server that has never answered.
FIRST_CONTACT_RETRIES = 2


@dataclass(frozen=True)
class FlagPage:
    """One page of a flag list."""

    items: list[dict[str, Any]]
    total_count: int | None
    next_href: str | None


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


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: httpx.Headers
    content: bytes
    throttled_until: float | None


def _verify() -> ssl.SSLContext | bool:
    for name in CA_BUNDLE_ENV_VARS:
        path = os.environ.get(name, "").strip()
        if path:
            try:
                return ssl.create_default_context(cafile=path)
            except (OSError, ssl.SSLError) as e:
                raise ConfigError(f"{name}={path}: cannot load the CA bundle: {e}") from e
    return True


def _seg(key: str) -> str:
    return quote(key, safe="")


class LaunchDarklyClient:
    """A thread-safe client for the LaunchDarkly REST API; see the module docstring."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        max_retries: int = 8,
        max_backoff: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        max_pages: int = 10_000,
        max_response_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        if not token.isascii():
            problem = "contains non-ASCII characters"
        elif not token or not token.isprintable() or " " in token:
            problem = "is empty or contains spaces or control characters"
        else:
            problem = ""
        if problem:
            raise ConfigError(
                f"the access token {problem}; check " + " / ".join(secret.TOKEN_ENV_VARS)
            )
        secret.register(token)
        self._token = token
        self.base_url = normalise_base_url(base_url)
        self.stats = ClientStats()
        self._answered = False  # has any response ever arrived from this base URL?
        self._timeout = httpx.Timeout(timeout)
        self._max_retries = max_retries
        self._max_backoff = max_backoff
        self._sleep = sleep
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._max_pages = max_pages
        self._max_bytes = max_response_bytes
        self._pacer = RatePacer(clock=clock, sleep=sleep, rng=self._rng)
        self._origin = httpx.URL(self.base_url)
        self._prefix = self._origin.path.rstrip("/")  # a gateway's, or ""
        self._http = httpx.Client(
            transport=transport,
            verify=True if transport is not None else _verify(),
            timeout=self._timeout,
            follow_redirects=False,
            # No proxy (HTTP_PROXY, ALL_PROXY, ...) for a loopback host: the proxy, not this
            # machine, would get the request, and over http:// the token in plain text.
            trust_env=not is_loopback(self._origin.host),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
            headers={"Accept": "application/json", "User-Agent": f"ld-reconciler/{__version__}"},
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def __enter__(self) -> LaunchDarklyClient:
        return self

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- operations ------------------------------------------------------------------------

    def list_flags_page(
        self, project: str, *, offset: int = 0, limit: int = MAX_PAGE_LIMIT, archived: bool = False
    ) -> FlagPage:
        """One page of the project's live flags, or of its archived ones (hidden otherwise)."""
        if not 1 <= limit <= MAX_PAGE_LIMIT:
            raise ValueError(f"limit must be 1..{MAX_PAGE_LIMIT}, not {limit}")
        params: dict[str, str | int] = {"limit": limit, "offset": offset}
        if archived:
            params["filter"] = "state:archived"
        path = FLAGS.format(projectKey=_seg(project))
        return self._page(httpx.URL(self.base_url + path, params=params))

    def list_flags(
        self,
        project: str,
        *,
        archived: bool = False,
        limit: int = MAX_PAGE_LIMIT,
        offset: int = 0,
    ) -> Iterator[dict[str, Any]]:
        """Every live (or archived) flag of the project from ``offset`` on, following
        ``_links.next``.

        Stops at a short page or when there is no next link. A next link that repeats, leaves
        this host or this list, a full page of only flags already listed (a server that
        ignores the offset would otherwise be followed to ``max_pages``), or more than
        ``max_pages`` pages, is a ``TransportError``.
        """
        page = self.list_flags_page(project, offset=offset, limit=limit, archived=archived)
        list_path = unquote(urlsplit(self.base_url).path + FLAGS.format(projectKey=_seg(project)))
        seen: set[str] = set()
        listed: set[str] = set()
        pages = 1
        while True:
            yield from page.items
            if len(page.items) < limit or page.next_href is None:
                return
            href = page.next_href
            where = f"GET {list_path}: _links.next {href!r}"
            if href in seen:
                raise TransportError(f"{where} was already followed; the pagination loops")
            keys = {str(item["key"]) for item in page.items}
            if keys <= listed:
                raise TransportError(
                    f"GET {list_path}: page {pages} lists only flags already listed; "
                    "the server seems to ignore the offset"
                )
            listed |= keys
            seen.add(href)
            if pages >= self._max_pages:
                raise TransportError(f"{where}: more than {self._max_pages} pages; giving up")
            if self._prefix and href.startswith("/") and not href.startswith(self._prefix + "/"):
                # LaunchDarkly names its own path; a gateway serves it under the prefix.
                href = self._prefix + href
            url = self._origin.join(href)
            if (url.scheme, url.host, url.port) != (
                self._origin.scheme,
                self._origin.host,
                self._origin.port,
            ):
                raise TransportError(f"{where} points to another host; not following it")
            if unquote(url.path) != list_path:
                raise TransportError(f"{where} leaves the flag list; not following it")
            page = self._page(url)
            pages += 1

    def get_flag(self, project: str, key: str) -> dict[str, Any] | None:
        """The flag, archived or not, or None if it does not exist."""
        path = FLAG.format(projectKey=_seg(project), featureFlagKey=_seg(key))
        answer, where = self._call("GET", FLAG, path, missing_ok=True)
        if answer is None:
            return None
        fault = self._fault("GET", where, answer)
        return _check_flag(self._json(answer, where, "GET"), fault, key=key)

    def create_flag(self, project: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a flag (``FeatureFlagBody``); the created ``FeatureFlag``."""
        path = FLAGS.format(projectKey=_seg(project))
        answer, where = self._call("POST", FLAGS, path, body=body)
        assert answer is not None
        fault = self._fault("POST", where, answer)
        return _check_flag(self._json(answer, where, "POST"), fault, key=body.get("key"))

    def list_links(self, project: str, flag_key: str) -> list[dict[str, Any]]:
        """The flag's links (a beta API; one unpaginated list)."""
        path = LINKS.format(projectKey=_seg(project), featureFlagKey=_seg(flag_key))
        answer, where = self._call("GET", LINKS, path, beta=True)
        assert answer is not None
        fault = self._fault("GET", where, answer)
        items = _check_list(self._json(answer, where, "GET"), fault)
        return [_check_link(item, fault, f"items[{i}]") for i, item in enumerate(items)]

    def create_link(self, project: str, flag_key: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a flag link (``flagLinkPost``, beta API); the created ``FlagLinkRep``."""
        path = LINKS.format(projectKey=_seg(project), featureFlagKey=_seg(flag_key))
        answer, where = self._call("POST", LINKS, path, body=body, beta=True)
        assert answer is not None
        fault = self._fault("POST", where, answer)
        return _check_link(self._json(answer, where, "POST"), fault, key=body.get("key"))

    # -- plumbing --------------------------------------------------------------------------

    def _page(self, url: httpx.URL) -> FlagPage:
        answer, where = self._call("GET", FLAGS, url)
        assert answer is not None
        fault = self._fault("GET", where, answer)
        data = self._json(answer, where, "GET")
        items = [
            _check_flag(item, fault, f"items[{i}]")
            for i, item in enumerate(_check_list(data, fault))
        ]
        total = data.get("totalCount")
        links = data.get("_links")
        nxt = links.get("next") if isinstance(links, dict) else None
        href = nxt.get("href") if isinstance(nxt, dict) else None
        return FlagPage(
            items=items,
            total_count=total if isinstance(total, int) and not isinstance(total, bool) else None,
            next_href=href if isinstance(href, str) and href else None,
        )

    def _call(
        self,
        method: str,
        route: str,
        target: str | httpx.URL,
        *,
        body: Mapping[str, Any] | None = None,
        beta: bool = False,
        missing_ok: bool = False,
    ) -> tuple[_Answer | None, str]:
        """Send one request, pacing and retrying it; a 2xx answer, or None for a tolerated 404.

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
            last = attempt >= self._max_retries
            try:
                answer = self._attempt(request, route_key, where, attempt)
            except httpx.HTTPError as e:
                self.stats.count("transport_errors")
                reason = self._scrub(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)
                untrusted = _certificate_error(e)
                if untrusted is not None:  # retrying cannot make a certificate trusted
                    raise TransportError(
                        f"{where}: the server's TLS certificate cannot be verified "
                        f"({untrusted.verify_message or untrusted.reason}); if a proxy intercepts "
                        f"TLS, name its CA bundle in {CA_BUNDLE_ENV_VARS[0]}"
                    ) from e
                if isinstance(e, _NOT_SENT) or (method == "GET" and isinstance(e, _TRANSIENT)):
                    if not self._answered and isinstance(e, httpx.ConnectError):
                        # Never reached at all: most likely a wrong --base-url or no route;
                        # a couple of quick tries, not minutes of backoff.
                        last = last or attempt >= FIRST_CONTACT_RETRIES
                    if last:
                        raise TransportError(
                            f"{where}: {reason} (gave up after {attempt + 1} attempts)"
                        ) from e
                    self._retry(where, reason, backoff(attempt, self._max_backoff, self._rng))
                    attempt += 1
                    continue
                if method == "POST" and not isinstance(e, _FATAL):
                    raise OutcomeUnknownError(
                        f"{where}: {reason} after the request was sent; it may or may not have "
                        "taken effect (look before sending it again)"
                    ) from e
                raise TransportError(f"{where}: {reason}") from e
            status = answer.status
            if status == 429:
                self.stats.count("throttled")
                if last:
                    raise self._api_error(answer, where, method)
                # With a usable Retry-After or reset the pacer holds the next acquire back.
                delay = (
                    0.0
                    if answer.throttled_until is not None
                    else backoff(attempt, self._max_backoff, self._rng, full_jitter=False)
                )
                self._retry(where, "429 rate limited", delay)
                attempt += 1
                continue
            if status >= 500:
                self.stats.count("server_errors")
                if method == "POST":
                    raise OutcomeUnknownError(
                        f"{where}: the server answered {status} "
                        f"({self._api_error(answer, where, method).api_message}); the create may "
                        "have been committed (look before sending it again)"
                    )
                if last:
                    raise self._api_error(answer, where, method)
                delay = backoff(attempt, self._max_backoff, self._rng)
                after = parse_retry_after(answer.headers.get("Retry-After"), self._clock())
                self._retry(where, f"{status} server error", max(delay, after or 0.0))
                attempt += 1
                continue
            if 200 <= status < 300:
                return answer, where
            if status == 404 and missing_ok:
                self._json(answer, where, method, error=True)  # a proxy's 404 is not "missing"
                return None, where
            raise self._api_error(answer, where, method)

    def _attempt(self, request: httpx.Request, route: str, where: str, attempt: int) -> _Answer:
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
        return _Answer(status, headers, content, until)

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
            raise self._fault(method, where, response.status_code)(too_big)
        deadline = started + (self._timeout.read or math.inf)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                raise self._fault(method, where, response.status_code)(too_big)
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout(
                    f"the answer did not arrive within {self._timeout.read:g}s", request=request
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _fault(
        self, method: str, where: str, answer: _Answer | int
    ) -> Callable[[str], TransportError]:
        """A maker of located errors about an unusable answer.

        For a POST that may have been done (2xx, 5xx) the error is ``OutcomeUnknownError``.
        """
        status = answer if isinstance(answer, int) else answer.status
        unknown = method == "POST" and (200 <= status < 300 or status >= 500)

        def make(what: str) -> TransportError:
            message = self._scrub(f"{where}: {status}: {what}")
            if unknown:
                return OutcomeUnknownError(
                    f"{message}; the create may have taken effect (look before sending it again)"
                )
            return TransportError(message)

        return make

    def _json(self, answer: _Answer, where: str, method: str, *, error: bool = False) -> Any:
        fault = self._fault(method, where, answer)
        ctype = answer.headers.get("Content-Type", "")
        media = ctype.split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise fault(f"the answer is not JSON (content type {ctype or 'missing'!r})")
        try:
            data = json.loads(answer.content, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as e:  # RecursionError: nested too deeply
            raise fault(f"the answer is not valid JSON ({e})") from None
        if not isinstance(data, dict):
            raise fault(f"the answer is a JSON {type(data).__name__}, not an object")
        if error and not isinstance(data.get("message"), str):
            raise fault("not a LaunchDarkly error body (no message); is the base URL right?")
        return data

    def _api_error(self, answer: _Answer, where: str, method: str) -> ApiError:
        status = answer.status
        path = where.split(" ", 1)[1]
        if 300 <= status < 400:
            location = answer.headers.get("Location", "?")
            message = (
                f"redirected to {location}; redirects are not followed (is the base URL right?)"
            )
            return ApiError(status, "redirect", self._scrub(message), method=method, path=path)
        code = _ERROR_CODES.get(status, "server_error" if status >= 500 else f"http_{status}")
        message = ""
        try:
            data = json.loads(answer.content)
        except (ValueError, RecursionError):
            data = None
        if isinstance(data, dict):
            if isinstance(data.get("code"), str) and data["code"]:
                code = self._scrub(data["code"])[:100]
            if isinstance(data.get("message"), str):
                message = data["message"]
        if not message:
            ctype = answer.headers.get("Content-Type") or "no content type"
            message = f"no LaunchDarkly error message ({ctype}, {len(answer.content)} bytes)"
        # Scrubbed before it is cut short: a cut through an echoed token would leave a piece.
        message = " ".join(self._scrub(message).split())[:500]
        return ApiError(status, code, message, method=method, path=path)

    def _retry(self, where: str, reason: str, delay: float) -> None:
        self.stats.count("retries")
        logger.debug("%s: retrying in %.2fs after %s", where, delay, reason)
        if delay > 0:
            self._sleep(delay)

    def _scrub(self, text: str) -> str:
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


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# -- the answers' shapes: the fields the reconciler relies on, typed as the OpenAPI excerpt says

_ERROR_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    429: "rate_limited",
}
_Fault = Callable[[str], TransportError]
_FLAG_REQUIRED: dict[str, type] = {"key": str, "variations": list}
_FLAG_TYPED: dict[str, type] = {
    "name": str,
    "kind": str,
    "_version": int,
    "creationDate": int,
    "temporary": bool,
    "tags": list,
    "archived": bool,
    "_links": dict,
}
_LINK_REQUIRED: dict[str, type] = {"_id": str, "_deepLink": str}
_LINK_TYPED: dict[str, type] = {
    "_key": str,
    "_createdAt": int,
    "_timestamp": dict,
    "_links": dict,
    "title": str,
    "description": str,
}


def _check_fields(
    obj: Any, fault: _Fault, at: str, required: Mapping[str, type], typed: Mapping[str, type]
) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise fault(f"{at} is not a JSON object")
    for name, kind in (*required.items(), *typed.items()):
        if name not in obj:
            if name in required:
                raise fault(f"{at} lacks the required field {name!r}")
            continue
        value = obj[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise fault(f"{at}.{name} is {type(value).__name__}, expected {kind.__name__}")
    return obj


def _check_list(data: dict[str, Any], fault: _Fault) -> list[Any]:
    _check_fields(data, fault, "the answer", {"items": list}, {"_links": dict})
    items: list[Any] = data["items"]
    return items


def _check_flag(
    obj: Any, fault: _Fault, at: str = "the flag", *, key: object = None
) -> dict[str, Any]:
    flag = _check_fields(obj, fault, at, _FLAG_REQUIRED, _FLAG_TYPED)
    for i, variation in enumerate(flag["variations"]):
        if not isinstance(variation, dict) or "value" not in variation:
            raise fault(f"{at}.variations[{i}] is not a variation (no 'value')")
    if isinstance(key, str) and flag["key"] != key:
        raise fault(f"{at} has key {flag['key']!r}, expected {key!r}")
    return flag


def _check_link(
    obj: Any, fault: _Fault, at: str = "the link", *, key: object = None
) -> dict[str, Any]:
    link = _check_fields(obj, fault, at, _LINK_REQUIRED, _LINK_TYPED)
    if isinstance(key, str) and link.get("_key", key) != key:
        raise fault(f"{at} has key {link['_key']!r}, expected {key!r}")
    return link
