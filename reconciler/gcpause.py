"""Pausing the cyclic garbage collector while bulk data is built.

Loading 10,000 flags, their ledger and their plan builds millions of small containers
that are acyclic and all stay alive. The cyclic collector, triggered by allocations,
would rescan them again and again while they are built (it doubled the time of loading
the flag files and of loading the ledger), and then on every later collection of the
run. So it is paused while they are built, and what was built is then moved out of its
reach (``gc.freeze``). Reference counting still frees everything that is dropped.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block; the outermost block freezes what exists."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.freeze()
            gc.enable()
