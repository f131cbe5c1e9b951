"""Policies over a repository: the configuration's policies, run on its resolved flags.

``check`` is what ``validate_paths`` runs when the configuration has policies: it
compiles them once (a broken policy is a finding in the configuration, and left out),
then runs the flag rules on every flag as it resolved (defaults and templates applied)
and the project rules on every project. The CEL engine is imported only here and only
then, and only where it exists: it has no wheel for Python 3.10, where a configuration
with policies gets one finding saying so instead of a crash.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Collection, Sequence
from pathlib import Path

from reconciler.config.configuration import Config
from reconciler.files.positions import Document
from reconciler.model import Finding, Location
from reconciler.policy.policy import Policy, policies_from_document
from reconciler.policy.subject import FlagSubject, subject_from_document

MINIMUM_PYTHON = (3, 11)


def engine_problem(version: tuple[int, int] | None = None) -> str | None:
    """Why the CEL engine cannot run here, or None when it can."""
    version = version or (sys.version_info.major, sys.version_info.minor)
    if version < MINIMUM_PYTHON:
        return (
            "policies need Python 3.11 or newer: the CEL engine (common-expression-language) "
            f"has no wheel for {version[0]}.{version[1]}; run ld-reconciler with Python 3.11+ "
            "to check them (everything else works here)"
        )
    if importlib.util.find_spec("cel") is None:
        return (
            "policies need the CEL engine, which is not installed: "
            "pip install 'common-expression-language>=0.10.0'"
        )
    return None


def configured_policies(config: Config) -> list[Policy]:
    """The configuration's policies whose entries the schema accepted (the others are
    its findings already)."""
    refused = {f.path for f in config.findings}
    policies = []
    for policy in policies_from_document(config.document):
        entry = policy.path()
        if not any(p == entry or p.startswith((entry + ".", entry + "[")) for p in refused):
            policies.append(policy)
    return policies


def check(
    documents: Sequence[Document], config: Config, accepted: Collection[tuple[str, str]]
) -> list[Finding]:
    """Every policy finding: broken policies first found, then each flag's and project's.

    ``accepted`` names the flags (project, key) the schema and rules passed; a flag that
    is not among them has its own findings, and a rule would only repeat them.
    """
    if not config.policies:
        return []
    problem = engine_problem()
    if problem is not None:
        return [Finding(config.document.locate(["policies"]), problem, "policies")]
    from reconciler.policy.catalog import compile_policies
    from reconciler.policy.evaluation import evaluate

    declared = config.data.get("projects")
    projects = {str(p) for p in declared} if isinstance(declared, dict) else set()
    first: dict[str, Location] = {}
    for doc in documents:
        if isinstance(doc.data, dict) and isinstance(doc.data.get("project"), str):
            projects.add(doc.data["project"])
            first.setdefault(doc.data["project"], doc.locate(["project"]))
    catalog = compile_policies(configured_policies(config), projects)
    if not catalog.flag_policies and not catalog.project_policies:
        return list(catalog.findings)
    subjects = list(_subjects(documents, config.directory, accepted))
    return [*catalog.findings, *evaluate(catalog, subjects, first)]


def _subjects(
    documents: Sequence[Document], directory: Path, accepted: Collection[tuple[str, str]]
) -> list[FlagSubject]:
    subjects = []
    for doc in documents:
        data = doc.data
        if not isinstance(data, dict) or not isinstance(flags := data.get("flags"), list):
            continue
        project = data.get("project")
        file = _relative(doc.file, directory)
        locations = doc.locate_items(["flags"])  # in one walk, not one each
        for index, flag in enumerate(flags):
            if isinstance(flag, dict) and (project, flag.get("key")) in accepted:
                subjects.append(subject_from_document(doc, index, file, locations[index]))
    return subjects


def _relative(file: str, directory: Path) -> str:
    """``file`` (as findings name it) relative to the configuration's directory."""
    try:
        return Path(os.path.relpath(Path(file).resolve(), directory)).as_posix()
    except ValueError:  # another drive (Windows)
        return Path(file).as_posix()
