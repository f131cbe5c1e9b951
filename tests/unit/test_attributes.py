"""What a create will send, as attribute lines: every field, and LaunchDarkly's defaults marked."""

from __future__ import annotations

from typing import Any

from reconciler.model import FlagSpec, LinkSpec, Location, PrerequisiteSpec
from reconciler.plan.attributes import DEFAULTED, attributes, value_text
from reconciler.plan.plan import Action, Kind

AT = Location("flags/web.yaml", 3, 5)


def _create(spec: FlagSpec) -> Action:
    return Action(
        Kind.CREATE, "flag", spec.project, spec.key, body=spec.post_body(), clone=spec.clone
    )


def _lines(spec: FlagSpec) -> dict[str, tuple[str, str]]:
    return {name: (value, note) for name, value, note in attributes(_create(spec))}


def _flag(**fields: Any) -> FlagSpec:
    return FlagSpec("web", "checkout", {"key": "checkout", "name": "Checkout", **fields}, AT)


def test_a_minimal_flag_shows_every_value_launchdarkly_fills_in_marked_as_its_default() -> None:
    lines = _lines(_flag())
    assert lines["key"] == ('"checkout"', "")
    assert lines["name"] == ('"Checkout"', "")
    assert lines["description"] == ('""', DEFAULTED)
    assert lines["temporary"] == ("true", DEFAULTED)
    assert lines["tags"] == ("[]", DEFAULTED)
    assert lines["variations[0]"] == ("true", DEFAULTED)
    assert lines["variations[1]"] == ("false", DEFAULTED)
    assert lines["defaults.onVariation"] == ("0 (true)", DEFAULTED)
    assert lines["defaults.offVariation"] == ("1 (false)", DEFAULTED)
    assert lines["clientSideAvailability"] == ("the project's default for new flags", DEFAULTED)
    assert lines["isFlagOn"] == ("false", DEFAULTED)
    assert DEFAULTED == "LaunchDarkly's default"


def test_declared_fields_are_shown_as_sent_in_a_fixed_order_and_unmarked() -> None:
    spec = _flag(
        temporary=False,
        tags=["psp", "sdk"],
        description="One-page checkout",
        variations=[{"value": "green", "name": "Green", "description": "now"}, {"value": "blue"}],
        defaults={"onVariation": 1, "offVariation": 0},
        clientSideAvailability={"usingEnvironmentId": True, "usingMobileKey": False},
        customProperties={"jira.issues": {"name": "Jira issues", "value": ["PAY-1"]}},
        maintainerTeamKey="payments",
        isFlagOn=True,
    )
    shown = attributes(_create(spec))
    assert [name for name, _, _ in shown] == [
        "key", "name", "description", "temporary", "tags", "variations[0]", "variations[1]",
        "defaults.onVariation", "defaults.offVariation", "clientSideAvailability",
        "customProperties", "maintainerTeamKey", "isFlagOn",
    ]  # fmt: skip
    assert all(note == "" for _, _, note in shown)
    lines = {name: value for name, value, _ in shown}
    assert lines["tags"] == '["psp", "sdk"]'
    assert lines["variations[0]"] == '"green", name "Green", description "now"'
    assert lines["defaults.onVariation"] == '1 ("blue")'  # the variation each default picks
    assert lines["defaults.offVariation"] == '0 ("green", name "Green")'
    assert (
        lines["clientSideAvailability"] == '{"usingEnvironmentId": true, "usingMobileKey": false}'
    )
    assert (
        lines["customProperties"] == '{"jira.issues": {"name": "Jira issues", "value": ["PAY-1"]}}'
    )
    assert lines["isFlagOn"] == "true"


def test_defaults_left_out_pick_the_first_and_last_of_the_declared_variations() -> None:
    lines = _lines(_flag(variations=[{"value": 1}, {"value": 2}, {"value": 3, "name": "Three"}]))
    assert lines["defaults.onVariation"] == ("0 (1)", DEFAULTED)
    assert lines["defaults.offVariation"] == ('2 (3, name "Three")', DEFAULTED)


def test_a_migration_flag_shows_its_settings_and_no_boolean_variations() -> None:
    settings = {"stageCount": 6, "contextKind": "account"}
    lines = _lines(_flag(purpose="migration", migrationSettings=settings, maintainerId="m-1"))
    assert lines["purpose"] == ('"migration"', "")
    assert lines["migrationSettings"] == ('{"stageCount": 6, "contextKind": "account"}', "")
    assert lines["maintainerId"] == ('"m-1"', "")
    assert lines["variations"] == ("one per stage of migrationSettings", DEFAULTED)
    assert not any(name.startswith("defaults") for name in lines)


def test_prerequisites_are_shown_by_key_and_variation_their_id_known_after_apply() -> None:
    spec = FlagSpec(
        "web", "child", {"key": "child", "name": "Child"}, AT,
        prerequisites=(PrerequisiteSpec("parent", 1, AT),),
    )  # fmt: skip
    assert spec.post_body()["initialPrerequisites"] == [
        {"key": "parent", "variationId": None, "variation": 1}
    ]
    assert spec.post_body({("parent", 1): "v-1"})["initialPrerequisites"] == [
        {"key": "parent", "variationId": "v-1"}
    ]
    assert _lines(spec)["initialPrerequisites[0]"] == (
        '"parent", variation 1',
        "variationId known after apply",
    )


def test_a_clone_shows_no_create_defaults_for_what_it_copies_from_its_source() -> None:
    spec = FlagSpec("web", "copy", {"key": "copy", "name": "Copy"}, AT, clone="original")
    action = Action(Kind.CREATE, "flag", "web", "copy", body=spec.post_body(), clone="web/original")
    lines = {name: (value, note) for name, value, note in attributes(action)}
    assert not any(name.startswith(("variations", "defaults")) for name in lines)
    assert "clientSideAvailability" not in lines
    assert "isFlagOn" not in lines
    assert lines["temporary"] == ("true", DEFAULTED)  # the new flag's own: a create's default


def _link_create(fields: dict[str, Any]) -> Action:
    link = LinkSpec("web", "checkout", fields["key"], fields, AT)
    return Action(Kind.CREATE, "link", "web", "checkout", link.key, body=link.post_body())


def test_a_link_shows_its_key_url_title_description_and_integration() -> None:
    fields = {
        "key": "pay-1",
        "deepLink": "https://jira.example.com/browse/PAY-1",
        "title": "PAY-1",
        "description": "The epic",
        "integrationKey": "jira",
        "metadata": {"issueKey": "PAY-1"},
    }
    assert attributes(_link_create(fields)) == [
        ("key", '"pay-1"', ""),
        ("deepLink", '"https://jira.example.com/browse/PAY-1"', ""),
        ("title", '"PAY-1"', ""),
        ("description", '"The epic"', ""),
        ("integrationKey", '"jira"', ""),
        ("metadata", '{"issueKey": "PAY-1"}', ""),
    ]


def test_a_field_no_order_knows_is_still_shown_after_the_known_ones() -> None:
    shown = attributes(_create(_flag(includeInSnippet=True, futureField={"a": 1})))
    assert shown[-1] == ("futureField", '{"a": 1}', "")
    assert ("includeInSnippet", "true", "") in shown


def test_actions_other_than_creates_have_no_attributes() -> None:
    assert attributes(Action(Kind.UNCHANGED, "flag", "web", "checkout")) == []


def test_values_are_shown_as_the_json_they_are_sent_as() -> None:
    assert value_text('say "hi" – ü') == '"say \\"hi\\" – ü"'
    assert value_text(True) == "true"
    assert value_text(None) == "null"
    assert value_text(90.5) == "90.5"
    assert value_text({"a": [1, "b"]}) == '{"a": [1, "b"]}'


def test_a_link_field_no_order_names_is_shown_last_as_json() -> None:
    fields = {"timestamp": 1_700_000_000_000, "key": "doc", "deepLink": "https://d.example"}
    assert attributes(_link_create(fields)) == [
        ("key", '"doc"', ""),
        ("deepLink", '"https://d.example"', ""),
        ("timestamp", "1700000000000", ""),
    ]
