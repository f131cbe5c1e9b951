"""Where things are in a flag file: the source map of a loaded document.

A ``SourceMap`` records, per container the builder made, where each child value (and
each mapping key) was written; a ``Document`` is a file's data with its source map.
``LineBreaks`` turns libyaml's line numbers into those editors and git count.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.model import Location

# Per container (by id), per child key or index: (value line, value col, key line, key col).
Pos = tuple[int, int, int, int]


class SourceMap:
    """Where each value (and each mapping key) of one document came from."""

    def __init__(self, file: str) -> None:
        self.file = file
        self._children: dict[int, dict[Any, Pos] | list[Pos]] = {}
        self._keep: list[Any] = []  # keeps containers alive so their ids stay unique
        self.root = Location(file)
        self.lines: LineBreaks | None = None  # set when libyaml's line numbers need correcting

    def add(self, container: Any, children: dict[Any, Pos] | list[Pos]) -> None:
        """Record where the children of ``container`` (just built) were written."""
        self._children[id(container)] = children
        self._keep.append(container)

    def own_fields(self, flag_index: int) -> frozenset[str] | None:
        """The fields flag ``flag_index`` sets itself, when the repository configuration
        gave it others (None here: a file's flags are all their own)."""
        return None

    def children(self, container: Any) -> dict[Any, Pos] | list[Pos] | None:
        """The positions recorded for ``container``'s children, if it is one of ours."""
        return self._children.get(id(container))

    def locate(self, data: Any, path: Sequence[Any], *, key: bool = False) -> Location:
        """The location of the value at ``path`` (or of its mapping key when ``key``).

        Walks as far down ``path`` as the data goes; a path into something that is
        not there points at the deepest container that is.
        """
        line, col = self.root.line, self.root.col
        current = data
        pos: Pos | None = None
        children_of = self._children
        for step in path:
            children = children_of.get(id(current))
            if children is None:
                pos = None
                break
            try:
                pos = children[step]
                current = current[step]
            except (KeyError, IndexError, TypeError):
                pos = None
                break
            line, col = pos[0], pos[1]
        if key and pos is not None and pos[2]:
            line, col = pos[2], pos[3]
        if self.lines is not None:
            line, col = self.lines.position(line, col)
        return Location(self.file, line, col)

    def locate_items(self, data: Any, path: Sequence[Any]) -> list[Location]:
        """The location of each item of the list at ``path``, found in one walk."""
        items = data
        for step in path:
            items = items[step]
        children = self._children.get(id(items))
        if not isinstance(children, list) or len(children) != len(items):
            return [self.locate(data, [*path, i]) for i in range(len(items))]
        if self.lines is not None:
            return [Location(self.file, *self.lines.position(p[0], p[1])) for p in children]
        return [Location(self.file, p[0], p[1]) for p in children]


class LineBreaks:
    """libyaml's positions turned into those of editors, git and GitHub's annotations.

    libyaml (YAML 1.1) also ends a line at NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR
    (U+0085, U+2028, U+2029); YAML 1.2, editors and git do not. After one of them in a
    description, every line number libyaml gives would be one too many.
    """

    UNUSUAL = ("\x85", "\u2028", "\u2029")

    def __init__(self, text: str) -> None:
        yaml_breaks = re.finditer("\r\n|[\r\n\x85\u2028\u2029]", text)
        self._yaml_starts = [0, *(m.end() for m in yaml_breaks)]
        self._starts = [0, *(m.end() for m in re.finditer("\r\n|[\r\n]", text))]

    @classmethod
    def needed(cls, text: str) -> LineBreaks | None:
        return cls(text) if any(c in text for c in cls.UNUSUAL) else None

    def position(self, line: int, col: int) -> tuple[int, int]:
        """(line, column) for libyaml's (line, column), all counted from 1."""
        if not 0 < line <= len(self._yaml_starts):
            return line, col
        index = self._yaml_starts[line - 1] + col - 1
        real = bisect.bisect_right(self._starts, index)
        return real, index - self._starts[real - 1] + 1


@dataclass(frozen=True)
class Document:
    """One loaded flag file."""

    file: str
    data: Any
    source: SourceMap

    def locate(self, path: Sequence[Any], *, key: bool = False) -> Location:
        return self.source.locate(self.data, path, key=key)

    def locate_items(self, path: Sequence[Any]) -> list[Location]:
        return self.source.locate_items(self.data, path)
