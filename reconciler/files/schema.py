"""The flag-file JSON Schema: where it lives and the two validators for it.

The file in the repository's ``schemas/`` is the one source of truth; packaging maps
it into ``reconciler.schemas`` so an installed wheel carries the same file. Running from
a checkout without installing falls back to the repository copy.

The fast check (jsonschema-rs) decides whether a document is valid; the full validator
(jsonschema) explains why not. They must agree, or a file the fast check refuses would
have no finding: so the full validator matches ``pattern`` as ECMA-262 does, as
jsonschema-rs does, and both take an integer to be written as one (``2``, not ``2.0``),
as LaunchDarkly does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from reconciler.shipped import shipped_file

SCHEMA_NAME = "flag-file.schema.json"

# ECMA-262's \s. Python's differs: it adds \x1c-\x1f and \x85 and lacks U+FEFF, so a URL
# ending in U+FEFF passed one validator and failed the other.
_ECMA_SPACE = (
    "\\t\\n\\v\\f\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
)
_ECMA_ANY = "[^\\n\\r\\u2028\\u2029]"  # ECMA-262's "." outside a class


def schema_path(name: str = SCHEMA_NAME) -> Path:
    """The path of an installed schema: by default, the flag-file schema."""
    return shipped_file("reconciler.schemas", name, "schemas")


@cache
def schema() -> dict[str, Any]:
    """The flag-file schema as data (loaded once)."""
    with schema_path().open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


@cache
def ecma_regex(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled to match as ECMA-262 (JSON Schema's regex dialect) does.

    Python's ``$`` also matches before a final newline (``"key\\n"`` passed a key
    pattern), its ``\\s`` and ``.`` are not ECMA's, and its ``\\d``, ``\\w`` and ``\\b``
    are Unicode-wide where ECMA's are ASCII. Translated: ``$``, ``\\s``, ``\\S`` outside
    a class, ``.`` outside a class; ``re.ASCII`` for the rest.
    """
    out: list[str] = []
    in_class = False
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            escaped = next(chars, "")
            if escaped == "s":
                out.append(_ECMA_SPACE if in_class else f"[{_ECMA_SPACE}]")
            elif escaped == "S" and not in_class:
                out.append(f"[^{_ECMA_SPACE}]")
            else:
                out.append(char + escaped)
        elif in_class:
            in_class = char != "]"
            out.append(char)
        elif char == "[":
            in_class = True
            out.append(char)
        else:
            out.append({"$": r"\Z", ".": _ECMA_ANY}.get(char, char))
    return re.compile("".join(out), re.ASCII)


def _ecma_pattern(validator: Any, pattern: str, instance: Any, _schema: Any) -> Iterator[Any]:
    """jsonschema's ``pattern`` keyword, with ``ecma_regex`` in place of ``re.search``."""
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not ecma_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _is_integer(_checker: Any, instance: Any) -> bool:
    # Not jsonschema's (nor JSON Schema's) reading, which takes 2.0 for an integer:
    # LaunchDarkly refuses 2.0 where it wants an integer.
    return isinstance(instance, int) and not isinstance(instance, bool)


@cache
def compiled_validator() -> Any:
    """A compiled Draft 2020-12 validator for the flag-file schema, built once per process.

    This is the validator whose errors become findings; it is imported only when a
    document fails the fast check.
    """
    return validator_class()(schema())


@cache
def validator_class() -> Any:
    """Draft 2020-12 as LaunchDarkly reads it: ECMA-262 patterns, integers written as
    integers. Every schema of ours is checked with it, so a field means the same everywhere."""
    from jsonschema import Draft202012Validator
    from jsonschema.validators import extend

    return extend(  # type: ignore[no-untyped-call]
        Draft202012Validator,
        validators={"pattern": _ecma_pattern},
        type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
    )


@dataclass
class IntegerFields:
    """Where a document's integers go, as a tree: the fields of a mapping by name, every
    item of a list, every value of a mapping; ``here``, an integer field itself."""

    fields: dict[str, IntegerFields] = field(default_factory=dict)
    items: IntegerFields | None = None
    values: IntegerFields | None = None
    here: bool = False

    def floats(self, data: Any, path: tuple[str | int, ...] = ()) -> Iterator[list[str | int]]:
        """The paths of ``data`` where a float stands for one of these integers."""
        if isinstance(data, float):
            if self.here:
                yield list(path)
        elif isinstance(data, dict):
            for name, sub in self.fields.items():
                if name in data:
                    yield from sub.floats(data[name], (*path, name))
            if self.values is not None:
                for name, value in data.items():
                    yield from self.values.floats(value, (*path, name))
        elif isinstance(data, list) and self.items is not None:
            for index, item in enumerate(data):
                yield from self.items.floats(item, (*path, index))

    def pruned(self) -> IntegerFields | None:
        """This tree without the branches that lead to no integer; None if none is left."""
        fields = {name: sub.pruned() for name, sub in self.fields.items()}
        kept = IntegerFields(
            {name: sub for name, sub in fields.items() if sub is not None},
            self.items and self.items.pruned(),
            self.values and self.values.pruned(),
            self.here,
        )
        return kept if kept.here or kept.fields or kept.items or kept.values else None


@cache
def integer_fields() -> IntegerFields:
    """Every place the schema wants an integer (read from the schema, so a new integer
    field is covered without a change here)."""
    defs = schema().get("$defs", {})

    def walk(node: Any, at: IntegerFields) -> None:
        if not isinstance(node, dict):
            return
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/"):
            walk(defs.get(ref.removeprefix("#/$defs/")), at)
        at.here = at.here or node.get("type") == "integer"
        for name, sub in node.get("properties", {}).items():
            walk(sub, at.fields.setdefault(name, IntegerFields()))
        if isinstance(node.get("items"), dict):
            at.items = at.items or IntegerFields()
            walk(node["items"], at.items)
        if isinstance(node.get("additionalProperties"), dict):
            at.values = at.values or IntegerFields()
            walk(node["additionalProperties"], at.values)
        for keyword in ("allOf", "anyOf", "oneOf"):
            for sub in node.get(keyword, []):
                walk(sub, at)

    tree = IntegerFields()
    walk(schema(), tree)
    return tree.pruned() or IntegerFields()


@cache
def _fast_validator() -> Any | None:
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - depends on the platform's wheels
        return None
    return jsonschema_rs.Draft202012Validator(schema())


@cache
def fast_check() -> Callable[[Any], bool]:
    """A pass/fail check of a document against the schema, about 100 times faster.

    jsonschema-rs (compiled) answers "valid?" for the great majority of documents,
    which are valid; only a document it rejects goes through ``compiled_validator``,
    whose errors are what users see, so findings are exactly as good either way.
    jsonschema-rs takes 2.0 for an integer, so a float where the schema wants an
    integer fails the check here, as it fails ``compiled_validator``.
    Without jsonschema-rs (a platform with no wheel), every document takes the slow path.
    """
    checker = _fast_validator()
    if checker is None:  # pragma: no cover - depends on the platform's wheels
        return lambda _document: False
    is_valid: Callable[[Any], bool] = checker.is_valid
    floats = integer_fields().floats

    def check(document: Any) -> bool:
        return is_valid(document) and next(floats(document), None) is None

    return check


def fast_refusal(document: Any) -> tuple[list[str | int], str] | None:
    """Where and why the fast check refuses ``document`` (jsonschema-rs's own words),
    or None if it does not; for the finding when ``compiled_validator`` finds nothing."""
    checker = _fast_validator()
    if checker is None:  # pragma: no cover - depends on the platform's wheels
        return None
    for error in checker.iter_errors(document):
        return list(error.instance_path), str(error.message)
    for path in integer_fields().floats(document):
        return path, "a float where an integer is expected"
    return None
