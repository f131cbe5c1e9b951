"""Plan semantics: each action, from the desired state, what exists and the ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.model import DesiredState
from reconciler.plan import compare
from reconciler.plan.compare import ABSENT
from reconciler.plan.plan import Kind, Plan, make_plan
from reconciler.remote.observe import ExistingFlag, ExistingState
from reconciler.state.ledger import Ledger
from reconciler.state.lock import ledger_lock
from support.desired import desired_state
from support.launchdarkly import TARGET

FILE = """\
project: web
flags:
  - key: base
    name: Base
    tags: [a]
    links:
      - {key: doc, deepLink: "https://docs.example/base"}
  - key: child
    name: Child
    initialPrerequisites: [{key: base, variationIndex: 0}]
"""


def desired(text: str = FILE) -> DesiredState:
    return desired_state(text)


def live_flag(key: str, **fields: Any) -> ExistingFlag:
    data = {
        "key": key,
        "name": key.title(),
        "tags": ["a"],
        "variations": [{"_id": f"{key}-t", "value": True}, {"_id": f"{key}-f", "value": False}],
        **fields,
    }
    return ExistingFlag(key, bool(fields.get("archived")), data)


def kinds(plan: Plan) -> dict[str, Kind]:
    return {a.address: a.kind for a in plan.actions}


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.load(tmp_path / "ledger.json")


def recorded(tmp_path: Path, state: DesiredState) -> Ledger:
    """A ledger in which everything of ``state`` was created."""
    path = tmp_path / "recorded.json"
    with ledger_lock(path) as lock:
        writable = Ledger.load(path, lock=lock)
        for flag in state.flags:
            writable.record_flag(TARGET, flag, action="created", variation_ids=["t", "f"])
            for link in flag.links:
                writable.record_link(TARGET, link, action="created", link_id="id-" + link.key)
        writable.compact()
    return Ledger.load(path)


def test_nothing_exists_so_everything_is_created_in_dependency_order(ledger: Ledger) -> None:
    plan = make_plan(desired(), ExistingState(live=True), ledger, TARGET)
    assert kinds(plan) == {
        "web/base": Kind.CREATE,
        "web/base/doc": Kind.CREATE,
        "web/child": Kind.CREATE,
    }
    by_address = {a.address: a for a in plan.actions}
    assert by_address["web/base/doc"].depends_on == ("web/base",)
    assert by_address["web/child"].depends_on == ("web/base",)
    assert plan.summary == "Plan: 3 to create."


def test_matching_flags_that_exist_but_are_not_recorded_are_adopted(ledger: Ledger) -> None:
    existing = ExistingState(live=True)
    existing.flags[("web", "base")] = live_flag("base")
    existing.links[("web", "base")] = {
        "doc": {"_key": "doc", "_id": "L1", "_deepLink": "https://docs.example/base"}
    }
    plan = make_plan(desired(), existing, ledger, TARGET)
    assert kinds(plan)["web/base"] is Kind.ADOPT
    assert kinds(plan)["web/base/doc"] is Kind.ADOPT
    assert kinds(plan)["web/child"] is Kind.CREATE
    adopt = next(a for a in plan.actions if a.address == "web/base")
    assert adopt.variation_ids == ("base-t", "base-f")


def test_a_flag_existing_with_other_settings_is_drift_with_the_field_diff(ledger: Ledger) -> None:
    existing = ExistingState(live=True)
    existing.flags[("web", "base")] = live_flag("base", tags=["b"])
    plan = make_plan(desired(), existing, ledger, TARGET)
    drift = next(a for a in plan.actions if a.address == "web/base")
    assert drift.kind is Kind.DRIFT
    assert [(d.path, d.before, d.after) for d in drift.diff] == [("tags[0]", "a", "b")]


def test_an_archived_key_is_blocked_and_so_are_its_links(ledger: Ledger) -> None:
    existing = ExistingState(live=True)
    existing.flags[("web", "base")] = live_flag("base", archived=True)
    plan = make_plan(desired(), existing, ledger, TARGET)
    assert kinds(plan)["web/base"] is Kind.BLOCKED
    assert kinds(plan)["web/base/doc"] is Kind.BLOCKED
    assert "archived" in next(a.reason for a in plan.actions if a.address == "web/base")


def test_recorded_and_unchanged_everywhere_is_unchanged(tmp_path: Path) -> None:
    state = desired()
    ledger = recorded(tmp_path, state)
    assert set(kinds(make_plan(state, ExistingState(live=False), ledger, TARGET)).values()) == {
        Kind.UNCHANGED
    }


def test_a_file_edited_since_creation_is_drift_offline(tmp_path: Path) -> None:
    ledger = recorded(tmp_path, desired())
    edited = desired(FILE.replace("tags: [a]", "tags: [a, b]"))
    plan = make_plan(edited, ExistingState(live=False), ledger, TARGET)
    drift = next(a for a in plan.actions if a.address == "web/base")
    assert drift.kind is Kind.DRIFT
    assert [d.path for d in drift.diff] == ["tags[1]"]
    assert "the file changed" in drift.reason


def test_a_recorded_flag_deleted_in_launchdarkly_is_drift_not_a_create(tmp_path: Path) -> None:
    state = desired()
    ledger = recorded(tmp_path, state)
    existing = ExistingState(live=True)
    existing.flags[("web", "child")] = live_flag("child")
    plan = make_plan(state, existing, ledger, TARGET)
    assert kinds(plan)["web/base"] is Kind.DRIFT
    assert kinds(plan)["web/base/doc"] is Kind.DRIFT
    assert not plan.has_changes


def test_recorded_resources_no_longer_declared_are_orphans(tmp_path: Path) -> None:
    ledger = recorded(tmp_path, desired())
    only_child = desired("project: web\nflags:\n  - {key: child, name: Child}\n")
    plan = make_plan(only_child, ExistingState(live=False), ledger, TARGET)
    assert kinds(plan)["web/base"] is Kind.ORPHAN
    assert kinds(plan)["web/base/doc"] is Kind.ORPHAN


def test_a_prerequisite_archived_in_launchdarkly_blocks_the_create(ledger: Ledger) -> None:
    existing = ExistingState(live=True)
    existing.flags[("web", "base")] = live_flag("base", archived=True)
    plan = make_plan(desired(), existing, ledger, TARGET)
    child = next(a for a in plan.actions if a.address == "web/child")
    assert child.kind is Kind.BLOCKED
    assert "prerequisite flag 'base' is archived" in child.reason


def test_the_fingerprint_changes_with_what_exists_and_is_stable_otherwise(ledger: Ledger) -> None:
    state = desired()
    empty = make_plan(state, ExistingState(live=True), ledger, TARGET)
    again = make_plan(state, ExistingState(live=True), ledger, TARGET)
    existing = ExistingState(live=True)
    existing.flags[("web", "base")] = live_flag("base")
    changed = make_plan(state, existing, ledger, TARGET)
    assert empty.fingerprint == again.fingerprint
    assert empty.fingerprint != changed.fingerprint
    assert make_plan(state, ExistingState(live=True), ledger, "emulator").fingerprint != (
        empty.fingerprint
    )


def test_a_plans_fingerprints_describe_the_ledger_it_was_made_on(tmp_path: Path) -> None:
    state = desired()
    path = tmp_path / "ledger.json"
    with ledger_lock(path) as lock:
        ledger = Ledger.load(path, lock=lock)
        asked = make_plan(state, ExistingState(live=True), ledger, TARGET)
        fingerprint = asked.fingerprint  # taken before anything is applied, as apply does
        unasked = make_plan(state, ExistingState(live=True), ledger, TARGET)
        ledger.record_flag(TARGET, state.flags[0], action="created", variation_ids=["t", "f"])
        assert asked.fingerprint == fingerprint
        # Hashed lazily, a fingerprint taken now would describe a plan nobody made.
        with pytest.raises(RuntimeError, match="the ledger changed after the plan was made"):
            _ = unasked.fingerprint
        assert make_plan(state, ExistingState(live=True), ledger, TARGET).fingerprint != fingerprint
        ledger.compact()


def test_actions_are_sorted_by_address_whatever_the_file_order() -> None:
    text = "project: web\nflags:\n  - {key: b, name: B}\n  - {key: a, name: A}\n"
    state = desired(text)
    plan = make_plan(state, ExistingState(live=False), Ledger(Path("unused.json")), TARGET)
    assert [a.address for a in plan.actions] == ["web/a", "web/b"]


# -- drift settles ------------------------------------------------------------------------------


def test_reordered_tags_are_not_drift_offline(tmp_path: Path) -> None:
    two_tags = FILE.replace("tags: [a]", "tags: [a, b]")
    ledger = recorded(tmp_path, desired(two_tags))
    plan = make_plan(desired(FILE.replace("tags: [a]", "tags: [b, a]")),
                     ExistingState(live=False), ledger, TARGET)  # fmt: skip
    assert kinds(plan)["web/base"] is Kind.UNCHANGED


def test_live_a_changed_file_matching_launchdarkly_is_unchanged_with_a_refresh_note(
    tmp_path: Path,
) -> None:
    ledger = recorded(tmp_path, desired())
    edited = desired(FILE.replace("tags: [a]", "tags: [a, b]"))
    existing = live_state(base=live_flag("base", tags=["b", "a"]))
    base = action(make_plan(edited, existing, ledger, TARGET), "web/base")
    assert base.kind is Kind.UNCHANGED
    assert "agree again; apply updates the ledger's record" in base.reason


def test_live_the_file_is_compared_with_launchdarkly_not_with_the_record(tmp_path: Path) -> None:
    ledger = recorded(tmp_path, desired())
    edited = desired(FILE.replace("tags: [a]", "tags: [a, b]"))
    base = action(make_plan(edited, live_state(), ledger, TARGET), "web/base")
    assert base.kind is Kind.DRIFT
    assert "the file changed since the flag was created" in base.reason
    # From the side that stayed (LaunchDarkly) to the side that changed (the file).
    assert [(d.path, d.before, d.after) for d in base.diff] == [("tags[1]", ABSENT, "b")]


def test_an_accepted_difference_is_unchanged_until_it_differs_otherwise(tmp_path: Path) -> None:
    state = desired()
    path = tmp_path / "accepted.json"
    differing = live_flag("base", tags=["z"])
    diff = compare.flag_differences(state.flags[0].fields, differing.data)
    with ledger_lock(path) as lock:
        ledger = Ledger.load(path, lock=lock)
        ledger.record_flag(TARGET, state.flags[0], action="created", variation_ids=[],
                           accepted=compare.differences_digest(diff))  # fmt: skip
        ledger.compact()
    ledger = Ledger.load(path)
    accepted = action(make_plan(state, live_state(base=differing), ledger, TARGET), "web/base")
    assert accepted.kind is Kind.UNCHANGED
    assert "as accepted" in accepted.reason
    assert accepted.diff == diff
    other = live_state(base=live_flag("base", tags=["y"]))
    assert action(make_plan(state, other, ledger, TARGET), "web/base").kind is Kind.DRIFT


def test_adopt_drifted_adopts_what_exists_with_other_settings_with_its_differences(
    ledger: Ledger,
) -> None:
    existing = live_state(base=live_flag("base", tags=["b"]))
    plain = action(make_plan(desired(), existing, ledger, TARGET), "web/base")
    assert plain.kind is Kind.DRIFT
    assert "apply --adopt-drifted adopts it as it is" in plain.reason
    adopted = action(make_plan(desired(), existing, ledger, TARGET, adopt_drifted=True), "web/base")
    assert adopted.kind is Kind.ADOPT
    assert adopted.diff == plain.diff


def test_orphans_are_reported_only_for_the_projects_the_files_declare(tmp_path: Path) -> None:
    ledger = recorded(tmp_path, desired())
    other = desired("project: payments\nflags:\n  - {key: pay, name: Pay}\n")
    plan = make_plan(other, ExistingState(live=False), ledger, TARGET)
    assert kinds(plan) == {"payments/pay": Kind.CREATE}


def live_state(**flags: ExistingFlag) -> ExistingState:
    """Live: ``flags`` exist, and ``base``'s link ``doc`` as declared."""
    existing = ExistingState(live=True)
    existing.flags[("web", "child")] = live_flag("child")
    existing.flags[("web", "base")] = live_flag("base")
    for key, found in flags.items():
        existing.flags[("web", key)] = found
    return existing


def action(plan: Plan, address: str) -> Any:
    return next(a for a in plan.actions if a.address == address)


TYPED = (
    "project: web\nflags:\n"
    "  - {key: typed, name: Typed, variations: [{value: {w: VALUE}}, {value: {w: 2}}],\n"
    '     links: [{key: doc, deepLink: "https://docs.example/typed"}]}\n'
)


@pytest.mark.parametrize(
    ("created", "now"),
    [("true", "1"), ("1", "1.0"), ("false", "0")],
)
def test_offline_a_value_python_calls_equal_but_json_does_not_is_drift(
    tmp_path: Path, created: str, now: str
) -> None:
    """Offline, a record with the very spec of the file takes the ledger's digest instead of
    hashing the spec again: only a spec that is the same JSON, in type too, may."""
    ledger = recorded(tmp_path, desired(TYPED.replace("VALUE", created)))
    same = make_plan(
        desired(TYPED.replace("VALUE", created)), ExistingState(live=False), ledger, TARGET
    )
    assert set(kinds(same).values()) == {Kind.UNCHANGED}
    fresh = desired(TYPED.replace("VALUE", created)).flags[0]
    assert [a.digest for a in same.actions] == [fresh.digest, fresh.links[0].digest]
    after = desired(TYPED.replace("VALUE", now))
    assert after.flags[0].spec == fresh.spec  # to Python, the same
    plan = make_plan(after, ExistingState(live=False), ledger, TARGET)
    assert kinds(plan) == {"web/typed": Kind.DRIFT, "web/typed/doc": Kind.UNCHANGED}
    (change,) = next(a for a in plan.actions if a.address == "web/typed").diff
    assert change.path == "variations[0].value.w"


def test_offline_a_recorded_link_is_unchanged_with_its_source_digest_and_id(tmp_path: Path) -> None:
    state = desired()
    ledger = recorded(tmp_path, state)
    plan = make_plan(state, ExistingState(live=False), ledger, TARGET)
    link = next(a for a in plan.actions if a.address == "web/base/doc")
    spec = state.flags[0].links[0]
    assert link.data == {
        "action": "unchanged", "resource": "link", "address": "web/base/doc", "project": "web",
        "flag": "base", "link": "doc", "source": str(spec.location), "digest": spec.digest,
    }  # fmt: skip
    assert (link.link_id, link.reason, link.diff, link.body) == ("id-doc", "", (), None)
