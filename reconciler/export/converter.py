"""Converting LaunchDarkly's representation of a flag and its links to flag-file data.

- Only what carries information: no server-only fields, nothing equal to the create API's
  default (description "", temporary true, no tags, variations true/false without names,
  defaults first/last, customProperties {}). ``clientSideAvailability`` is always written: a
  create without it gets the *project's* default, which differs between projects.
- ``isFlagOn: true`` when the flag is on in every environment (``environments.*.on``), as a
  create with it leaves it; on in some environments only is noted, since no file says that.
- Prerequisites, by key and variation index: those LaunchDarkly sets alike in every
  environment (``environments.*.prerequisites``, each ``{key, variation}``). LaunchDarkly's list
  leaves ``environments`` out unless filtered by one, or reports just a count per environment
  (``_summary.prerequisites``): then a flag is fetched, which gives every environment, unless
  every count is 0. One on a flag that is not exported is left out and noted, and so are a
  flag's prerequisites when even the flag itself does not report them.
- Never silently dropped: holdout flags and links with no key (any key a file gave one would
  not match it, so apply would create a second link) are reported as ``Problem`` values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from reconciler.export.flagfile import group_of
from reconciler.files.schema import schema
from reconciler.model import canonical_json, flag_address, link_address

HOLDOUT = "a holdout flag: holdouts are made with LaunchDarkly's Holdouts API, not flag files"
NO_LINK_KEY = (
    "the link has no key in LaunchDarkly; a file's link is matched by key, so any key "
    "given here would make apply create a second link"
)
UNREPORTED_PREREQUISITES = "prerequisites left out: LaunchDarkly did not report them"
PARTS = ("links", "initialPrerequisites")  # lists a finding may leave out one item of
_CSA = ("usingEnvironmentId", "usingMobileKey")
_DEFAULTS = ("onVariation", "offVariation")


@dataclass(frozen=True)
class Problem:
    """Something LaunchDarkly holds that the export leaves out, and why."""

    address: str
    reason: str

    def __str__(self) -> str:
        return f"{self.address}: {self.reason}"


@dataclass(frozen=True)
class ExportedFlag:
    """A flag as its file declares it: ``data`` in the schema's field order, links included."""

    key: str
    archived: bool
    data: Mapping[str, Any]

    @property
    def group(self) -> str:
        return group_of(self.data.get("tags", ()))

    @property
    def links(self) -> int:
        return len(self.data.get("links", ()))

    def with_fields(self, **fields: Any) -> ExportedFlag:
        """This flag with ``fields`` set; an empty list removes its field."""
        data = {**self.data, **fields}
        data = {k: v for k, v in data.items() if not (k in PARTS and not v)}
        return ExportedFlag(self.key, self.archived, _ordered(data, "flag"))


@cache
def _fields(definition: str) -> tuple[str, ...]:
    """The fields of a schema definition, in the schema's order: the order files show them."""
    return tuple(schema()["$defs"][definition]["properties"])


def _ordered(data: Mapping[str, Any], definition: str) -> dict[str, Any]:
    return {name: data[name] for name in _fields(definition) if name in data}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _index(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _environments(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    envs = item.get("environments")
    if not isinstance(envs, dict):
        return []
    return [env for _, env in sorted(envs.items()) if isinstance(env, dict)]


def per_environment(item: Mapping[str, Any]) -> list[list[tuple[str, int | None]]] | None:
    """Each environment's prerequisites in LaunchDarkly's order, as (key, variation index or
    None if it is not one); None unless every environment tells them.

    An environment tells them by its ``prerequisites`` list (a flag on its own, or a list
    filtered by environment), or by a summary that counts none: LaunchDarkly's list counts
    them (``_summary.prerequisites``) without listing them.
    """
    lists: list[list[tuple[str, int | None]]] = []
    for env in _environments(item):
        if isinstance(env.get("prerequisites"), list):
            lists.append(
                [
                    (p["key"], p["variation"] if _index(p.get("variation")) else None)
                    for p in env["prerequisites"]
                    if isinstance(p, dict) and isinstance(p.get("key"), str)
                ]
            )
        elif (env.get("_summary") or {}).get("prerequisites") == 0:
            lists.append([])
        else:
            return None
    return lists or None


@dataclass
class Converter:
    """LaunchDarkly's representations to flag-file data, collecting what it leaves out."""

    project: str
    found: Mapping[str, tuple[dict[str, Any], bool]]
    tags: Sequence[str]
    skipped: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)

    def skip(self, flag_key: str, reason: str, link_key: str | None = None) -> None:
        self.skipped.append(Problem(self._address(flag_key, link_key), reason))

    def note(self, flag_key: str, reason: str, link_key: str | None = None) -> None:
        self.notes.append(Problem(self._address(flag_key, link_key), reason))

    def _address(self, flag_key: str, link_key: str | None) -> str:
        if link_key is None:
            return flag_address(self.project, flag_key)
        return link_address(self.project, flag_key, link_key)

    def flag(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        """The flag's own fields (no prerequisites or links), or None if no file declares it."""
        key, purpose = item["key"], item.get("_purpose")
        if purpose is not None and purpose != "migration":
            self.skip(
                key,
                HOLDOUT if purpose == "holdout" else f"no flag file declares purpose {purpose!r}",
            )
            return None
        data: dict[str, Any] = {"key": key, "name": item.get("name")}
        if description := _text(item.get("description")):
            data["description"] = description
        if item.get("temporary") is False:
            data["temporary"] = False
        if tags := sorted(set(item.get("tags") or ())):
            data["tags"] = tags
        if purpose == "migration":
            settings = item.get("migrationSettings") or {}
            if not _index(settings.get("stageCount")):
                self.skip(key, "a migration flag whose migrationSettings were not reported")
                return None
            data["purpose"] = "migration"
            data["migrationSettings"] = {"stageCount": settings["stageCount"]}
            if settings["stageCount"] == 6 and _text(settings.get("contextKind")):
                data["migrationSettings"]["contextKind"] = settings["contextKind"]
        else:
            self._variations(item, data)
        csa = item.get("clientSideAvailability")
        if isinstance(csa, dict) and all(isinstance(csa.get(n), bool) for n in _CSA):
            data["clientSideAvailability"] = {n: csa[n] for n in _CSA}
        else:
            self.note(key, "clientSideAvailability left out: LaunchDarkly did not report it")
        props = item.get("customProperties") or {}
        if all(isinstance(p, dict) and set(p) == {"name", "value"} for p in props.values()):
            if props:
                data["customProperties"] = {k: dict(p) for k, p in sorted(props.items())}
        else:
            self.note(key, "customProperties left out: not in the form a file declares")
        self._on(item, data)
        team, member = _text(item.get("maintainerTeamKey")), _text(item.get("maintainerId"))
        if team:
            data["maintainerTeamKey"] = team
        elif member:
            data["maintainerId"] = member
        if team and member:
            self.note(
                key, f"maintainerId left out: a file names one maintainer; kept team {team!r}"
            )
        return data

    def _on(self, item: Mapping[str, Any], data: dict[str, Any]) -> None:
        """``isFlagOn: true`` when the flag is on in every environment (as a create with it
        leaves it); off everywhere is the default; on in some only, no file can say."""
        states = [env.get("on") for env in _environments(item)]
        if not states or not all(isinstance(on, bool) for on in states):
            self.note(item["key"], "isFlagOn left out: LaunchDarkly did not report it")
        elif all(states):
            data["isFlagOn"] = True
        elif any(states):
            self.note(
                item["key"],
                "isFlagOn left out: the flag is on in some environments and off in others",
            )

    def _variations(self, item: Mapping[str, Any], data: dict[str, Any]) -> None:
        variations = []
        for live in item.get("variations", ()):
            variation = {"value": live.get("value")}
            variation.update({n: t for n in ("name", "description") if (t := _text(live.get(n)))})
            variations.append(variation)
        # Only true then false, unnamed, is the default: 1 and 0 equal True and False in Python.
        values = [v["value"] for v in variations]
        if variations != [{"value": True}, {"value": False}] or not all(
            isinstance(v, bool) for v in values
        ):
            data["variations"] = variations
        defaults = item.get("defaults") or {}
        indices = [defaults.get(n) for n in _DEFAULTS]
        if not all(_index(i) for i in indices):
            self.note(item["key"], "defaults left out: LaunchDarkly did not report them")
        elif indices != [0, len(variations) - 1]:
            data["defaults"] = dict(zip(_DEFAULTS, indices, strict=True))

    def prerequisites(
        self, item: Mapping[str, Any], exported: Mapping[str, Any], archived: bool
    ) -> list[dict[str, Any]]:
        """``initialPrerequisites`` by key and variation index, on flags that are exported."""
        key = item["key"]
        lists = per_environment(item)
        if lists is None:
            self.note(key, UNREPORTED_PREREQUISITES)
            return []
        sets = [set(each) for each in lists]
        alike = set.intersection(*sets)
        for other, index in sorted(set().union(*sets) - alike, key=canonical_json):
            self.note(
                key,
                f"prerequisite {other!r} (variation {index}) left out: it is "
                "not set alike in every environment",
            )
        pairs = [pair for pair in lists[0] if pair in alike]
        result = []
        for target_key, index in pairs:
            why = self._not_declared(target_key, exported, archived)
            if why is None and index is None:
                why = "its variation is not one of that flag's"
            if why is None:
                result.append({"key": target_key, "variationIndex": index})
            else:
                self.note(key, f"prerequisite {target_key!r} left out: {why}")
        return result

    def _not_declared(self, key: str, exported: Mapping[str, Any], archived: bool) -> str | None:
        if key not in self.found:
            return "no such flag was listed"
        if self.found[key][1] and not archived:
            return "that flag is archived (the live flags' files must stand on their own)"
        if key in exported:
            return None
        if not set(self.tags) <= set(self.found[key][0].get("tags", ())):
            return f"that flag is not tagged {' and '.join(self.tags)}"
        return "that flag is not exported"

    def links(self, flag_key: str, reps: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The flag's links with keys, sorted by key; the others are reported."""
        links = []
        for rep in reps:
            if not rep.get("_key"):
                target = rep.get("_integrationKey") or rep.get("_deepLink")
                self.skip(flag_key, NO_LINK_KEY, f"(no key: {target})")
                continue
            link: dict[str, Any] = {"key": rep["_key"]}
            metadata = rep.get("_metadata") or {}
            if integration := _text(rep.get("_integrationKey")):
                # The integration made the URL from the metadata, which is what a create sends.
                link["integrationKey"] = integration
                if metadata:
                    link["metadata"] = dict(sorted(metadata.items()))
            else:
                link["deepLink"] = rep["_deepLink"]
                if metadata:
                    self.note(flag_key, "metadata left out: only for integrations", rep["_key"])
            link.update({n: t for n in ("title", "description") if (t := _text(rep.get(n)))})
            stamp = rep.get("_timestamp") or {}
            if _index(stamp.get("milliseconds")) and stamp["milliseconds"] != rep.get("_createdAt"):
                link["timestamp"] = stamp["milliseconds"]
            links.append(_ordered(link, "link"))
        return sorted(links, key=lambda link: str(link["key"]))
