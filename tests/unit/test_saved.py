"""The saved plan's format on its own: written, read back, and turned back into a plan."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import InputError, StalePlanError
from reconciler.plan.compare import ABSENT, FieldDiff
from reconciler.plan.plan import Action, Kind, Plan
from reconciler.plan.render import MarkdownRenderer, TextRenderer
from reconciler.plan.saved import FORMAT_VERSION, SavedPlan, plan_document, save_plan

PLAN = Plan(
    "https://app.launchdarkly.com",
    True,
    (
        Action(Kind.CREATE, "flag", "web", "new", source="flags/web.yaml:9:5", digest="d1"),
        Action(
            Kind.CREATE,
            "link",
            "web",
            "new",
            "docs",
            source="flags/web.yaml:14:9",
            depends_on=("web/new",),
        ),
        Action(
            Kind.DRIFT,
            "flag",
            "web",
            "old",
            reason="changed in LaunchDarkly since it was created",
            diff=(
                FieldDiff("description", "was", "is"),
                FieldDiff("tags", ABSENT, ["beta"]),
            ),
        ),
    ),
)


def test_a_saved_plan_reads_back_as_the_plan_it_records(tmp_path: Path) -> None:
    path = tmp_path / "plans" / "plan.json"
    save_plan(path, PLAN)
    saved = SavedPlan.read(path)
    assert saved.document["format_version"] == FORMAT_VERSION
    assert saved.document == json.loads(json.dumps(plan_document(PLAN)))
    again = saved.plan()
    assert (again.target, again.live, again.actions) == (PLAN.target, PLAN.live, PLAN.actions)
    for renderer in (MarkdownRenderer(), TextRenderer()):
        assert renderer.render(again) == renderer.render(PLAN)


def test_an_absent_side_of_a_saved_diff_renders_as_absent_not_as_a_string(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plan.json"
    save_plan(path, PLAN)
    text = TextRenderer().render(SavedPlan.read(path).plan())
    assert 'tags: (absent) -> ["beta"]' in text


def test_a_saved_plan_with_a_malformed_action_is_one_message_naming_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plan.json"
    document = plan_document(PLAN)
    document["actions"][0]["action"] = "delete"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(InputError, match=r"plan\.json is not a saved plan of format_version 1 "):
        SavedPlan.read(path).plan()


BODY = {"key": "new", "name": "New", "tags": ["beta"], "initialPrerequisites": [
    {"key": "old", "variationId": None, "variation": 1}
]}  # fmt: skip
WITH_BODIES = Plan(
    "https://app.launchdarkly.com",
    True,
    (
        Action(Kind.CREATE, "flag", "web", "new", source="flags/web.yaml:9:5", body=BODY),
        Action(
            Kind.CREATE,
            "flag",
            "web",
            "twin",
            body={"key": "twin", "name": "Twin"},
            clone="web/new",
        ),
        Action(Kind.CREATE, "link", "web", "new", "docs", body={"key": "docs", "deepLink": "u"}),
    ),
)


def test_a_create_s_body_and_clone_source_are_saved_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    save_plan(path, WITH_BODIES)
    saved = SavedPlan.read(path)
    assert saved.document["format_version"] == 1  # an additive field: no new version
    assert saved.document["actions"][0]["body"] == BODY
    assert saved.document["actions"][1]["clone"] == "web/new"
    again = saved.plan()
    assert again.actions == WITH_BODIES.actions
    markdown = MarkdownRenderer().render(again)
    assert markdown == MarkdownRenderer().render(WITH_BODIES)
    assert 'tags                    = ["beta"]' in markdown
    assert "temporary               = true (LaunchDarkly's default)" in markdown
    assert "`+ flag web/twin (clone of web/new)` will be created with:" in markdown


def _saved_with(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> SavedPlan:
    """``WITH_BODIES`` saved, its document (as read from the file) changed by ``edit``."""
    document = json.loads(json.dumps(plan_document(WITH_BODIES)))
    edit(document)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return SavedPlan.read(path)


def _drop_bodies(document: dict[str, Any]) -> None:
    for action in document["actions"]:
        del action["body"]


def test_a_plan_saved_before_creates_carried_a_body_still_renders_and_checks(
    tmp_path: Path,
) -> None:
    saved = _saved_with(tmp_path, _drop_bodies)
    assert "+ create   flag web/new" in TextRenderer().render(saved.plan())
    saved.check(WITH_BODIES)  # not "edited": there was no body to edit


def test_a_saved_plan_whose_body_was_edited_is_refused(tmp_path: Path) -> None:
    saved = _saved_with(tmp_path, lambda d: d["actions"][0]["body"].update(tags=["reviewed"]))
    with pytest.raises(StalePlanError, match=r"was edited after it was made \(its actions differ"):
        saved.check(WITH_BODIES)


def test_a_body_that_is_not_an_object_is_one_message_naming_the_file(tmp_path: Path) -> None:
    saved = _saved_with(tmp_path, lambda d: d["actions"][0].update(body=["not", "an", "object"]))
    with pytest.raises(InputError, match=r"plan\.json is not a saved plan .*body is a list"):
        saved.plan()
