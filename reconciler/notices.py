"""Notices: the lines a run prints on stderr when it waits, so that no wait is silent.

The library says what it waits for and why (``say``, ``waiting``); the command line decides
where that goes (``listen``), and without a listener (the library used as a library, unit
tests) nothing is printed. Threads that wait for the same reason at the same time (four apply
workers held back by one rate limit) say so once: ``waiting`` is quiet for a kind of wait
until the wait it last announced is over.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

WORTH_SAYING = 0.9
"""Seconds: a shorter wait passes unannounced (a notice per quick retry would be noise). Not
quite 1: a wait of one second, from a server's clock, may come out a little shorter here."""

_lock = threading.Lock()
_sink: Callable[[str], object] | None = None
_quiet_until: dict[str, float] = {}


def listen(sink: Callable[[str], object] | None) -> None:
    """Send every notice to ``sink`` from now on (None: print none)."""
    global _sink
    with _lock:
        _sink = sink
        _quiet_until.clear()


def say(text: str) -> None:
    """Tell the user ``text`` (one line), if anyone listens."""
    sink = _sink
    if sink is not None:
        sink(text)


def waiting(kind: str, seconds: float, text: str) -> None:
    """Tell the user ``text`` about a wait of ``seconds``, unless it is short, or a wait of the
    same ``kind`` announced earlier is not over yet."""
    if seconds < WORTH_SAYING or _sink is None:
        return
    now = time.monotonic()
    with _lock:
        if _quiet_until.get(kind, 0.0) > now:
            return
        _quiet_until[kind] = now + seconds
    say(text)


def seconds(value: float) -> str:
    """A duration as notices show it: ``2.5 s``, ``41 s``."""
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"
