"""A loopback HTTP(S) server in a thread that answers as a test scripts it.

``FakeServer(answer)`` calls ``answer(request)`` for every request and sends what it
returns: a ``Reply`` (status, headers, body; the body may be an iterable of chunks, sent
as they come, which makes endless or trickling answers possible), or ``HANG`` (hold the
connection until the server stops). Every request is recorded (method, path, headers), so
a test can assert what reached it, the ``Authorization`` header included.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    length: bool = True  # send Content-Length (only for a bytes body)


HANG = object()

Answer = Callable[[Seen], "Reply | object"]


def json_reply(data: Any, status: int = 200, **headers: str) -> Reply:
    return Reply(status, json.dumps(data).encode(), {"Content-Type": "application/json", **headers})


class FakeServer:
    """Serves ``answer``'s replies on 127.0.0.1 (with TLS when given a server context)."""

    def __init__(self, answer: Answer, *, tls: ssl.SSLContext | None = None) -> None:
        self.answer = answer
        self.seen: list[Seen] = []
        self.stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._tls = tls is not None
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        scheme = "https" if self._tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (an endless answer cut off) is expected, not an error."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        seen = Seen(self.command, self.path, dict(self.headers.items()))
        fake.seen.append(seen)
        reply = fake.answer(seen)
        if reply is HANG or not isinstance(reply, Reply):
            fake.stopping.wait()
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if isinstance(reply.body, bytes) and reply.length:
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            return
        self.send_header("Connection", "close")  # the body ends when the connection does
        self.end_headers()
        self.close_connection = True
        chunks = [reply.body] if isinstance(reply.body, bytes) else reply.body
        with contextlib.suppress(OSError, ssl.SSLError):
            for chunk in chunks:
                if fake.stopping.is_set():
                    return
                self.wfile.write(chunk)
                self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass
