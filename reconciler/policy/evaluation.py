"""Running compiled policies over flags and projects, giving located findings.

A flag rule runs once per flag it applies to, a project rule once per project. Speed:
each flag's variables are converted into CEL values once, by running all the flag
rules that apply to its project as one program (a list of their results), and only
what the rules read of it (``reads.py``); only when that fails (one rule erred on this
flag) are the rules run one by one to tell which.
An expression that fails on a flag is a finding on that flag naming the policy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cel import Program

from reconciler.model import Finding, Location
from reconciler.policy import expression, reads
from reconciler.policy.catalog import Catalog, CompiledPolicy
from reconciler.policy.expression import CelEvaluationError
from reconciler.policy.subject import FlagSubject


class _Batch:
    """The flag rules that apply to one project, compiled together as one program."""

    def __init__(self, rules: Sequence[CompiledPolicy]) -> None:
        self.rules = tuple(rules)
        # Newlines keep a trailing ``//`` comment of one expression from hiding the next.
        source = "[" + ",".join(f"(\n{r.policy.expression}\n)" for r in self.rules) + "]"
        self.program: Program | None = (
            expression.compile_expression(source) if len(self.rules) > 1 else None
        )
        self.reads = reads.uses(r.policy.expression for r in self.rules)

    def view(self, subject: FlagSubject) -> dict[str, Any]:
        """The flag as the rules see it: only what they read of it (see ``reads.py``)."""
        view = subject.view()
        return view if self.reads is None else reads.view(view, self.reads)

    def results(self, variables: dict[str, Any]) -> list[tuple[CompiledPolicy, Any]]:
        """Each rule with its value, or with the ``CelEvaluationError`` it raised."""
        if self.program is not None:
            try:
                values = expression.run(self.program, variables)
            except CelEvaluationError:
                pass  # one of them failed on this flag: find out which, one by one
            else:
                return list(zip(self.rules, values, strict=True))
        return [(rule, _value_or_error(rule, variables)) for rule in self.rules]


def _value_or_error(rule: CompiledPolicy, variables: dict[str, Any]) -> Any:
    try:
        return expression.run(rule.program, variables)
    except CelEvaluationError as e:
        return e


def _project_value(rule: CompiledPolicy, project: str, views: list[dict[str, Any]]) -> Any:
    if rule.over_flags is None:
        return _value_or_error(rule, {"project": project, "flags": views})
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
    batches: dict[str, _Batch] = {}
    views: dict[str, list[dict[str, Any]]] = {}
    first_file: dict[str, str] = {}
    for subject in flags:
        project = subject.project
        if catalog.project_policies:
            views.setdefault(project, []).append(subject.view())
            first_file[project] = min(first_file.get(project, subject.file), subject.file)
        batch = batches.get(project)
        if batch is None:
            batch = batches[project] = _Batch(
                [r for r in catalog.flag_policies if r.policy.applies_to(project)]
            )
        if not batch.rules:
            continue
        flag_variables = {"flag": batch.view(subject), "project": project, "file": subject.file}
        for rule, value in batch.results(flag_variables):
            if value is not True:
                findings.append(_flag_finding(rule, subject, value))
    for project, project_views in views.items():
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
