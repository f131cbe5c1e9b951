"""What a flag resolves to: the configuration's defaults, its project's, its template, itself.

Levels merge from least to most specific: ``defaults``, ``projects.<key>.defaults``,
the flag's ``template``, the flag. ``tags`` are the union of every level's, in that
order, without repeats; every other field is taken whole from the most specific level
that sets it. ``template`` itself is not a flag field: a resolved flag has none. A clone
takes none of the fields its source gives it (``clones.SOURCE_FIELDS``) from defaults or
its template: a default ``clientSideAvailability`` is for flags made from scratch, and a
copy has its source's.

A resolved document is an ordinary ``Document``: its data holds the merged flags and its
``ResolvedSource`` answers each position from the level that gave the field, so the
schema and the rules run on it unchanged. A position in the configuration is a
``ResolvedLocation``, which also names the configuration path and the flag it was met
for; ``attribute`` turns findings there into findings about the configuration that say
which flags they affect.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.config.configuration import CONFIG_NAME, Config
from reconciler.files.clones import SOURCE_FIELDS
from reconciler.files.positions import Document, SourceMap
from reconciler.files.schema_errors import readable_path
from reconciler.model import Finding, Location, flag_address

SHOWN_FLAGS = 3
"""Flags a finding about the configuration names; past them, it gives a count."""


@dataclass(frozen=True, eq=False)
class ResolvedLocation(Location):
    """A position whose path differs from the resolved flag's: in the configuration,
    or a tag of the flag's own whose index the merge moved.

    Compares and hashes as the plain ``Location`` it extends, so rules that compare
    positions behave as they do for positions in flag files.
    """

    source_path: str = ""  # the path at the position, as its file has it
    flag: str = ""  # in the configuration: the flag affected, with where it is declared


@dataclass(frozen=True)
class _Level:
    """One level of a flag's resolution: a mapping of flag fields and where it is."""

    document: Document
    prefix: tuple[Any, ...]
    data: Mapping[str, Any]


@dataclass(frozen=True)
class _Origin:
    """Which level gave each field of one resolved flag (and each of its tags)."""

    own: _Level
    fields: Mapping[str, _Level]
    tags: tuple[tuple[_Level, int], ...]
    project: str
    index: int

    def locate(self, rest: Sequence[Any], key: bool) -> Location:
        level = self.fields.get(rest[0], self.own)
        if (
            rest[0] == "tags"
            and len(rest) > 1
            and isinstance(rest[1], int)
            and rest[1] < len(self.tags)
        ):
            level, index = self.tags[rest[1]]
            rest = ["tags", index, *rest[2:]]
        path = [*level.prefix, *rest]
        where = level.document.locate(path, key=key)
        if level is not self.own:
            flag = self.affects
        elif rest[0] == "tags" and len(rest) > 1:
            flag = ""  # the flag's own tag, at another index in the union
        else:
            return where
        return ResolvedLocation(where.file, where.line, where.col, readable_path(path), flag)

    @property
    def affects(self) -> str:
        key = self.own.data.get("key")
        name = flag_address(self.project, key) if isinstance(key, str) else f"flags[{self.index}]"
        return f"{name} ({self.own.document.locate(self.own.prefix)})"


class ResolvedSource(SourceMap):
    """The positions of a resolved document: a resolved flag's field at its level."""

    def __init__(
        self, original: Document, origins: dict[int, _Origin], unresolved: frozenset[int]
    ) -> None:
        super().__init__(original.file)
        self.root = original.source.root
        self.original = original
        self.origins = origins
        self.unresolved = unresolved  # flags whose template is unknown

    def own_fields(self, flag_index: int) -> frozenset[str] | None:
        origin = self.origins.get(flag_index)
        return None if origin is None else frozenset(origin.own.data)

    def _origin(self, path: Sequence[Any]) -> _Origin | None:
        if len(path) > 2 and path[0] == "flags":
            return self.origins.get(path[1])
        return None

    def locate(self, data: Any, path: Sequence[Any], *, key: bool = False) -> Location:
        origin = self._origin(path)
        if origin is None:
            return self.original.locate(path, key=key)
        return origin.locate(path[2:], key)

    def locate_items(self, data: Any, path: Sequence[Any]) -> list[Location]:
        origin = self._origin([*path, 0])
        if origin is None:
            return self.original.locate_items(path)
        rest = path[2:]
        own = origin.own
        if rest and rest[0] != "tags" and origin.fields.get(rest[0], own) is own:
            # A list the flag gives itself (its links): where ``locate`` finds each item,
            # found in one walk of the flag's file.
            return own.document.locate_items([*own.prefix, *rest])
        items = data
        for step in path:
            items = items[step]
        return [self.locate(data, [*path, i]) for i in range(len(items))]


def unresolved_flags(document: Document) -> frozenset[int]:
    """The indices of the flags of ``document`` that name an unknown template.

    The unknown template is their finding; the rules skip them (as they skip a flag whose
    shape is wrong), since what they would find follows from the missing template.
    """
    source = document.source
    return source.unresolved if isinstance(source, ResolvedSource) else frozenset()


def resolve_documents(
    documents: Iterable[Document], config: Config
) -> tuple[list[Document], list[Finding]]:
    """Every document with its flags resolved, and the findings for unknown templates.

    A document none of whose flags the configuration touches is returned as it is.
    """
    resolved: list[Document] = []
    findings: list[Finding] = []
    for document in documents:
        resolved.append(_resolve(document, config, findings))
    return resolved, findings


def _resolve(document: Document, config: Config, findings: list[Finding]) -> Document:
    data = document.data
    if not (
        isinstance(data, dict)
        and isinstance(data.get("project"), str)
        and isinstance(data.get("flags"), list)
    ):
        return document  # the schema says what is wrong
    project: str = data["project"]
    base = [
        _Level(config.document, prefix, fields)
        for prefix, fields in (
            (("defaults",), config.defaults),
            (("projects", project, "defaults"), config.project_defaults(project)),
        )
        if fields
    ]
    flags: list[Any] = data["flags"]
    if not base and not any(isinstance(f, dict) and "template" in f for f in flags):
        return document
    templates = config.templates
    origins: dict[int, _Origin] = {}
    unresolved: set[int] = set()
    merged_flags: list[Any] = []
    for index, flag in enumerate(flags):
        if not isinstance(flag, dict) or (not base and "template" not in flag):
            merged_flags.append(flag)
            continue
        levels = list(base)
        name = flag.get("template")
        if isinstance(name, str):
            if name in templates:
                levels.append(_Level(config.document, ("templates", name), templates[name]))
            else:
                findings.append(_unknown_template(document, index, name, config))
                unresolved.add(index)
        own = _Level(document, ("flags", index), flag)
        merged, origin = _merge(levels, own, project, index)
        merged_flags.append(merged)
        origins[index] = origin
    source = ResolvedSource(document, origins, frozenset(unresolved))
    return Document(document.file, {**data, "flags": merged_flags}, source)


def _merge(
    levels: list[_Level], own: _Level, project: str, index: int
) -> tuple[dict[str, Any], _Origin]:
    merged: dict[str, Any] = {}
    fields: dict[str, _Level] = {}
    tags: list[Any] = []
    tags_from: list[tuple[_Level, int]] = []
    is_clone = isinstance(own.data.get("clone"), str)
    for level in [*levels, own]:
        for name, value in level.data.items():
            if is_clone and level is not own and name in SOURCE_FIELDS:
                continue
            merged[name] = value
            fields[name] = level
        level_tags = level.data.get("tags")
        if isinstance(level_tags, list):
            earlier = list(tags)  # repeats within one level stay, for the schema to report
            for i, tag in enumerate(level_tags):
                if tag not in earlier:
                    tags.append(tag)
                    tags_from.append((level, i))
    if "tags" in fields and isinstance(fields["tags"].data["tags"], list):
        merged["tags"] = tags
    if isinstance(merged.get("template"), str):
        del merged["template"]  # resolved (or reported as unknown); never sent
    # The flag's own fields first, as the file has them: how plans and messages show them.
    ordered = {name: merged[name] for name in own.data if name in merged}
    ordered.update(merged)
    return ordered, _Origin(own, fields, tuple(tags_from), project, index)


def _unknown_template(document: Document, index: int, name: str, config: Config) -> Finding:
    path = ["flags", index, "template"]
    known = sorted(config.templates)
    if known:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"the templates are {', '.join(known)}"
    elif config.file is None:
        hint = f"no {CONFIG_NAME} (here or in a parent directory) defines templates"
    else:
        hint = f"{config.document.file} defines no templates"
    return Finding(document.locate(path), f"unknown template {name!r}; {hint}", readable_path(path))


def attribute(findings: Iterable[Finding], config: Config) -> list[Finding]:
    """``findings`` with those at positions in the configuration made findings about it.

    Such a finding is located in the configuration, names its path there and the flags
    it affects: one mistake in a template that 200 flags use is one finding, not 200.
    One the configuration's own check already reports is dropped.
    """
    reported = {(f.location, f.path, f.message) for f in config.findings}
    kept: list[Finding] = []
    affected: dict[tuple[Location, str, str, str], list[str]] = {}
    for finding in findings:
        where = finding.location
        if not isinstance(where, ResolvedLocation):
            kept.append(finding)
            continue
        plain = Location(where.file, where.line, where.col)
        if not where.flag:
            kept.append(Finding(plain, finding.message, where.source_path, finding.severity))
            continue
        identity = (plain, where.source_path, finding.message, finding.severity)
        if identity[:3] not in reported:
            affected.setdefault(identity, []).append(where.flag)
    for (where, path, message, severity), flags in affected.items():
        kept.append(Finding(where, f"{message}; {_affects(flags)}", path, severity))
    return sorted(kept, key=Finding.sort_key)


def _affects(flags: list[str]) -> str:
    flags = list(dict.fromkeys(flags))
    if len(flags) == 1:
        return f"affects flag {flags[0]}"
    shown = ", ".join(flags[:SHOWN_FLAGS])
    more = f" and {len(flags) - SHOWN_FLAGS} more" if len(flags) > SHOWN_FLAGS else ""
    return f"affects {len(flags)} flags: {shown}{more}"
