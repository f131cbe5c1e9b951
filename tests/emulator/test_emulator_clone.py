"""``POST /api/v2/flags/{projectKey}?clone=SOURCE_KEY``: a create that copies another flag."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from reconciler.emulator import Emulator, Faults
from reconciler.emulator.clone import SOURCE_FIELDS
from reconciler.emulator.responses import ApiProblem
from reconciler.errors import InputError

FLAGS = "/api/v2/flags/demo"
# The per-environment fields that identify the new flag's configuration rather than copy it.
IDENTITY = ("salt", "sel", "lastModified", "version", "_site")

SOURCE = {
    "key": "banner",
    "name": "Banner",
    "description": "Which banner to show",
    "tags": ["ui"],
    "temporary": False,
    "variations": [
        {"value": "red", "name": "Red", "description": "Loud"},
        {"value": "green", "name": "Green"},
        {"value": "blue"},
    ],
    "defaults": {"onVariation": 2, "offVariation": 1},
    "clientSideAvailability": {"usingEnvironmentId": True, "usingMobileKey": True},
    "isFlagOn": True,
    "maintainerId": "member-1",
    "customProperties": {"jira": {"name": "Jira", "value": ["UI-1"]}},
}
# Targeting that only LaunchDarkly's UI (or its semantic patch) could set: written into the
# data file, since the emulator, like the reconciler, only creates.
PRODUCTION_TARGETING: dict[str, Any] = {
    "on": False,
    "targets": [{"values": ["alice", "bob"], "variation": 0, "contextKind": "user"}],
    "contextTargets": [{"values": ["acme"], "variation": 1, "contextKind": "organization"}],
    "rules": [
        {
            "_id": "rule-1",
            "description": "Beta testers",
            "clauses": [
                {
                    "_id": "clause-1",
                    "attribute": "groups",
                    "op": "in",
                    "values": ["beta"],
                    "negate": False,
                    "contextKind": "user",
                }
            ],
            "variation": 0,
            "trackEvents": True,
        }
    ],
    "fallthrough": {
        "rollout": {
            "variations": [{"variation": 0, "weight": 60000}, {"variation": 2, "weight": 40000}]
        }
    },
    "offVariation": 0,
    "trackEvents": True,
}


def _post(http: httpx.Client, body: dict[str, Any], source: str | None) -> httpx.Response:
    return http.post(FLAGS, json=body, params=None if source is None else {"clone": source})


def _targeted_source(
    tmp_path: Path, make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> tuple[Emulator, httpx.Client, Path]:
    """An emulator on a data file whose flag ``banner`` (with a prerequisite on ``parent``)
    has production targeting set as LaunchDarkly's UI would."""
    data = tmp_path / "emulator.json"
    first = make_emulator(projects=("demo",), data_path=data)
    http = make_client(first)
    parent = http.post(FLAGS, json={"key": "parent", "name": "Parent"}).json()
    prerequisite = {"key": "parent", "variationId": parent["variations"][1]["_id"]}
    assert _post(http, {**SOURCE, "initialPrerequisites": [prerequisite]}, None).status_code == 201
    first.stop()
    saved = json.loads(data.read_text())
    banner = saved["projects"]["demo"]["flags"][1]
    banner["environments"]["production"].update(PRODUCTION_TARGETING)
    data.write_text(json.dumps(saved))
    emu = make_emulator(projects=("demo",), data_path=data)
    return emu, make_client(emu), data


def test_clone_copies_variations_with_new_ids_and_the_flags_settings(http: httpx.Client) -> None:
    source = _post(http, SOURCE, None).json()
    body = {
        "key": "banner-copy",
        "name": "Banner copy",
        "description": "The copy",
        "tags": ["copy"],
        "temporary": True,
        "maintainerTeamKey": "web",
        "customProperties": {"owner": {"name": "Owner", "value": ["web"]}},
    }
    response = _post(http, body, "banner")
    assert response.status_code == 201
    copy = response.json()
    assert http.get(f"{FLAGS}/banner-copy").json() == copy
    strip = [{k: v for k, v in var.items() if k != "_id"} for var in source["variations"]]
    assert [{k: v for k, v in var.items() if k != "_id"} for var in copy["variations"]] == strip
    assert not {v["_id"] for v in copy["variations"]} & {v["_id"] for v in source["variations"]}
    assert len({v["_id"] for v in copy["variations"]}) == 3
    for field in ("kind", "defaults", "clientSideAvailability", "includeInSnippet"):
        assert copy[field] == source[field], field
    assert copy["kind"] == "multivariate"
    assert (copy["key"], copy["name"]) == ("banner-copy", "Banner copy")
    assert copy["description"] == "The copy"
    assert (copy["tags"], copy["temporary"]) == (["copy"], True)
    assert copy["maintainerTeamKey"] == "web"
    assert "maintainerId" not in copy  # the source's maintainer is not the copy's
    assert copy["customProperties"] == body["customProperties"]
    assert copy["_links"]["self"]["href"] == f"{FLAGS}/banner-copy"
    assert (copy["_version"], copy["archived"], copy["deprecated"]) == (1, False, False)
    assert copy["creationDate"] >= source["creationDate"]


def test_clone_copies_every_environments_whole_configuration(
    tmp_path: Path, make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    _, http, _ = _targeted_source(tmp_path, make_emulator, make_client)
    source = http.get(f"{FLAGS}/banner").json()
    copy = _post(http, {"key": "copy", "name": "Copy"}, "banner").json()
    assert sorted(copy["environments"]) == ["production", "test"]
    for env, config in copy["environments"].items():
        original = source["environments"][env]
        same = {k: v for k, v in config.items() if k not in (*IDENTITY, "rules")}
        assert same == {k: v for k, v in original.items() if k not in (*IDENTITY, "rules")}
        assert config["_site"]["href"] == f"/demo/{env}/features/copy"
        assert config["salt"] != original["salt"]
        assert config["version"] == 1
        assert config["prerequisites"] == [{"key": "parent", "variation": 1}]
    production, test = copy["environments"]["production"], copy["environments"]["test"]
    assert (production["on"], test["on"]) == (False, True)  # the on/off state of each
    assert production["targets"] == PRODUCTION_TARGETING["targets"]
    assert production["contextTargets"] == PRODUCTION_TARGETING["contextTargets"]
    assert production["fallthrough"] == PRODUCTION_TARGETING["fallthrough"]
    assert (production["offVariation"], test["offVariation"]) == (0, 1)
    assert test["fallthrough"] == {"variation": 2}
    # Rules and clauses are the copy's own, with new ids (UNCONFIRMED), and otherwise the same.
    [rule] = production["rules"]
    [clause] = rule["clauses"]
    assert rule["_id"] != "rule-1"
    assert clause["_id"] != "clause-1"
    expected = PRODUCTION_TARGETING["rules"][0]
    assert {k: v for k, v in rule.items() if k not in ("_id", "clauses")} == {
        k: v for k, v in expected.items() if k not in ("_id", "clauses")
    }
    assert {k: v for k, v in clause.items() if k != "_id"} == {
        k: v for k, v in expected["clauses"][0].items() if k != "_id"
    }


def test_clone_of_a_migration_flag_keeps_its_purpose_and_settings(http: httpx.Client) -> None:
    body = {
        "key": "orders-db",
        "name": "Orders DB",
        "purpose": "migration",
        "migrationSettings": {"stageCount": 6, "contextKind": "account"},
    }
    source = _post(http, body, None).json()
    copy = _post(http, {"key": "payments-db", "name": "Payments DB"}, "orders-db").json()
    assert copy["_purpose"] == "migration"
    assert copy["migrationSettings"] == {"stageCount": 6, "contextKind": "account"}
    assert [v["value"] for v in copy["variations"]] == [v["value"] for v in source["variations"]]
    assert copy["defaults"] == source["defaults"]


def test_clone_of_a_clone_copies_the_first_flags_content(http: httpx.Client) -> None:
    _post(http, SOURCE, None)
    _post(http, {"key": "second", "name": "Second"}, "banner")
    third = _post(http, {"key": "third", "name": "Third"}, "second").json()
    assert [v["value"] for v in third["variations"]] == ["red", "green", "blue"]
    assert all(config["on"] for config in third["environments"].values())


def test_descriptive_fields_the_body_omits_take_a_creates_defaults_not_the_sources(
    http: httpx.Client,
) -> None:
    _post(http, SOURCE, None)
    copy = _post(http, {"key": "bare", "name": "Bare"}, "banner").json()
    assert (copy["description"], copy["tags"], copy["temporary"]) == ("", [], True)
    assert copy["customProperties"] == {}
    assert "maintainerId" not in copy


@pytest.mark.parametrize("field", SOURCE_FIELDS)
def test_a_field_the_clone_takes_from_its_source_is_refused_naming_it(
    http: httpx.Client, field: str
) -> None:
    _post(http, SOURCE, None)
    values: dict[str, Any] = {
        "variations": [{"value": 1}, {"value": 2}],
        "defaults": {"onVariation": 0, "offVariation": 1},
        "purpose": "migration",
        "migrationSettings": {"stageCount": 2},
        "initialPrerequisites": [],
        "isFlagOn": False,
        "clientSideAvailability": {"usingEnvironmentId": False, "usingMobileKey": False},
        "includeInSnippet": False,
    }
    response = _post(http, {"key": "copy", "name": "Copy", field: values[field]}, "banner")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_request",
        "message": f"{field}: a clone takes it from its source flag 'banner'; omit it",
    }
    assert http.get(f"{FLAGS}/copy").status_code == 404


def test_null_source_fields_count_as_not_sent_and_unknown_fields_are_ignored(
    http: httpx.Client,
) -> None:
    _post(http, SOURCE, None)
    body = {"key": "copy", "name": "Copy", "variations": None, "isFlagOn": None, "whatever": 1}
    copy = _post(http, body, "banner").json()
    assert len(copy["variations"]) == 3
    assert "whatever" not in copy


def test_the_body_of_a_clone_is_validated_as_a_creates(http: httpx.Client) -> None:
    _post(http, SOURCE, None)
    response = _post(http, {"key": "copy"}, "banner")
    assert response.status_code == 400
    assert response.json()["message"] == "name: required"
    assert _post(http, {"key": "bad key", "name": "X"}, "banner").status_code == 400


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (f"{FLAGS}?clone=missing", "clone: unknown flag 'missing' in project 'demo'"),
        (
            f"{FLAGS}?clone=retired",
            "clone: flag 'retired' is archived; only a live flag can be cloned",
        ),
        (f"{FLAGS}?clone=", "clone: must name the flag to copy (clone=SOURCE_KEY)"),
        (f"{FLAGS}?clone=banner&clone=retired", "clone: name one flag to copy, not several"),
    ],
    ids=["unknown", "archived", "empty", "twice"],
)
def test_a_source_that_cannot_be_copied_is_an_invalid_request(
    emu: Emulator, http: httpx.Client, target: str, message: str
) -> None:
    _post(http, SOURCE, None)
    emu.create_flag("demo", {"key": "retired", "name": "Retired"}, archived=True)
    response = http.post(target, json={"key": "copy", "name": "Copy"})
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_request", "message": message}
    assert [f["key"] for f in emu.flags("demo")] == ["banner", "retired"]


def test_a_clone_whose_key_is_taken_is_a_conflict(emu: Emulator, http: httpx.Client) -> None:
    _post(http, SOURCE, None)
    emu.create_flag("demo", {"key": "retired", "name": "Retired"}, archived=True)
    for key in ("banner", "retired"):
        response = _post(http, {"key": key, "name": "Copy"}, "banner")
        assert response.status_code == 409
        assert response.json()["code"] == "conflict"
    # As any create: a taken key is a conflict before a source is looked at.
    assert _post(http, {"key": "banner", "name": "Copy"}, "missing").status_code == 409


def test_a_clone_survives_a_restart_as_any_create(
    tmp_path: Path, make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    emu, http, data = _targeted_source(tmp_path, make_emulator, make_client)
    copy = _post(http, {"key": "copy", "name": "Copy"}, "banner").json()
    records = data.with_name(data.name + ".journal").read_text().splitlines()
    assert json.loads(records[-1]) == {"project": "demo", "flag": copy}
    emu.stop()
    again = make_emulator(projects=("demo",), data_path=data)
    http = make_client(again)
    assert http.get(f"{FLAGS}/copy").json() == copy
    assert _post(http, {"key": "copy", "name": "Copy"}, "banner").status_code == 409


def test_a_dropped_clone_is_stored_and_its_retry_conflicts(
    emu: Emulator, http: httpx.Client
) -> None:
    _post(http, SOURCE, None)
    emu.set_faults(drop_rate=1.0)
    with contextlib.suppress(httpx.TransportError):
        _post(http, {"key": "copy", "name": "Copy"}, "banner")
    assert emu.request_log[-1].fault == "drop"
    assert emu.request_log[-1].query == "clone=banner"
    emu.set_faults(Faults())
    assert [f["key"] for f in emu.flags("demo")] == ["banner", "copy"]
    assert _post(http, {"key": "copy", "name": "Copy"}, "banner").status_code == 409


def test_emulator_create_flag_clones_as_the_api_does(emu: Emulator) -> None:
    emu.create_flag("demo", SOURCE)
    copy = emu.create_flag("demo", {"key": "copy", "name": "Copy"}, clone="banner")
    assert [v["value"] for v in copy["variations"]] == ["red", "green", "blue"]
    assert emu.flags("demo")[1] == copy
    with pytest.raises(ApiProblem, match="clone: must name the flag to copy"):
        emu.create_flag("demo", {"key": "other", "name": "Other"}, clone="")
    with pytest.raises(ApiProblem, match="defaults: a clone takes it from its source"):
        emu.create_flag("demo", {"key": "other", "name": "O", "defaults": {}}, clone="banner")


def test_a_seed_file_may_clone_an_earlier_flag(
    tmp_path: Path, make_emulator: Callable[..., Emulator]
) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        "projects:\n"
        "  demo:\n"
        "    flags:\n"
        "      - {key: source, name: Source, isFlagOn: true,\n"
        "         variations: [{value: 1}, {value: 2}]}\n"
        "      - {key: copy, name: Copy, clone: source, tags: [seeded]}\n"
    )
    emu = make_emulator(projects=("demo",), seed_file=seed)
    source, copy = emu.flags("demo")
    assert [v["value"] for v in copy["variations"]] == [1, 2]
    assert copy["tags"] == ["seeded"]
    assert all(config["on"] for config in copy["environments"].values())
    assert copy["variations"][0]["_id"] != source["variations"][0]["_id"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{key: copy, name: Copy, clone: missing}", "clone: unknown flag 'missing'"),
        ("{key: copy, name: Copy, clone: source, isFlagOn: true}", "isFlagOn: a clone takes it"),
        ("{key: copy, name: Copy, clone: ''}", "clone: must be the key of a flag to copy"),
    ],
)
def test_a_seeded_clone_that_cannot_be_made_names_its_item(
    tmp_path: Path, make_emulator: Callable[..., Emulator], entry: str, message: str
) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        f"projects:\n  demo:\n    flags:\n      - {{key: source, name: Source}}\n      - {entry}\n"
    )
    with pytest.raises(InputError, match=rf"seed\.yaml: projects\.demo\.flags\[1\]: {message}"):
        make_emulator(projects=("demo",), seed_file=seed)


def test_official_client_creates_a_clone_and_reads_it_back(
    ld: ModuleType, ld_clients: tuple[Any, Any], contract: Any
) -> None:
    flags = ld.FeatureFlagsApi(ld_clients[0])
    source = flags.post_feature_flag("demo", ld.FeatureFlagBody.from_dict(SOURCE))
    copy = flags.post_feature_flag(
        "demo",
        ld.FeatureFlagBody(name="Banner copy", key="banner-copy", tags=["copy"]),
        clone="banner",
    )
    assert (copy.key, copy.name, copy.tags) == ("banner-copy", "Banner copy", ["copy"])
    assert [(v.value, v.name) for v in copy.variations] == [
        (v.value, v.name) for v in source.variations
    ]
    assert not {v.id for v in copy.variations} & {v.id for v in source.variations}
    fetched = flags.get_feature_flag("demo", "banner-copy")
    assert fetched.defaults == source.defaults
    assert fetched.environments is not None
    assert all(config.on for config in fetched.environments.values())
    response = flags.get_feature_flag_without_preload_content("demo", "banner-copy")
    try:
        contract.validate(json.loads(response.data), "FeatureFlag")
    finally:
        response.release_conn()
    with pytest.raises(ld.exceptions.ConflictException):
        flags.post_feature_flag(
            "demo", ld.FeatureFlagBody(name="X", key="banner-copy"), clone="banner"
        )
    with pytest.raises(ld.exceptions.BadRequestException) as info:
        flags.post_feature_flag("demo", ld.FeatureFlagBody(name="X", key="x"), clone="missing")
    assert "clone: unknown flag 'missing'" in str(info.value.body)
