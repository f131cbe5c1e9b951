"""Turning JSON Schema errors into findings a person can act on.

jsonschema's own messages are written for schema authors ("'x' does not match
'^[a-zA-Z0-9]...'"); this module rewrites each kind of error in the flag file's terms,
points at the exact node (the key itself for an unknown field), names the best
branch of a ``oneOf``/``anyOf`` instead of listing every branch, and offers a
"did you mean" for misspelt field names.
"""

from __future__ import annotations

import difflib
import json
import unicodedata
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from reconciler.files.positions import Document
from reconciler.model import Finding

if TYPE_CHECKING:  # jsonschema is imported only when a document fails the fast check
    from jsonschema.exceptions import ValidationError

_PATTERN_HINTS = {
    "^[a-zA-Z0-9][a-zA-Z0-9_.-]*$": "a key starts with a letter or digit and holds only "
    "letters, digits, '.', '_' and '-'",
    "^[a-zA-Z0-9_.-]+$": "a tag holds only letters, digits, '.', '_' and '-'",
    "^https?://[^\\s/?#]+(/[^\\s?#]*)?$": "a base URL is http:// or https:// and a host, "
    "e.g. https://app.launchdarkly.com",
}
_URL_HINT = "a link's deepLink must be an http:// or https:// URL"

# What YAML 1.1 read as booleans and YAML 1.2 (this loader, like LaunchDarkly's JSON) reads
# as text: a user writing "isFlagOn: yes" means true and should be told why it is not.
_YAML11_BOOLEANS = frozenset(
    v for word in ("yes", "no", "on", "off", "y", "n") for v in (word, word.title(), word.upper())
)

_JSON_TYPES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def readable_path(path: Sequence[Any]) -> str:
    """``['flags', 2, 'defaults', 'onVariation']`` as ``flags[2].defaults.onVariation``."""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        elif step.replace("_", "a").isalnum() and (step[:1].isalpha() or step[:1] == "_"):
            out += f".{step}" if out else step
        else:
            out += f"[{json.dumps(step)}]"
    return out


def describe(value: Any) -> str:
    """How a value reads in a message: its YAML type in words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return "a number"


def plural(n: int, word: str) -> str:
    """``1 item``, ``2 items``, ``1,000 items``."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _shown(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def findings_for(error: ValidationError, doc: Document) -> Iterator[Finding]:
    """The findings for one schema error (an unknown-field error may name several keys)."""
    path = list(error.absolute_path)
    kind = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance

    if kind == "additionalProperties" and isinstance(instance, dict):
        known = sorted(schema.get("properties", {}))
        # At the top of a flag file (not of ld-reconciler.yaml), a flag's field was
        # written one level too high.
        flag_fields = _flag_fields() if not path and "flags" in known else frozenset()
        for key in instance:
            if key in known:
                continue
            hint = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            if key in flag_fields:
                suggestion = f"; {key!r} is a field of a flag: write it inside one (flags[].{key})"
            elif hint:
                suggestion = f"; did you mean {hint[0]!r}?"
            else:
                suggestion = f"; known fields: {', '.join(known)}"
            yield Finding(
                doc.locate([*path, key], key=True),
                f"unknown field {key!r}{_non_ascii(key)}{suggestion}",
                readable_path([*path, key]),
            )
        return

    if kind in ("oneOf", "anyOf"):
        yield _choice_finding(error, doc, path)
        return

    if "propertyNames" in error.absolute_schema_path and isinstance(instance, str):
        # The error is about a key, not the mapping holding it: name and point at the key.
        message = _message(error).removeprefix(f"{_shown(instance)} ")  # named once
        yield Finding(
            doc.locate([*path, instance], key=True),
            f"the key {_shown(instance)} {message}",
            readable_path([*path, instance]),
        )
        return

    if kind == "uniqueItems" and isinstance(instance, list):
        # Point at the second occurrence, the one to remove.
        repeat = _first_repeat(instance)
        if repeat is not None:
            path = [*path, repeat]

    yield Finding(doc.locate(path), _message(error), readable_path(path))


def _flag_fields() -> frozenset[str]:
    """The fields of a flag, for a hint when one is written at the top of a file."""
    from reconciler.files.schema import schema

    return frozenset(schema().get("$defs", {}).get("flag", {}).get("properties", {}))


def _non_ascii(text: str) -> str:
    """A note naming the first character of ``text`` that is not ASCII, or "".

    A look-alike (Cyrillic 'е' for Latin 'e') reads exactly like the name it imitates;
    without the note, "unknown field 'tеmporary'" would make no sense to its reader.
    """
    for position, char in enumerate(text, start=1):
        if not char.isascii():
            name = unicodedata.name(char, "an unnamed character")
            return f" (character {position} is U+{ord(char):04X} {name}, not ASCII)"
    return ""


def _first_repeat(items: list[Any]) -> int | None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        text = json.dumps(item, sort_keys=True)
        if text in seen:
            return i
        seen.add(text)
    return None


def _choice_finding(error: ValidationError, doc: Document, path: list[Any]) -> Finding:
    branches = error.context or []
    choices: Any = error.validator_value or []
    options = [
        req
        for b in choices
        if isinstance(b, dict)
        for req in b.get("required", [])
    ]
    if "is valid under each of" in error.message or (error.validator == "oneOf" and not branches):
        given = [o for o in options if isinstance(error.instance, dict) and o in error.instance]
        return Finding(
            doc.locate(path),
            f"give only one of {' or '.join(given or options)}",
            readable_path(path),
        )
    if branches and all(b.validator == "required" for b in branches):
        return Finding(
            doc.locate(path),
            f"needs {' or '.join(options)}",
            readable_path(path),
        )
    from jsonschema.exceptions import best_match

    best = best_match(branches)
    if best is None:  # pragma: no cover - jsonschema always gives a context here
        return Finding(doc.locate(path), error.message, readable_path(path))
    return next(findings_for(best, doc))


def _message(error: ValidationError) -> str:
    kind = error.validator
    value: Any = error.validator_value
    instance: Any = error.instance
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    title = str(schema.get("title", ""))
    if kind == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else value
        return f"missing required field {missing!r}"
    if kind == "type":
        expected = value if isinstance(value, list) else [value]
        whole = isinstance(instance, float) and instance.is_integer() and abs(instance) < 2**53
        if "integer" in expected and whole:
            # Valid JSON Schema, but LaunchDarkly refuses 2.0 where it wants an integer.
            return f"expected an integer; write {int(instance)}, not {instance!r}"
        words = " or ".join(_JSON_TYPES.get(str(t), str(t)) for t in expected)
        if expected == ["boolean"] and isinstance(instance, str) and instance in _YAML11_BOOLEANS:
            return (
                f"expected {words}, got the string {json.dumps(instance)}: YAML 1.2 reads "
                f"{instance} as a string; write true or false"
            )
        return f"expected {words}, got {describe(instance)}"
    if kind == "pattern":
        hint = _PATTERN_HINTS.get(str(value), _URL_HINT if "://" in str(value) else "")
        what = title[:1].lower() + title[1:] if title[1:2].islower() else title or "value"
        if str(value) in _PATTERN_HINTS and isinstance(instance, str):
            hint += _non_ascii(instance)
        return f"{_shown(instance)} is not a valid {what}: {hint}".rstrip(": ")
    if kind == "enum":
        if instance == "holdout":
            return (
                "holdout flags are made with LaunchDarkly's Holdouts API; "
                "only 'migration' is supported"
            )
        allowed = ", ".join(json.dumps(v) for v in value)
        return f"{_shown(instance)} is not allowed; use one of {allowed}"
    if kind == "minLength":
        return "must not be empty" if value == 1 else f"must be at least {value} characters"
    if kind == "maxLength":
        return f"is {len(instance):,} characters long; at most {value} are allowed"
    if kind == "minItems":
        return f"has {plural(len(instance), 'item')}; at least {value} are needed"
    if kind == "maxItems":
        return f"has {len(instance)} items; at most {value} are allowed"
    if kind == "maxProperties":
        return f"has {len(instance)} entries; at most {value} are allowed"
    if kind == "minimum":
        return f"{_shown(instance)} is below the minimum of {value}"
    if kind == "uniqueItems":
        repeat = _first_repeat(instance)
        if repeat is not None:
            return f"{_shown(instance[repeat])} is listed twice"
        return "items must be unique"
    if kind == "dependentRequired":
        for prop, needs in value.items():
            if prop in instance:
                missing = [n for n in needs if n not in instance]
                if missing:
                    return f"{prop!r} needs {' and '.join(map(repr, missing))}"
    if kind == "propertyNames":
        return f"the key {_shown(error.instance)} is not allowed: {error.message}"
    if kind == "false":
        return "is not allowed here"
    if kind == "not" and value == {}:  # a field that may not be given here says why
        return str(schema.get("description") or "is not allowed here")
    return str(error.message)
