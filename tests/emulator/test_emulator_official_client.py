"""LaunchDarkly's official Python client (launchdarkly_api) against the emulator.

The client's models enforce the spec's required fields and types, so every call that returns
here has deserialized into them; the raw bodies are also validated against the OpenAPI excerpt.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from launchdarkly_api import ApiClient

Clients = tuple["ApiClient", "ApiClient"]


def _raw(api: Any, method: str, *args: Any, **kwargs: Any) -> Any:
    """Call ``method`` without deserializing, returning the decoded JSON body."""
    response = getattr(api, f"{method}_without_preload_content")(*args, **kwargs)
    try:
        return json.loads(response.data)
    finally:
        response.release_conn()


def test_boolean_flag_created_with_official_client_has_every_required_field(
    ld: ModuleType, ld_clients: Clients, contract: Any
) -> None:
    flags = ld.FeatureFlagsApi(ld_clients[0])
    flag = flags.post_feature_flag(
        "demo",
        ld.FeatureFlagBody(
            name="Checkout redesign",
            key="checkout-redesign",
            tags=["checkout", "payments"],
            maintainerTeamKey="payments",
            clientSideAvailability=ld.ClientSideAvailabilityPost(
                usingEnvironmentId=True, usingMobileKey=False
            ),
            customProperties={"jira": ld.CustomProperty(name="Jira", value=["PAY-1"])},
        ),
    )
    assert flag.kind == "boolean"
    assert flag.temporary is True
    assert [v.value for v in flag.variations] == [True, False]
    assert all(v.id for v in flag.variations)
    assert flag.defaults is not None
    assert (flag.defaults.on_variation, flag.defaults.off_variation) == (0, 1)
    assert flag.description == ""
    assert flag.archived is False
    assert flag.deprecated is False
    assert isinstance(flag.creation_date, int)
    assert flag.version == 1
    assert flag.experiments.baseline_idx == 0
    assert flag.experiments.items == []
    assert flag.links["self"].href == "/api/v2/flags/demo/checkout-redesign"
    assert flag.links["parent"].href == "/api/v2/flags/demo"
    assert flag.maintainer_team_key == "payments"
    assert flag.client_side_availability is not None
    assert flag.client_side_availability.using_environment_id is True
    assert flag.custom_properties["jira"].value == ["PAY-1"]
    assert flag.tags == ["checkout", "payments"]
    contract.validate(_raw(flags, "get_feature_flag", "demo", "checkout-redesign"), "FeatureFlag")


def test_multivariate_flag_keeps_variations_and_defaults(
    ld: ModuleType, ld_clients: Clients
) -> None:
    flags = ld.FeatureFlagsApi(ld_clients[0])
    flag = flags.post_feature_flag(
        "demo",
        ld.FeatureFlagBody(
            name="Banner colour",
            key="banner-colour",
            temporary=False,
            description="Which colour the banner uses",
            variations=[
                ld.Variation(value="red", name="Red"),
                ld.Variation(value="green", name="Green", description="Calm"),
                ld.Variation(value="blue"),
            ],
            defaults=ld.Defaults(onVariation=2, offVariation=0),
        ),
    )
    assert flag.kind == "multivariate"
    assert flag.temporary is False
    assert [(v.value, v.name) for v in flag.variations] == [
        ("red", "Red"),
        ("green", "Green"),
        ("blue", None),
    ]
    assert flag.variations[1].description == "Calm"
    assert len({v.id for v in flag.variations}) == 3
    assert flag.defaults is not None
    assert (flag.defaults.on_variation, flag.defaults.off_variation) == (2, 0)


@pytest.mark.parametrize(
    ("stages", "context_kind", "values"),
    [
        (2, None, ["off", "complete"]),
        (4, None, ["off", "shadow", "live", "complete"]),
        (6, "account", ["off", "dualwrite", "shadow", "live", "rampdown", "complete"]),
    ],
)
def test_migration_flag_gets_one_variation_per_stage(
    ld: ModuleType, ld_clients: Clients, stages: int, context_kind: str | None, values: list[str]
) -> None:
    flags = ld.FeatureFlagsApi(ld_clients[0])
    flag = flags.post_feature_flag(
        "demo",
        ld.FeatureFlagBody(
            name="Orders DB",
            key=f"orders-db-{stages}",
            purpose="migration",
            migrationSettings=ld.MigrationSettingsPost(stageCount=stages, contextKind=context_kind),
        ),
    )
    assert flag.purpose == "migration"
    assert flag.kind == "multivariate"
    assert [v.value for v in flag.variations] == values
    assert flag.migration_settings is not None
    assert flag.migration_settings.stage_count == stages
    assert flag.migration_settings.context_kind == context_kind


def test_duplicate_flag_raises_the_clients_conflict_exception(
    ld: ModuleType, ld_clients: Clients
) -> None:
    flags = ld.FeatureFlagsApi(ld_clients[0])
    body = ld.FeatureFlagBody(name="Dup", key="dup")
    flags.post_feature_flag("demo", body)
    with pytest.raises(ld.exceptions.ConflictException) as info:
        flags.post_feature_flag("demo", body)
    assert info.value.status == 409
    assert '"code":"conflict"' in str(info.value.body)


def test_list_and_get_deserialize_into_the_clients_models(
    ld: ModuleType, ld_clients: Clients
) -> None:
    flags = ld.FeatureFlagsApi(ld_clients[0])
    for i in range(3):
        flags.post_feature_flag("demo", ld.FeatureFlagBody(name=f"F{i}", key=f"f{i}"))
    page = flags.get_feature_flags("demo", limit=2)
    assert [f.key for f in page.items] == ["f0", "f1"]
    assert page.total_count == 3
    assert page.links["next"].href == "/api/v2/flags/demo?limit=2&offset=2"
    assert flags.get_feature_flag("demo", "f2").name == "F2"
    with pytest.raises(ld.exceptions.NotFoundException):
        flags.get_feature_flag("demo", "missing")


def test_prerequisite_names_a_variation_id_and_is_read_back_by_index_per_environment(
    ld: ModuleType,
    ld_clients: Clients,
) -> None:
    flags = ld.FeatureFlagsApi(ld_clients[0])
    parent = flags.post_feature_flag("demo", ld.FeatureFlagBody(name="Parent", key="parent"))
    variation_id = parent.variations[0].id
    assert variation_id is not None
    child = flags.post_feature_flag(
        "demo",
        ld.FeatureFlagBody(
            name="Child",
            key="child",
            initialPrerequisites=[ld.FlagPrerequisitePost(key="parent", variationId=variation_id)],
        ),
    )
    assert child.key == "child"
    # LaunchDarkly's Prerequisite names the variation by index, in each environment.
    fetched = flags.get_feature_flag("demo", "child")
    assert fetched.environments is not None
    assert sorted(fetched.environments) == ["production", "test"]
    for config in fetched.environments.values():
        assert config.prerequisites == [ld.Prerequisite(key="parent", variation=0)]
        assert config.summary is not None
        assert config.summary.prerequisites == 1
    listed = flags.get_feature_flags("demo", env="test", summary=False).items
    assert [(f.key, sorted(f.environments or {})) for f in listed] == [
        ("parent", ["test"]),
        ("child", ["test"]),
    ]
    assert listed[1].environments["test"] == fetched.environments["test"]
    assert all(f.environments is None for f in flags.get_feature_flags("demo").items)


def test_flag_links_through_the_beta_client(
    ld: ModuleType, ld_clients: Clients, contract: Any
) -> None:
    ld.FeatureFlagsApi(ld_clients[0]).post_feature_flag(
        "demo", ld.FeatureFlagBody(name="Linked", key="linked")
    )
    links = ld.FlagLinksBetaApi(ld_clients[1])
    created = links.create_flag_link(
        "demo",
        "linked",
        ld.FlagLinkPost(
            key="pay-1234",
            deepLink="https://jira.example.com/browse/PAY-1234",
            title="PAY-1234",
            description="The epic",
            metadata={"team": "payments"},
        ),
    )
    assert created.key == "pay-1234"
    assert created.deep_link == "https://jira.example.com/browse/PAY-1234"
    assert created.title == "PAY-1234"
    assert created.description == "The epic"
    assert created.metadata == {"team": "payments"}
    assert created.timestamp.milliseconds == created.created_at
    assert created.timestamp.seconds == created.created_at // 1000
    integration = links.create_flag_link(
        "demo", "linked", ld.FlagLinkPost(integrationKey="slack", timestamp=1_700_000_000_000)
    )
    assert integration.deep_link == ""
    assert integration.integration_key == "slack"
    assert integration.timestamp.rfc3339 == "2023-11-14T22:13:20.000Z"

    collection = links.get_flag_links("demo", "linked")
    assert [link.id for link in collection.items] == [created.id, integration.id]
    assert collection.links["self"].href == "/api/v2/flag-links/projects/demo/flags/linked"
    contract.validate(_raw(links, "get_flag_links", "demo", "linked"), "FlagLinkCollectionRep")


def test_flag_link_without_beta_header_raises_forbidden(
    ld: ModuleType, ld_clients: Clients
) -> None:
    ld.FeatureFlagsApi(ld_clients[0]).post_feature_flag(
        "demo", ld.FeatureFlagBody(name="F", key="f")
    )
    # The GA client sends LD-API-Version: 20240415, as a caller that forgot the beta header would.
    with pytest.raises(ld.exceptions.ForbiddenException):
        ld.FlagLinksBetaApi(ld_clients[0]).get_flag_links("demo", "f")
