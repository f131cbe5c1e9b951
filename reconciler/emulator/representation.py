"""Building the JSON LaunchDarkly returns for a created flag or flag link.

A representation is built once, when the resource is created, and never changes afterwards
(the emulator, like the reconciler, only creates), so the store keeps these dicts as they are
and serialises them without copying. A flag's is what getting it returns: its
``environments`` too, one ``FeatureFlagConfig`` per environment of ``ENVIRONMENTS``; ``served``
narrows it to what a request asked for (the list, or ``env``).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from reconciler.emulator.validation import NewFlag, NewLink

# The variation values of a migration flag, per stage count. LaunchDarkly's SDKs name six stages
# (off, dualwrite, shadow, live, rampdown, complete, in that order); the documentation describes
# 2 stages as "the old and new systems cannot run at the same time" (off, complete), 4 as "both can
# run at the same time" (off, shadow, live, complete: both run, first preferring old, then new),
# and 6 as "reads and writes migrate separately" (all six). Which subset LaunchDarkly uses for 2
# and 4 is UNCONFIRMED by a primary source; this is the reading consistent with those descriptions.
MIGRATION_STAGES: dict[int, tuple[str, ...]] = {
    2: ("off", "complete"),
    4: ("off", "shadow", "live", "complete"),
    6: ("off", "dualwrite", "shadow", "live", "rampdown", "complete"),
}
# Every emulated project's environments (key: name), the two LaunchDarkly gives a new project.
ENVIRONMENTS: dict[str, str] = {"production": "Production", "test": "Test"}
# What an environment in the flag list leaves out unless asked with summary=0 (the spec names
# "prerequisites, targets, or rules"; contextTargets, the other targets, go with them).
LISTS = ("targets", "contextTargets", "rules", "prerequisites")

STAGE_NAMES = {
    "off": "Off",
    "dualwrite": "DualWrite",
    "shadow": "Shadow",
    "live": "Live",
    "rampdown": "RampDown",
    "complete": "Complete",
}


def link(href: str) -> dict[str, str]:
    return {"href": href, "type": "application/json"}


def flags_path(project: str) -> str:
    return f"/api/v2/flags/{quote(project, safe='')}"


def flag_path(project: str, flag: str) -> str:
    return f"{flags_path(project)}/{quote(flag, safe='')}"


def links_path(project: str, flag: str) -> str:
    return f"/api/v2/flag-links/projects/{quote(project, safe='')}/flags/{quote(flag, safe='')}"


def new_object_id() -> str:
    """A 24-hex-digit id, the shape of LaunchDarkly's own resource ids."""
    return secrets.token_hex(12)


def flag(
    project: str,
    spec: NewFlag,
    *,
    now_ms: int,
    archived: bool = False,
    prerequisites: Sequence[tuple[str, int]] = (),
) -> dict[str, Any]:
    """The ``FeatureFlag`` representation of a newly created flag; ``prerequisites`` are the
    create's, by key and the index of the variation its ``variationId`` names."""
    if spec.migration_settings is not None:
        stages = MIGRATION_STAGES[spec.migration_settings["stageCount"]]
        values: list[dict[str, Any]] = [
            {"value": stage, "name": STAGE_NAMES[stage]} for stage in stages
        ]
        # A migration starts, and falls back, at its first stage.
        on_variation, off_variation = 0, 0
    else:
        assert spec.variations is not None  # validation sets both unless migrating
        assert spec.defaults is not None
        values = [dict(v) for v in spec.variations]
        on_variation, off_variation = spec.defaults
    variations = [{"_id": str(uuid.uuid4()), **v} for v in values]
    # Values are unique, so two booleans are exactly true and false.
    is_boolean = len(values) == 2 and all(isinstance(v["value"], bool) for v in values)
    rep: dict[str, Any] = {
        "name": spec.name,
        "kind": "boolean" if is_boolean else "multivariate",
        "description": spec.description,
        "key": spec.key,
        "_version": 1,
        "creationDate": now_ms,
        "includeInSnippet": spec.client_side_availability["usingEnvironmentId"],
        "clientSideAvailability": dict(spec.client_side_availability),
        "variations": variations,
        "temporary": spec.temporary,
        "tags": list(spec.tags),
        "_links": {
            "parent": link(flags_path(project)),
            "self": link(flag_path(project, spec.key)),
        },
        "experiments": {"baselineIdx": 0, "items": []},
        "customProperties": {k: dict(v) for k, v in spec.custom_properties.items()},
        "archived": archived,
        "deprecated": False,
        "defaults": {"onVariation": on_variation, "offVariation": off_variation},
    }
    if archived:
        rep["archivedDate"] = now_ms
    migration = spec.migration_settings
    _set_given(
        rep,
        maintainerId=spec.maintainer_id,
        maintainerTeamKey=spec.maintainer_team_key,
        _purpose=spec.purpose,
        migrationSettings=None if migration is None else dict(migration),
    )
    rep["environments"] = environments(project, rep, on=spec.on, prerequisites=prerequisites)
    return rep


def environments(
    project: str, rep: Mapping[str, Any], *, on: bool, prerequisites: Sequence[tuple[str, int]]
) -> dict[str, dict[str, Any]]:
    """Each environment's ``FeatureFlagConfig`` for the new flag ``rep``: as a create sets it up
    (initialPrerequisites and isFlagOn apply to every environment), no targets or rules, the
    defaults as the fallthrough and off variations."""
    count = len(rep["variations"])
    defaults = rep.get("defaults") or {}
    fallthrough = defaults.get("onVariation", 0)
    off = defaults.get("offVariation", count - 1)
    # UNCONFIRMED whether LaunchDarkly's summary lists variations nothing serves; all are here.
    variations = {
        str(i): {
            "rules": 0,
            "nullRules": 0,
            "targets": 0,
            "contextTargets": 0,
            **({"isFallthrough": True} if i == fallthrough else {}),
            **({"isOff": True} if i == off else {}),
        }
        for i in range(count)
    }
    site = f"/{quote(project, safe='')}/{{}}/features/{quote(rep['key'], safe='')}"
    return {
        key: {
            "on": on,
            "archived": rep["archived"],
            "salt": secrets.token_hex(16),
            "sel": secrets.token_hex(16),
            "lastModified": rep["creationDate"],
            "version": 1,
            "targets": [],
            "contextTargets": [],
            "rules": [],
            "fallthrough": {"variation": fallthrough},
            "offVariation": off,
            "prerequisites": [{"key": k, "variation": i} for k, i in prerequisites],
            "_site": {"href": site.format(quote(key, safe="")), "type": "text/html"},
            "_environmentName": name,
            "trackEvents": False,
            "trackEventsFallthrough": False,
            "_summary": {"variations": variations, "prerequisites": len(prerequisites)},
        }
        for key, name in ENVIRONMENTS.items()
    }


def served(rep: Mapping[str, Any], keys: Collection[str], *, lists: bool = True) -> dict[str, Any]:
    """``rep`` with only the environments ``keys``, each without its ``LISTS`` unless ``lists``;
    no ``environments`` at all for no keys, as LaunchDarkly's list unfiltered by one."""
    result = {k: v for k, v in rep.items() if k != "environments"}
    if keys:
        result["environments"] = {
            key: config if lists else {k: v for k, v in config.items() if k not in LISTS}
            for key, config in rep["environments"].items()
            if key in keys
        }
    return result


def flag_link(project: str, flag_key: str, spec: NewLink, *, now_ms: int) -> dict[str, Any]:
    """The ``FlagLinkRep`` of a newly created flag link."""
    link_id = new_object_id()
    collection = links_path(project, flag_key)
    rep: dict[str, Any] = {
        "_links": {
            "parent": link(collection),
            "self": link(f"{collection}/{link_id}"),
        },
        "_id": link_id,
        "_deepLink": spec.deep_link,
        "_timestamp": timestamp(spec.timestamp if spec.timestamp is not None else now_ms),
        "_createdAt": now_ms,
        "_metadata": dict(spec.metadata),
    }
    _set_given(
        rep,
        _key=spec.key,
        _integrationKey=spec.integration_key,
        title=spec.title,
        description=spec.description,
    )
    return rep


def _set_given(rep: dict[str, Any], **fields: object) -> None:
    """Set the fields that have a value: LaunchDarkly omits an unset optional field."""
    rep.update((name, value) for name, value in fields.items() if value is not None)


def timestamp(ms: int) -> dict[str, Any]:
    """A ``TimestampRep``: the same instant as milliseconds, seconds and two texts (UTC)."""
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return {
        "milliseconds": ms,
        "seconds": ms // 1000,
        "rfc3339": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z",
        "simple": moment.strftime("%Y-%m-%d %H:%M:%S UTC"),
    }
