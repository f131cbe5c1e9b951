"""Checking create bodies as LaunchDarkly does, before anything is stored.

``flag_body`` and ``link_body`` turn a decoded JSON body into a normalised value or raise a 400
``invalid_request`` whose message starts with the offending field (``variations[1].value: ...``).
Unknown fields are ignored, as the real API ignores them; ``null`` counts as "not sent".
Checks that need the store (key conflicts, prerequisites) happen in ``store``.

Where LaunchDarkly's behaviour is not documented (UNCONFIRMED in API-NOTES), the emulator is
strict: keys must match the Terraform provider's pattern, a flag needs at least two variations of
one type, ``purpose: holdout`` is refused (holdouts have their own API), a link without an
integration needs an absolute http(s) ``deepLink``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from reconciler.emulator.bodyfields import (
    json_kind,
    json_object,
    optional_bool,
    optional_int,
    optional_str,
    required_str,
    type_name,
)
from reconciler.emulator.responses import invalid

KEY_PATTERN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
TAG_PATTERN = re.compile(r"[a-zA-Z0-9_.-]{1,64}")
MAX_KEY_LENGTH = 256
MAX_CUSTOM_PROPERTIES = 64
MAX_PROPERTY_TEXT = 64
MIGRATION_STAGE_COUNTS = (2, 4, 6)
MAX_TIMESTAMP_MS = 253_402_300_799_999


@dataclass(frozen=True)
class NewFlag:
    """A validated ``FeatureFlagBody``; variations are ``None`` for migration flags."""

    key: str
    name: str
    description: str
    temporary: bool
    tags: tuple[str, ...]
    variations: tuple[dict[str, Any], ...] | None
    defaults: tuple[int, int] | None
    client_side_availability: dict[str, bool]
    custom_properties: dict[str, dict[str, Any]]
    purpose: str | None
    migration_settings: dict[str, Any] | None
    maintainer_id: str | None
    maintainer_team_key: str | None
    prerequisites: tuple[tuple[str, str], ...]
    on: bool
    """``isFlagOn``: whether the flag starts on, in every environment."""


@dataclass(frozen=True)
class NewLink:
    """A validated ``flagLinkPost``."""

    key: str | None
    integration_key: str | None
    timestamp: int | None
    deep_link: str
    title: str | None
    description: str | None
    metadata: dict[str, str]


def flag_body(body: object) -> NewFlag:
    data = json_object(body, "request body")
    key = _key(data, "key")
    name = required_str(data, "name")
    if not name.strip():
        raise invalid("name: must not be empty")
    description = optional_str(data, "description") or ""
    temporary = optional_bool(data, "temporary")
    on = optional_bool(data, "isFlagOn")
    tags = _tags(data)
    csa = _client_side_availability(data)
    custom = _custom_properties(data)
    purpose = optional_str(data, "purpose")
    if purpose not in (None, "migration"):
        if purpose == "holdout":
            raise invalid("purpose: holdout flags are created with the Holdouts API")
        raise invalid(f"purpose: must be 'migration' or 'holdout', not {purpose!r}")
    migration = _migration_settings(data, purpose)
    variations = _variations(data, migrating=migration is not None)
    defaults = _defaults(data, variations, migrating=migration is not None)
    maintainer_id = optional_str(data, "maintainerId")
    team_key = optional_str(data, "maintainerTeamKey")
    if maintainer_id is not None and team_key is not None:
        raise invalid("maintainerId: send either maintainerId or maintainerTeamKey, not both")
    return NewFlag(
        key=key,
        name=name,
        description=description,
        temporary=True if temporary is None else temporary,
        tags=tags,
        variations=variations,
        defaults=defaults,
        client_side_availability=csa,
        custom_properties=custom,
        purpose=purpose,
        migration_settings=migration,
        maintainer_id=maintainer_id,
        maintainer_team_key=team_key,
        prerequisites=_prerequisites(data),
        on=bool(on),
    )


def link_body(body: object) -> NewLink:
    data = json_object(body, "request body")
    key = _key(data, "key") if data.get("key") is not None else None
    integration_key = optional_str(data, "integrationKey")
    deep_link = optional_str(data, "deepLink")
    if integration_key is None and deep_link is None:
        raise invalid("deepLink: required for a link that names no integrationKey")
    if deep_link is not None:
        parts = urlsplit(deep_link)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise invalid(f"deepLink: {deep_link!r} is not an absolute http(s) URL")
    timestamp = optional_int(data, "timestamp")
    if timestamp is not None and not 0 <= timestamp <= MAX_TIMESTAMP_MS:
        raise invalid("timestamp: must be Unix milliseconds between 0 and the year 9999")
    metadata = data.get("metadata")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise invalid("metadata: must be an object whose values are strings")
    return NewLink(
        key=key,
        integration_key=integration_key,
        timestamp=timestamp,
        deep_link=deep_link or "",
        title=optional_str(data, "title"),
        description=optional_str(data, "description"),
        metadata=dict(metadata),
    )


def _key(data: Mapping[str, Any], name: str) -> str:
    key = required_str(data, name)
    if not KEY_PATTERN.fullmatch(key) or len(key) > MAX_KEY_LENGTH:
        raise invalid(
            f"{name}: {key!r} is not a valid key (letters, digits, '.', '_' and '-', starting "
            f"with a letter or digit, at most {MAX_KEY_LENGTH} characters)"
        )
    return key


def _tags(data: Mapping[str, Any]) -> tuple[str, ...]:
    tags = data.get("tags")
    if tags is None:
        return ()
    if not isinstance(tags, list):
        raise invalid(f"tags: must be an array of strings, not {type_name(tags)}")
    seen: dict[str, None] = {}
    for i, tag in enumerate(tags):
        if not isinstance(tag, str):
            raise invalid(f"tags[{i}]: must be a string, not {type_name(tag)}")
        if not TAG_PATTERN.fullmatch(tag):
            raise invalid(
                f"tags[{i}]: {tag!r} is not a valid tag (1-64 letters, digits, '.', '_' or '-')"
            )
        seen[tag] = None
    return tuple(seen)


def _client_side_availability(data: Mapping[str, Any]) -> dict[str, bool]:
    value = data.get("clientSideAvailability")
    snippet = optional_bool(data, "includeInSnippet")
    if value is None:
        return {"usingEnvironmentId": bool(snippet), "usingMobileKey": False}
    csa = json_object(value, "clientSideAvailability")
    result = {}
    for name in ("usingEnvironmentId", "usingMobileKey"):
        flag = optional_bool(csa, name, prefix="clientSideAvailability.")
        if flag is None:
            raise invalid(f"clientSideAvailability.{name}: required")
        result[name] = flag
    return result


def _custom_properties(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    value = data.get("customProperties")
    if value is None:
        return {}
    props = json_object(value, "customProperties")
    if len(props) > MAX_CUSTOM_PROPERTIES:
        raise invalid(f"customProperties: at most {MAX_CUSTOM_PROPERTIES} properties")
    result: dict[str, dict[str, Any]] = {}
    for key, prop in props.items():
        where = f"customProperties.{key}"
        if not 1 <= len(key) <= MAX_PROPERTY_TEXT:
            raise invalid(f"{where}: a property key has 1-{MAX_PROPERTY_TEXT} characters")
        entry = json_object(prop, where)
        name = required_str(entry, "name", prefix=f"{where}.")
        if not 1 <= len(name) <= MAX_PROPERTY_TEXT:
            raise invalid(f"{where}.name: must have 1-{MAX_PROPERTY_TEXT} characters")
        values = entry.get("value")
        if not isinstance(values, list):
            raise invalid(f"{where}.value: required, an array of strings")
        if len(values) > MAX_CUSTOM_PROPERTIES:
            raise invalid(f"{where}.value: at most {MAX_CUSTOM_PROPERTIES} values")
        for i, item in enumerate(values):
            if not isinstance(item, str) or not 1 <= len(item) <= MAX_PROPERTY_TEXT:
                raise invalid(
                    f"{where}.value[{i}]: must be a string of 1-{MAX_PROPERTY_TEXT} characters"
                )
        result[key] = {"name": name, "value": list(values)}
    return result


def _migration_settings(data: Mapping[str, Any], purpose: str | None) -> dict[str, Any] | None:
    value = data.get("migrationSettings")
    if purpose != "migration":
        if value is not None:
            raise invalid("migrationSettings: only for flags whose purpose is 'migration'")
        return None
    if value is None:
        raise invalid("migrationSettings: required when purpose is 'migration'")
    settings = json_object(value, "migrationSettings")
    if settings.get("stageCount") is None:
        raise invalid("migrationSettings.stageCount: required")
    stages = optional_int(settings, "stageCount", "migrationSettings.stageCount")
    if stages not in MIGRATION_STAGE_COUNTS:
        raise invalid(f"migrationSettings.stageCount: must be 2, 4 or 6, not {stages}")
    kind = optional_str(settings, "contextKind", prefix="migrationSettings.")
    if stages == 6 and not kind:
        raise invalid("migrationSettings.contextKind: required for a 6-stage migration")
    if stages != 6 and kind is not None:
        raise invalid("migrationSettings.contextKind: only for a 6-stage migration; omit it")
    result: dict[str, Any] = {"stageCount": stages}
    if kind is not None:
        result["contextKind"] = kind
    return result


def _variations(data: Mapping[str, Any], *, migrating: bool) -> tuple[dict[str, Any], ...] | None:
    value = data.get("variations")
    if migrating:
        if value is not None:
            raise invalid("variations: a migration flag's variations are set by its stageCount")
        return None
    if value is None:
        return ({"value": True}, {"value": False})
    if not isinstance(value, list):
        raise invalid(f"variations: must be an array, not {type_name(value)}")
    if len(value) < 2:
        raise invalid("variations: a flag needs at least two variations")
    result = []
    seen: dict[str, int] = {}
    first_type = None
    for i, item in enumerate(value):
        where = f"variations[{i}]"
        entry = json_object(item, where)
        if entry.get("value") is None:
            raise invalid(f"{where}.value: required (and not null)")
        v = entry["value"]
        if isinstance(v, float) and not math.isfinite(v):
            raise invalid(f"{where}.value: must be a finite number")
        kind = json_kind(v)
        if kind in ("array", "object"):
            kind = "JSON"  # a JSON flag's variations: arrays and objects mix
        if first_type is None:
            first_type = kind
        elif kind != first_type:
            raise invalid(
                f"{where}.value: is {kind} but variations[0] is {first_type}; "
                "a flag's variations share one type"
            )
        canonical = _canonical(v)
        if canonical in seen:
            raise invalid(f"{where}.value: duplicate of variations[{seen[canonical]}].value")
        seen[canonical] = i
        variation: dict[str, Any] = {"value": v}
        for field in ("name", "description"):
            text = optional_str(entry, field, prefix=f"{where}.")
            if text is not None:
                variation[field] = text
        result.append(variation)
    return tuple(result)


def _canonical(value: object) -> str:
    # 1 and 1.0 are the same JSON number, so they are duplicates.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _defaults(
    data: Mapping[str, Any],
    variations: tuple[dict[str, Any], ...] | None,
    *,
    migrating: bool,
) -> tuple[int, int] | None:
    value = data.get("defaults")
    if migrating:
        if value is not None:
            raise invalid("defaults: a migration flag's defaults are set by its stageCount")
        return None
    assert variations is not None
    if value is None:
        return 0, len(variations) - 1
    defaults = json_object(value, "defaults")
    result = []
    for name in ("onVariation", "offVariation"):
        if defaults.get(name) is None:
            raise invalid(f"defaults.{name}: required")
        index = optional_int(defaults, name, f"defaults.{name}")
        assert index is not None
        if not 0 <= index < len(variations):
            raise invalid(
                f"defaults.{name}: {index} is out of range "
                f"(the flag has {len(variations)} variations)"
            )
        result.append(index)
    return result[0], result[1]


def _prerequisites(data: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    value = data.get("initialPrerequisites")
    if value is None:
        return ()
    if not isinstance(value, list):
        raise invalid(f"initialPrerequisites: must be an array, not {type_name(value)}")
    result: list[tuple[str, str]] = []
    for i, item in enumerate(value):
        where = f"initialPrerequisites[{i}]"
        entry = json_object(item, where)
        key = required_str(entry, "key", prefix=f"{where}.")
        variation_id = required_str(entry, "variationId", prefix=f"{where}.")
        if any(key == k for k, _ in result):
            raise invalid(f"{where}.key: flag {key!r} is already a prerequisite")
        result.append((key, variation_id))
    return tuple(result)
