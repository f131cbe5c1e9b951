"""Exporting: the flags a LaunchDarkly project already has, as flag files to adopt them.

``export_project`` reads the project, converts each flag and link to the flag-file format
(``converter``) and checks the result as ``validate`` and ``plan`` will (``checks``);
``Export.files`` groups and renders the flags (``flagfile``), ``writer.write_files`` writes
them. The rules are the README's "Adopting an existing project".

Reads: the flag list (pages of 100; the archived list too when asked). A flag is fetched on
its own only when its list item lacks what its file needs: ``defaults``,
``clientSideAvailability``, a migration's ``migrationSettings``, or its prerequisites. The
links of each converted flag (the flag-links API has no bulk read), a few at a time. Nothing
is silently dropped: flags and links left out are in ``Export.skipped``, each with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from reconciler.errors import InputError
from reconciler.export.checks import compares_equal, validated
from reconciler.export.converter import Converter, ExportedFlag, Problem, per_environment
from reconciler.export.flagfile import (
    ARCHIVED_DIR,
    DEFAULT_SCHEMA_REF,
    UNTAGGED,
    relative_ref,
    render,
)
from reconciler.remote.observe import FlagSource

KEY_PATTERN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
CONCURRENCY = 4


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
    conv = Converter(project, found, tags)
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
        flag = ExportedFlag(key, archived, {}).with_fields(**draft)
        if compares_equal(conv, flag, items[key], listed[key]):
            flags.append(flag)
    flags = validated(conv, flags)
    skipped, notes = (
        tuple(sorted(ps, key=lambda p: p.address)) for ps in (conv.skipped, conv.notes)
    )
    return Export(project, tuple(flags), len(chosen), skipped, notes)


def _complete(source: FlagSource, project: str, item: dict[str, Any]) -> dict[str, Any]:
    """The list item, or the flag itself when the item lacks what the flag's file needs."""
    needs = "migrationSettings" if item.get("_purpose") == "migration" else "defaults"
    lacking = not all(isinstance(item.get(n), dict) for n in (needs, "clientSideAvailability"))
    if lacking or per_environment(item) is None:
        full = source.get_flag(project, item["key"])
        if full is not None:  # deleted since it was listed: the list item is all there is
            return full
    return item
