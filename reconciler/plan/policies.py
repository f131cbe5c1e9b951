"""What a plan shows of the policies: the warnings of the flags it plans.

A plan is made only when no policy error fails, so what it carries (``Plan.findings``)
are the warnings, which fail nothing but are shown everywhere: on stderr before a text
plan, as ``findings`` in the JSON plan (and so in a saved plan), as ``::warning``
annotations in the ``github`` format, and as a "Policies" section in the Markdown plan
and the sticky pull-request comment made from it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.files.report import finding_data, github_annotation, shown
from reconciler.model import Finding, Location


def findings_document(findings: Sequence[Finding]) -> list[dict[str, object]]:
    """The ``findings`` of a JSON plan."""
    return [finding_data(f) for f in findings]


def findings_from_document(data: Sequence[Mapping[str, Any]]) -> tuple[Finding, ...]:
    """The inverse of ``findings_document`` (a saved plan read back)."""
    return tuple(
        Finding(
            Location(str(f["file"]), int(f["line"]), int(f["col"])),
            str(f["message"]),
            str(f.get("path", "")),
            str(f.get("severity", "error")),
        )
        for f in data
    )


def text_lines(findings: Sequence[Finding]) -> list[str]:
    """Each finding as ``validate`` prints it (``file:line:col: warning: ...``)."""
    return [shown(f) for f in findings]


def github_annotations(findings: Sequence[Finding]) -> list[str]:
    """A ``::warning`` (or ``::error``) workflow annotation for each finding."""
    return [github_annotation(f.severity, f, title="ld-reconciler policy") for f in findings]


def markdown_section(findings: Sequence[Finding]) -> list[str]:
    """The Markdown plan's "Policies" section (nothing when there is nothing to say)."""
    if not findings:
        return []
    errors = sum(1 for f in findings if f.is_error)
    counts = [f"{n} {word}{'' if n == 1 else 's'}" for n, word in (
        (errors, "error"), (len(findings) - errors, "warning")) if n]  # fmt: skip
    out = ["", f"#### Policies: {', '.join(counts)}", ""]
    for finding in findings:
        mark = "❌" if finding.is_error else "⚠️"
        where = f"`{finding.location}`"
        prefix = f"`{finding.path}`: " if finding.path else ""
        out.append(f"- {mark} {where} {prefix}{html.escape(finding.message, quote=False)}")
    return out
