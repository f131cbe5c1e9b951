"""What a create will send, as attribute lines for the renderers, like Terraform's ``+ resource``.

A create action carries the body its POST sends (``Action.body``, built by ``FlagSpec.post_body``
and ``LinkSpec.post_body``, the same functions apply sends with). ``attributes`` turns it into
``(name, value, note)`` lines: every field the body sends, and every field it leaves out that
LaunchDarkly fills in on create, with the value it fills in and the note ``DEFAULTED``, so a
reviewer sees the whole flag that merging makes. The defaults are those of the create API
(``launchdarkly/API-NOTES.md``, ``FeatureFlagBody`` in the OpenAPI excerpt): description "",
temporary true, no tags, variations true and false, defaults the first and last variation,
isFlagOn false, and the project's client-side availability. A clone (``?clone=``) takes its
variations, defaults, purpose, client-side availability and every environment's targeting from
its source: those are one ``copied from`` line instead.

Lines are built only when shown, and only for creates: a 10,000-flag plan must not be slowed
by attributes of resources that exist.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from reconciler.model import flag_address
from reconciler.plan.plan import Action

DEFAULTED = "LaunchDarkly's default"

# The order a flag's fields are shown in; a field not named here follows, in body order.
_FLAG_ORDER = (
    "key",
    "name",
    "description",
    "temporary",
    "tags",
    "variations",
    "defaults",
    "clientSideAvailability",
    "includeInSnippet",
    "customProperties",
    "maintainerId",
    "maintainerTeamKey",
    "purpose",
    "migrationSettings",
    "isFlagOn",
    "initialPrerequisites",
)
_LINK_ORDER = ("key", "deepLink", "title", "description", "integrationKey", "metadata")
# What a clone takes from its source rather than from the body (see emulator/clone.py).
_CLONED = ("variations", "defaults", "purpose", "migrationSettings", "clientSideAvailability")
_DEFAULT_VARIATIONS: list[dict[str, Any]] = [{"value": True}, {"value": False}]
# One encoder, made once: json.dumps with options builds a new one on every call.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))


class Attribute(NamedTuple):
    """One line under a create: ``name = value``, and a note such as ``DEFAULTED``."""

    name: str
    value: str
    note: str = ""


def value_text(value: Any) -> str:
    """A value as the JSON it is sent as (strings quoted, objects and lists inline)."""
    return _JSON.encode(value)


def attributes(action: Action) -> list[Attribute]:
    """The attribute lines of a create action; none for other actions or an unknown body."""
    if action.body is None:
        return []
    if action.resource == "link":
        return _ordered(action.body, _LINK_ORDER, {})
    return _flag(action.body, action.project, action.clone)


def _flag(body: Mapping[str, Any], project: str, clone: str | None) -> list[Attribute]:
    special: dict[str, list[Attribute]] = {}
    if clone is None:
        migration = body.get("purpose") == "migration"
        special["variations"] = _variations(body, migration)
        special["defaults"] = _defaults(body, migration)
    if "initialPrerequisites" in body:
        special["initialPrerequisites"] = [
            _prerequisite(i, p) for i, p in enumerate(body["initialPrerequisites"])
        ]
    defaults: dict[str, str] = {"description": '""', "temporary": "true", "tags": "[]"}
    if clone is None:
        defaults["clientSideAvailability"] = "the project's default for new flags"
        defaults["isFlagOn"] = "false"
    lines = _ordered(body, _FLAG_ORDER, special)
    for name, value in defaults.items():
        if name not in body:
            at = _position(lines, name)
            lines.insert(at, Attribute(name, value, DEFAULTED))
    if clone is not None:
        copied = ", ".join(_CLONED) + ", and every environment's targeting (on/off included)"
        lines.append(Attribute("copied", f"from {flag_address(project, clone)}: {copied}"))
    return lines


def _ordered(
    body: Mapping[str, Any], order: tuple[str, ...], special: Mapping[str, list[Attribute]]
) -> list[Attribute]:
    """The body's fields in ``order``, then the rest; ``special`` replaces a field's lines."""
    lines: list[Attribute] = []
    for name in (*order, *[n for n in body if n not in order]):
        if name in special:
            lines += special[name]
        elif name in body:
            lines.append(Attribute(name, value_text(body[name])))
    return lines


def _position(lines: list[Attribute], name: str) -> int:
    """Where a defaulted field goes: after the last line of a field shown before it."""
    rank = _FLAG_ORDER.index(name)
    for i in range(len(lines) - 1, -1, -1):
        head = lines[i].name.partition("[")[0].partition(".")[0]
        if head in _FLAG_ORDER and _FLAG_ORDER.index(head) < rank:
            return i + 1
    return 0


def _variation(
    variation: Mapping[str, Any], parts: tuple[str, ...] = ("name", "description")
) -> str:
    text = value_text(variation.get("value"))
    for part in parts:
        if part in variation:
            text += f", {part} {value_text(variation[part])}"
    return text


def _variations(body: Mapping[str, Any], migration: bool) -> list[Attribute]:
    if "variations" in body:
        return [
            Attribute(f"variations[{i}]", _variation(v)) for i, v in enumerate(body["variations"])
        ]
    if migration:
        return [Attribute("variations", "one per stage of migrationSettings", DEFAULTED)]
    return [
        Attribute(f"variations[{i}]", _variation(v), DEFAULTED)
        for i, v in enumerate(_DEFAULT_VARIATIONS)
    ]


def _defaults(body: Mapping[str, Any], migration: bool) -> list[Attribute]:
    """``defaults``, each with the variation it picks, or LaunchDarkly's first and last."""
    variations = body.get("variations", _DEFAULT_VARIATIONS)
    if "defaults" in body:
        picks, note = body["defaults"], ""
    elif migration or not variations:
        return []
    else:
        picks, note = {"onVariation": 0, "offVariation": len(variations) - 1}, DEFAULTED
    lines = []
    for name, index in picks.items():
        value = value_text(index)
        if isinstance(index, int) and 0 <= index < len(variations):
            value += f" ({_variation(variations[index], ('name',))})"
        lines.append(Attribute(f"defaults.{name}", value, note))
    return lines


def _prerequisite(i: int, prerequisite: Mapping[str, Any]) -> Attribute:
    """By key and variation; the variation's ``_id`` is known only once the flag exists."""
    key = value_text(prerequisite.get("key"))
    if prerequisite.get("variationId") is None and "variation" in prerequisite:
        value = f"{key}, variation {value_text(prerequisite['variation'])}"
        return Attribute(f"initialPrerequisites[{i}]", value, "variationId known after apply")
    return Attribute(f"initialPrerequisites[{i}]", value_text(prerequisite))
