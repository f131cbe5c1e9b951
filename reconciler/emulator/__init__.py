"""A LaunchDarkly-compatible API server for tests, the quickstart and trying flag repos offline.

It serves the five operations the reconciler uses (create, list and get flags; create and list
flag links) as LaunchDarkly's OpenAPI spec declares them, with LaunchDarkly's validation, errors,
rate-limit headers and beta-header rule, and can inject faults (5xx, 429s, latency, responses lost
after a create was stored). Run it with ``ld-reconciler emulator`` or in-process::

    from reconciler.emulator import DEV_TOKEN, Emulator, EmulatorConfig

    with Emulator(EmulatorConfig(projects=("demo",))) as emu:
        emu.base_url             # "http://127.0.0.1:PORT"; send Authorization: DEV_TOKEN
        emu.flags("demo")        # what was created
        emu.count(method="POST", status=201)

Modules: ``config`` (settings), ``api`` (the request pipeline), ``validation`` (over
``bodyfields``), ``representation``, ``store``, ``listing``, ``ratelimit``, ``faults``,
``requestlog``, ``datafile`` (``--data``), ``seed`` (``--seed-file``, whose docstring gives the
format), ``server`` (HTTP), ``emulator`` (the in-process handle) and ``cli``.
"""

from __future__ import annotations

from reconciler.emulator.config import DEV_TOKEN, EmulatorConfig, Faults, RateLimit
from reconciler.emulator.emulator import Emulator
from reconciler.emulator.requestlog import RequestRecord
from reconciler.emulator.responses import ApiProblem

__all__ = [
    "DEV_TOKEN",
    "ApiProblem",
    "Emulator",
    "EmulatorConfig",
    "Faults",
    "RateLimit",
    "RequestRecord",
]
