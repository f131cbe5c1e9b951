"""Create bodies are validated like LaunchDarkly does: a 400 naming the field, nothing stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.emulator import Emulator

FLAGS = "/api/v2/flags/demo"
LINKS = "/api/v2/flag-links/projects/demo/flags/base"
OK = {"key": "ok-flag", "name": "OK"}
MIGRATION = {"purpose": "migration", "key": "mig", "name": "Mig"}


def _flag(**fields: Any) -> dict[str, Any]:
    return {**OK, **fields}


BAD_FLAGS = [
    pytest.param({"name": "No key"}, "key: required", id="missing-key"),
    pytest.param({"key": "no-name"}, "name: required", id="missing-name"),
    pytest.param(_flag(name="  "), "name: must not be empty", id="blank-name"),
    pytest.param(_flag(key="-starts-with-dash"), "key: '-starts-with-dash'", id="bad-key"),
    pytest.param(_flag(key="has space"), "key: 'has space'", id="key-with-space"),
    pytest.param(_flag(key=12), "key: must be a string", id="key-not-string"),
    pytest.param(_flag(name=["x"]), "name: must be a string", id="name-not-string"),
    pytest.param(_flag(temporary="yes"), "temporary: must be a boolean", id="temporary-type"),
    pytest.param(_flag(description=3), "description: must be a string", id="description-type"),
    pytest.param(_flag(tags="a"), "tags: must be an array", id="tags-type"),
    pytest.param(_flag(tags=["ok", "bad tag"]), "tags[1]:", id="bad-tag"),
    pytest.param(
        _flag(variations={"value": 1}), "variations: must be an array", id="variations-type"
    ),
    pytest.param(
        _flag(variations=[{"value": 1}]),
        "variations: a flag needs at least two",
        id="one-variation",
    ),
    pytest.param(
        _flag(variations=[{"value": 1}, {"name": "x"}]),
        "variations[1].value: required",
        id="variation-without-value",
    ),
    pytest.param(
        _flag(variations=[{"value": "a"}, {"value": "a"}]),
        "variations[1].value: duplicate of variations[0]",
        id="duplicate-values",
    ),
    pytest.param(
        _flag(variations=[{"value": 1}, {"value": 1.0}]),
        "variations[1].value: duplicate",
        id="duplicate-numbers",
    ),
    pytest.param(
        _flag(variations=[{"value": "a"}, {"value": 2}]),
        "variations[1].value: is number but variations[0] is string",
        id="mixed-types",
    ),
    pytest.param(
        _flag(variations=[{"value": 1}, {"value": 2, "name": 5}]),
        "variations[1].name: must be a string",
        id="variation-name-type",
    ),
    pytest.param(
        _flag(defaults={"onVariation": 2, "offVariation": 0}),
        "defaults.onVariation: 2 is out of range",
        id="default-out-of-range",
    ),
    pytest.param(
        _flag(defaults={"onVariation": -1, "offVariation": 0}),
        "defaults.onVariation: -1 is out of range",
        id="default-negative",
    ),
    pytest.param(
        _flag(defaults={"onVariation": 0}),
        "defaults.offVariation: required",
        id="defaults-incomplete",
    ),
    pytest.param(
        _flag(defaults={"onVariation": "0", "offVariation": 1}),
        "defaults.onVariation: must be an integer",
        id="default-type",
    ),
    pytest.param(
        _flag(defaults={"onVariation": True, "offVariation": 1}),
        "defaults.onVariation: must be an integer",
        id="default-bool",
    ),
    pytest.param(
        _flag(clientSideAvailability={"usingEnvironmentId": True}),
        "clientSideAvailability.usingMobileKey: required",
        id="csa-incomplete",
    ),
    pytest.param(
        _flag(clientSideAvailability={"usingEnvironmentId": 1, "usingMobileKey": False}),
        "clientSideAvailability.usingEnvironmentId: must be a boolean",
        id="csa-type",
    ),
    pytest.param(
        _flag(customProperties={"jira": {"name": "Jira"}}),
        "customProperties.jira.value: required",
        id="custom-property-no-value",
    ),
    pytest.param(
        _flag(customProperties={"jira": {"name": "Jira", "value": [1]}}),
        "customProperties.jira.value[0]",
        id="custom-property-value-type",
    ),
    pytest.param(
        _flag(maintainerId="abc", maintainerTeamKey="team"),
        "maintainerId: send either",
        id="two-maintainers",
    ),
    pytest.param(
        _flag(purpose="experiment"), "purpose: must be 'migration' or 'holdout'", id="bad-purpose"
    ),
    pytest.param(_flag(purpose="holdout"), "purpose: holdout", id="holdout"),
    pytest.param(MIGRATION, "migrationSettings: required", id="migration-without-settings"),
    pytest.param(
        {**MIGRATION, "migrationSettings": {}},
        "migrationSettings.stageCount: required",
        id="stage-count-missing",
    ),
    pytest.param(
        {**MIGRATION, "migrationSettings": {"stageCount": 3}},
        "migrationSettings.stageCount: must be 2, 4 or 6",
        id="stage-count-3",
    ),
    pytest.param(
        {**MIGRATION, "migrationSettings": {"stageCount": "2"}},
        "migrationSettings.stageCount: must be an integer",
        id="stage-count-string",
    ),
    pytest.param(
        {**MIGRATION, "migrationSettings": {"stageCount": 6}},
        "migrationSettings.contextKind: required",
        id="six-stages-without-context",
    ),
    pytest.param(
        {**MIGRATION, "migrationSettings": {"stageCount": 4, "contextKind": "user"}},
        "migrationSettings.contextKind: only for a 6-stage",
        id="context-kind-with-four",
    ),
    pytest.param(
        {
            **MIGRATION,
            "migrationSettings": {"stageCount": 2},
            "variations": [{"value": 1}, {"value": 2}],
        },
        "variations: a migration flag",
        id="migration-with-variations",
    ),
    pytest.param(
        {
            **MIGRATION,
            "migrationSettings": {"stageCount": 2},
            "defaults": {"onVariation": 0, "offVariation": 0},
        },
        "defaults: a migration flag",
        id="migration-with-defaults",
    ),
    pytest.param(
        _flag(migrationSettings={"stageCount": 2}),
        "migrationSettings: only for flags whose purpose is 'migration'",
        id="settings-without-purpose",
    ),
    pytest.param(
        _flag(initialPrerequisites=[{"key": "nope", "variationId": "x"}]),
        "initialPrerequisites[0].key: unknown flag 'nope'",
        id="prerequisite-unknown-flag",
    ),
    pytest.param(
        _flag(initialPrerequisites=[{"key": "base", "variationId": "not-an-id"}]),
        "initialPrerequisites[0].variationId: 'not-an-id' is not a variation of 'base'",
        id="prerequisite-unknown-variation",
    ),
    pytest.param(
        _flag(initialPrerequisites=[{"key": "base"}]),
        "initialPrerequisites[0].variationId: required",
        id="prerequisite-incomplete",
    ),
    pytest.param(
        _flag(initialPrerequisites={"key": "base"}),
        "initialPrerequisites: must be an array",
        id="prerequisites-type",
    ),
    pytest.param(
        ["not", "an", "object"], "request body: must be a JSON object", id="body-not-object"
    ),
    pytest.param(_flag(isFlagOn="on"), "isFlagOn: must be a boolean", id="is-flag-on-type"),
]


@pytest.fixture
def base(emu: Emulator) -> dict[str, Any]:
    return emu.create_flag("demo", {"key": "base", "name": "Base"})


@pytest.mark.usefixtures("base")
@pytest.mark.parametrize(("body", "message"), BAD_FLAGS)
def test_invalid_flag_body_is_a_400_naming_the_field(
    http: httpx.Client, emu: Emulator, body: object, message: str
) -> None:
    response = http.post(FLAGS, json=body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert message in response.json()["message"]
    assert [f["key"] for f in emu.flags("demo")] == ["base"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b'{"key": "a", "name": ', "not valid JSON", id="truncated"),
        pytest.param(b"\xff\xfe", "not valid JSON", id="not-utf8"),
        pytest.param(
            b'{"key": "a", "name": "A", "variations": [{"value": NaN}]}', "not valid JSON", id="nan"
        ),
        pytest.param(
            b'{"key": "a", "name": "A", "variations": [{"value": 1e999}]}',
            "not valid JSON",
            id="infinite",
        ),
        pytest.param(b"", "request body: required", id="empty"),
    ],
)
def test_malformed_json_is_a_400(http: httpx.Client, content: bytes, message: str) -> None:
    response = http.post(FLAGS, content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert message in response.json()["message"]


def test_unknown_body_fields_are_ignored(http: httpx.Client) -> None:
    response = http.post(FLAGS, json={**OK, "colour": "blue", "isFlagOn": True})
    assert response.status_code == 201
    assert "colour" not in response.json()


def test_body_without_json_content_type_is_refused(http: httpx.Client) -> None:
    response = http.post(FLAGS, content=b'{"key": "a", "name": "A"}')
    assert response.status_code == 415


BAD_LINKS = [
    pytest.param({"title": "no target"}, "deepLink: required", id="no-deep-link"),
    pytest.param(
        {"deepLink": "jira/PAY-1"},
        "deepLink: 'jira/PAY-1' is not an absolute",
        id="relative-deep-link",
    ),
    pytest.param({"deepLink": 5}, "deepLink: must be a string", id="deep-link-type"),
    pytest.param({"key": "bad key", "deepLink": "https://x.test"}, "key: 'bad key'", id="bad-key"),
    pytest.param(
        {"deepLink": "https://x.test", "timestamp": "now"},
        "timestamp: must be an integer",
        id="timestamp-type",
    ),
    pytest.param(
        {"deepLink": "https://x.test", "metadata": {"a": 1}},
        "metadata: must be an object",
        id="metadata-type",
    ),
    pytest.param(
        {"deepLink": "https://x.test", "title": 1}, "title: must be a string", id="title-type"
    ),
    pytest.param(
        {"integrationKey": "jira", "deepLink": "not a url"},
        "deepLink: 'not a url' is not an absolute",
        id="integration-link-bad-url",
    ),
]


@pytest.mark.usefixtures("base")
@pytest.mark.parametrize(("body", "message"), BAD_LINKS)
def test_invalid_link_body_is_a_400_naming_the_field(
    http: httpx.Client, emu: Emulator, beta: dict[str, str], body: object, message: str
) -> None:
    response = http.post(LINKS, json=body, headers=beta)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert message in response.json()["message"]
    assert emu.links("demo", "base") == []
