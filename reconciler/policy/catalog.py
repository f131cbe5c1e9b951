"""Compiling the configuration's policies once, and finding those that cannot work.

Before any flag is looked at, each policy is checked: its expression parses (a syntax
error says the column inside the expression), names only the variables of its scope,
yields a boolean on a sample flag, its ``fieldPath`` is a flag-file field, its name is
unique and its projects are declared. A broken policy is a located finding in the
configuration and is left out of the evaluation.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cel import Program

from reconciler.model import Finding, Location
from reconciler.policy import expression, fieldpath
from reconciler.policy.expression import CelEvaluationError, CelSyntaxError
from reconciler.policy.hoisting import ProjectProgram, project_program
from reconciler.policy.policy import SCOPES, Policy
from reconciler.policy.subject import FlagSubject

VARIABLES = {"flag": ("flag", "project", "file"), "project": ("project", "flags")}

_SAMPLE_FLAG = FlagSubject(
    "sample-project", "flags/sample.yaml", {"key": "sample", "name": "S"}, Location("-")
)


@dataclass(frozen=True)
class CompiledPolicy:
    policy: Policy
    program: Program
    steps: tuple[str | int, ...]  # the parsed fieldPath; () for the flag itself
    over_flags: ProjectProgram | None = None  # a project rule's linear form (hoisting.py)


@dataclass(frozen=True)
class Catalog:
    """The policies that work, compiled, and the findings about those that do not."""

    flag_policies: tuple[CompiledPolicy, ...]
    project_policies: tuple[CompiledPolicy, ...]
    findings: tuple[Finding, ...]


def compile_policies(
    policies: Sequence[Policy], projects: Collection[str] | None = None
) -> Catalog:
    """Compile each policy once; ``projects`` (when known) are the declared projects."""
    findings: list[Finding] = []
    compiled: list[CompiledPolicy] = []
    first_by_name: dict[str, Policy] = {}
    for policy in policies:
        problems = []
        if (earlier := first_by_name.get(policy.name)) is not None:
            problems.append(
                _config_finding(
                    policy,
                    "name",
                    f"duplicate policy name '{policy.name}' "
                    f"(first declared at {earlier.at('name')})",
                )
            )
        else:
            first_by_name[policy.name] = policy
        problems.extend(_project_findings(policy, projects))
        steps: list[str | int] = []
        if policy.field_path:
            why = fieldpath.problem(policy.field_path)
            if why is not None:
                problems.append(_config_finding(policy, "fieldPath", why))
            else:
                steps = fieldpath.parse(policy.field_path) or []
        if policy.scope not in SCOPES:  # the configuration's schema says so first
            problems.append(_config_finding(policy, "scope", "scope is flag or project"))
            findings.extend(problems)
            continue
        program, expression_problem = _compile(policy)
        if expression_problem is not None:
            problems.append(expression_problem)
        findings.extend(problems)
        if not problems and program is not None:
            linear = project_program(policy.expression) if policy.scope == "project" else None
            compiled.append(CompiledPolicy(policy, program, tuple(steps), linear))
    findings.sort(key=Finding.sort_key)
    return Catalog(
        tuple(c for c in compiled if c.policy.scope == "flag"),
        tuple(c for c in compiled if c.policy.scope == "project"),
        tuple(findings),
    )


def _config_finding(policy: Policy, field: str, message: str) -> Finding:
    return Finding(policy.at(field), f"policy {policy.name}: {message}", policy.path(field))


def _project_findings(policy: Policy, projects: Collection[str] | None) -> list[Finding]:
    if projects is None or policy.projects is None:
        return []
    findings = []
    for project in policy.projects:
        if project not in projects:
            hint = difflib.get_close_matches(project, sorted(projects), n=1)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
            findings.append(
                _config_finding(policy, "projects", f"unknown project '{project}'{suggestion}")
            )
    return findings


def _compile(policy: Policy) -> tuple[Program | None, Finding | None]:
    try:
        program = expression.compile_expression(policy.expression)
    except CelSyntaxError as e:
        where = f"line {e.line}, column {e.column}" if e.line > 1 else f"column {e.column}"
        return None, _config_finding(
            policy, "expression", f"CEL syntax error at {where} of the expression: {e.reason}"
        )
    allowed = VARIABLES[policy.scope]
    for name in expression.free_variables(policy.expression):
        if name not in allowed:
            return None, _config_finding(
                policy,
                "expression",
                f"unknown variable '{name}' (a {policy.scope} rule sees "
                + ", ".join(allowed)
                + ")",
            )
    return program, _sample_problem(policy, program)


def _sample_problem(policy: Policy, program: Program) -> Finding | None:
    """What running the expression once on a sample says about it, if it cannot work.

    The library checks no types: a result that is not a boolean, an unknown function or
    an invalid regular expression would otherwise show up once per flag.
    """
    flag = _SAMPLE_FLAG.view()
    variables = (
        {"flag": flag, "project": _SAMPLE_FLAG.project, "file": _SAMPLE_FLAG.file}
        if policy.scope == "flag"
        else {"project": _SAMPLE_FLAG.project, "flags": [flag]}
    )
    try:
        value = expression.run(program, variables)
    except CelEvaluationError as e:
        if (name := expression.undefined_name(e)) is not None:
            return _config_finding(policy, "expression", f"unknown function '{name}'")
        if "regex" in str(e):
            return _config_finding(policy, "expression", str(e))
        return None  # depends on the data (a missing field): reported per flag
    if not isinstance(value, bool):
        kind = type(value).__name__.replace("str", "string").replace("NoneType", "null")
        return _config_finding(
            policy,
            "expression",
            f"the expression yields a {kind}, not a boolean (true means the flag complies)",
        )
    return None
