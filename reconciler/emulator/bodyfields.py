"""Reading the typed fields of a JSON request body, each refusal a located 400.

A missing field and ``null`` are the same ("not sent"); a field of the wrong type is refused
with a message that starts with its name (``tags: must be a string, not a number``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.emulator.responses import invalid


def json_object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"{where}: must be a JSON object, not {type_name(value)}")
    return value


# bool before the numbers: a bool is an int to isinstance.
_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "boolean"),
    ((int, float), "number"),
    (str, "string"),
    (list, "array"),
)


def json_kind(value: object) -> str:
    """A decoded JSON value's type: null, boolean, number, string, array or object."""
    if value is None:
        return "null"
    return next((kind for types, kind in _KINDS if isinstance(value, types)), "object")


def type_name(value: object) -> str:
    """The type as a refusal names it: ``null``, ``a boolean`` ... ``an array``, ``an object``."""
    kind = json_kind(value)
    if kind == "null":
        return kind
    return f"{'an' if kind[0] in 'ao' else 'a'} {kind}"


def optional_str(
    data: Mapping[str, Any], name: str, *, required: bool = False, prefix: str = ""
) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise invalid(f"{prefix}{name}: required")
        return None
    if not isinstance(value, str):
        raise invalid(f"{prefix}{name}: must be a string, not {type_name(value)}")
    return value


def required_str(data: Mapping[str, Any], name: str, *, prefix: str = "") -> str:
    value = optional_str(data, name, required=True, prefix=prefix)
    assert value is not None  # _str raises for a missing required value
    return value


def optional_bool(data: Mapping[str, Any], name: str, *, prefix: str = "") -> bool | None:
    value = data.get(name)
    if value is not None and not isinstance(value, bool):
        raise invalid(f"{prefix}{name}: must be a boolean, not {type_name(value)}")
    return value


def optional_int(data: Mapping[str, Any], name: str, where: str | None = None) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{where or name}: must be an integer, not {type_name(value)}")
    return value
