"""``Emulator``: build the emulator from a config, run it on a background thread, inspect it.

    with Emulator(EmulatorConfig(projects=("demo",))) as emu:   # a free port on 127.0.0.1
        client_base_url = emu.base_url
        ...
        emu.flags("demo"); emu.count(method="POST", status=201)

Building takes the data file's lock (``LedgerLockedError`` naming the holder if another
emulator keeps the file; ``claim`` says who asks, how long to wait and what to advise) and loads
the data and seed files (bad ones raise ``InputError``); ``start`` binds the port
(``ConfigError`` if it cannot) and serves until ``stop``, which returns promptly even while
requests are stalled or keep-alive clients are connected, folds the data file's journal into it
and releases the lock (also of an emulator never started, and also if stopping the server
fails). A stopped emulator may start again: it takes the lock and loads the data file anew.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from reconciler.emulator import clone as cloning
from reconciler.emulator import seed, validation
from reconciler.emulator.api import Api
from reconciler.emulator.config import EmulatorConfig, Faults
from reconciler.emulator.datafile import IN_PROCESS, Claim
from reconciler.emulator.faults import FaultInjector
from reconciler.emulator.ratelimit import RateLimiter
from reconciler.emulator.requestlog import RequestLog, RequestRecord
from reconciler.emulator.server import EmulatorServer
from reconciler.emulator.store import Store
from reconciler.errors import ConfigError, InputError


class Emulator:
    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        log: Callable[[str], None] | None = None,
        claim: Claim = IN_PROCESS,
    ) -> None:
        self.config = config if config is not None else EmulatorConfig()
        self.store = Store(
            self.config.projects, data_path=self.config.data_path, claim=claim, clock=clock
        )
        try:
            # A seed that fails halfway must leave nothing in the data file: a restart after the
            # fix would skip the flags saved so far, and with them their links.
            with self.store.batch():
                if self.config.seed_file is not None:
                    seed.apply(self.store, self.config.seed_file, seed.load(self.config.seed_file))
        except BaseException:
            self.store.close()
            raise
        self._faults = FaultInjector(self.config.faults, self.config.seed)
        self._log = RequestLog(self.config.request_log_size)
        # How many logged requests match every given criterion: the log's own count.
        self.count = self._log.count
        self._stopping = threading.Event()
        self._api = Api(
            self.config,
            self.store,
            faults=self._faults,
            limiter=RateLimiter(
                self.config.rate_limit,
                self.config.global_rate_limit,
                retry_after_mode=self.config.retry_after_mode,
                clock=clock,
            ),
            log=self._log,
            clock=clock,
            stopping=self._stopping,
        )
        self._print = log
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None

    # -- running ------------------------------------------------------------------------------

    def start(self) -> Emulator:
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        self._stopping.clear()
        self.store.open()
        address = (self.config.host, self.config.port)
        try:
            server = EmulatorServer(address, self._api, stopping=self._stopping, log=self._print)
        except OSError as e:
            self.store.close()
            raise ConfigError(
                f"cannot listen on {self.config.host}:{self.config.port}: {e.strerror or e}"
            ) from e
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},  # how long stop() may wait for the loop
            name=f"ld-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        try:
            if server is not None:
                self._stopping.set()  # wakes stalled requests and injected latency
                server.shutdown()
                server.cut_connections()
                server.server_close()
                if thread is not None:
                    thread.join()
                self._server = self._thread = None
        finally:
            # Even if stopping the server failed (or was interrupted): the data file's lock is
            # released. Compacting is tidying only: the journal already holds every create,
            # and stays if this fails.
            with contextlib.suppress(InputError):
                self.store.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        host = self.config.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    # -- faults ------------------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        return self._faults.faults

    def set_faults(self, faults: Faults | None = None, **changes: Any) -> Faults:
        """Replace the fault settings: ``set_faults(drop_rate=1.0)``, ``set_faults(Faults())``."""
        current = self._faults.set(faults, **changes)
        self.config = replace(self.config, faults=current)
        return current

    # -- inspection -------------------------------------------------------------------------

    @property
    def request_log(self) -> list[RequestRecord]:
        """A snapshot of the requests so far, oldest first."""
        return self._log.snapshot()

    def clear_request_log(self) -> None:
        self._log.clear()

    def flags(self, project: str) -> list[dict[str, Any]]:
        """Every flag of ``project`` (archived too), in creation order, as the API shows them."""
        return self.store.flags(project)

    def links(self, project: str, flag_key: str) -> list[dict[str, Any]]:
        return self.store.links(project, flag_key)

    # -- seeding without HTTP (no faults, no rate limits, no request log) -------------------------
    # Each call leaves the data file whole (compacted), so that a test may read or edit it next.

    def add_project(self, project: str) -> None:
        self.store.add_project(project)
        self.store.compact()

    def create_flag(
        self,
        project: str,
        body: Mapping[str, Any],
        *,
        archived: bool = False,
        clone: str | None = None,
    ) -> dict[str, Any]:
        """Create a flag as ``POST /api/v2/flags/{project}`` would, or with ``clone`` as
        ``?clone=`` would (a copy of that flag); raises ``ApiProblem``."""
        source = None if clone is None else cloning.source_key({"clone": [clone]})
        if source is None:
            spec = validation.flag_body(dict(body))
            rep = self.store.create_flag(project, spec, archived=archived)
        else:
            spec = cloning.clone_body(dict(body), source)
            rep = self.store.clone_flag(project, source, spec, archived=archived)
        self.store.compact()
        return copy.deepcopy(rep)

    def create_link(self, project: str, flag_key: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a flag link as the flag-links API would; raises ``ApiProblem``."""
        rep = self.store.create_link(project, flag_key, validation.link_body(dict(body)))
        self.store.compact()
        return copy.deepcopy(rep)
