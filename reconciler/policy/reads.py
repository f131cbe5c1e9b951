"""What flag rules read of a flag, so that only that is converted into CEL values.

Converting a flag into the library's values costs more than running most rules on it
(3 links of 3 fields each cost more than ten simple rules). So the rules are read
for what they use of ``flag``: per field, the whole value, only its size
(``flag.variations.size() >= 2``: a list of as many nulls converts far faster), or, for
a list that only comprehension macros look into (``flag.links.exists(l,
l.deepLink...)``), only those fields of each item. Anything else is the whole value.
``keys`` tells flags apart by only what a rule reads of them, for a rule run once per
distinct input (``batch.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reconciler.policy import expression, scan

WHOLE = "whole"
SIZE = "size"
Use = str | frozenset[str]  # WHOLE, SIZE, or the fields of each item


def uses(sources: Iterable[str], variable: str = "flag") -> dict[str, Use] | None:
    """How ``sources`` use each field of ``variable``; None when one uses it otherwise
    than by its fields (whole, or by index), and so may read anything."""
    found: dict[str, Use] = {}
    for source in sources:
        blanked = scan.blank(source)
        for match in re.finditer(rf"(?<![\w.]){re.escape(variable)}\b", blanked):
            member = MEMBER.match(blanked, match.end())
            if member is None:
                return None
            use = _use(source, blanked, match.start(), member.end())
            found[member.group(1)] = _combine(found.get(member.group(1)), use)
    return found


def keys(flags: Sequence[Mapping[str, Any]], read: Mapping[str, Use]) -> list[Any]:
    """What ``read`` says is read of each of ``flags``, as a key: equal for two flags only
    when a rule that reads that much of a flag sees the same of both."""
    columns = [[_part(f.get(name, _ABSENT), use) for f in flags] for name, use in read.items()]
    if len(columns) == 1:
        return columns[0]
    return list(zip(*columns, strict=True)) if columns else [()] * len(flags)


def _part(value: Any, use: Use) -> Any:
    """A key's part for one field: None when the flag leaves it out, the string itself
    for a string, the type and length when only the size is read, else the ``repr`` in a
    tuple (which tells True from 1 and from 'True')."""
    if type(value) is str:
        if use == SIZE and value.isascii():
            return ("str", len(value))  # the library counts UTF-8 bytes: ASCII's length
        return value
    if value is _ABSENT:
        return None
    if use == SIZE and type(value) is list:
        return ("list", len(value))
    if isinstance(use, frozenset) and type(value) is list:
        value = _items(value, use)
    return (repr(value),)


_ABSENT = object()


def view(flag: Mapping[str, Any], read: Mapping[str, Use]) -> dict[str, Any]:
    """``flag`` with only what ``read`` says is read of it."""
    return {name: projected(flag[name], use) for name, use in read.items() if name in flag}


def projected(value: Any, use: Use) -> Any:
    """What ``use`` reads of a field's ``value``: a list only sized, as nulls; a list
    looked into, its items with only the fields read; else the value."""
    if use == WHOLE or not isinstance(value, list):
        return value
    if isinstance(use, frozenset):
        return _items(value, use)
    return [None] * len(value)


def _items(value: list[Any], fields: frozenset[str]) -> list[Any]:
    return [
        {k: item[k] for k in fields if k in item} if isinstance(item, dict) else item
        for item in value
    ]


MEMBER = re.compile(r"\s*\.\s*([A-Za-z_]\w*)\b(?!\s*\()")
"""A field read after a name (``.links``; not a call, ``.size()``)."""
_SIZE_AFTER = re.compile(r"\s*\.\s*size\s*\(\s*\)")
_SIZE_AROUND = re.compile(r"size\s*\(\s*$")
_CLOSE = re.compile(r"\s*\)")
MACRO_AFTER = re.compile(r"\s*\.\s*(all|exists|exists_one|existsOne)\s*\(")
"""A comprehension macro that looks into a list's items, called on it."""


def sized(blanked: str, start: int, end: int) -> bool:
    """Whether only the size of ``blanked[start:end]`` (``flag.links``) is asked."""
    if _SIZE_AFTER.match(blanked, end):
        return True
    return bool(_SIZE_AROUND.search(blanked, 0, start) and _CLOSE.match(blanked, end))


def _use(source: str, blanked: str, start: int, end: int) -> Use:
    """How the member access ``blanked[start:end]`` (``flag.links``) is used."""
    if sized(blanked, start, end):
        return SIZE
    macro = MACRO_AFTER.match(blanked, end)
    if macro is None:
        return WHOLE
    close = scan.closing(blanked, macro.end())
    if close is None:
        return WHOLE
    arguments = scan.arguments(source, blanked, macro.end(), close)
    item = scan.binder(arguments[0])
    if item is None:
        return WHOLE
    fields: set[str] = set()
    for argument in arguments[1:]:
        read = expression.fields_read(argument, item)
        if read is None:
            return WHOLE
        fields |= read
    return frozenset(fields)


def _combine(earlier: Use | None, use: Use) -> Use:
    if earlier is None:
        return use
    if WHOLE in (earlier, use):
        return WHOLE
    if earlier == SIZE:
        return use  # items, or size again: a list of the same length either way
    if use == SIZE or isinstance(earlier, str) or isinstance(use, str):
        return earlier
    return earlier | use
