"""``x.matches('literal')`` with the pattern compiled once, instead of on every evaluation.

The CEL library compiles a ``matches`` pattern each time the expression runs: 10 times
what the rest of a rule costs (``flag.key.matches(...)`` took 250 us a flag where
``flag.key.size() > 0`` took 23 us). A ``matches`` on a member chain (``flag.key``,
``l.deepLink``) with a string literal for pattern is rewritten into a call of a Python
function (``__matches``) that searches with the pattern compiled once. CEL patterns are
RE2: their ``\\d``, ``\\w`` and ``\\s`` are ASCII, so the pattern is compiled with
``re.ASCII``; a pattern Python cannot compile, or one with escapes RE2 reads otherwise
(``\\p``, ``\\Q``, ``\\z``, ``\\C``), is left to the library as written.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

FUNCTION = "__matches"

_CALL = re.compile(
    r"(?<![\w.])([A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*)\s*\.\s*matches\s*\(\s*"
    r"""('(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*")\s*\)"""
)
_RE2_ONLY = re.compile(r"\\[pPQEzC]")


@cache
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text, re.ASCII)


def _matches(value: Any, pattern: Any) -> bool:
    if not isinstance(value, str) or not isinstance(pattern, str):
        raise TypeError("no such overload: matches takes strings")
    return _pattern(pattern).search(value) is not None


FUNCTIONS: Mapping[str, Callable[..., Any]] = {FUNCTION: _matches}


def rewrite(source: str) -> str:
    """``source`` with each literal-pattern ``matches`` a call of ``__matches``."""

    def replace(match: re.Match[str]) -> str:
        literal = match.group(2)
        if "\\?" in literal or "\\`" in literal:
            return match.group(0)  # CEL's own escapes: Python would read them otherwise
        try:
            pattern = ast.literal_eval(literal)  # CEL's and Python's quoted strings agree here
            if not isinstance(pattern, str) or _RE2_ONLY.search(pattern):
                return match.group(0)
            _pattern(pattern)
        except (ValueError, SyntaxError, re.error):
            return match.group(0)
        return f"{FUNCTION}({match.group(1)}, {literal})"

    return _CALL.sub(replace, source)
