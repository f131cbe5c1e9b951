"""``fieldPath``: where a policy's finding points, as a dotted path into a flag.

``links[0].deepLink`` is parsed into steps (``["links", 0, "deepLink"]``) and checked
against the flag-file schema's flag properties, so a typo is found in the
configuration instead of silently pointing every finding at the flag.
"""

from __future__ import annotations

import difflib
import re
from functools import cache
from typing import Any

from reconciler.files.schema import schema

Step = str | int

_STEP = re.compile(r"([A-Za-z_$][\w$-]*)|\[(\d+)\]")

# Not in the flag schema's properties, but a flag may set them (the configuration's
# issue adds ``template``); a policy may point at them.
_EXTRA_FIELDS = ("template", "clone")


def parse(path: str) -> list[Step] | None:
    """The steps of ``path``, or None when it is not a dotted path with ``[n]`` indices."""
    steps: list[Step] = []
    position = 0
    while position < len(path):
        if steps and path[position] == ".":
            position += 1
        match = _STEP.match(path, position)
        if match is None or (not steps and match.group(2) is not None):
            return None
        steps.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        position = match.end()
    return steps or None


def problem(path: str) -> str | None:
    """Why ``path`` is not a flag-file field, or None when it is one."""
    steps = parse(path)
    if steps is None:
        return f"'{path}' is not a field path (write it like links[0].deepLink)"
    node: Any = _flag_schema()
    for number, step in enumerate(steps):
        node = _resolve(node)
        if isinstance(step, int):
            if "items" not in node:
                return f"'{path}': {_shown(steps[:number])} is not a list"
            node = node["items"]
            continue
        properties = dict(node.get("properties", {}))
        if number == 0:
            properties.update({name: {} for name in _EXTRA_FIELDS})
        if step not in properties:
            where = "a flag" if number == 0 else _shown(steps[:number])
            hint = difflib.get_close_matches(step, list(properties), n=1)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
            return f"'{path}' is not a flag-file field: {where} has no '{step}'{suggestion}"
        node = properties[step]
    return None


def _shown(steps: list[Step]) -> str:
    text = ""
    for step in steps:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


@cache
def _flag_schema() -> dict[str, Any]:
    flag: dict[str, Any] = schema()["$defs"]["flag"]
    return flag


def _resolve(node: Any) -> Any:
    """``node`` with local ``$ref`` chains followed (``#/$defs/link``)."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = schema()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node if isinstance(node, dict) else {}
