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
its source: those are left out (the formats say ``copies ... from`` the source instead).

Lines are built only when shown, and only for creates: a 10,000-flag plan must not be slowed
by attributes of resources that exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from json.encoder import encode_basestring
from typing import Any

from reconciler.model import json_encoder
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
_FLAG_SHOWN = frozenset(_FLAG_ORDER)
_LINK_SHOWN = frozenset(_LINK_ORDER)
# What a clone takes from its source rather than from the body (see emulator/clone.py);
# on/off is part of the targeting it copies.
_COPIED = frozenset(("variations", "defaults", "clientSideAvailability", "isFlagOn"))
_DEFAULT_VARIATIONS: list[dict[str, Any]] = [{"value": True}, {"value": False}]
# What LaunchDarkly fills in for a field the body leaves out (variations and defaults aside).
_CREATE_DEFAULTS = {
    "description": '""',
    "temporary": "true",
    "tags": "[]",
    "clientSideAvailability": "the project's default for new flags",
    "isFlagOn": "false",
}
_JSON = json_encoder(item=", ", key=": ", sort_keys=False)


# One line under a create: ``name = value``, and a note such as ``DEFAULTED`` (or "").
# A plain tuple: a plan of 10,000 flags and 30,000 links shows a quarter of a million.
Attribute = tuple[str, str, str]


def value_text(value: Any) -> str:
    """A value as the JSON it is sent as (strings quoted, objects and lists inline)."""
    # Strings and booleans are most values of a plan of thousands of creates: a fast path.
    if type(value) is str:
        return encode_basestring(value)
    if type(value) is bool:
        return "true" if value else "false"
    return _JSON(value)


def attributes(action: Action) -> list[Attribute]:
    """The attribute lines of a create action; none for other actions or an unknown body."""
    body = action.body
    if body is None:
        return []
    if action.resource == "link":
        # Inline, as value_text's fast path: a plan of 10,000 flags shows 30,000 links.
        lines = [
            (n, encode_basestring(v) if type(v := body[n]) is str else value_text(v), "")
            for n in _LINK_ORDER
            if n in body
        ]
        return lines + _rest(body, _LINK_SHOWN)
    return _flag(body, action.clone or None)


def _rest(body: Mapping[str, Any], shown: frozenset[str]) -> list[Attribute]:
    """The fields of ``body`` no order names (one a future API adds), in body order."""
    if body.keys() <= shown:  # nearly always
        return []
    return [(n, value_text(v), "") for n, v in body.items() if n not in shown]


def _flag(body: Mapping[str, Any], clone: str | None) -> list[Attribute]:
    lines: list[Attribute] = []
    migration = body.get("purpose") == "migration"
    for name in _FLAG_ORDER:
        if clone is None and name == "variations":
            lines += _variations(body, migration)
        elif clone is None and name == "defaults":
            lines += _defaults(body, migration)
        elif name in body:
            if name == "initialPrerequisites":
                lines += [_prerequisite(i, p) for i, p in enumerate(body[name])]
            else:
                lines.append((name, value_text(body[name]), ""))
        elif name in _CREATE_DEFAULTS and (clone is None or name not in _COPIED):
            lines.append((name, _CREATE_DEFAULTS[name], DEFAULTED))
    return lines + _rest(body, _FLAG_SHOWN)


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
        return [(f"variations[{i}]", _variation(v), "") for i, v in enumerate(body["variations"])]
    if migration:
        return [("variations", "one per stage of migrationSettings", DEFAULTED)]
    return [
        (f"variations[{i}]", _variation(v), DEFAULTED) for i, v in enumerate(_DEFAULT_VARIATIONS)
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
        if type(index) is int and 0 <= index < len(variations):
            value += f" ({_variation(variations[index], ('name',))})"
        lines.append((f"defaults.{name}", value, note))
    return lines


def _prerequisite(i: int, prerequisite: Mapping[str, Any]) -> Attribute:
    """By key and variation; the variation's ``_id`` is known only once the flag exists."""
    name = f"initialPrerequisites[{i}]"
    if prerequisite.get("variationId") is None and "variation" in prerequisite:
        value = f"{value_text(prerequisite.get('key'))}, variation {prerequisite['variation']}"
        return (name, value, "variationId known after apply")
    return (name, value_text(prerequisite), "")
