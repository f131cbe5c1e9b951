"""Comparing declared resources with LaunchDarkly's representation, field by field."""

from __future__ import annotations

from reconciler.plan.compare import (
    FieldDiff,
    differences,
    flag_differences,
    is_absent,
    link_differences,
    variation_ids,
)

LIVE_FLAG = {
    "key": "checkout",
    "name": "Checkout",
    "kind": "multivariate",
    "description": "",
    "temporary": True,
    "tags": ["payments", "checkout"],
    "_version": 3,
    "creationDate": 1_700_000_000_000,
    "variations": [
        {"_id": "v0", "value": "red", "name": "Red"},
        {"_id": "v1", "value": "blue"},
    ],
    "defaults": {"onVariation": 0, "offVariation": 1},
    "clientSideAvailability": {"usingEnvironmentId": True, "usingMobileKey": False},
    "_purpose": "migration",
    "migrationSettings": {"stageCount": 4},
}


def test_only_declared_fields_are_compared_and_server_fields_are_ignored() -> None:
    declared = {"key": "checkout", "name": "Checkout"}
    assert flag_differences(declared, LIVE_FLAG) == ()


def test_tags_compare_as_a_set_and_variations_without_their_ids() -> None:
    declared = {
        "key": "checkout",
        "name": "Checkout",
        "tags": ["checkout", "payments"],
        "variations": [{"value": "red", "name": "Red"}, {"value": "blue"}],
    }
    assert flag_differences(declared, LIVE_FLAG) == ()


def test_purpose_is_read_from_the_responses_underscored_field() -> None:
    declared = {"purpose": "migration", "migrationSettings": {"stageCount": 4}}
    assert flag_differences(declared, LIVE_FLAG) == ()


def test_a_changed_variation_name_is_one_field_level_difference() -> None:
    declared = {"variations": [{"value": "red", "name": "Crimson"}, {"value": "blue"}]}
    diff = flag_differences(declared, LIVE_FLAG)
    assert diff == (FieldDiff("variations[0].name", "Crimson", "Red"),)


def test_a_declared_field_missing_in_launchdarkly_shows_as_absent() -> None:
    declared = {"maintainerTeamKey": "payments"}
    diff = flag_differences(declared, LIVE_FLAG)
    assert diff == (FieldDiff("maintainerTeamKey", "payments", "(absent)"),)
    assert is_absent(diff[0].after)
    assert diff[0].data == {
        "path": "maintainerTeamKey", "before": "payments", "after": "(absent)", "absent": "after",
    }  # fmt: skip


def test_a_declared_string_that_reads_absent_is_not_taken_for_an_absent_field() -> None:
    declared = {"description": "(absent)"}
    diff = flag_differences(declared, LIVE_FLAG)
    assert [d.path for d in diff] == ["description"]
    assert not is_absent(diff[0].before)
    assert "absent" not in diff[0].data


def test_an_omitted_description_compares_equal_to_the_empty_default() -> None:
    declared = {"description": ""}
    assert flag_differences(declared, {"key": "x"}) == ()


def test_link_fields_map_to_the_responses_names() -> None:
    declared = {"key": "pay-1", "deepLink": "https://x.example/1", "title": "T", "timestamp": 5}
    live = {"_key": "pay-1", "_id": "id", "_deepLink": "https://x.example/1", "title": "T"}
    assert link_differences(declared, live) == ()
    moved = {**live, "_deepLink": "https://x.example/2"}
    assert link_differences(declared, moved) == (
        FieldDiff("deepLink", "https://x.example/1", "https://x.example/2"),
    )


def test_variation_ids_are_launchdarklys_in_order_and_empty_without_variations() -> None:
    assert variation_ids(LIVE_FLAG) == ("v0", "v1")
    assert variation_ids({"key": "x"}) == ()


def test_paths_of_keys_with_quotes_and_list_growth_are_readable() -> None:
    before = {"customProperties": {"it's": {"value": ["a"]}}}
    after = {"customProperties": {"it's": {"value": ["a", "b"]}}}
    (diff,) = differences(before, after)
    assert diff == FieldDiff("customProperties.it's.value[1]", "(absent)", "b")
    assert diff.data["absent"] == "before"
