"""Walking a JSON Schema: every subschema, and every property a subschema declares."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# Keywords whose values are data, not subschemas.
_DATA = ("examples", "default", "enum", "const")


def subschemas(node: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Each subschema below ``node`` (itself included), pre-order, with its JSON pointer."""
    if isinstance(node, dict):
        yield pointer, node
        for key, value in node.items():
            if key not in _DATA:
                yield from subschemas(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from subschemas(value, f"{pointer}/{index}")


def properties(schema: Any) -> list[tuple[str, dict[str, Any]]]:
    """Each property declared anywhere in ``schema``, with its JSON pointer."""
    return [
        (f"{pointer}/properties/{name}", prop)
        for pointer, node in subschemas(schema)
        for name, prop in (node.get("properties") or {}).items()
    ]
