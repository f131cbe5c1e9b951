"""What makes policies fast gives the library's answers: hoisted filter/map, compiled
regexes, rules run once per distinct input, fields given as variables.

Each rewritten expression is checked against the same expression run by the CEL library
as written, on inputs small enough for the library's quadratic ``filter`` and ``map``.
"""

from __future__ import annotations

from typing import Any

import pytest

from support.engine import REASON

pytest.importorskip("cel", reason=REASON)

from reconciler.model import Location
from reconciler.policy import expression, reads, regex
from reconciler.policy.batch import failures
from reconciler.policy.catalog import CompiledPolicy
from reconciler.policy.expression import CelEvaluationError
from reconciler.policy.flattening import flatten
from reconciler.policy.hoisting import project_program
from reconciler.policy.policy import Policy
from reconciler.policy.subject import FlagSubject

FLAGS: list[dict[str, Any]] = [
    {"key": f"flag-{i}", "temporary": i % 3 != 0, "tags": ["web"] if i % 2 else []}
    for i in range(12)
]


def as_written(source: str, flags: list[dict[str, Any]] = FLAGS) -> Any:
    return expression.run(expression.compile_expression(source), {"flags": flags, "project": "p"})


@pytest.mark.parametrize(
    ("source", "hoisted", "sized"),
    [
        ("flags.filter(f, f.temporary).size() <= 200", 1, {"__flags_1"}),
        ("size(flags.filter(f, f.temporary)) == 8", 1, {"__flags_1"}),
        ("flags.map(f, f.key).exists(k, k == 'flag-3')", 1, set()),
        ("flags.map(f, f.temporary, f.key).size() == 8", 1, {"__flags_1"}),
        ("flags.filter(f, f.temporary).map(f, f.key)[0] == 'flag-1'", 2, set()),
        ("flags.filter(f, f.key.startsWith(project)).size() == 0", 1, {"__flags_1"}),
        ("flags.filter(f, 'web' in f.tags).size() * 2 == flags.size()", 1, {"__flags_1", "flags"}),
        # Names the variable of an enclosing comprehension: run as written.
        ("flags.all(g, flags.filter(f, f.key == g.key).size() == 1)", 0, set()),
        ("flags.exists(f, f.temporary) && flags.size() > 3", 0, set()),
    ],
)
def test_a_hoisted_project_rule_gives_the_librarys_answer(
    source: str, hoisted: int, sized: set[str]
) -> None:
    linear = project_program(source)
    assert len(linear.hoisted) == hoisted
    assert set(linear.sized) == sized
    assert linear.run(FLAGS, "p") == as_written(source)


def test_a_predicate_that_fails_on_one_flag_fails_the_rule() -> None:
    linear = project_program("flags.filter(f, f.owner == 'x').size() == 0")
    with pytest.raises(CelEvaluationError):
        linear.run(FLAGS, "p")
    with pytest.raises(CelEvaluationError):
        project_program("flags.filter(f, f.key).size() == 0").run(FLAGS, "p")


def test_a_hoisted_argument_runs_once_per_distinct_flag_and_fails_as_the_librarys() -> None:
    flags = [dict(FLAGS[i % len(FLAGS)]) for i in range(40)]  # each one 3 or 4 times
    flags[25]["temporary"] = "yes"  # fails first
    flags[30] = {"key": "x"}  # fails too
    for source in [
        "flags.map(f, f.temporary ? 1 : 0).size() == 0",
        "flags.filter(f, f.key.startsWith(f.temporary ? 'f' : 'x')).size() > 0",
    ]:
        with pytest.raises(CelEvaluationError) as hoisted:
            project_program(source).run(flags, "p")
        with pytest.raises(CelEvaluationError) as written:
            as_written(source, flags)
        assert str(hoisted.value) == str(written.value)
        assert str(hoisted.value).startswith("No such overload")  # the first, not "no field"


def test_strings_and_comments_are_not_mistaken_for_macros() -> None:
    source = "flags.filter(f, f.key != 'flags.map(x, x)') // flags.filter(y, y)\n.size() > 0"
    linear = project_program(source)
    assert len(linear.hoisted) == 1
    assert linear.run(FLAGS, "p") is True


@pytest.mark.parametrize(
    ("source", "rewritten"),
    [
        ("flag.key.matches('^[a-z]+$')", "__matches(flag.key, '^[a-z]+$')"),
        ('l.deepLink.matches("^https://")', '__matches(l.deepLink, "^https://")'),
        ("flag.key.matches(pattern)", "flag.key.matches(pattern)"),  # not a literal
        ("flag.key.matches('\\\\pL')", "flag.key.matches('\\\\pL')"),  # RE2 only
        ("flag.key.matches('(')", "flag.key.matches('(')"),  # invalid: the library says so
        ("flag.key.matches('a\\\\?')", "flag.key.matches('a\\\\?')"),  # CEL's own escape
        ("flag.tags[0].matches('a')", "flag.tags[0].matches('a')"),  # not a member chain
    ],
)
def test_matches_with_a_literal_pattern_is_rewritten(source: str, rewritten: str) -> None:
    assert regex.rewrite(source) == rewritten


@pytest.mark.parametrize("key", ["flag-1", "Flag_1", "x", "", "a-", "a\u0660"])
# As a CEL string literal: a backslash is written twice.
@pytest.mark.parametrize("pattern", ["^[a-z0-9]+(-[a-z0-9]+)*$", "\\\\d", "^\\\\w+$", "-"])
def test_a_rewritten_matches_agrees_with_the_library(key: str, pattern: str) -> None:
    source = f"flag.key.matches('{pattern}')"
    variables = {"flag": {"key": key}}
    library = expression.run(expression.compile_expression("(" + source + ")"), variables)
    assert regex.rewrite(source) != source
    assert expression.run(expression.compile_expression(source), variables) == library


def test_a_rewritten_matches_on_a_non_string_fails_as_the_librarys() -> None:
    program = expression.compile_expression("flag.key.matches('a')")
    with pytest.raises(CelEvaluationError):
        expression.run(program, {"flag": {"key": 3}})


def test_rules_are_read_for_what_they_use_of_each_field() -> None:
    used = reads.uses(
        [
            "flag.key.matches('^[a-z]+$') && flag.variations.size() >= 2",
            "!flag.temporary || flag.links.exists(l, l.deepLink.startsWith('https://'))",
            "size(flag.tags) <= 5 && flag.tags.all(t, t in ['web'])",
            "flag.links.size() > 0",
        ]
    )
    assert used == {
        "key": reads.WHOLE,
        "variations": reads.SIZE,
        "temporary": reads.WHOLE,
        "links": frozenset({"deepLink"}),
        "tags": reads.WHOLE,
    }
    assert reads.uses(["flag.links[0].deepLink != ''"]) == {"links": reads.WHOLE}
    assert reads.uses(["flag == {}"]) is None


def test_what_is_read_gives_each_rule_the_answer_of_the_whole_flag() -> None:
    rules = [
        "flag.variations.size() >= 2",
        "flag.links.exists(l, l.deepLink.startsWith('https://jira'))",
        "flag.links.all(l, has(l.title))",
        "flag.description.size() > 0",
    ]
    flag = {
        "key": "k",
        "description": "d",
        "variations": [{"value": 1}, {"value": 2}, {"value": 3}],
        "links": [{"deepLink": "https://jira/1", "title": "T", "key": "x"}, {"deepLink": "h"}],
    }
    seen = reads.view(flag, reads.uses(rules) or {})
    assert seen["variations"] == [None, None, None]
    assert seen["links"] == [{"deepLink": "https://jira/1", "title": "T"}, {"deepLink": "h"}]
    for rule in rules:
        program = expression.compile_expression(rule)
        whole = expression.run(program, {"flag": flag})
        assert expression.run(program, {"flag": seen}) == whole, rule


def answer(program: Any, variables: dict[str, Any]) -> Any:
    """A program's value, or the text of the error it failed with."""
    try:
        return expression.run(program, variables)
    except CelEvaluationError as e:
        return f"failed: {e}"


# Flags meant to trip the rewrites: missing fields, a link without a deepLink, an item
# that is no map, fields of the wrong type, strings of one length but not one size.
ODD_FLAGS: list[dict[str, Any]] = [
    {"key": "a", "name": "ab", "temporary": True, "links": [{"deepLink": "https://j/1"}]},
    {"key": "b", "name": "éa", "temporary": True, "links": [{"deepLink": "h", "title": "T"}]},
    {"key": "c", "temporary": False, "links": [{"title": "no deepLink"}]},
    {"key": "d", "temporary": True, "links": ["https://j/2"]},
    {"key": "e", "temporary": True, "links": {"deepLink": "https://j/3"}},
    {"key": 5, "name": 7, "temporary": "yes", "links": []},
    {"name": "x", "links": [{"deepLink": 3}, {"deepLink": "https://j/4"}]},
    {"key": "f", "temporary": True},
]
RULES = [
    "flag.key.matches('^[a-z]+$')",
    "!flag.temporary || flag.links.exists(l, l.deepLink.startsWith('https://j/'))",
    "flag.links.all(l, l.deepLink.size() > 1) && flag.links.size() < 3",
    "flag.links.exists(l, flag.links.exists(m, m.deepLink == l.deepLink))",
    "flag.links.exists_one(l, l.deepLink.matches('^h')) || size(flag.links) == 0",
    "flag.name.size() <= 2 && flag.key != file",
    "flag.missing || true",
    "[flag.missing, true][1]",
    "flag.key == 'a' ? true : flag.missing",
]
TWO_FIELDS = "flag.links.all(l, l.deepLink != '' && l.title != '')"  # not one field of each


@pytest.mark.parametrize("rule", [*RULES, TWO_FIELDS])
def test_a_rule_given_the_fields_it_reads_as_variables_gives_the_answer_as_written(
    rule: str,
) -> None:
    written = expression.compile_expression(rule)
    flat = flatten(rule)
    assert flat is not None
    rewritten = expression.compile_expression(flat.source)
    given = 0
    for flag in ODD_FLAGS:
        variables = flat.variables(flag)
        expected = answer(written, {"flag": flag, "file": "a"})
        if variables is None:
            continue  # the flag runs as written
        given += 1
        value = answer(rewritten, {**variables, "file": "a"})
        if isinstance(value, str) and value.startswith("failed"):
            assert isinstance(expected, str), (flag, expected)  # then runs as written
        else:
            assert value == expected, flag
    assert given >= 4


def test_only_plain_field_reads_are_rewritten() -> None:
    flat = flatten("flag.links.exists(l, l.deepLink == flag.key) // flag.name")
    assert flat is not None
    assert flat.source == "__flag_links.exists(l, l == __flag_key) // flag.name"
    assert flat.items == {"links": "deepLink"}
    two_fields = flatten("flag.links.all(l, l.deepLink != l.title)")
    assert two_fields is not None
    assert two_fields.items == {}
    for refused in [
        "has(flag.key)",
        "flag.tags.exists(flag, flag == 'x')",
        "flag == {}",
        "flag.key == __flag_key",
    ]:
        assert flatten(refused) is None, refused
    rebound = flatten("flag.links.exists(l, [1].exists(l, l == 1))")
    assert rebound is not None
    assert rebound.items == {}


def unique(value: Any, i: int) -> Any:
    """``value`` (links, a link, a deepLink) made unique to flag ``i`` where it can be."""
    if isinstance(value, list):
        return [unique(item, i) for item in value]
    if isinstance(value, dict) and "deepLink" in value:
        return {**value, "deepLink": unique(value["deepLink"], i)}
    return value + "/" * i if isinstance(value, str) else value


@pytest.mark.parametrize("more", [[], [TWO_FIELDS]])
def test_each_rule_gets_its_own_answer_however_it_is_run(more: list[str]) -> None:
    # 200 flags: the key and links (almost always) unique, the rest repeating, the odd
    # ones among them; the rules on those run on each flag, the others once per input.
    shapes = [
        {"maintainerId": "", "tags": ["web"], "name": "Ab", "description": "d", "links": []},
        {"maintainerId": "m", "tags": [], "name": "éa", "links": [{"deepLink": "https://j"}]},
        {"maintainerId": 3, "tags": ["api", "x"], "name": "abc", "description": ""},
        {"tags": "web", "name": "Zz", "variations": [{"value": 1}]},
    ]
    views = [{**shapes[i % 4], **ODD_FLAGS[i % 8]} for i in range(200)]
    for i, view in enumerate(views):  # unique where the odd flags leave it a string
        if isinstance(view.get("key"), str):
            view["key"] += "x" * i
        if "links" in view:
            view["links"] = unique(view["links"], i)
    subjects = [
        FlagSubject("p", f"f{i // 50}.yaml", view, Location(f"f{i // 50}.yaml", i + 1))
        for i, view in enumerate(views)
    ]
    sources = [
        "flag.maintainerId != ''",
        "flag.tags.all(t, t in ['web', 'api'])",
        "flag.name.size() <= 2",
        "flag.description.size() > 0",
        "flag.variations.size() >= 2",
        "file.endsWith('0.yaml') || flag.tags.size() < 2",
        *RULES,
        *more,
    ]
    rules = [Policy(f"r{n}", rule, "m", Location("c", n + 1)) for n, rule in enumerate(sources)]
    compiled = [CompiledPolicy(r, expression.compile_expression(r.expression), ()) for r in rules]
    expected = set()
    for rule in compiled:
        for subject in subjects:
            value = answer(rule.program, {"flag": subject.fields, "project": "p",
                                          "file": subject.file})  # fmt: skip
            if value is not True:
                expected.add((rule.policy.name, subject.key, repr(value)))
    got = {
        (rule.policy.name, subject.key, repr(f"failed: {v}" if isinstance(v, Exception) else v))
        for rule, subject, v in failures(compiled, subjects, views)
    }
    assert got == expected
    assert {name for name, _, _ in expected} >= {"r0", "r1", "r2", "r6", "r7"}
