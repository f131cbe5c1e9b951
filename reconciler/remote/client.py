"""The LaunchDarkly REST client: the one module that talks to LaunchDarkly.

It owns the five operations the reconciler uses (list, get and create flags; list and create
flag links), their paths, and following a flag list page after page. Each call goes through
the client's ``session.Session`` (headers, TLS, timeouts, pacing by the rate-limit headers,
retries by the one ``retry.RetryPolicy``, the token scrubbed from every error), and every
answer is checked against the contract (``answer``). The rules come from
``launchdarkly/API-NOTES.md``; see ``session`` for what is retried and what a failure raises.

An answer that is not JSON, lacks the fields we rely on, or is larger than
``max_response_bytes`` is a ``TransportError`` (``OutcomeUnknownError`` for a POST whose
status says it may have been done).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx

from reconciler.errors import ConfigError, TransportError
from reconciler.remote import secret
from reconciler.remote.answer import Fault, check_flag, check_link, check_list, decode, fault
from reconciler.remote.baseurl import normalise_base_url
from reconciler.remote.retry import RetryPolicy
from reconciler.remote.session import ClientStats, Session

__all__ = ["MAX_PAGE_LIMIT", "ClientStats", "FlagPage", "LaunchDarklyClient", "normalise_base_url"]

MAX_PAGE_LIMIT = 100

FLAGS = "/api/v2/flags/{projectKey}"
FLAG = "/api/v2/flags/{projectKey}/{featureFlagKey}"
LINKS = "/api/v2/flag-links/projects/{projectKey}/flags/{featureFlagKey}"


@dataclass(frozen=True)
class FlagPage:
    """One page of a flag list."""

    items: list[dict[str, Any]]
    total_count: int | None
    next_href: str | None


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
        self.base_url = normalise_base_url(base_url)
        self._max_pages = max_pages
        self._origin = httpx.URL(self.base_url)
        self._prefix = self._origin.path.rstrip("/")  # a gateway's, or ""
        self._session = Session(
            self.base_url,
            token,
            transport=transport,
            timeout=timeout,
            policy=RetryPolicy(max_retries=max_retries, max_backoff=max_backoff),
            sleep=sleep,
            clock=clock,
            rng=rng if rng is not None else random.Random(),
            max_response_bytes=max_response_bytes,
        )
        self.stats: ClientStats = self._session.stats

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def __enter__(self) -> LaunchDarklyClient:
        return self

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

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
        found = self._exchange("GET", FLAG, path, missing_ok=True)
        if found is None:
            return None
        data, make = found
        return check_flag(data, make, key=key)

    def create_flag(
        self, project: str, body: Mapping[str, Any], clone: str | None = None
    ) -> dict[str, Any]:
        """Create a flag (``FeatureFlagBody``), as a copy of the flag ``clone`` of the same
        project if given (``?clone=``); the created ``FeatureFlag``."""
        path = FLAGS.format(projectKey=_seg(project))
        target: str | httpx.URL = path
        if clone is not None:
            target = httpx.URL(self.base_url + path, params={"clone": clone})
        data, make = self._answer("POST", FLAGS, target, body=body)
        return check_flag(data, make, key=body.get("key"))

    def list_links(self, project: str, flag_key: str) -> list[dict[str, Any]]:
        """The flag's links (a beta API; one unpaginated list)."""
        path = LINKS.format(projectKey=_seg(project), featureFlagKey=_seg(flag_key))
        data, make = self._answer("GET", LINKS, path, beta=True)
        items = check_list(data, make)
        return [check_link(item, make, f"items[{i}]") for i, item in enumerate(items)]

    def create_link(self, project: str, flag_key: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a flag link (``flagLinkPost``, beta API); the created ``FlagLinkRep``."""
        path = LINKS.format(projectKey=_seg(project), featureFlagKey=_seg(flag_key))
        data, make = self._answer("POST", LINKS, path, body=body, beta=True)
        return check_link(data, make, key=body.get("key"))

    # -- plumbing --------------------------------------------------------------------------

    def _page(self, url: httpx.URL) -> FlagPage:
        data, make = self._answer("GET", FLAGS, url)
        items = [
            check_flag(item, make, f"items[{i}]") for i, item in enumerate(check_list(data, make))
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

    def _answer(
        self, method: str, route: str, target: str | httpx.URL, **options: Any
    ) -> tuple[Any, Fault]:
        """The JSON object of a call that must answer, and a maker of errors about it."""
        found = self._exchange(method, route, target, **options)
        assert found is not None  # only missing_ok calls may find nothing
        return found

    def _exchange(
        self, method: str, route: str, target: str | httpx.URL, **options: Any
    ) -> tuple[Any, Fault] | None:
        """The JSON object of a call and a maker of errors about it; None for a missing one."""
        answer, where = self._session.call(method, route, target, **options)
        if answer is None:
            return None
        scrub = self._session.scrub
        return decode(answer, where, method, scrub), fault(method, where, answer, scrub)
