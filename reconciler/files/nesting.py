"""Deep nesting and huge files: refused with a located finding, before they do harm.

The C composer recurses once per level and overflows the C stack (a segfault, not an
exception) near 100,000 levels, and it holds every value as a node; libyaml 0.2.6 stops
at 1,000 levels with a message of its own. A file that could nest that deep, or hold
that many values, is first scanned over the parser's event stream, which is iterative
and drops its events as they come.
"""

from __future__ import annotations

import contextlib

import yaml

from reconciler.files.composer import YamlLoader
from reconciler.files.problems import Problem, error_mark, line_col_of

MAX_DEPTH = 64
# Composing costs about 500 bytes per value; a 10 MiB file of ordinary flags holds under a
# million values, but one of "0," five million (2.5 GB before a single check ran).
MAX_VALUES = 1_000_000
TOO_DEEP = f"nesting is deeper than {MAX_DEPTH} levels"

# Depth the C composer handles without trouble; the builder then enforces MAX_DEPTH.
_SAFE_COMPOSE_DEPTH = 5_000
_LIBYAML_DEPTH_LIMIT = "exceeded maximum nesting depth"
_PURE_RESCAN_LIMIT = 1 << 18  # characters: about half a second of the pure-Python parser

_OPENING = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSING = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_VALUE = (yaml.ScalarEvent, yaml.AliasEvent, *_OPENING)


def needs_scan(text: str) -> bool:
    """Whether ``text`` must be scanned (``check``) before it is composed."""
    return _may_nest_deeply(text) or len(text) > MAX_VALUES  # a value takes a character


def _may_nest_deeply(text: str) -> bool:
    """Whether ``text`` could nest past what the C composer survives.

    Each level of nesting needs a flow bracket or at least one more column on its
    line, so the number of brackets plus the longest line bounds the depth. Ordinary
    files fall far below the bound and skip the event scan, which costs a full parse.
    """
    brackets = text.count("[") + text.count("{")
    if brackets >= _SAFE_COMPOSE_DEPTH:
        return True
    longest = max((len(line) for line in text.splitlines()), default=0)
    return brackets + longest >= _SAFE_COMPOSE_DEPTH


def check(text: str, loader_class: type[YamlLoader] | type[yaml.SafeLoader] = YamlLoader) -> None:
    """Refuse deep nesting and too many values before composing: raises ``Problem``."""
    loader = loader_class(text)
    depth = 0
    values = 0
    try:
        while (event := loader.get_event()) is not None:
            if isinstance(event, _CLOSING):
                depth -= 1
                continue
            if isinstance(event, _VALUE):
                values += 1
                if values > MAX_VALUES:
                    raise Problem(
                        *line_col_of(event.start_mark),
                        f"the file holds more than {MAX_VALUES:,} values; "
                        "split it into several flag files",
                    )
            if isinstance(event, _OPENING):
                depth += 1
                if depth > MAX_DEPTH + 1:  # + 1: the top-level mapping is level 0
                    raise Problem(*line_col_of(event.start_mark), TOO_DEEP)
    finally:
        loader.dispose()


def libyaml_limit(e: yaml.YAMLError, text: str) -> Problem | None:
    """The finding for libyaml's own depth limit, if ``e`` is that; else None.

    libyaml 0.2.6 (PyYAML 6.0.4 wheels) stops at 1,000 levels, and its scanner looks
    that far ahead before the first event, so the scan never sees level 65. The
    pure-Python parser has no such limit: it finds the same place, whichever libyaml
    the wheel carries (``check`` raises it). It is some 20 times slower, so a large file
    is told at libyaml's mark instead (the same line, another column).
    """
    if _LIBYAML_DEPTH_LIMIT not in str(getattr(e, "problem", "")):
        return None
    if len(text) <= _PURE_RESCAN_LIMIT:
        with contextlib.suppress(yaml.YAMLError):  # then libyaml's mark stands
            check(text, yaml.SafeLoader)
    return Problem(*line_col_of(error_mark(e)), TOO_DEEP)
