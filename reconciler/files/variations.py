"""A flag's variations: their values (unique, of one type) and ``defaults`` in range.

Values compare as LaunchDarkly compares them (``value_identity``), also where a
prerequisite names a variation by value.
"""

from __future__ import annotations

from typing import Any

from reconciler.files.declared import Declared
from reconciler.files.migration import MIGRATION_STAGES
from reconciler.model import Finding, canonical_json


def variation_values(data: dict[str, Any]) -> list[Any] | None:
    """The values of a flag's variations, in order; None while they are unknown (also
    when the schema refused their shape: the schema's finding says what to fix)."""
    if "purpose" in data:
        settings = data.get("migrationSettings")
        if data["purpose"] != "migration" or not isinstance(settings, dict):
            return None  # unknown: the flag's own finding asks for migrationSettings
        count = settings.get("stageCount")
        stages = MIGRATION_STAGES.get(count) if type(count) is int else None
        return list(stages) if stages is not None else None
    if "variations" in data:
        variations = data["variations"]
        if not isinstance(variations, list) or not all(_has_value(v) for v in variations):
            return None
        return [v["value"] for v in variations]
    return [True, False]


def _has_value(variation: Any) -> bool:
    return isinstance(variation, dict) and "value" in variation


def check_variations(flag: Declared, findings: list[Finding]) -> bool:
    """Whether the flag's variations and defaults are usable; findings for what is not."""
    before = len(findings)

    def at_value(index: int, message: str) -> None:
        findings.append(flag.finding(flag.path("variations", index, "value"), message))

    data = flag.data
    variations = data.get("variations", [])
    if not isinstance(variations, list):
        return False  # the schema's finding: nothing here to compare or count
    kinds: dict[str, int] = {}
    seen: dict[tuple[str, Any], int] = {}
    for i, variation in enumerate(variations):
        if not _has_value(variation):
            continue  # the schema's finding
        value = variation["value"]
        if value is None:
            at_value(i, "a variation value cannot be null")
            continue
        kinds.setdefault(_value_kind(value), i)
        identity = value_identity(value)
        if identity in seen:
            at_value(
                i,
                f"the value {canonical_json(value)} is already variation {seen[identity]}; "
                "variation values must be unique",
            )
        seen.setdefault(identity, i)
    if len(kinds) > 1:
        (first_kind, _), (other_kind, other_index) = sorted(kinds.items(), key=lambda kv: kv[1])[:2]
        at_value(
            other_index,
            f"this value is {other_kind} but variation 0 is {first_kind}; "
            "all variations of a flag share one type (boolean, string, number or JSON)",
        )
    defaults = data.get("defaults")
    # Not counted from variations the schema refused (one too few, one not a variation):
    # "out of range" would follow from that mistake, not be one of its own.
    countable = not variations or (len(variations) >= 2 and all(map(_has_value, variations)))
    if isinstance(defaults, dict) and "purpose" not in data and countable:
        count = len(variations) if variations else 2
        has = (
            f"the flag has {count} variations"
            if variations
            else "with no variations listed, the flag has 2 (true and false)"
        )
        for name in ("onVariation", "offVariation"):
            index = defaults.get(name)
            # An index of the wrong type (1.0, "1") is the schema's finding, not a range's.
            if type(index) is int and index >= count:
                findings.append(
                    flag.finding(
                        flag.path("defaults", name),
                        f"{index} is out of range ({has}, indices 0 to {count - 1})",
                    )
                )
    return len(findings) == before


def _value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "JSON"


def value_identity(value: Any) -> tuple[str, Any]:
    """Values compare as LaunchDarkly compares them: 1 and 1.0 are one number.

    Scalars compare directly (the common case, and cheap); JSON values by their
    canonical text, with the numbers inside them compared the same way.
    """
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, (int, float)):
        return ("number", float(value))
    if isinstance(value, str):
        return ("string", value)
    return ("json", canonical_json(_floats(value)))


def _floats(value: Any) -> Any:
    """``value`` with every number as a float: [1, {"a": 2}] as [1.0, {"a": 2.0}]."""
    if isinstance(value, list):
        return [_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value
