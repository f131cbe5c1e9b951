"""``python planted_bug.py N ARGS...``: ``ld-reconciler ARGS...`` with a bug planted below apply.

The Nth request that creates a flag raises ``KeyError`` in httpx's transport, before it is
sent, on the apply worker's thread. A ``KeyError`` there is what a bug in our own code looks
like to apply (an exception that is not one of ours), and it gets there without patching any
of our functions and without making the emulator misbehave: the seam is third-party
(``httpx.HTTPTransport``), the process is the real console entry, ``reconciler.cli.main``.
"""

from __future__ import annotations

import itertools
import sys
import threading
from typing import Any

import httpx

from reconciler.cli import main


def plant(nth: int) -> None:
    real = httpx.HTTPTransport.handle_request
    count = itertools.count(1)
    lock = threading.Lock()

    def handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> Any:
        if request.method == "POST" and request.url.path.startswith("/api/v2/flags/"):
            with lock:
                this = next(count)
            if this == nth:
                raise KeyError("planted bug")
        return real(self, request)

    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]


if __name__ == "__main__":
    plant(int(sys.argv.pop(1)))
    main()
