"""Exporting: the flags a LaunchDarkly project already has, as flag files to adopt them.

``export_project`` reads the project (fetch), turns each flag and link into the flag-file
format (convert), and checks the result the way ``validate`` and ``plan`` will (check);
``Export.files`` groups the flags into files and renders them, ``write_files`` writes them.

- Reading: the flag list (pages of 100; the archived list too when asked). A flag is fetched
  on its own only when its list item lacks something the file needs: ``defaults``,
  ``clientSideAvailability``, a migration's ``migrationSettings``, or prerequisites that an
  environment's summary counts but does not list. Links: one list per exported flag (the
  flag-links API has no bulk read), a few at a time.
- Writing only what carries information: no server-only fields (``_version``, ``kind``,
  ``archived``, ...) and nothing equal to the API's default: description "", temporary true,
  no tags, variations true/false without names, defaults first/last, customProperties {}.
  ``clientSideAvailability`` is always written: when a create omits it, LaunchDarkly uses the
  *project's* default, which differs between projects and is not part of a flag.
- Prerequisites (``initialPrerequisites``, by key and variation index): from the emulator's
  ``_prerequisites``, or from LaunchDarkly's per-environment ``prerequisites``, keeping those
  set alike in every environment. A prerequisite on a flag that is not exported is left out.
- Not expressible, reported and never silently dropped: holdout flags, flags the schema or the
  semantic rules refuse (mixed variation types, bad keys, ...), links without a key (any key a
  file gave them would not match, so apply would create a second link). The generated document
  is validated, and each flag is compared as a plan compares it, before anything is written.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import yaml

from reconciler import compare
from reconciler.errors import InputError
from reconciler.loader import YAML_SUFFIXES, load_text
from reconciler.model import Finding, canonical_json, flag_address, link_address
from reconciler.schema import schema
from reconciler.validator import validate_documents

try:  # the C emitter; the representer below is Python either way
    from yaml import CSafeDumper as _BaseDumper
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]

KEY_PATTERN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
UNTAGGED = "untagged"
ARCHIVED_DIR = "archived"
CONCURRENCY = 4
_MAX_ROUNDS = 5
_NOT_KEYS = ("links", "initialPrerequisites")  # declared fields a plan does not compare
_FINDING_PATH = re.compile(r"flags\[(\d+)\]\.?(.*)")
_PART_PATH = re.compile(r"(links|initialPrerequisites)\[(\d+)\]")
_WINDOWS_DEVICES = frozenset(
    {"con", "prn", "aux", "nul", *(f"{d}{i}" for d in ("com", "lpt") for i in range(10))}
)


class FlagSource(Protocol):
    """The reads export needs (``LaunchDarklyClient`` fits)."""

    def list_flags(
        self, project: str, *, archived: bool = False, limit: int = 100, offset: int = 0
    ) -> Iterable[dict[str, Any]]: ...

    def get_flag(self, project: str, key: str) -> dict[str, Any] | None: ...

    def list_links(self, project: str, flag_key: str) -> list[dict[str, Any]]: ...


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


@dataclass(frozen=True)
class ExportFile:
    """One file to write: its path below the output directory and its text."""

    path: str
    text: str
    flags: int
    links: int


@dataclass(frozen=True)
class Export:
    """What an export found: the flags it can write and what it had to leave out."""

    project: str
    flags: tuple[ExportedFlag, ...]
    selected: int  # flags that matched the selection, exportable or not
    skipped: tuple[Problem, ...] = ()
    notes: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        """False when flags were selected but none could be exported."""
        return bool(self.flags) or not self.selected

    @property
    def link_count(self) -> int:
        return sum(len(f.data.get("links", ())) for f in self.flags)

    @property
    def archived_count(self) -> int:
        return sum(f.archived for f in self.flags)

    def files(self) -> list[ExportFile]:
        """One file per group: ``<project>/<group>.yaml``, archived flags below ``archived/``."""
        groups: dict[tuple[bool, str], list[ExportedFlag]] = {}
        for flag in self.flags:
            groups.setdefault((flag.archived, flag.group), []).append(flag)
        files = []
        for (archived, group), members in sorted(groups.items()):
            folder = f"{self.project}/{ARCHIVED_DIR}" if archived else self.project
            which = "without tags" if group == UNTAGGED else f"whose first tag is {group}"
            comment = f"Flags of project {self.project} {which}, exported by ld-reconciler."
            if archived:
                comment += " Archived: a plan shows them as blocked."
            text = render(self.project, [f.data for f in members], comment)
            links = sum(len(f.data.get("links", ())) for f in members)
            files.append(ExportFile(f"{folder}/{group}.yaml", text, len(members), links))
        return files

    def document(self) -> str:
        """Every exported flag in one flag file, sorted by key."""
        comment = f"Flags of project {self.project}, exported by ld-reconciler."
        return render(self.project, [f.data for f in self.flags], comment)


# -- fetch ------------------------------------------------------------------------------------


def export_project(
    source: FlagSource,
    project: str,
    *,
    include_archived: bool = False,
    tags: Sequence[str] = (),
    concurrency: int = CONCURRENCY,
) -> Export:
    """Read ``project`` and convert its flags (those carrying every tag in ``tags``)."""
    if not KEY_PATTERN.fullmatch(project):
        raise InputError(f"--project {project!r} is not a LaunchDarkly project key")
    found: dict[str, tuple[dict[str, Any], bool]] = {
        item["key"]: (item, False) for item in source.list_flags(project)
    }
    if include_archived:
        for item in source.list_flags(project, archived=True):
            found.setdefault(item["key"], (item, True))
    chosen = sorted(k for k, (item, _) in found.items() if set(tags) <= set(item.get("tags", ())))
    conv = _Converter(project, found, tags)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        completed = pool.map(lambda k: _complete(source, project, found[k][0]), chosen)
        items = dict(zip(chosen, completed, strict=True))
        drafts = {k: d for k in chosen if (d := conv.flag(items[k])) is not None}
        link_lists = pool.map(lambda k: source.list_links(project, k), drafts)
        listed = dict(zip(drafts, link_lists, strict=True))
    flags = []
    for key, draft in drafts.items():
        prerequisites = conv.prerequisites(items[key], drafts, archived=found[key][1])
        if prerequisites:
            draft["initialPrerequisites"] = prerequisites
        links = conv.links(key, listed[key])
        if links:
            draft["links"] = links
        flags.append(ExportedFlag(key, found[key][1], _ordered(draft, _properties("flag"))))
    flags = conv.round_trips(flags, items, listed)
    flags = conv.validated(flags)
    return Export(project, tuple(flags), len(chosen), tuple(conv.skipped), tuple(conv.notes))


def _complete(source: FlagSource, project: str, item: dict[str, Any]) -> dict[str, Any]:
    """The flag as the file needs it: its list item, or the flag itself if the item lacks parts."""
    if item.get("_purpose") == "migration":
        lacking = not isinstance(item.get("migrationSettings"), dict)
    else:
        lacking = not isinstance(item.get("defaults"), dict)
    lacking = lacking or not isinstance(item.get("clientSideAvailability"), dict)
    if lacking or ("_prerequisites" not in item and _prerequisites_counted_not_listed(item)):
        full = source.get_flag(project, item["key"])
        if full is not None:  # deleted since it was listed: the list item is all there is
            return full
    return item


def _environments(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    envs = item.get("environments")
    if not isinstance(envs, dict):
        return []
    return [env for _, env in sorted(envs.items()) if isinstance(env, dict)]


def _prerequisites_counted_not_listed(item: Mapping[str, Any]) -> bool:
    """LaunchDarkly's summary list counts each environment's prerequisites but omits them."""
    envs = _environments(item)
    if any(isinstance(env.get("prerequisites"), list) for env in envs):
        return False
    counts = [(env.get("_summary") or {}).get("prerequisites") for env in envs]
    return any(isinstance(n, int) and n > 0 for n in counts)


# -- convert ----------------------------------------------------------------------------------


@cache
def _properties(definition: str) -> tuple[str, ...]:
    return tuple(schema()["$defs"][definition]["properties"])


def _ordered(data: Mapping[str, Any], order: Sequence[str]) -> dict[str, Any]:
    """``data`` with its fields in ``order`` (the schema's), so files read alike."""
    return {name: data[name] for name in order if name in data}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass
class _Converter:
    """Turns LaunchDarkly's representations into flag-file data, collecting what it leaves out."""

    project: str
    found: Mapping[str, tuple[dict[str, Any], bool]]
    tags: Sequence[str]
    skipped: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)

    def skip(self, address: str, reason: str) -> None:
        self.skipped.append(Problem(address, reason))

    def note(self, address: str, reason: str) -> None:
        self.notes.append(Problem(address, reason))

    def flag(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        """The flag's own fields (no prerequisites, no links), or None if it cannot be declared."""
        key = item["key"]
        address = flag_address(self.project, key)
        purpose = item.get("_purpose")
        if purpose == "holdout":
            self.skip(
                address,
                "a holdout flag; holdouts are made with LaunchDarkly's Holdouts "
                "API and flag files cannot declare them",
            )
            return None
        if purpose not in (None, "migration"):
            self.skip(address, f"its purpose {purpose!r} cannot be declared in a flag file")
            return None
        data: dict[str, Any] = {"key": key, "name": item.get("name")}
        if description := _text(item.get("description")):
            data["description"] = description
        if item.get("temporary") is False:
            data["temporary"] = False
        if tags := sorted(set(item.get("tags") or ())):
            data["tags"] = tags
        if purpose == "migration":
            if not self._migration(item, data):
                return None
        else:
            self._variations(item, data)
        csa = item.get("clientSideAvailability")
        if isinstance(csa, dict) and all(isinstance(csa.get(n), bool) for n in _CSA):
            data["clientSideAvailability"] = {n: csa[n] for n in _CSA}
        else:
            self.note(address, "LaunchDarkly did not report clientSideAvailability; left out")
        self._custom_properties(item, data)
        team, member = _text(item.get("maintainerTeamKey")), _text(item.get("maintainerId"))
        if team:
            data["maintainerTeamKey"] = team
            if member:
                self.note(
                    address,
                    "maintainerId left out: a flag file names one maintainer, "
                    f"and the team {team!r} is kept",
                )
        elif member:
            data["maintainerId"] = member
        return data

    def _migration(self, item: Mapping[str, Any], data: dict[str, Any]) -> bool:
        settings = item.get("migrationSettings")
        stages = settings.get("stageCount") if isinstance(settings, dict) else None
        if not isinstance(stages, int) or isinstance(stages, bool):
            self.skip(
                flag_address(self.project, item["key"]),
                "a migration flag whose migrationSettings LaunchDarkly did not report",
            )
            return False
        assert isinstance(settings, dict)
        exported: dict[str, Any] = {"stageCount": stages}
        context = _text(settings.get("contextKind"))
        if context and stages == 6:
            exported["contextKind"] = context
        elif context:
            self.note(
                flag_address(self.project, item["key"]),
                "migrationSettings.contextKind left out: only 6-stage migrations have one",
            )
        data["purpose"] = "migration"
        data["migrationSettings"] = exported
        return True

    def _variations(self, item: Mapping[str, Any], data: dict[str, Any]) -> None:
        variations = []
        for live in item.get("variations", ()):
            variation = {"value": live.get("value")}
            for name in ("name", "description"):
                if text := _text(live.get(name)):
                    variation[name] = text
            variations.append(variation)
        if not _default_variations(variations):
            data["variations"] = variations
        defaults = item.get("defaults")
        indices = [defaults.get(n) if isinstance(defaults, dict) else None for n in _DEFAULTS]
        if all(isinstance(i, int) and not isinstance(i, bool) for i in indices):
            if indices != [0, len(variations) - 1]:
                data["defaults"] = dict(zip(_DEFAULTS, indices, strict=True))
        else:
            self.note(
                flag_address(self.project, item["key"]),
                "LaunchDarkly did not report the default variations; left out",
            )

    def _custom_properties(self, item: Mapping[str, Any], data: dict[str, Any]) -> None:
        props = item.get("customProperties")
        if not props:
            return
        if isinstance(props, dict) and all(
            isinstance(p, dict) and set(p) == {"name", "value"} for p in props.values()
        ):
            data["customProperties"] = {
                k: {"name": p["name"], "value": p["value"]} for k, p in sorted(props.items())
            }
        else:
            self.note(
                flag_address(self.project, item["key"]),
                "customProperties left out: not in the {name, value} form a file declares",
            )

    def prerequisites(
        self, item: Mapping[str, Any], exported: Mapping[str, Any], *, archived: bool
    ) -> list[dict[str, Any]]:
        """``initialPrerequisites`` by key and variation index, of flags that are exported."""
        address = flag_address(self.project, item["key"])
        pairs: list[tuple[str, int | None]] = []
        if isinstance(item.get("_prerequisites"), list):  # the emulator's
            for p in item["_prerequisites"]:
                target = self.found.get(p.get("key"), ({}, False))[0]
                ids = [v.get("_id") for v in target.get("variations", ())]
                index = ids.index(p.get("variationId")) if p.get("variationId") in ids else None
                pairs.append((p.get("key"), index))
        else:
            pairs.extend(self._environment_prerequisites(item, address))
        result = []
        for key, index in pairs:
            why = self._not_exportable(key, exported, archived=archived)
            if why is None and index is None:
                why = "its variation is not one of that flag's"
            if why is not None:
                self.note(address, f"prerequisite {key!r} left out: {why}")
                continue
            result.append({"key": key, "variationIndex": index})
        return result

    def _environment_prerequisites(
        self, item: Mapping[str, Any], address: str
    ) -> list[tuple[str, int | None]]:
        lists = [
            e["prerequisites"]
            for e in _environments(item)
            if isinstance(e.get("prerequisites"), list)
        ]
        if not lists:
            return []
        sets = [{(p.get("key"), p.get("variation")) for p in each} for each in lists]
        common = set.intersection(*sets)
        for key, index in sorted(set.union(*sets) - common, key=canonical_json):
            self.note(
                address,
                f"prerequisite {key!r} (variation {index}) left out: it is not "
                "set alike in every environment",
            )
        ordered = [(p.get("key"), p.get("variation")) for p in lists[0]]
        return [(k, i if isinstance(i, int) else None) for k, i in ordered if (k, i) in common]

    def _not_exportable(
        self, key: str, exported: Mapping[str, Any], *, archived: bool
    ) -> str | None:
        if key not in self.found:
            return "no such flag was listed"
        if self.found[key][1] and not archived:
            return "that flag is archived (the live flags' files must stand on their own)"
        if key in exported:
            return None
        if not set(self.tags) <= set(self.found[key][0].get("tags", ())):
            return f"that flag is not tagged {', '.join(self.tags)}"
        return "that flag is not exported"

    def links(self, flag_key: str, reps: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The flag's links, sorted by key; links without a key are reported and left out."""
        links = []
        for rep in reps:
            key = rep.get("_key")
            target = rep.get("_integrationKey") or rep.get("_deepLink")
            if not key:
                self.skip(
                    link_address(self.project, flag_key, f"(no key: {target})"),
                    "the link has no key in LaunchDarkly; a file's link is matched by key, "
                    "so any key given here would make apply create a second link",
                )
                continue
            links.append(self._link(flag_key, rep))
        return sorted(links, key=lambda link: str(link["key"]))

    def _link(self, flag_key: str, rep: Mapping[str, Any]) -> dict[str, Any]:
        link: dict[str, Any] = {"key": rep["_key"]}
        metadata = rep.get("_metadata") or {}
        if integration := _text(rep.get("_integrationKey")):
            # The integration made the URL from the metadata: a create sends the metadata.
            link["integrationKey"] = integration
            if metadata:
                link["metadata"] = dict(sorted(metadata.items()))
        else:
            link["deepLink"] = rep["_deepLink"]
            if metadata:
                self.note(
                    link_address(self.project, flag_key, rep["_key"]),
                    "metadata left out: only integration links declare it",
                )
        for name in ("title", "description"):
            if text := _text(rep.get(name)):
                link[name] = text
        stamp = rep.get("_timestamp")
        millis = stamp.get("milliseconds") if isinstance(stamp, dict) else None
        if isinstance(millis, int) and millis != rep.get("_createdAt"):
            link["timestamp"] = millis
        return _ordered(link, _properties("link"))

    # -- check ------------------------------------------------------------------------------

    def round_trips(
        self,
        flags: list[ExportedFlag],
        items: Mapping[str, Mapping[str, Any]],
        listed: Mapping[str, Sequence[Mapping[str, Any]]],
    ) -> list[ExportedFlag]:
        """Leave out what a plan would not find equal to LaunchDarkly (adopt, not drift)."""
        kept = []
        for flag in flags:
            fields = {k: v for k, v in flag.data.items() if k not in _NOT_KEYS}
            diff = compare.differences(
                compare.declared_flag_view(fields), compare.flag_view(fields, items[flag.key])
            )
            if diff:
                where = ", ".join(d.path for d in diff)
                self.skip(
                    flag_address(self.project, flag.key),
                    f"it would not compare equal to LaunchDarkly ({where})",
                )
                continue
            by_key = {rep.get("_key"): rep for rep in listed.get(flag.key, ())}
            links = []
            for link in flag.data.get("links", ()):
                link_diff = compare.differences(
                    compare.declared_link_view(link), compare.link_view(link, by_key[link["key"]])
                )
                if link_diff:
                    self.skip(
                        link_address(self.project, flag.key, link["key"]),
                        "it would not compare equal to LaunchDarkly",
                    )
                else:
                    links.append(link)
            kept.append(_with(flag, links=links))
        return kept

    def validated(self, flags: list[ExportedFlag]) -> list[ExportedFlag]:
        """Validate the flags as one flag file; leave out whatever has a finding, and repeat."""
        for _ in range(_MAX_ROUNDS):
            data = [f.data for f in flags]
            document = load_text(render(self.project, data, "check"), "export")
            if canonical_json(document.data["flags"]) != canonical_json(data):
                raise RuntimeError("the exported YAML does not read back as the exported data")
            _, findings = validate_documents([document])
            if not findings:
                return flags
            flags = self._without(flags, findings)
        raise RuntimeError(f"the export still has findings after {_MAX_ROUNDS} rounds")

    def _without(
        self, flags: list[ExportedFlag], findings: Sequence[Finding]
    ) -> list[ExportedFlag]:
        by_flag: dict[int, list[tuple[str, str]]] = {}
        for finding in findings:
            match = _FINDING_PATH.fullmatch(finding.path)
            if match is None:
                raise RuntimeError(f"the export made an invalid flag file: {finding}")
            by_flag.setdefault(int(match[1]), []).append((match[2], finding.message))
        kept: list[ExportedFlag] = []
        dropped: set[str] = set()
        for index, flag in enumerate(flags):
            problems = by_flag.get(index, [])
            whole = [(p, m) for p, m in problems if not p.startswith(_NOT_KEYS)]
            if whole:
                reasons = "; ".join(f"{p}: {m}" if p else m for p, m in whole[:3])
                self.skip(flag_address(self.project, flag.key), reasons)
                dropped.add(flag.key)
                continue
            bad = {
                (m[1], int(m[2])): message
                for p, message in problems
                if (m := _PART_PATH.match(p)) is not None
            }
            links = []
            for i, link in enumerate(flag.data.get("links", ())):
                if ("links", i) in bad:
                    self.skip(link_address(self.project, flag.key, link["key"]), bad[("links", i)])
                else:
                    links.append(link)
            prerequisites = []
            for i, p in enumerate(flag.data.get("initialPrerequisites", ())):
                if ("initialPrerequisites", i) in bad:
                    reason = bad[("initialPrerequisites", i)]
                    self.note(
                        flag_address(self.project, flag.key),
                        f"prerequisite {p['key']!r} left out: {reason}",
                    )
                else:
                    prerequisites.append(p)
            kept.append(_with(flag, links=links, initialPrerequisites=prerequisites))
        result = []
        for flag in kept:
            prerequisites = []
            for p in flag.data.get("initialPrerequisites", ()):
                if p["key"] in dropped:
                    self.note(
                        flag_address(self.project, flag.key),
                        f"prerequisite {p['key']!r} left out: that flag is not exported",
                    )
                else:
                    prerequisites.append(p)
            result.append(_with(flag, initialPrerequisites=prerequisites))
        return result


_CSA = ("usingEnvironmentId", "usingMobileKey")
_DEFAULTS = ("onVariation", "offVariation")


def _default_variations(variations: Sequence[Mapping[str, Any]]) -> bool:
    """True and false, in that order, with no names: what a create without variations makes."""
    return [dict(v) for v in variations] == [{"value": True}, {"value": False}] and all(
        isinstance(v["value"], bool) for v in variations
    )


def _with(flag: ExportedFlag, **lists: list[Any]) -> ExportedFlag:
    """``flag`` with some of its list fields replaced (an empty list removes the field)."""
    data = {k: v for k, v in flag.data.items() if k not in lists}
    data.update({k: v for k, v in lists.items() if v})
    return ExportedFlag(flag.key, flag.archived, _ordered(data, _properties("flag")))


# -- group and render -------------------------------------------------------------------------


def group_of(tags: Iterable[str]) -> str:
    """The file a flag goes in: its first tag in sorted order, made a safe file name."""
    first = min(tags, default=None)
    return UNTAGGED if first is None else safe_file_stem(first)


def safe_file_stem(text: str) -> str:
    """``text`` as a file name that is the same on every file system and never hidden.

    Lower case (so "Beta" and "beta" share a file where case is ignored); anything but
    letters, digits, '.', '_' and '-' becomes '-'; no leading '.' or '-' (hidden files are not
    read by validate, and '-' reads as an option); Windows device names get a prefix.
    """
    stem = re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).lstrip(".-")[:64] or "tag"
    if stem.split(".")[0] in _WINDOWS_DEVICES:
        stem = f"tag-{stem}"
    return stem


def schema_ref() -> str:
    """What the modeline names: the schema's ``$id``, the same wherever the files are."""
    ref: str = schema()["$id"]
    return ref


class _Dumper(_BaseDumper):
    """Safe YAML, read back exactly as written by our loader (YAML 1.2 numbers), no aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


# Plain text that YAML 1.2 (our loader, editors) would read as a number or a non-string.
_LOOKS_TYPED = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)


def _represent_str(dumper: yaml.representer.SafeRepresenter, text: str) -> yaml.Node:
    style = None
    if "\n" in text and not re.search("[\r\x85\u2028\u2029]", text):
        style = "|"  # the emitter falls back to quotes where a block cannot carry the text
    elif _LOOKS_TYPED.fullmatch(text):
        style = '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_str)


def render(project: str, flags: Sequence[Mapping[str, Any]], comment: str) -> str:
    """A flag file: the editor modeline, a comment, and the flags in block style."""
    body = yaml.dump(
        {"project": project, "flags": [dict(f) for f in flags]},
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 16,  # never fold long text over lines
    )
    return f"# yaml-language-server: $schema={schema_ref()}\n# {comment}\n{body}"


# -- write ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """The files written, and YAML files already in the project's directory left as they were."""

    files: tuple[Path, ...]
    others: tuple[Path, ...]


def write_files(files: Sequence[ExportFile], directory: Path, *, force: bool = False) -> Written:
    """Write ``files`` below ``directory``; an existing file only with ``force``."""
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory} is not a directory")
    targets = [(directory / f.path, f.text) for f in files]
    if not force:
        existing = [str(p) for p, _ in targets if p.exists() or p.is_symlink()]
        if existing:
            shown = ", ".join(existing[:5]) + (
                f" and {len(existing) - 5} more" if len(existing) > 5 else ""
            )
            raise InputError(
                f"{len(existing)} file(s) exist already: {shown}; nothing was written "
                "(pass --force to replace them)"
            )
    for path, text in targets:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if force:
                _replace(path, text.encode())
            else:
                with path.open("xb") as out:
                    out.write(text.encode())
        except OSError as e:
            raise InputError(f"cannot write {path}: {e.strerror or e}") from e
    written = tuple(p for p, _ in targets)
    roots = {directory / f.path.split("/")[0] for f in files}
    others = sorted(
        p
        for root in roots
        for p in root.rglob("*")
        if p.name.endswith(YAML_SUFFIXES) and p not in written and p.is_file()
    )
    return Written(written, tuple(others))


def _replace(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
