"""What makes a flag file's text unusable, as a located message.

``Problem`` is raised while loading (``loader.load_text`` lets it through to its caller;
``loader.load_file`` turns it into a ``Finding``). Here too: bytes that are not UTF-8
text, and PyYAML's syntax errors rewritten in the file's terms.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

import yaml
from yaml.nodes import Node

from reconciler.files.positions import LineBreaks


class Problem(Exception):
    """Why a file cannot be loaded, at a line and column counted from 1."""

    def __init__(self, line: int, col: int, message: str) -> None:
        super().__init__(message)
        self.line, self.col, self.message = line, col, message


def mark(node: Node) -> tuple[int, int]:
    """Where ``node`` starts, counted from 1."""
    return node.start_mark.line + 1, node.start_mark.column + 1


def line_col_of(yaml_mark: Any) -> tuple[int, int]:
    """Where a PyYAML mark (or no mark: the top of the file) points, counted from 1."""
    return (yaml_mark.line + 1, yaml_mark.column + 1) if yaml_mark is not None else (1, 1)


def error_mark(e: yaml.YAMLError) -> Any:
    """The mark of a PyYAML error: where the problem is, else where its context is."""
    return getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)


def decode(raw: bytes) -> str:
    """A file's bytes as text; raises ``Problem`` for UTF-16, binary or non-UTF-8 bytes."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # What Windows PowerShell's '>' writes; without this it reads as "binary".
        raise Problem(1, 1, "the file is UTF-16 text; save it as UTF-8")
    # Drop a byte-order mark first, so that positions count from the text after it.
    raw = raw.removeprefix(codecs.BOM_UTF8)
    if b"\x00" in raw:
        offset = raw.index(b"\x00")
        raise Problem(*_line_col(raw, offset), "this is a binary file (it contains NUL bytes)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Problem(*_line_col(raw, e.start), "the file is not valid UTF-8") from None


def _line_col(raw: bytes, offset: int) -> tuple[int, int]:
    before = raw[:offset]
    line = before.count(b"\n") + 1
    line_start = before.rfind(b"\n") + 1
    return line, len(before[line_start:].decode("utf-8", "replace")) + 1


def yaml_problem(e: yaml.YAMLError, text: str, lines: LineBreaks | None = None) -> Problem:
    """A PyYAML syntax error as a ``Problem`` that says what to fix."""
    at = error_mark(e)
    line, col = line_col_of(at)
    problem = getattr(e, "problem", None) or str(e)
    context = getattr(e, "context", None)
    if at is not None and _char_at(text, at.index) == "\t":
        return Problem(line, col, "a tab character cannot indent YAML; use spaces")
    if context and "expected a single document" in context:
        return Problem(line, col, "a second YAML document starts here; keep one document per file")
    if problem == "found undefined alias" and at is not None:
        name = re.match(r"\*([^\s,\[\]{}]*)", text[at.index :])
        if name:
            return Problem(
                line,
                col,
                f"invalid YAML: no anchor &{name[1]} is defined before the alias *{name[1]}",
            )
    message = f"invalid YAML: {problem}"
    if context:
        # Where the unfinished construct began is often the line to fix (an unclosed '[').
        start = getattr(e, "context_mark", None)
        if start is not None and (start.line + 1, start.column + 1) != (line, col):
            began = (start.line + 1, start.column + 1)
            began = lines.position(*began) if lines is not None else began
            context += f" started at {began[0]}:{began[1]}"
        message += f" ({context})"
    return Problem(line, col, message)


def _char_at(text: str, index: int) -> str:
    return text[index] if 0 <= index < len(text) else ""
