"""Clones in plans: what a plan says about a clone's source, in every format, and the
create the client sends for it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.plan.plan import Kind, Plan, make_plan
from reconciler.plan.render import RENDERERS
from reconciler.plan.saved import plan_from_document
from reconciler.remote.client import LaunchDarklyClient
from reconciler.remote.observe import ExistingFlag, ExistingState
from reconciler.state.ledger import Ledger
from support.desired import desired_state
from support.launchdarkly import TARGET

FILE = """\
project: web
flags:
  - {key: base, name: Base}
  - {key: copy, name: Copy, clone: base}
  - {key: ui-copy, name: UI copy, clone: ui-made}
"""


def plan_of(existing: ExistingState, tmp_path: Path) -> Plan:
    return make_plan(desired_state(FILE), existing, Ledger.load(tmp_path / "l.json"), TARGET)


def live(**archived: bool) -> ExistingState:
    state = ExistingState(live=True)
    for key, is_archived in archived.items():
        data = {"key": key, "name": key, "variations": [{"_id": "x", "value": True}]}
        state.flags[("web", key.replace("_", "-"))] = ExistingFlag(key, is_archived, data)
    return state


def test_a_clone_of_a_declared_flag_depends_on_it(tmp_path: Path) -> None:
    plan = plan_of(live(ui_made=False), tmp_path)
    (copy,) = [a for a in plan.actions if a.flag_key == "copy"]
    assert (copy.kind, copy.clone, copy.depends_on) == (Kind.CREATE, "web/base", ("web/base",))
    (ui_copy,) = [a for a in plan.actions if a.flag_key == "ui-copy"]
    assert (ui_copy.kind, ui_copy.depends_on, ui_copy.reason) == (Kind.CREATE, (), "")


@pytest.mark.parametrize(
    ("existing", "reason"),
    [
        ({}, "the flag it clones, 'ui-made', exists neither in the files nor in LaunchDarkly"),
        ({"ui_made": True}, "the flag it clones, web/ui-made, is archived in LaunchDarkly"),
    ],
)
def test_a_live_plan_blocks_a_clone_of_a_missing_or_archived_flag(
    tmp_path: Path, existing: dict[str, bool], reason: str
) -> None:
    plan = plan_of(live(**existing), tmp_path)
    (ui_copy,) = [a for a in plan.actions if a.flag_key == "ui-copy"]
    assert ui_copy.kind is Kind.BLOCKED
    assert ui_copy.reason.startswith(reason)
    assert ui_copy.source == "flags/web.yaml:5:5"


def test_an_offline_plan_notes_an_undeclared_source_it_could_not_check(tmp_path: Path) -> None:
    plan = plan_of(ExistingState(live=False), tmp_path)
    by_key = {a.flag_key: a for a in plan.actions}
    assert by_key["ui-copy"].kind is Kind.CREATE
    assert by_key["ui-copy"].reason.startswith("could not check that web/ui-made, which it clones")
    assert by_key["copy"].reason == ""  # a declared source is created first: nothing to check


def test_every_format_names_the_clone_and_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    plan = plan_of(live(ui_made=False), tmp_path)
    text = RENDERERS["text"].render(plan)
    assert "+ create   flag web/copy (clone of web/base)  (flags/web.yaml:4:5)" in text
    assert "      copies variations, defaults, targeting from web/base" in text
    markdown = RENDERERS["markdown"].render(plan)
    assert "| `web/copy` (clone of `web/base`) |" in markdown
    assert "copies variations, defaults, targeting from `web/base`" in markdown
    github = RENDERERS["github"].render(plan)
    assert "create flag web/copy (clone of web/base)" in github
    document = json.loads(RENDERERS["json"].render(plan))
    (copy,) = [a for a in document["actions"] if a["flag"] == "copy"]
    assert copy["clone"] == "web/base"
    assert plan_from_document(document).actions == plan.actions  # a saved plan keeps it


def test_the_client_sends_a_clone_as_the_clone_query_parameter() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        body: dict[str, Any] = json.loads(request.content)
        rep = {**body, "variations": [{"_id": "v", "value": True}], "_version": 1}
        return httpx.Response(201, json=rep)

    transport = httpx.MockTransport(handler)
    client = LaunchDarklyClient(TARGET, "api-clone-plan-test", transport=transport)
    client.create_flag("web", {"key": "copy", "name": "Copy"}, clone="base flag")
    client.create_flag("web", {"key": "plain", "name": "Plain"})
    assert [str(r.url) for r in sent] == [
        f"{TARGET}/api/v2/flags/web?clone=base+flag",
        f"{TARGET}/api/v2/flags/web",
    ]
