"""``--data`` keeps everything across restarts; ``--seed-file`` pre-populates."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from reconciler.emulator import Emulator, EmulatorConfig
from reconciler.errors import InputError

FLAGS = "/api/v2/flags/demo"
LINKS = "/api/v2/flag-links/projects/demo/flags/{}"

SEED_YAML = """\
projects:
  demo:
    flags:
      - key: checkout
        name: Checkout
        tags: [payments]
        variations: [{value: a}, {value: b}, {value: c}]
        links:
          - key: pay-1
            deepLink: https://jira.test/PAY-1
            title: PAY-1
      - key: retired
        name: Retired
        archived: true
      - key: child
        name: Child
        initialPrerequisites:
          - key: checkout
            variation: 2
  empty: {}
"""


def test_everything_survives_a_restart_with_a_data_file(
    tmp_path: Path,
    make_emulator: Callable[..., Emulator],
    make_client: Callable[..., httpx.Client],
    beta: dict[str, str],
) -> None:
    data = tmp_path / "emulator.json"
    first = make_emulator(projects=("demo",), data_path=data)
    http = make_client(first)
    created = http.post(FLAGS, json={"key": "kept", "name": "Kept", "tags": ["x"]}).json()
    link = http.post(
        LINKS.format("kept"), json={"key": "l", "deepLink": "https://x.test"}, headers=beta
    ).json()
    first.create_flag("demo", {"key": "old", "name": "Old"}, archived=True)
    first.stop()

    second = make_emulator(projects=("demo",), data_path=data)
    http = make_client(second)
    assert http.get(f"{FLAGS}/kept").json() == created
    assert http.get(LINKS.format("kept"), headers=beta).json()["items"] == [link]
    assert http.post(FLAGS, json={"key": "old", "name": "Again"}).status_code == 409
    assert [f["key"] for f in second.flags("demo")] == ["kept", "old"]


def test_data_file_is_versioned_json_written_without_leftovers(
    tmp_path: Path, make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    data = tmp_path / "emulator.json"
    emu = make_emulator(projects=("demo",), data_path=data)
    http = make_client(emu)
    for i in range(5):
        assert http.post(FLAGS, json={"key": f"f{i}", "name": "F"}).status_code == 201
    saved = json.loads(data.read_text())
    assert saved["format"] == "ld-reconciler-emulator"
    assert saved["version"] == 1
    assert [f["key"] for f in saved["projects"]["demo"]["flags"]] == [f"f{i}" for i in range(5)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emulator.json"]


def test_a_create_that_cannot_be_saved_is_a_500_and_not_kept(
    tmp_path: Path, make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    directory = tmp_path / "state"
    directory.mkdir()
    emu = make_emulator(projects=("demo",), data_path=directory / "emulator.json")
    http = make_client(emu)
    shutil.rmtree(directory)
    response = http.post(FLAGS, json={"key": "lost", "name": "Lost"})
    assert response.status_code == 500
    assert emu.flags("demo") == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"flags": []}', "not an emulator data file"),
        ('{"format": "ld-reconciler-emulator", "version": 99, "projects": {}}', "version 99"),
        ('{"format": "ld-reconciler-emulator", "version": 1, "projects": []}', "malformed"),
    ],
)
def test_unusable_data_file_is_refused_not_overwritten(
    tmp_path: Path, content: str, message: str
) -> None:
    data = tmp_path / "emulator.json"
    data.write_text(content)
    with pytest.raises(InputError, match=message):
        Emulator(EmulatorConfig(data_path=data))
    assert data.read_text() == content


def test_seed_file_creates_projects_flags_archived_flags_links_and_prerequisites(
    tmp_path: Path,
    make_emulator: Callable[..., Emulator],
    make_client: Callable[..., httpx.Client],
    beta: dict[str, str],
) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED_YAML)
    emu = make_emulator(projects=("default",), seed_file=seed)
    http = make_client(emu)
    assert set(emu.store.projects()) == {"default", "demo", "empty"}
    assert [f["key"] for f in http.get(FLAGS).json()["items"]] == ["checkout", "child"]
    archived = http.get(FLAGS, params={"filter": "state:archived"}).json()["items"]
    assert [f["key"] for f in archived] == ["retired"]
    links = http.get(LINKS.format("checkout"), headers=beta).json()["items"]
    assert [(link["_key"], link["title"]) for link in links] == [("pay-1", "PAY-1")]
    checkout = http.get(f"{FLAGS}/checkout").json()
    child = http.get(f"{FLAGS}/child").json()
    assert child["_prerequisites"] == [
        {"key": "checkout", "variationId": checkout["variations"][2]["_id"]}
    ]
    assert http.get("/api/v2/flags/empty").json()["items"] == []


def test_json_seed_file_with_a_list_of_projects(
    tmp_path: Path, make_emulator: Callable[..., Emulator]
) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"projects": ["alpha", "beta"]}))
    emu = make_emulator(projects=("default",), seed_file=seed)
    assert sorted(emu.store.projects()) == ["alpha", "beta", "default"]


def test_restarting_with_seed_and_data_file_creates_nothing_twice(
    tmp_path: Path, make_emulator: Callable[..., Emulator]
) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED_YAML)
    data = tmp_path / "data.json"
    first = make_emulator(seed_file=seed, data_path=data)
    before = first.flags("demo")
    first.stop()
    second = make_emulator(seed_file=seed, data_path=data)
    assert second.flags("demo") == before
    assert len(second.links("demo", "checkout")) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("projects: [", "not valid JSON or YAML"),
        ("flags: []", "a 'projects' key"),
        ("projects: {'bad key': {}}", "not a valid project key"),
        ("projects: {demo: {flags: [{key: a}]}}", "projects.demo.flags[0]: name: required"),
        (
            "projects: {demo: {flags: [{key: a, name: A}, {key: a, name: B}]}}",
            "projects.demo.flags[1]: The key 'a' is already used",
        ),
        (
            "projects: {demo: {flags: [{key: a, name: A, links: [{title: t}]}]}}",
            "projects.demo.flags[0]: links[0].deepLink: required",
        ),
        (
            "projects: {demo: {flags: [{key: a, name: A, initialPrerequisites: "
            "[{key: nope, variation: 0}]}]}}",
            "initialPrerequisites[0].key: unknown flag",
        ),
    ],
)
def test_bad_seed_file_is_refused_with_the_item_at_fault(
    tmp_path: Path, content: str, message: str
) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(content)
    with pytest.raises(InputError) as info:
        Emulator(EmulatorConfig(seed_file=seed))
    assert str(seed) in str(info.value)
    assert message in str(info.value)
