"""HTTP framing for the API: a threaded HTTP/1.1 server with keep-alive.

The handler reads a request (refusing oversized or unframed bodies without reading them), hands
it to ``Api.handle`` and writes the ``Reply`` as JSON, or loses it as the reply's fault says:
``drop`` closes the connection without a byte, ``stall`` holds it until ``stall_seconds`` pass
or the server stops. Open connections are tracked so that ``stop`` can cut idle keep-alive
connections and stalled requests at once instead of waiting for them.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from reconciler.emulator.api import Api, Request
from reconciler.emulator.responses import JSON_TYPE, ApiProblem, Reply

IDLE_TIMEOUT_SECONDS = 120
DRAIN_LIMIT_BYTES = 16 * 1024 * 1024


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    # stop() must not wait for handler threads (a stalled request, an idle keep-alive client).
    block_on_close = False
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        api: Api,
        *,
        stopping: threading.Event,
        log: Callable[[str], None] | None = None,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.api = api
        self.stopping = stopping
        self.log = log
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            if open_:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that goes away (or a connection cut by ``stop``) is not an error."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def cut_connections(self) -> None:
        with self._connections_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ld-reconciler-emulator"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT_SECONDS
    server: EmulatorServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def _serve(self) -> None:
        body, body_error = self._read_body()
        request = Request(self.command, self.path, self.headers, body, body_error)
        reply = self.server.api.handle(request)
        if self.server.log is not None:
            fault = f" [{reply.fault}]" if reply.fault else ""
            self.server.log(f"{self.command} {self.path} {reply.status}{fault}")
        if reply.delivery == "stall":
            self.server.stopping.wait(reply.stall_seconds)
        if reply.delivery != "send":
            self.close_connection = True
            return
        self._write(reply)

    def _read_body(self) -> tuple[bytes | None, ApiProblem | None]:
        if self.headers.get("Transfer-Encoding"):
            return None, ApiProblem(
                411, "length_required", "Send the body with a Content-Length, not chunked"
            )
        text = self.headers.get("Content-Length")
        if text is None:
            return None, None
        try:
            length = int(text)
            if length < 0:
                raise ValueError(text)
        except ValueError:
            return None, ApiProblem(400, "invalid_request", f"Bad Content-Length {text!r}")
        limit = self.server.api.config.max_body_bytes
        if length > limit:
            # Closing with unread data makes the kernel reset the connection, which can destroy
            # the 413 before the client reads it; so a body of reasonable size is read and dropped.
            if length <= DRAIN_LIMIT_BYTES:
                self._discard(length)
            return None, ApiProblem(
                413, "request_entity_too_large", f"The request body exceeds {limit} bytes"
            )
        body = self.rfile.read(length)
        if len(body) < length:
            return None, ApiProblem(400, "invalid_request", "The request body was cut short")
        return body, None

    def _discard(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(length, 65536))
            if not chunk:
                return
            length -= len(chunk)

    def _write(self, reply: Reply) -> None:
        data = reply.encoded()
        self.send_response(reply.status)
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers:
            self.send_header(name, value)
        if reply.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol errors found by http.server (bad request line, huge headers), as JSON."""
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        problem = ApiProblem(code, phrase.lower().replace(" ", "_"), message or phrase)
        # An unparsable request line leaves the version at HTTP/0.9, which has no status line.
        self.request_version = "HTTP/1.1"
        self._write(Reply.from_problem(problem, close=True))

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are logged by ``_serve`` (and recorded in the request log), not here."""
