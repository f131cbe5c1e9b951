"""Scanning CEL source text where the library offers no syntax tree.

Strings and comments are blanked first (same length, so positions still match the
source); then parentheses are matched and a call's arguments split at top-level commas.
Used by what reads expressions for speed (``hoisting.py``, ``reads.py``): the
expressions have already compiled, so what is scanned is well-formed.
"""

from __future__ import annotations

import re

QUOTED = re.compile(r"""[rR]?[bB]?("""
    r'''"""(?:\\.|[^\\])*?"""|'''
    r"""'''(?:\\.|[^\\])*?'''|"""
    r""""(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')""")  # fmt: skip
COMMENT = re.compile(r"//[^\n]*")
IDENTIFIER = re.compile(r"\s*([A-Za-z_]\w*)\s*$")
MACROS = ("all", "exists", "exists_one", "existsOne", "filter", "map")


def blank(source: str) -> str:
    """``source`` with strings and comments blanked, same length (positions still match)."""

    def spaces(match: re.Match[str]) -> str:
        text = match.group(0)
        return text[0] + " " * (len(text) - 2) + text[-1] if len(text) >= 2 else " "

    return COMMENT.sub(lambda m: " " * len(m.group(0)), QUOTED.sub(spaces, source))


def closing(blanked: str, start: int) -> int | None:
    """The index of the parenthesis closing the one just before ``start``."""
    depth = 0
    for index in range(start, len(blanked)):
        char = blanked[index]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                return index if char == ")" else None
            depth -= 1
    return None


def arguments(source: str, blanked: str, start: int, end: int) -> list[str]:
    """The arguments between ``start`` and ``end``, split at top-level commas."""
    return [source[a:b] for a, b in argument_spans(blanked, start, end)]


def argument_spans(blanked: str, start: int, end: int) -> list[tuple[int, int]]:
    """Where each argument between ``start`` and ``end`` begins and ends."""
    found: list[tuple[int, int]] = []
    depth, begin = 0, start
    for index in range(start, end):
        char = blanked[index]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            found.append((begin, index))
            begin = index + 1
    found.append((begin, end))
    return found


def binder(argument: str) -> str | None:
    """The variable a macro's first argument binds (``f`` in ``flags.all(f, ...)``)."""
    match = IDENTIFIER.match(argument)
    return match.group(1) if match else None
