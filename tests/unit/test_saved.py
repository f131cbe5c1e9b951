"""The saved plan's format on its own: written, read back, and turned back into a plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.errors import InputError
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
