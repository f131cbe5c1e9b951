"""Checking converted flags before anything is written: compared as a plan compares them
(each must adopt, not drift), then validated as one flag file as ``validate`` reads it.
Whatever fails is left out and reported through the converter's problems."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.export.converter import PARTS, Converter, ExportedFlag
from reconciler.export.flagfile import render
from reconciler.files.loader import load_text
from reconciler.files.validator import validate_documents
from reconciler.model import Finding, canonical_json
from reconciler.plan import compare

_FINDING = re.compile(r"flags\[(\d+)\]\.?((?:links|initialPrerequisites)\[\d+\])?.*")
_MAX_ROUNDS = 5


def compares_equal(
    conv: Converter,
    flag: ExportedFlag,
    item: Mapping[str, Any],
    reps: Sequence[Mapping[str, Any]],
) -> bool:
    """Whether a plan would find ``flag`` equal to LaunchDarkly (adopt, not drift).

    Conversion makes it so; this makes sure, and reports the flag if it were not.
    """
    fields = {k: v for k, v in flag.data.items() if k not in PARTS}
    live_links = {rep.get("_key"): rep for rep in reps}
    diffs = [
        *compare.flag_differences(fields, item),
        *(
            d
            for link in flag.data.get("links", ())
            for d in compare.link_differences(link, live_links[link["key"]])
        ),
    ]
    if diffs:
        where = ", ".join(sorted({d.path for d in diffs}))
        conv.skip(flag.key, f"it would not compare equal to LaunchDarkly ({where})")
    return not diffs


def validated(conv: Converter, flags: list[ExportedFlag]) -> list[ExportedFlag]:
    """Validate the flags as one flag file; leave out whatever has findings; repeat."""
    for _ in range(_MAX_ROUNDS):
        data = [f.data for f in flags]
        document = load_text(render(conv.project, data, "check"), "export")
        if canonical_json(document.data["flags"]) != canonical_json(data):
            raise RuntimeError("the exported YAML does not read back as the exported data")
        findings = validate_documents([document])[1]
        if not findings:
            return flags
        flags = _without(conv, flags, findings)
    raise RuntimeError(f"the export still has findings after {_MAX_ROUNDS} rounds")


def _without(
    conv: Converter, flags: list[ExportedFlag], findings: Sequence[Finding]
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
        conv.skip(flags[index].key, "; ".join(reasons[:3]))
    dropped = {flags[i].key for i in whole}
    kept = []
    for index, flag in enumerate(flags):
        if index in whole:
            continue
        links = []
        for i, link in enumerate(flag.data.get("links", ())):
            if reason := parts.get((index, f"links[{i}]")):
                conv.skip(flag.key, reason, link["key"])
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
                conv.note(flag.key, f"prerequisite {p['key']!r} left out: {reason}")
        kept.append(flag.with_fields(links=links, initialPrerequisites=prerequisites))
    return kept
