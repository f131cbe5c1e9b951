"""Environments: each flag's ``FeatureFlagConfig`` per environment, as LaunchDarkly shows it.

A flag on its own has every environment (or the one ``env`` names); the list has none unless
filtered by ``env``, and then without the environment's lists unless ``summary=0``. Every body
here is also checked against the contract by the ``http`` client.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.emulator import Emulator

FLAGS = "/api/v2/flags/demo"
ABC = [{"value": "a"}, {"value": "b"}, {"value": "c"}]
LISTS = {"targets", "contextTargets", "rules", "prerequisites"}


@pytest.fixture
def family(emu: Emulator) -> Emulator:
    """``parent`` (three variations, on b, off c) and ``child``, on, gated on parent's c."""
    parent = emu.create_flag(
        "demo",
        {
            "key": "parent",
            "name": "Parent",
            "variations": ABC,
            "defaults": {"onVariation": 1, "offVariation": 2},
        },
    )
    emu.create_flag(
        "demo",
        {
            "key": "child",
            "name": "Child",
            "isFlagOn": True,
            "initialPrerequisites": [
                {"key": "parent", "variationId": parent["variations"][2]["_id"]}
            ],
        },
    )
    return emu


def _get(http: httpx.Client, path: str, **params: str) -> dict[str, Any]:
    response = http.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.usefixtures("family")
def test_a_flag_has_every_environment_with_the_creates_prerequisites_by_variation_index(
    http: httpx.Client,
) -> None:
    child = _get(http, f"{FLAGS}/child")
    assert "_prerequisites" not in child
    envs = child["environments"]
    assert {key: c["_environmentName"] for key, c in envs.items()} == {
        "production": "Production",
        "test": "Test",
    }
    for key, config in envs.items():
        assert config["prerequisites"] == [{"key": "parent", "variation": 2}]
        assert config["_summary"]["prerequisites"] == 1
        assert config["on"] is True  # isFlagOn: in every environment
        assert config["archived"] is False
        assert (config["version"], config["lastModified"]) == (1, child["creationDate"])
        assert (config["targets"], config["contextTargets"], config["rules"]) == ([], [], [])
        assert config["_site"] == {"href": f"/demo/{key}/features/child", "type": "text/html"}
    assert envs["production"]["salt"] != envs["test"]["salt"]
    assert _get(http, f"{FLAGS}/child") == child  # the same on every read


@pytest.mark.usefixtures("family")
def test_an_environment_serves_the_defaults_and_summarises_the_variations(
    http: httpx.Client,
) -> None:
    for config in _get(http, f"{FLAGS}/parent")["environments"].values():
        assert config["on"] is False
        assert config["prerequisites"] == []
        assert (config["fallthrough"], config["offVariation"]) == ({"variation": 1}, 2)
        counts = {"rules": 0, "nullRules": 0, "targets": 0, "contextTargets": 0}
        assert config["_summary"] == {
            "variations": {
                "0": counts,
                "1": {**counts, "isFallthrough": True},
                "2": {**counts, "isOff": True},
            },
            "prerequisites": 0,
        }


@pytest.mark.usefixtures("family")
def test_env_narrows_a_flag_to_that_environment(http: httpx.Client) -> None:
    whole = _get(http, f"{FLAGS}/child")
    test_only = _get(http, f"{FLAGS}/child", env="test")
    assert test_only["environments"] == {"test": whole["environments"]["test"]}
    assert {k: v for k, v in test_only.items() if k != "environments"} == {
        k: v for k, v in whole.items() if k != "environments"
    }


@pytest.mark.usefixtures("family")
def test_the_list_has_environments_only_for_env_and_their_lists_only_with_summary_0(
    http: httpx.Client,
) -> None:
    plain = _get(http, FLAGS)["items"]
    assert [f["key"] for f in plain] == ["parent", "child"]
    assert not any("environments" in f for f in plain)

    whole = _get(http, f"{FLAGS}/child")["environments"]["production"]
    for summary in ({}, {"summary": "true"}):
        child = _get(http, FLAGS, env="production", **summary)["items"][1]
        assert list(child["environments"]) == ["production"]
        summarised = child["environments"]["production"]
        assert summarised == {k: v for k, v in whole.items() if k not in LISTS}
        assert summarised["_summary"]["prerequisites"] == 1  # counted, not listed
    full = _get(http, FLAGS, env="production", summary="0")["items"][1]
    assert full["environments"] == {"production": whole}
    assert _get(http, FLAGS, summary="0")["items"] == plain  # no env: nothing to include


@pytest.mark.usefixtures("family")
def test_an_archived_flag_is_archived_in_every_environment(
    emu: Emulator, http: httpx.Client
) -> None:
    emu.create_flag("demo", {"key": "gone", "name": "Gone"}, archived=True)
    configs = _get(http, f"{FLAGS}/gone")["environments"].values()
    assert [c["archived"] for c in configs] == [True, True]


@pytest.mark.usefixtures("family")
@pytest.mark.parametrize("path", [FLAGS, f"{FLAGS}/child"])
def test_an_unknown_environment_key_is_a_404_naming_it(http: httpx.Client, path: str) -> None:
    response = http.get(path, params={"env": "staging"})
    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "message": "env: unknown environment key 'staging' (the emulator's are production "
        "and test)",
    }


def test_a_summary_that_is_not_a_boolean_is_a_400(http: httpx.Client) -> None:
    response = http.get(FLAGS, params={"env": "test", "summary": "maybe"})
    assert response.status_code == 400
    assert response.json()["message"] == "summary: 'maybe' is not true or false"
