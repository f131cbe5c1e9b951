"""The flag rules of one project, run on each of its flags as cheaply as the library allows.

Converting a flag's values into CEL values is most of the cost, so: the rules run as
one program (a list of their results), converting each flag once and only what the
rules read of it (``reads.py``); only when that fails (one rule erred on this flag) are
they run one by one to tell which. And a rule whose inputs repeat from flag to flag
(``flag.maintainerTeamKey != ''``, a tag vocabulary: a handful of distinct values over
thousands of flags) is memoized: CEL is a pure function of its variables, so a rule's
value for inputs seen before is that value again. Which rules repeat is read off the
project's first flags.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cel import Program

from reconciler.policy import expression, reads
from reconciler.policy.catalog import CompiledPolicy
from reconciler.policy.expression import CelEvaluationError
from reconciler.policy.subject import FlagSubject

SAMPLE = 64
"""Flags of a project looked at to tell which rules' inputs repeat."""


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"  # a field the flag leaves out: not the same input as any value


_MISSING = _Missing()


class _Memo:
    """One rule, with its value for each distinct input it was run on."""

    def __init__(self, rule: CompiledPolicy, read: dict[str, reads.Use]) -> None:
        self.rule = rule
        self.read = read
        self.names = frozenset(expression.free_variables(rule.policy.expression))
        self.values: dict[str, Any] = {}

    def key(self, view: dict[str, Any], file: str) -> str:
        seen = repr(tuple(view.get(name, _MISSING) for name in self.read))
        return f"{file}\0{seen}" if "file" in self.names else seen

    def value(self, view: dict[str, Any], project: str, file: str) -> Any:
        key = self.key(view, file)
        if key not in self.values:
            variables = {"flag": reads.view(view, self.read), "project": project, "file": file}
            self.values[key] = value_or_error(self.rule, variables)
        return self.values[key]


class Batch:
    """The flag rules that apply to one project."""

    def __init__(self, rules: Sequence[CompiledPolicy], sample: Sequence[FlagSubject]) -> None:
        self.rules = tuple(rules)
        views = [s.view() for s in sample[:SAMPLE]]  # only the sample: a few dozen
        self.memos: list[_Memo] = []
        for rule in self.rules:
            read = reads.uses([rule.policy.expression])
            if read is None or not views:
                continue
            memo = _Memo(rule, read)
            distinct = {memo.key(v, s.file) for v, s in zip(views, sample, strict=False)}
            if len(distinct) * 4 <= len(views):
                self.memos.append(memo)
        memoized = {id(m.rule) for m in self.memos}
        self.together = tuple(r for r in self.rules if id(r) not in memoized)
        # Newlines keep a trailing ``//`` comment of one expression from hiding the next.
        source = "[" + ",".join(f"(\n{r.policy.expression}\n)" for r in self.together) + "]"
        self.program: Program | None = (
            expression.compile_expression(source) if len(self.together) > 1 else None
        )
        self.reads = reads.uses(r.policy.expression for r in self.together)

    def results(
        self, subject: FlagSubject, view: dict[str, Any]
    ) -> list[tuple[CompiledPolicy, Any]]:
        """Each rule with its value on ``subject`` (whose ``view()`` is ``view``), or the
        ``CelEvaluationError`` it raised."""
        project, file = subject.project, subject.file
        found = [(m.rule, m.value(view, project, file)) for m in self.memos]
        if not self.together:
            return found
        seen = view if self.reads is None else reads.view(view, self.reads)
        variables = {"flag": seen, "project": project, "file": file}
        if self.program is not None:
            try:
                values = expression.run(self.program, variables)
            except CelEvaluationError:
                pass  # one of them failed on this flag: find out which, one by one
            else:
                return found + list(zip(self.together, values, strict=True))
        return found + [(rule, value_or_error(rule, variables)) for rule in self.together]


def value_or_error(rule: CompiledPolicy, variables: dict[str, Any]) -> Any:
    try:
        return expression.run(rule.program, variables)
    except CelEvaluationError as e:
        return e
