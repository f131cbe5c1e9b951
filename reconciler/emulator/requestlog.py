"""A record of every request the emulator answered (or, by a fault, did not)."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestRecord:
    """One request.

    ``path`` is the raw path without the query; ``query`` the raw query string ("" if none);
    ``route`` the matched route (``"POST /api/v2/flags/{projectKey}"``) or None; ``status`` the
    status the emulator decided on, even when a ``fault`` ("fail", "throttle", "drop", "stall")
    kept the response from the client (drop and stall: the request was still processed);
    ``time`` when it arrived (seconds since the epoch, by the emulator's clock);
    ``retry_header`` for a 429, the header that said when to come back (``Retry-After`` or
    ``X-Ratelimit-Reset``).
    """

    method: str
    path: str
    query: str
    status: int
    time: float
    route: str | None = None
    fault: str | None = None
    retry_header: str | None = None


class RequestLog:
    """Thread-safe and bounded: the oldest records are forgotten past ``max_records``."""

    def __init__(self, max_records: int) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=max_records)
        self._lock = threading.Lock()

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def count(
        self,
        *,
        method: str | None = None,
        path_prefix: str | None = None,
        status: int | None = None,
        route: str | None = None,
        fault: str | None = None,
        retry_header: str | None = None,
    ) -> int:
        """How many records match every given criterion."""
        return sum(
            1
            for r in self.snapshot()
            if (method is None or r.method == method.upper())
            and (path_prefix is None or r.path.startswith(path_prefix))
            and (status is None or r.status == status)
            and (route is None or r.route == route)
            and (fault is None or r.fault == fault)
            and (retry_header is None or r.retry_header == retry_header)
        )
