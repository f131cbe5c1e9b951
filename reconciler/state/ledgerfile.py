"""The ledger file's format and its journal's: writing them, and reading them strictly.

The ledger file is ``{"format": FORMAT, "version": VERSION, "targets": {TARGET: {PROJECT:
{"flags": {NAME: ENTRY}, "links": {NAME: ENTRY}}}}}`` (``reconciler.state.ledger`` describes
it), written deterministically: sorted keys, indent 2, UTF-8, a final newline. Its journal is
the line ``{"format": JOURNAL_FORMAT, "version": VERSION}``, then one ``{"target", "entry"}``
line per record, as ``reconciler.state.durable.Journal`` appends them.

Reading yields ``(target, entry)`` pairs and raises ``LedgerCorruptError`` naming the file,
where in it and what is wrong, and what to do: a ledger is never overwritten when unreadable.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from reconciler.errors import LedgerCorruptError
from reconciler.model import canonical_json
from reconciler.state.durable import JournalLineError, journal_lines
from reconciler.state.entry import ENTRY_SCHEMA, LedgerEntry

log = logging.getLogger(__name__)

FORMAT = "ld-reconciler-ledger"
JOURNAL_FORMAT = "ld-reconciler-journal"
VERSION = 1
JOURNAL_HEADER = (canonical_json({"format": JOURNAL_FORMAT, "version": VERSION}) + "\n").encode()

_RESTORE = (
    "it is never overwritten: fix it or restore it from git, "
    "or move it away and run a live plan to rebuild it"
)


def corrupt(path: str | os.PathLike[str], problem: str) -> LedgerCorruptError:
    return LedgerCorruptError(f"ledger {os.fspath(path)} {problem}; {_RESTORE}")


def dumps(document: Mapping[str, Any]) -> str:
    """The file's text: the same document always gives the same bytes."""
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def document(
    targets: Mapping[str, Mapping[str, Mapping[str, Mapping[str, LedgerEntry]]]],
) -> dict[str, Any]:
    """The ledger document of ``targets`` (target -> project -> section -> name -> entry)."""
    data = {
        t: {p: {s: _data(es) for s, es in sections.items()} for p, sections in ps.items()}
        for t, ps in targets.items()
    }
    return {"format": FORMAT, "version": VERSION, "targets": data}


def journal_record(target: str, entry: LedgerEntry) -> bytes:
    """One journal line."""
    return (canonical_json({"target": target, "entry": entry.data}) + "\n").encode()


Sections = dict[str, dict[str, LedgerEntry]]
"""A project's entries: section (``flags``, ``links``) -> name -> entry."""


def parse(path: str | os.PathLike[str], raw: bytes) -> dict[str, dict[str, Sections]]:
    """The entries of the ledger file ``path`` whose content is ``raw``, by target and
    project; a project appears only if it has entries, and a target only if a project does."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise corrupt(path, f"is not UTF-8 text ({e.reason} at byte {e.start})") from e
    except json.JSONDecodeError as e:
        raise corrupt(path, f"is not valid JSON (line {e.lineno} column {e.colno}: {e.msg})") from e
    targets = _header(path, doc)
    if _well_formed(targets):
        return _checked(path, targets)
    parsed: dict[str, dict[str, Sections]] = {}
    for target, projects in targets.items():
        where = f"targets[{json.dumps(target)}]"
        for project, sections in _items(path, projects, where):
            pwhere = f"{where}[{json.dumps(project)}]"
            built: Sections = {"flags": {}, "links": {}}
            for section, entries in _items(path, sections, pwhere):
                if section not in built:
                    raise corrupt(path, f"is invalid: {pwhere}: unknown section {section!r}")
                kind = "flag" if section == "flags" else "link"
                _parse_section(path, project, kind, entries, f"{pwhere}.{section}", built[section])
            if built["flags"] or built["links"]:
                parsed.setdefault(target, {})[project] = built
    return parsed


@functools.cache
def _targets_validator() -> Any:
    """jsonschema-rs's validator of a ledger's ``targets``: each entry as ``from_data``
    would accept it (``ENTRY_SCHEMA``)."""
    import jsonschema_rs

    def sections(kind: str) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": ENTRY_SCHEMA[kind]}

    project = {
        "type": "object",
        "properties": {"flags": sections("flag"), "links": sections("link")},
        "additionalProperties": False,
    }
    target = {"type": "object", "additionalProperties": project}
    return jsonschema_rs.Draft202012Validator({"type": "object", "additionalProperties": target})


def _well_formed(targets: object) -> bool:
    """Whether every entry of ``targets`` is as ``from_data`` would accept it, checked whole in
    compiled code: 40,000 entries in a fortieth of a second, a seventh of checking each in
    Python. False (the entries are then checked one by one, for the message) also when the
    check cannot be made: no jsonschema-rs, or a value it cannot take (NaN, a huge number)."""
    try:
        return bool(_targets_validator().is_valid(targets))
    except Exception:  # any failure of the fast check leaves the exact one
        return False


def _checked(
    path: str | os.PathLike[str], targets: dict[str, Any]
) -> dict[str, dict[str, Sections]]:
    """``parse``'s result for ``targets`` whose entries are all well formed: each still has to
    sit where it belongs (its kind's section, its project, under its own name)."""
    from_checked = LedgerEntry.from_checked
    parsed: dict[str, dict[str, Sections]] = {}
    for target, projects in targets.items():
        for project, sections in projects.items():
            built: Sections = {"flags": {}, "links": {}}
            for section, entries in sections.items():
                kind = "flag" if section == "flags" else "link"
                into = built[section]
                for name, data in entries.items():
                    entry = from_checked(data)
                    if _misplaced(entry, kind, project, name):
                        where = f"targets[{json.dumps(target)}][{json.dumps(project)}].{section}"
                        raise _elsewhere(path, where, name, entry)
                    into[name] = entry
            if built["flags"] or built["links"]:
                parsed.setdefault(target, {})[project] = built
    return parsed


def _parse_section(
    path: str | os.PathLike[str],
    project: str,
    kind: str,
    entries: object,
    where: str,
    into: dict[str, LedgerEntry],
) -> None:
    from_data = LedgerEntry.from_data
    for name, data in _items(path, entries, where):
        try:
            entry = from_data(data)
        except ValueError as e:
            raise corrupt(path, f"is invalid: {where}[{json.dumps(name)}]: {e}") from e
        if _misplaced(entry, kind, project, name):
            raise _elsewhere(path, where, name, entry)
        into[name] = entry


def _misplaced(entry: LedgerEntry, kind: str, project: str, name: str) -> bool:
    """Whether ``entry`` is not where it sits: in ``project``'s section of ``kind`` under
    ``name`` (``entry.name``, inline: this runs for every entry of the ledger)."""
    own = entry.key if kind == "flag" else f"{entry.flag_key}/{entry.key}"
    return entry.kind != kind or entry.project != project or own != name


def _elsewhere(
    path: str | os.PathLike[str], where: str, name: str, entry: LedgerEntry
) -> LedgerCorruptError:
    return corrupt(
        path,
        f"is invalid: {where}[{json.dumps(name)}] holds {entry.kind} "
        f"{entry.project}/{entry.name}, which belongs elsewhere",
    )


def replay(path: str, raw: bytes) -> Iterator[tuple[str, LedgerEntry]]:
    """The records of the journal ``path`` whose content is ``raw``, in order."""
    try:
        lines, torn = journal_lines(raw)
    except JournalLineError as e:
        raise corrupt(path, str(e)) from e
    if torn:
        log.warning(
            "ledger journal %s: ignored its incomplete last line, left by an "
            "interrupted run (that create had not been confirmed)", path
        )  # fmt: skip
    if lines and lines[0] != json.loads(JOURNAL_HEADER):
        raise corrupt(path, f"does not start with a {JOURNAL_FORMAT} version {VERSION} header")
    for number, record in enumerate(lines[1:], start=2):
        try:
            if not isinstance(record, dict) or record.keys() != {"target", "entry"}:
                raise ValueError("is not a {target, entry} record")
            if not isinstance(record["target"], str) or not record["target"]:
                raise ValueError("target must be a non-empty string")
            entry = LedgerEntry.from_data(record["entry"])
        except ValueError as e:
            raise corrupt(path, f"is invalid: line {number}: {e}") from e
        yield record["target"], entry


def _header(path: str | os.PathLike[str], doc: object) -> dict[str, Any]:
    """The document's targets, once its format, version and fields are checked."""
    if not isinstance(doc, dict):
        raise corrupt(path, "is not a JSON object")
    if doc.get("format") != FORMAT:
        found = f"format {doc['format']!r}" if "format" in doc else "no 'format' field"
        raise corrupt(path, f"is not an ld-reconciler ledger: it has {found}, expected {FORMAT!r}")
    version = doc.get("version")
    if type(version) is not int:
        raise corrupt(path, f"has no valid version (found {version!r}, expected {VERSION})")
    if version > VERSION:
        raise LedgerCorruptError(
            f"ledger {os.fspath(path)} has version {version}, but this ld-reconciler "
            f"reads only version {VERSION}: upgrade ld-reconciler; the ledger is left as it is"
        )
    if version != VERSION:
        raise corrupt(
            path, f"has version {version}, unknown to this ld-reconciler (reads {VERSION})"
        )
    unknown = ", ".join(repr(n) for n in sorted(doc.keys() - {"format", "version", "targets"}))
    if unknown:
        raise corrupt(path, f"has unknown field(s) {unknown}")
    targets = doc.get("targets")
    if not isinstance(targets, dict):
        raise corrupt(path, "has no 'targets' object")
    return targets


def _items(path: str | os.PathLike[str], value: object, where: str) -> Iterable[tuple[str, Any]]:
    if not isinstance(value, dict):
        raise corrupt(path, f"is invalid: {where} is not a JSON object")
    return value.items()


def _data(entries: Mapping[str, LedgerEntry]) -> dict[str, Any]:
    return {name: e.data for name, e in entries.items()}
