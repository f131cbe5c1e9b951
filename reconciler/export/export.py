"""Exporting: the flags a LaunchDarkly project already has, as flag files to adopt them.

``export_project`` reads the project, converts each flag and link to the flag-file format and
checks the result as ``validate`` and ``plan`` will; ``Export.files`` groups and renders the
flags, ``write_files`` writes them. The rules (the README's "Adopting an existing project"):

- Reads: the flag list (pages of 100; the archived list too when asked). A flag is fetched on
  its own only when its list item lacks what its file needs: ``defaults``,
  ``clientSideAvailability``, a migration's ``migrationSettings``, or its prerequisites. The
  links of each converted flag (the flag-links API has no bulk read), a few at a time.
- Only what carries information: no server-only fields, nothing equal to the create API's
  default (description "", temporary true, no tags, variations true/false without names,
  defaults first/last, customProperties {}). ``clientSideAvailability`` is always written: a
  create without it gets the *project's* default, which differs between projects.
- Prerequisites, by key and variation index: those LaunchDarkly sets alike in every
  environment (``environments.*.prerequisites``, each ``{key, variation}``). LaunchDarkly's list
  leaves ``environments`` out unless filtered by one, or reports just a count per environment
  (``_summary.prerequisites``): then a flag is fetched, which gives every environment, unless
  every count is 0. One on a flag that is not exported is left out and noted, and so are a
  flag's prerequisites when even the flag itself does not report them.
- Never silently dropped: holdout flags, flags the schema or the rules refuse, and links with no
  key (any key a file gave one would not match it, so apply would create a second link) are
  reported. Before anything is written, the flags are validated as one flag file and compared
  as a plan compares them; whatever fails is left out and reported.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import yaml

from reconciler.errors import InputError
from reconciler.files.loader import YAML_SUFFIXES, load_text
from reconciler.files.schema import SCHEMA_NAME, schema
from reconciler.files.validator import validate_documents
from reconciler.model import Finding, canonical_json, flag_address, link_address
from reconciler.plan import compare
from reconciler.state import durable

try:  # the C emitter; the representer below is Python either way
    from yaml import CSafeDumper as _BaseDumper
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]

KEY_PATTERN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
UNTAGGED = "untagged"
ARCHIVED_DIR = "archived"
CONCURRENCY = 4

HOLDOUT = "a holdout flag: holdouts are made with LaunchDarkly's Holdouts API, not flag files"
NO_LINK_KEY = (
    "the link has no key in LaunchDarkly; a file's link is matched by key, so any key "
    "given here would make apply create a second link"
)
UNREPORTED_PREREQUISITES = "prerequisites left out: LaunchDarkly did not report them"
# Where the modeline's schema is by default: the root of the output directory, as the README's
# "Editor support" suggests keeping it (``ld-reconciler schema > flags/flag-file.schema.json``).
DEFAULT_SCHEMA_REF = SCHEMA_NAME
_CSA = ("usingEnvironmentId", "usingMobileKey")
_DEFAULTS = ("onVariation", "offVariation")
_PARTS = ("links", "initialPrerequisites")  # lists a finding may leave out one item of
_FINDING = re.compile(r"flags\[(\d+)\]\.?((?:links|initialPrerequisites)\[\d+\])?.*")
_MAX_ROUNDS = 5
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

    @property
    def links(self) -> int:
        return len(self.data.get("links", ()))


@dataclass(frozen=True)
class ExportFile:
    """One file to write: its path below the output directory, its text, what it declares."""

    path: str
    text: str
    flags: int
    links: int


@dataclass(frozen=True)
class Export:
    """What an export found: the flags it can write, and what it left out or noted."""

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
        return sum(f.links for f in self.flags)

    @property
    def archived_count(self) -> int:
        return sum(f.archived for f in self.flags)

    def files(self, schema_ref: str = DEFAULT_SCHEMA_REF) -> list[ExportFile]:
        """One file per first tag: ``<project>/<group>.yaml``, archived flags in ``archived/``.

        ``schema_ref`` is the modeline's schema: a URL, or a path relative to the directory
        the files are written in (each file names it relative to itself).
        """
        groups: dict[tuple[bool, str], list[ExportedFlag]] = {}
        for flag in self.flags:
            groups.setdefault((flag.archived, flag.group), []).append(flag)
        files = []
        for (archived, group), members in sorted(groups.items()):
            which = "without tags" if group == UNTAGGED else f"whose first tag is {group}"
            comment = f"Flags of project {self.project} {which}, exported by ld-reconciler."
            folder = self.project
            if archived:
                comment += " Archived: a plan shows them as blocked."
                folder += f"/{ARCHIVED_DIR}"
            path = f"{folder}/{group}.yaml"
            ref = relative_ref(schema_ref, folder)
            text = render(self.project, [f.data for f in members], comment, ref)
            links = sum(f.links for f in members)
            files.append(ExportFile(path, text, len(members), links))
        return files

    def document(self, schema_ref: str = DEFAULT_SCHEMA_REF) -> str:
        """Every exported flag in one flag file, sorted by key; the modeline names
        ``schema_ref`` as given (relative to wherever the file is saved)."""
        comment = f"Flags of project {self.project}, exported by ld-reconciler."
        return render(self.project, [f.data for f in self.flags], comment, schema_ref)


# -- reading ------------------------------------------------------------------------------------


def export_project(
    source: FlagSource,
    project: str,
    *,
    include_archived: bool = False,
    tags: Sequence[str] = (),
    concurrency: int = CONCURRENCY,
) -> Export:
    """Read ``project``'s flags (those with every tag in ``tags``) and convert them."""
    if not KEY_PATTERN.fullmatch(project):
        raise InputError(
            f"{project!r} is not a project key (letters, digits, '.', '_' and '-', starting "
            "with a letter or digit)"
        )
    found = {item["key"]: (item, False) for item in source.list_flags(project)}
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
        archived = found[key][1]
        draft["initialPrerequisites"] = conv.prerequisites(items[key], drafts, archived)
        draft["links"] = conv.links(key, listed[key])
        flag = _with(ExportedFlag(key, archived, {}), **draft)
        if conv.compares_equal(flag, items[key], listed[key]):
            flags.append(flag)
    flags = conv.validated(flags)
    skipped, notes = (
        tuple(sorted(ps, key=lambda p: p.address)) for ps in (conv.skipped, conv.notes)
    )
    return Export(project, tuple(flags), len(chosen), skipped, notes)


def _complete(source: FlagSource, project: str, item: dict[str, Any]) -> dict[str, Any]:
    """The list item, or the flag itself when the item lacks what the flag's file needs."""
    needs = "migrationSettings" if item.get("_purpose") == "migration" else "defaults"
    lacking = not all(isinstance(item.get(n), dict) for n in (needs, "clientSideAvailability"))
    if lacking or _per_environment(item) is None:
        full = source.get_flag(project, item["key"])
        if full is not None:  # deleted since it was listed: the list item is all there is
            return full
    return item


def _environments(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    envs = item.get("environments")
    if not isinstance(envs, dict):
        return []
    return [env for _, env in sorted(envs.items()) if isinstance(env, dict)]


def _per_environment(item: Mapping[str, Any]) -> list[list[tuple[str, int | None]]] | None:
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


# -- converting ---------------------------------------------------------------------------------


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


def _with(flag: ExportedFlag, **fields: Any) -> ExportedFlag:
    """``flag`` with ``fields`` set; an empty list removes its field."""
    data = {**flag.data, **fields}
    data = {k: v for k, v in data.items() if not (k in _PARTS and not v)}
    return ExportedFlag(flag.key, flag.archived, _ordered(data, "flag"))


@dataclass
class _Converter:
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
        lists = _per_environment(item)
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

    # -- checking -------------------------------------------------------------------------------

    def compares_equal(
        self, flag: ExportedFlag, item: Mapping[str, Any], reps: Sequence[Mapping[str, Any]]
    ) -> bool:
        """Whether a plan would find ``flag`` equal to LaunchDarkly (adopt, not drift).

        Conversion makes it so; this makes sure, and reports the flag if it were not.
        """
        fields = {k: v for k, v in flag.data.items() if k not in _PARTS}
        live_links = {rep.get("_key"): rep for rep in reps}
        diffs = [
            *compare.differences(
                compare.declared_flag_view(fields), compare.flag_view(fields, item)
            ),
            *(
                d
                for link in flag.data.get("links", ())
                for d in compare.differences(
                    compare.declared_link_view(link),
                    compare.link_view(link, live_links[link["key"]]),
                )
            ),
        ]
        if diffs:
            where = ", ".join(sorted({d.path for d in diffs}))
            self.skip(flag.key, f"it would not compare equal to LaunchDarkly ({where})")
        return not diffs

    def validated(self, flags: list[ExportedFlag]) -> list[ExportedFlag]:
        """Validate the flags as one flag file; leave out whatever has findings; repeat."""
        for _ in range(_MAX_ROUNDS):
            data = [f.data for f in flags]
            document = load_text(render(self.project, data, "check"), "export")
            if canonical_json(document.data["flags"]) != canonical_json(data):
                raise RuntimeError("the exported YAML does not read back as the exported data")
            findings = validate_documents([document])[1]
            if not findings:
                return flags
            flags = self._without(flags, findings)
        raise RuntimeError(f"the export still has findings after {_MAX_ROUNDS} rounds")

    def _without(
        self, flags: list[ExportedFlag], findings: Sequence[Finding]
    ) -> list[ExportedFlag]:
        """``flags`` without what ``findings`` are about: a link, a prerequisite or the flag."""
        whole: dict[int, list[str]] = {}
        parts: dict[tuple[int, str], str] = {}
        for finding in findings:
            match = _FINDING.fullmatch(finding.path)
            if match is None:
                raise RuntimeError(f"the export made an invalid flag file: {finding}")
            index, part = int(match[1]), match[2]
            path = finding.path.split(".", 1)[1] if "." in finding.path else ""
            if part is None:
                whole.setdefault(index, []).append(
                    f"{path}: {finding.message}" if path else finding.message
                )
            else:
                parts.setdefault((index, part), finding.message)
        for index, reasons in whole.items():
            self.skip(flags[index].key, "; ".join(reasons[:3]))
        dropped = {flags[i].key for i in whole}
        kept = []
        for index, flag in enumerate(flags):
            if index in whole:
                continue
            links = []
            for i, link in enumerate(flag.data.get("links", ())):
                if reason := parts.get((index, f"links[{i}]")):
                    self.skip(flag.key, reason, link["key"])
                else:
                    links.append(link)
            prerequisites = []
            for i, p in enumerate(flag.data.get("initialPrerequisites", ())):
                reason = parts.get((index, f"initialPrerequisites[{i}]"))
                if reason is None and p["key"] in dropped:
                    reason = "that flag is not exported"
                if reason is None:
                    prerequisites.append(p)
                else:
                    self.note(flag.key, f"prerequisite {p['key']!r} left out: {reason}")
            kept.append(_with(flag, links=links, initialPrerequisites=prerequisites))
        return kept


# -- grouping and rendering ---------------------------------------------------------------------


def group_of(tags: Iterable[str]) -> str:
    """The file a flag goes in: its first tag in sorted order as a safe name, or ``untagged``.

    A tag that would name the file of the flags without tags gets the prefix that Windows
    device names get: ``tag-untagged``.
    """
    first = min(tags, default=None)
    if first is None:
        return UNTAGGED
    stem = safe_file_stem(first)
    return f"tag-{stem}" if stem == UNTAGGED else stem


def safe_file_stem(text: str) -> str:
    """``text`` as a file name that means the same on every file system and is never hidden.

    Lower case (so "Beta" and "beta" share a file where case is ignored); anything but
    letters, digits, '.', '_' and '-' becomes '-'; no leading '.' or '-' (validate skips hidden
    files, and '-' reads as an option); Windows device names get a prefix.
    """
    stem = re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).lstrip(".-")[:64] or "tag"
    return f"tag-{stem}" if stem.split(".")[0] in _WINDOWS_DEVICES else stem


def relative_ref(ref: str, folder: str) -> str:
    """``ref``, a URL or absolute path as it is, or a path relative to the output directory,
    as the file in ``folder`` (below that directory) reaches it."""
    if "://" in ref or posixpath.isabs(ref):
        return ref
    return posixpath.relpath(posixpath.normpath(ref), folder)


def missing_schema(directory: Path, ref: str) -> Path | None:
    """The schema file ``ref`` names below ``directory``, if it is a path and there is none."""
    if "://" in ref:
        return None
    path = directory / ref
    return None if path.is_file() else path


class _Dumper(_BaseDumper):
    """Safe YAML without anchors, quoting text that YAML 1.2 would read as another type."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


# Plain text that YAML 1.2 (our loader, editors) reads as a number; PyYAML quotes by YAML 1.1.
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


def render(
    project: str,
    flags: Sequence[Mapping[str, Any]],
    comment: str,
    schema_ref: str = DEFAULT_SCHEMA_REF,
) -> str:
    """A flag file: the editor modeline, a comment, and the flags in block style."""
    body = yaml.dump(
        {"project": project, "flags": [dict(f) for f in flags]},
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 16,  # never fold long text over lines
    )
    return f"# yaml-language-server: $schema={schema_ref}\n# {comment}\n{body}"


# -- writing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """The files written, and the YAML files in the projects' directories left as they were."""

    files: tuple[Path, ...]
    others: tuple[Path, ...]


def write_files(files: Sequence[ExportFile], directory: Path, *, force: bool = False) -> Written:
    """Write ``files`` below ``directory``; a file that exists only with ``force``."""
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory} is not a directory")
    targets = [(directory / f.path, f.text.encode()) for f in files]
    existing = [str(p) for p, _ in targets if p.exists() or p.is_symlink()]
    if existing and not force:
        more = f" and {len(existing) - 5} more" if len(existing) > 5 else ""
        raise InputError(
            f"{len(existing)} file(s) exist already: {', '.join(existing[:5])}{more}; "
            "nothing was written (pass --force to replace them)"
        )
    for path, data in targets:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if force:
                durable.replace(path, data)
            else:
                with path.open("xb") as out:  # never replace a file made since the check
                    out.write(data)
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
