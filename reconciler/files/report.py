"""Reporting validation results: one small renderer per ``--format``, in a registry.

Each renderer turns a ``ValidationResult`` into the text printed on stdout. The CLI's
``--format`` choices come from ``REPORTERS``.
"""

from __future__ import annotations

import json
from typing import Protocol

from reconciler.files.schema_errors import plural
from reconciler.files.validator import ValidationResult
from reconciler.model import Finding


class Reporter(Protocol):
    def render(self, result: ValidationResult) -> str: ...


def summary(result: ValidationResult) -> str:
    """``14 flags, 21 links in 5 files: valid``, ``3 problems in 5 files`` or, when not
    every file has a problem, ``3 problems in 2 of 5 files``; warnings (which fail nothing)
    are counted apart: ``..., valid (2 warnings)``, ``3 problems and 2 warnings in 5 files``."""
    files = plural(result.file_count, "file")
    warnings = len(result.warnings)
    if result.ok:
        state = result.state
        flags = plural(len(state.flags), "flag")
        links = plural(state.link_count, "link")
        noted = f" ({plural(warnings, 'warning')})" if warnings else ""
        return f"{flags}, {links} in {files}: valid{noted}"
    # A finding may be in a file not counted (ld-reconciler.yaml): never "3 of 2 files".
    with_problems = len({f.location.file for f in result.findings})
    if with_problems < result.file_count:
        files = f"{with_problems:,} of {files}"
    noted = f" and {plural(warnings, 'warning')}" if warnings else ""
    return f"{plural(len(result.errors), 'problem')}{noted} in {files}"


class TextReporter:
    def render(self, result: ValidationResult) -> str:
        return "\n".join([*(shown(f) for f in result.findings), summary(result)]) + "\n"


def shown(finding: Finding) -> str:
    """A finding as text; a warning says so after its location, as compilers write it
    (``file:line:col: warning: ...``), so editors still jump to it."""
    if finding.is_error:
        return str(finding)
    return f"{finding.location}: warning: {str(finding)[len(str(finding.location)) + 2 :]}"


class JsonReporter:
    FORMAT_VERSION = 1

    def render(self, result: ValidationResult) -> str:
        data = {
            "format_version": self.FORMAT_VERSION,
            "valid": result.ok,
            "summary": summary(result),
            "files": result.file_count,
            "flags": len(result.state.flags) if result.ok else None,
            "links": result.state.link_count if result.ok else None,
            "findings": [finding_data(f) for f in result.findings],
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def finding_data(f: Finding) -> dict[str, object]:
    loc = f.location
    return {
        "file": loc.file,
        "line": loc.line,
        "col": loc.col,
        "path": f.path,
        "message": f.message,
        "severity": f.severity,
    }


def github_escape(text: str, *, property: bool = False) -> str:
    """Escape text for a GitHub Actions workflow command (data or property value)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def github_annotation(level: str, finding: Finding, title: str = "ld-reconciler") -> str:
    """``::error file=…,line=…,col=…,title=…::message`` for one finding."""
    loc = finding.location
    props = ",".join(
        [
            f"file={github_escape(loc.file, property=True)}",
            f"line={loc.line}",
            f"col={loc.col}",
            f"title={github_escape(title, property=True)}",
        ]
    )
    message = f"{finding.path}: {finding.message}" if finding.path else finding.message
    return f"::{level} {props}::{github_escape(message)}"


class GithubReporter:
    def render(self, result: ValidationResult) -> str:
        lines = [github_annotation(f.severity, f) for f in result.findings]
        lines.append(summary(result))
        return "\n".join(lines) + "\n"


REPORTERS: dict[str, Reporter] = {
    "text": TextReporter(),
    "json": JsonReporter(),
    "github": GithubReporter(),
}
