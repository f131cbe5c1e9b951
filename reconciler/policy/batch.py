"""The flag rules of one project, run on its flags as cheaply as the library allows.

Converting a flag's values into CEL values is most of the cost (a string takes 4 us: the
library tries it as an integer, an unsigned, a float and three kinds of time first), so
each flag is converted as little and as seldom as can be. A rule is a pure function of
what it reads of a flag (``reads.py``; of a size read, only the size), and most rules
read something that repeats from flag to flag (``flag.maintainerTeamKey != ''``, a tag
vocabulary, ``flag.name.size() <= 100``: a handful of distinct inputs over thousands of
flags). So a rule that reads the flag by its fields runs once per distinct input, unless
its inputs do not repeat (more distinct than not). The others run as one program (a
list of their results) on each flag, given only what they read of it and only the
variables they name; only when that fails (one rule erred on this flag) are they run
one by one, given everything, to tell which.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cel import Program

from reconciler.policy import expression, reads
from reconciler.policy.catalog import CompiledPolicy
from reconciler.policy.expression import CelEvaluationError
from reconciler.policy.flattening import flatten
from reconciler.policy.subject import FlagSubject

SAMPLE = 64
"""Flags whose inputs to a rule are looked at first: more distinct than not, it runs on
every flag (with the others that do); else the inputs of every flag are looked at."""

Failure = tuple[CompiledPolicy, FlagSubject, Any]
"""A rule, a flag, and the rule's value on it when that is not ``true`` (or the
``CelEvaluationError`` it raised)."""


def failures(
    rules: Sequence[CompiledPolicy],
    subjects: Sequence[FlagSubject],
    views: Sequence[dict[str, Any]],
) -> list[Failure]:
    """Each rule's value on each flag of one project that is not ``true``; ``views`` are
    the flags' ``view()``."""
    found: list[Failure] = []
    each_flag: list[CompiledPolicy] = []
    for rule in rules:
        read = reads.uses([rule.policy.expression])
        keys = None if read is None else _repeating_inputs(rule, read, subjects, views)
        if read is None or keys is None:
            each_flag.append(rule)
        else:
            found += _memoized(rule, read, keys, subjects, views)
    if each_flag:
        together = _Together(tuple(each_flag))
        for subject, view in zip(subjects, views, strict=True):
            values = together.values(view, subject.project, subject.file)
            for rule, value in zip(together.rules, values, strict=True):
                if value is not True:
                    found.append((rule, subject, value))
    return found


def _memoized(
    rule: CompiledPolicy,
    read: dict[str, reads.Use],
    keys: list[Any],
    subjects: Sequence[FlagSubject],
    views: Sequence[dict[str, Any]],
) -> list[Failure]:
    """``rule`` on each flag, run once per distinct key: CEL is pure."""
    found: list[Failure] = []
    values: dict[Any, Any] = {}
    for key, subject, view in zip(keys, subjects, views, strict=True):
        if key in values:
            value = values[key]
        else:
            variables = {"flag": reads.view(view, read), "project": subject.project}
            variables["file"] = subject.file
            value = values[key] = value_or_error(rule, variables)
        if value is not True:
            found.append((rule, subject, value))
    return found


def _names(rule: CompiledPolicy) -> frozenset[str]:
    return frozenset(expression.free_variables(rule.policy.expression))


def _repeating_inputs(
    rule: CompiledPolicy,
    read: dict[str, reads.Use],
    subjects: Sequence[FlagSubject],
    views: Sequence[dict[str, Any]],
) -> list[Any] | None:
    """What ``rule`` reads (``read``) of each flag, as keys (``reads.keys``), when those
    repeat (fewer distinct than not); else None."""
    by_file = "file" in _names(rule)  # the project is the same for all: no part of the key

    def keys(start: int, end: int | None) -> list[Any]:
        found = reads.keys(views[start:end], read)
        if by_file:
            return list(zip([s.file for s in subjects[start:end]], found, strict=True))
        return found

    found = keys(0, SAMPLE)
    if len(set(found)) * 2 > len(found):
        return None
    found += keys(SAMPLE, None)
    return None if len(set(found)) * 2 > len(found) else found


class _Together:
    """Rules run as one program on each flag, given the fields they read as variables
    (``flattening.py``) where they can be."""

    def __init__(self, rules: tuple[CompiledPolicy, ...]) -> None:
        self.rules = rules
        self.reads = reads.uses(r.policy.expression for r in rules)
        names = frozenset().union(*(_names(r) for r in rules))
        self.project, self.file = "project" in names, "file" in names
        # Newlines keep a trailing ``//`` comment of one expression from hiding the next.
        source = "[" + ",".join(f"(\n{r.policy.expression}\n)" for r in rules) + "]"
        if len(rules) == 1:
            source = rules[0].policy.expression
        self.program: Program = (
            expression.compile_expression(source) if len(rules) > 1 else rules[0].program
        )
        self.flat = flatten(source)
        self.flat_program = None if self.flat is None else _compiled(self.flat.source)

    def values(self, view: dict[str, Any], project: str, file: str) -> list[Any]:
        """Each rule's value on the flag ``view``, or the ``CelEvaluationError`` it raised."""
        program, variables = self.flat_program, None
        if self.flat is not None:
            variables = self.flat.variables(view)
        if program is None or variables is None:
            program = self.program
            variables = {"flag": view if self.reads is None else reads.view(view, self.reads)}
        if self.project:
            variables["project"] = project
        if self.file:
            variables["file"] = file
        try:
            values = expression.run(program, variables)
        except CelEvaluationError:
            pass  # one of them failed on this flag: find out which, one by one
        else:
            return list(values) if len(self.rules) > 1 else [values]
        seen = view if self.reads is None else reads.view(view, self.reads)
        everything = {"flag": seen, "project": project, "file": file}
        return [value_or_error(rule, everything) for rule in self.rules]


def _compiled(source: str) -> Program | None:
    try:
        return expression.compile_expression(source)
    except expression.CelSyntaxError:
        return None  # a rewrite the library does not take: the rules run as written


def value_or_error(rule: CompiledPolicy, variables: dict[str, Any]) -> Any:
    try:
        return expression.run(rule.program, variables)
    except CelEvaluationError as e:
        return e
