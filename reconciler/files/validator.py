"""Validation: loaded documents to a ``DesiredState``, or every finding at once.

First the JSON Schema (shape), then the semantic rules (``rules.py``) on every flag,
also those of a file or flag whose shape is wrong, each rule checking what still can be.
Findings from all files are collected, sorted by file and line, and returned together,
so a user fixes everything in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from reconciler.config.configuration import Config, no_config
from reconciler.config.resolution import attribute, resolve_documents, unresolved_flags
from reconciler.files.loader import load_paths
from reconciler.files.positions import Document
from reconciler.files.rules import RuleChecker
from reconciler.files.schema import compiled_validator, fast_check, fast_refusal
from reconciler.files.schema_errors import findings_for, readable_path
from reconciler.model import DesiredState, Finding

MAX_FINDINGS_PER_FILE = 1_000
"""Schema findings reported per file; past them, one finding says there are more."""


@dataclass(frozen=True)
class ValidationResult:
    """The outcome of validating a set of files."""

    state: DesiredState
    findings: tuple[Finding, ...]
    file_count: int

    @property
    def ok(self) -> bool:
        """No error: warnings (from policies) fail nothing."""
        return not any(f.is_error for f in self.findings)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.is_error)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.is_error)


def validate_documents(documents: Sequence[Document]) -> tuple[DesiredState, list[Finding]]:
    """Check documents against the schema and the rules.

    The state holds every flag that passed (so far as it could be checked); it is
    complete only when there are no findings.
    """
    is_valid = fast_check()
    findings: list[Finding] = []
    rules = RuleChecker(findings)
    for doc in documents:
        # Flags whose shape is wrong are still checked, but yield no spec; an unknown
        # field alone does not change the shape. A flag naming an unknown template is
        # not checked: what the rules would find follows from the missing template.
        unresolved = unresolved_flags(doc)
        bad_flags: set[int] = set()
        file_level_error = False  # e.g. a wrong project key: no flag of the file is a spec
        # Bounded: a 10 MiB file of five million wrong values once made 23 GB of errors.
        valid = is_valid(doc.data)
        errors = [] if valid else _first_errors(doc)
        first = len(findings)
        if not valid and not errors and (unexplained := _unexplained_refusal(doc)) is not None:
            finding, where = unexplained
            findings.append(finding)
            if (index := _flag_index(where)) is None:
                file_level_error = True
            else:
                bad_flags.add(index)
        kinds_at: dict[tuple[object, ...], set[str]] = {}
        for error in errors:
            kinds_at.setdefault(tuple(error.absolute_path), set()).add(str(error.validator))
        for error in errors:
            path = error.absolute_path
            kinds = kinds_at[tuple(path)]
            if error.validator != "type" and "type" in kinds:
                continue  # the wrong type says it all; "not one of 2, 4, 6" would repeat it
            if error.validator == "anyOf" and "dependentRequired" in kinds:
                # A link with metadata but no integrationKey: "'metadata' needs
                # 'integrationKey'" says what to add; "needs deepLink or integrationKey" repeats it.
                continue
            if error.validator == "pattern" and error.instance == "" and "minLength" in kinds:
                continue  # "must not be empty" says it; "'' is not a valid key" repeats it
            room = MAX_FINDINGS_PER_FILE + 1 - (len(findings) - first)
            findings.extend(islice(findings_for(error, doc), room))
            if (index := _flag_index(path)) is None:
                file_level_error = True
            elif error.validator != "additionalProperties":
                bad_flags.add(index)
            if len(findings) - first > MAX_FINDINGS_PER_FILE:
                break
        if len(findings) - first > MAX_FINDINGS_PER_FILE or len(errors) > MAX_FINDINGS_PER_FILE:
            del findings[first + MAX_FINDINGS_PER_FILE :]
            findings.append(
                Finding(
                    doc.locate([]),
                    f"more than {MAX_FINDINGS_PER_FILE:,} problems in this file; "
                    f"the first {MAX_FINDINGS_PER_FILE:,} found are reported",
                )
            )
            continue
        data = doc.data
        if not (isinstance(data, dict) and isinstance(data.get("flags"), list)):
            continue  # no flags to check: the schema's finding says why
        # A file-level error (a wrong project key, an unknown top-level field) leaves its
        # flags checkable, but none of them a spec.
        shaped = not file_level_error
        for index, flag in enumerate(data["flags"]):
            rules.add(
                doc,
                index,
                flag,
                checked=index not in unresolved,
                shaped=shaped and index not in bad_flags,
            )
    specs = rules.finish()
    state = DesiredState(tuple(specs), tuple(doc.file for doc in documents))
    findings.sort(key=Finding.sort_key)
    return state, findings


def _first_errors(doc: Document) -> list[Any]:
    """The schema's errors for ``doc``: up to one more than ``MAX_FINDINGS_PER_FILE``."""
    errors = compiled_validator().iter_errors(doc.data)
    return list(islice(errors, MAX_FINDINGS_PER_FILE + 1))


def _flag_index(path: Sequence[Any]) -> int | None:
    """The index of the flag ``path`` is in, or None for a path outside the flags."""
    if len(path) >= 2 and path[0] == "flags" and isinstance(path[1], int):
        return path[1]
    return None


def _unexplained_refusal(doc: Document) -> tuple[Finding, list[str | int]] | None:
    """A finding for a document the fast check refuses though the full validator finds
    nothing (the two disagreeing), and its path; None if no reason can be found.

    A safety net: passing such a file would make a "valid" file that LaunchDarkly
    then refuses. The two are made to agree (``schema.py``); this catches what was missed.
    """
    refusal = fast_refusal(doc.data)
    if refusal is None:
        return None
    path, why = refusal
    finding = Finding(
        doc.locate(path),
        f"does not match the flag-file schema: {why}",
        readable_path(path),
    )
    return finding, path


def validate_paths(paths: Sequence[str], config: Config | None = None) -> ValidationResult:
    """Load every flag file under ``paths``, resolve it against ``config`` (none: the
    built-in defaults) and validate it; the configuration's own findings come along.

    Loading builds millions of small acyclic containers; whether to pause the cyclic
    garbage collector meanwhile is the program's choice, made at the CLI's entry.
    """
    config = config if config is not None else no_config(Path.cwd())
    if not paths:  # nothing to read (the configuration's paths are wrong): what it says
        return ValidationResult(DesiredState(()), config.findings, 0)
    documents, load_findings = load_paths(paths)
    documents, template_findings = resolve_documents(documents, config)
    state, findings = validate_documents(documents)
    if config.policies:  # the engine is imported only for a configuration that has some
        from reconciler.policy.repository import check

        accepted = {(spec.project, spec.key) for spec in state.flags}
        findings += check(documents, config, accepted)
    all_findings = sorted(
        [*load_findings, *config.findings, *template_findings, *attribute(findings, config)],
        key=Finding.sort_key,
    )
    return ValidationResult(state, tuple(all_findings), len(documents) + len(load_findings))
