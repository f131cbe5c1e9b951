"""Flag rules given the fields they read as variables: ``flag.key`` read as ``__flag_key``.

The library converts a map by trying each key as an integer, an unsigned and a boolean
before a string: a field of the ``flag`` map costs as much as its value. So the rules
run together on each flag (``batch.py``) are rewritten to name each field they read as
a variable of its own, and a list that is only asked its size or looked into for one
field of each item (``flag.links.exists(l, l.deepLink.startsWith(...))``) as the list of
that field (``__flag_links.exists(l, l.startsWith(...))``): a map and a key fewer per
item. Together that halves the cost of two rules over a flag with three links.

The rewritten program gives the rules' values, or fails where they would: a field the
flag leaves out is no variable, so reading it fails as reading a missing field of the map
does (and the rules then run as written, which says how); a flag with an item that is
not a map holding that field is not given so, and runs as written. Only plain field reads
are rewritten: a rule using ``has()``, rebinding ``flag`` or the item's variable in a
macro, or naming something ``__flag_...`` is left as written (``flatten`` says None).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.policy import expression, reads, scan

PREFIX = "__flag_"
Edit = tuple[int, int, str]  # replace source[start:end] with the text

_FLAG = re.compile(r"(?<![\w.])flag\b")
_REFUSED = re.compile(r"(?<![\w.])has\s*\(|__flag_")


@dataclass(frozen=True)
class Flattened:
    """A rewritten expression and how to give it a flag."""

    source: str
    read: dict[str, reads.Use]  # of the flag, as ``reads.uses`` says
    items: dict[str, str]  # a list given as one field of each item: that field

    def variables(self, flag: Mapping[str, Any]) -> dict[str, Any] | None:
        """The variables holding what is read of ``flag``; None when it has a list given
        as one field of each item with an item that is not a map holding that field."""
        variables: dict[str, Any] = {}
        for name, use in self.read.items():
            if name not in flag:
                continue
            value = flag[name]
            if (field := self.items.get(name)) is None:
                value = reads.projected(value, use)
            elif isinstance(value, list) and all(
                isinstance(item, dict) and field in item for item in value
            ):
                value = [item[field] for item in value]
            else:
                return None
            variables[PREFIX + name] = value
        return variables


def flatten(source: str) -> Flattened | None:
    """``source`` reading the fields of ``flag`` as variables, or None when it cannot."""
    read = reads.uses([source])
    blanked = scan.blank(source)
    if read is None or _REFUSED.search(blanked) or "flag" in expression.BINDER.findall(blanked):
        return None
    edits: list[Edit] = []
    # The lists looked into for one field of each item: that field, and the edits making
    # each ``l.field`` ``l``; a list with an occurrence that does otherwise is dropped.
    items = {n: min(u) for n, u in read.items() if isinstance(u, frozenset) and len(u) == 1}
    item_edits: dict[str, list[Edit]] = {name: [] for name in items}
    for match in _FLAG.finditer(blanked):
        member = reads.MEMBER.match(blanked, match.end())
        if member is None:
            return None  # ``reads.uses`` would have said so
        name = member.group(1)
        edits.append((match.start(), member.end(), PREFIX + name))
        if name in items:
            more = _item_edits(blanked, match.start(), member.end(), items[name])
            if more is None:
                del items[name]
            else:
                item_edits[name] += more
    for name in items:
        edits += item_edits[name]
    pieces, position = [], 0
    for start, end, text in sorted(edits):
        pieces += [source[position:start], text]
        position = end
    pieces.append(source[position:])
    return Flattened("".join(pieces), read, items)


def _item_edits(blanked: str, start: int, end: int, field: str) -> list[Edit] | None:
    """For ``blanked[start:end]`` (``flag.links``), the edits that make each ``l.field`` of
    a macro over it ``l``; None when something else is done with an item."""
    if reads.sized(blanked, start, end):
        return []
    macro = reads.MACRO_AFTER.match(blanked, end)
    close = None if macro is None else scan.closing(blanked, macro.end())
    if macro is None or close is None:
        return None
    spans = scan.argument_spans(blanked, macro.end(), close)
    item = scan.binder(blanked[spans[0][0] : spans[0][1]])
    if item is None:
        return None
    edits = []
    for begin, finish in spans[1:]:
        text = blanked[begin:finish]
        if item in expression.BINDER.findall(text):
            return None  # bound again inside: which is which is beyond a scan
        for use in re.finditer(rf"(?<![\w.]){re.escape(item)}\b", text):
            member = reads.MEMBER.match(text, use.end())
            if member is None or member.group(1) != field:
                return None
            edits.append((begin + use.start(), begin + member.end(), item))
    return edits
