"""The semantic rules on flags whose shape is wrong: every value of a rich file replaced,
one at a time, by values of the wrong type. No crash, and no rule finding that only
follows from the schema's (a non-list ``variations`` has no "duplicate" values)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from reconciler.files.loader import load_text
from reconciler.files.validator import validate_documents

RICH: dict[str, Any] = {
    "project": "web",
    "flags": [
        {
            "key": "a",
            "name": "A",
            "variations": [{"value": "x", "name": "X"}, {"value": "y"}],
            "defaults": {"onVariation": 0, "offVariation": 1},
            "tags": ["t"],
            "initialPrerequisites": [
                {"key": "b", "variationIndex": 0},
                {"key": "m", "variationValue": "live"},
            ],
            "links": [
                {"deepLink": "https://docs.example.com/a"},
                {"key": "k", "integrationKey": "jira", "metadata": {"a": "b"}},
            ],
            "maintainerId": "m1",
            "clientSideAvailability": {"usingEnvironmentId": True, "usingMobileKey": False},
        },
        {"key": "b", "name": "B", "isFlagOn": True},
        {"key": "c", "name": "C", "clone": "b", "tags": ["x"]},
        {"key": "m", "name": "M", "purpose": "migration", "migrationSettings": {"stageCount": 4}},
        {
            "key": "s",
            "name": "S",
            "purpose": "migration",
            "migrationSettings": {"stageCount": 6, "contextKind": "user"},
        },
    ],
}
WRONG = [1.0, "yes", [], {}, None, [1], {"a": 1}, [{}], True, ""]
# What the rules say (not the schema), and of those what stays true whatever else is wrong:
# a prerequisite naming a key no flag has now, or a value the schema leaves untyped
# (a variation's value, a prerequisite's variationValue) of another type than its fellows.
RULE_WORDS = (
    "is already variation",
    "is out of range",
    "only for migration flags",
    "a migration flag",
    "contextKind is only",
    "needs contextKind",
    "link key",
    "this link points",
    "named twice",
    "has no variation",
    "cannot be its own",
    "form a cycle",
    "give maintainerId",
    "a clone takes",
    "this value is",
    "is declared",
)
INDEPENDENT = {
    # a flag's key replaced, or the flag itself: a prerequisite on it names no flag now
    "is declared": lambda path: path[-1] == "key" or len(path) == 2,
    "this value is": lambda path: path[-1] == "value",
    "has no variation": lambda path: path[-1] == "variationValue",
}


def _paths(node: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if at:
        yield at
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for step, child in children:
        yield from _paths(child, (*at, step))


def _replaced(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    document = copy.deepcopy(RICH)
    node: Any = document
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return document


def test_the_rich_file_is_valid() -> None:
    assert validate_documents([load_text(json.dumps(RICH), "f.yaml")])[1] == []


@pytest.mark.parametrize("path", list(_paths(RICH)), ids=lambda p: ".".join(map(str, p)))
def test_a_value_of_the_wrong_type_adds_no_rule_finding_of_its_own(path: tuple[Any, ...]) -> None:
    for value in WRONG:
        document = load_text(json.dumps(_replaced(path, value)), "f.yaml")
        for finding in validate_documents([document])[1]:
            said = [words for words in RULE_WORDS if words in finding.message]
            if not said:
                continue  # the schema's finding
            true_anyway = INDEPENDENT.get(said[0], lambda _path: False)
            assert true_anyway(path), (path, value, str(finding))
