"""Cloning a flag: ``POST /api/v2/flags/{projectKey}?clone=SOURCE_KEY``.

LaunchDarkly documents the ``clone`` query parameter as copying "the full targeting configuration
for all environments, including on/off state, from the original flag to the new flag". The copy
here takes from its source: the variations (values, names, descriptions; each with a new
``_id``), ``kind``, ``defaults``, ``_purpose`` and ``migrationSettings``,
``clientSideAvailability`` (and ``includeInSnippet``, which mirrors it), and in every
environment the whole ``FeatureFlagConfig`` (on/off, prerequisites, targets, rules, fallthrough,
off variation, event tracking, summary). The body gives what describes the new flag itself:
key, name, description, tags, temporary, maintainer, custom properties, each with a create's
default when not sent. Everything that identifies a resource is new: ``creationDate``,
``_version``, ``_links``, and per environment salt, ``sel``, ``lastModified``, ``version``,
``_site``.

UNCONFIRMED (LaunchDarkly's documentation does not say; the strict reading is chosen):
- A body field whose value the clone takes from its source (``SOURCE_FIELDS``) is a 400
  ``invalid_request`` naming it, rather than silently ignored or overriding the copy. Fields
  unknown to the API are still ignored, as in any create.
- An unknown source key and an archived source are 400 ``invalid_request`` (the spec lists no 404
  for ``postFeatureFlag``; its 400 is "Invalid request"); copying an archived flag is refused.
- Descriptive fields the body omits take a create's defaults (``temporary`` true, no tags),
  not the source's.
- Rules and their clauses get new ``_id`` s, like variations; per-environment salts are new
  (SDKs bucket by flag key and salt, so the copy buckets differently whatever its salt).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.emulator import representation, validation
from reconciler.emulator.responses import invalid
from reconciler.emulator.validation import NewFlag

# The body fields a clone takes from its source (``includeInSnippet`` is the deprecated form of
# ``clientSideAvailability.usingEnvironmentId``).
SOURCE_FIELDS = (
    "variations",
    "defaults",
    "purpose",
    "migrationSettings",
    "initialPrerequisites",
    "isFlagOn",
    "clientSideAvailability",
    "includeInSnippet",
)
# What a flag's representation copies from its source; the rest is the new flag's own.
COPIED_FIELDS = (
    "kind",
    "defaults",
    "clientSideAvailability",
    "includeInSnippet",
    "_purpose",
    "migrationSettings",
)
# What identifies an environment's configuration of one flag: the new flag's own, not copied.
ENVIRONMENT_IDENTITY = ("salt", "sel", "lastModified", "version", "_site", "archived")


def source_key(query: Mapping[str, Sequence[str]]) -> str | None:
    """The ``clone`` query parameter's flag key, or ``None`` for an ordinary create."""
    values = query.get("clone")
    if values is None:
        return None
    if len(values) > 1:
        raise invalid("clone: name one flag to copy, not several")
    if not values[0]:
        raise invalid("clone: must name the flag to copy (clone=SOURCE_KEY)")
    return values[0]


def clone_body(body: object, source: str) -> NewFlag:
    """Validate the body of a clone of ``source``: a create's body without ``SOURCE_FIELDS``
    (``null`` counts as not sent, as everywhere in a create)."""
    if isinstance(body, dict):
        for name in SOURCE_FIELDS:
            if body.get(name) is not None:
                raise invalid(f"{name}: a clone takes it from its source flag {source!r}; omit it")
    return validation.flag_body(body)


def source_flag(flags: Mapping[str, dict[str, Any]], key: str, project: str) -> dict[str, Any]:
    """The flag to copy, refused (400) if it does not exist or is archived."""
    source = flags.get(key)
    if source is None:
        raise invalid(f"clone: unknown flag {key!r} in project {project!r}")
    if source["archived"]:
        raise invalid(f"clone: flag {key!r} is archived; only a live flag can be cloned")
    return source


def flag(
    project: str,
    source: Mapping[str, Any],
    spec: NewFlag,
    *,
    now_ms: int,
    archived: bool = False,
) -> dict[str, Any]:
    """The ``FeatureFlag`` representation of the new flag ``spec`` copied from ``source``."""
    rep = representation.flag(project, spec, now_ms=now_ms, archived=archived)
    for name in COPIED_FIELDS:
        rep.pop(name, None)
        if name in source:
            rep[name] = copy.deepcopy(source[name])
    rep["variations"] = [
        {"_id": str(uuid.uuid4()), **{k: copy.deepcopy(v) for k, v in var.items() if k != "_id"}}
        for var in source["variations"]
    ]
    own = rep.pop("environments")
    environments = {}
    for env, fresh in own.items():
        config = copy.deepcopy(source.get("environments", {}).get(env, fresh))
        config.update({name: fresh[name] for name in ENVIRONMENT_IDENTITY})
        config["rules"] = [_with_new_ids(rule) for rule in config.get("rules", [])]
        environments[env] = config
    rep["environments"] = environments
    return rep


def _with_new_ids(rule: dict[str, Any]) -> dict[str, Any]:
    if "_id" in rule:
        rule["_id"] = str(uuid.uuid4())
    for clause in rule.get("clauses", []):
        if isinstance(clause, dict) and "_id" in clause:
            clause["_id"] = str(uuid.uuid4())
    return rule
