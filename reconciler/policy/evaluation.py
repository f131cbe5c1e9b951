"""Running compiled policies over flags and projects, giving located findings.

A flag rule runs once per flag it applies to (``batch.py`` says how, cheaply), a
project rule once per project (its ``filter`` and ``map`` over ``flags`` hoisted out,
``hoisting.py``). An expression that fails on a flag is a finding on that flag naming
the policy, and on a project a finding on the project.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from reconciler.model import Finding, Location
from reconciler.policy.batch import failures, value_or_error
from reconciler.policy.catalog import Catalog, CompiledPolicy
from reconciler.policy.expression import CelEvaluationError
from reconciler.policy.subject import FlagSubject


def _project_value(rule: CompiledPolicy, project: str, views: list[dict[str, Any]]) -> Any:
    if rule.over_flags is None:
        return value_or_error(rule, {"project": project, "flags": views})
    try:
        return rule.over_flags.run(views, project)
    except CelEvaluationError as e:
        return e


def evaluate(
    catalog: Catalog,
    flags: Sequence[FlagSubject],
    project_locations: Mapping[str, Location] | None = None,
) -> list[Finding]:
    """Every policy finding about ``flags``, sorted by file and line.

    ``project_locations`` says where each project is first declared (a project rule's
    findings point there); by default, the start of the first file among its flags.
    """
    findings: list[Finding] = []
    by_project: dict[str, list[FlagSubject]] = {}
    for subject in flags:
        by_project.setdefault(subject.project, []).append(subject)
    views: dict[str, list[dict[str, Any]]] = {}
    first_file: dict[str, str] = {}
    for project, subjects in by_project.items():
        project_views = views[project] = [subject.view() for subject in subjects]
        first_file[project] = min(subject.file for subject in subjects)
        rules = [r for r in catalog.flag_policies if r.policy.applies_to(project)]
        if not rules:
            continue
        for rule, subject, value in failures(rules, subjects, project_views):
            findings.append(_flag_finding(rule, subject, value))
    for project, project_views in views.items():
        if not catalog.project_policies:
            break
        where = (project_locations or {}).get(project) or Location(first_file[project])
        for rule in catalog.project_policies:
            if rule.policy.applies_to(project):
                value = _project_value(rule, project, project_views)
                if value is not True:
                    findings.append(
                        _project_finding(rule, project, len(project_views), where, value)
                    )
    findings.sort(key=Finding.sort_key)
    return findings


def _flag_finding(rule: CompiledPolicy, subject: FlagSubject, value: Any) -> Finding:
    policy = rule.policy
    if value is False:
        return Finding(
            subject.locate(rule.steps),
            f"policy {policy.name}: {policy.message}",
            policy.field_path,
            policy.severity,
        )
    return Finding(
        subject.location,
        f"policy {policy.name}: {_failure(value)} for flag '{subject.key}'",
        "",
        policy.severity,
    )


def _project_finding(
    rule: CompiledPolicy, project: str, count: int, where: Location, value: Any
) -> Finding:
    policy = rule.policy
    flags = f"{count:,} flag{'' if count == 1 else 's'}"
    if value is False:
        text = f"policy {policy.name}: {policy.message} (project {project}, {flags})"
    else:
        text = f"policy {policy.name}: {_failure(value)} for project {project} ({flags})"
    return Finding(where, text, "", policy.severity)


def _failure(value: Any) -> str:
    if isinstance(value, CelEvaluationError):
        return f"the expression failed ({value})"
    kind = "null" if value is None else type(value).__name__.replace("str", "string")
    return f"the expression yielded a {kind}, not a boolean"
