"""``--data`` keeps everything across restarts; ``--seed-file`` pre-populates."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.cli import main
from reconciler.emulator import Emulator, EmulatorConfig
from reconciler.errors import InputError, LedgerLockedError

FLAGS = "/api/v2/flags/demo"
LINKS = "/api/v2/flag-links/projects/demo/flags/{}"
BETA = {"LD-API-Version": "beta"}


def journal(data: Path) -> Path:
    return data.with_name(data.name + ".journal")


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


def test_creates_are_journaled_and_stop_folds_the_journal_into_the_data_file(
    tmp_path: Path, make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    data = tmp_path / "emulator.json"
    emu = make_emulator(projects=("demo",), data_path=data)
    http = make_client(emu)
    for i in range(5):
        assert http.post(FLAGS, json={"key": f"f{i}", "name": "F"}).status_code == 201
    lines = [json.loads(line) for line in journal(data).read_text().splitlines()]
    assert lines[0] == {"format": "ld-reconciler-emulator-journal", "version": 2}
    assert [r["flag"]["key"] for r in lines[1:]] == [f"f{i}" for i in range(5)]
    emu.stop()
    saved = json.loads(data.read_text())
    assert saved["format"] == "ld-reconciler-emulator"
    assert saved["version"] == 2
    assert [f["key"] for f in saved["projects"]["demo"]["flags"]] == [f"f{i}" for i in range(5)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emulator.json"]


def test_a_create_appends_to_the_journal_and_does_not_rewrite_the_data_file(
    tmp_path: Path, make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    # Rewriting everything on every create made 1,500 creates take 13 s instead of 0.7 s.
    data = tmp_path / "emulator.json"
    seed = tmp_path / "seed.yaml"
    seed.write_text("projects: {demo: {flags: [{key: seeded, name: Seeded}]}}\n")
    emu = make_emulator(projects=("demo",), data_path=data, seed_file=seed)
    before = data.stat()
    http = make_client(emu)
    for i in range(100):
        assert http.post(FLAGS, json={"key": f"f{i}", "name": "F"}).status_code == 201
    after = data.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert len(journal(data).read_text().splitlines()) == 1 + 100


def _journal_of_two_creates(
    data: Path, make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> tuple[bytes, list[dict[str, object]]]:
    """Two flags and a link created over HTTP: the journal before ``stop``, and the flags."""
    emu = make_emulator(projects=("demo",), data_path=data)
    http = make_client(emu)
    for key in ("a", "b"):
        assert http.post(FLAGS, json={"key": key, "name": key}).status_code == 201
    link = {"key": "l", "deepLink": "https://x.test"}
    assert http.post(LINKS.format("a"), json=link, headers=BETA).status_code == 201
    raw = journal(data).read_bytes()
    flags = emu.flags("demo")
    emu.stop()
    return raw, flags


def test_a_torn_last_journal_line_is_ignored_as_the_create_it_never_answered(
    tmp_path: Path, make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    data = tmp_path / "emulator.json"
    raw, flags = _journal_of_two_creates(data, make_emulator, make_client)
    data.unlink()  # as after kill -9: no snapshot was ever written, only the journal
    journal(data).write_bytes(raw + b'{"project":"demo","flag":{"key":"c","na')
    emu = make_emulator(projects=("demo",), data_path=data)
    assert emu.flags("demo") == flags
    assert len(emu.links("demo", "a")) == 1
    assert not journal(data).exists()  # folded into the data file at once
    assert [f["key"] for f in json.loads(data.read_text())["projects"]["demo"]["flags"]] == [
        "a",
        "b",
    ]


def test_a_journal_the_data_file_already_holds_replays_without_duplicates(
    tmp_path: Path, make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    data = tmp_path / "emulator.json"
    raw, flags = _journal_of_two_creates(data, make_emulator, make_client)
    journal(data).write_bytes(raw)  # as after a crash between the snapshot's rename and unlink
    emu = make_emulator(projects=("demo",), data_path=data)
    assert emu.flags("demo") == flags
    assert len(emu.links("demo", "a")) == 1


def test_a_journal_damaged_before_its_last_line_is_refused_with_the_line(
    tmp_path: Path, make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    data = tmp_path / "emulator.json"
    raw, _ = _journal_of_two_creates(data, make_emulator, make_client)
    lines = raw.splitlines(keepends=True)
    damaged = b"".join([lines[0], b"{garbage\n", *lines[1:]])
    journal(data).write_bytes(damaged)
    with pytest.raises(InputError, match=r"emulator\.json\.journal: line 2: not valid JSON"):
        Emulator(EmulatorConfig(projects=("demo",), data_path=data))
    assert journal(data).read_bytes() == damaged


def test_a_failed_rename_keeps_the_old_data_file_and_the_create_in_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "emulator.json"
    emu = Emulator(EmulatorConfig(projects=("demo",), data_path=data))
    emu.create_flag("demo", {"key": "old", "name": "Old"})
    before = data.read_bytes()

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(os, "replace", refuse)
        with pytest.raises(InputError, match="No space left on device"):
            emu.create_flag("demo", {"key": "new", "name": "New"})
        emu.stop()  # its compaction fails too, and it lets go of the file all the same
    assert data.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emulator.json", "emulator.json.journal"]
    restarted = Emulator(EmulatorConfig(projects=("demo",), data_path=data))
    assert [f["key"] for f in restarted.flags("demo")] == ["old", "new"]


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


def test_a_create_after_the_journal_was_removed_is_a_500_and_not_kept(
    tmp_path: Path, make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    data = tmp_path / "emulator.json"
    emu = make_emulator(projects=("demo",), data_path=data)
    http = make_client(emu)
    assert http.post(FLAGS, json={"key": "kept", "name": "Kept"}).status_code == 201
    journal(data).unlink()
    assert http.post(FLAGS, json={"key": "lost", "name": "Lost"}).status_code == 500
    assert [f["key"] for f in emu.flags("demo")] == ["kept"]


def test_a_second_emulator_on_a_data_file_is_refused_naming_the_first_and_loses_nothing(
    tmp_path: Path, make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    # Once, the second folded and removed the first's journal at start and wrote its own older
    # state over the data file at stop: the first's next create was a 500 and, after a restart,
    # its acknowledged creates were gone.
    data = tmp_path / "emulator.json"
    writer = make_emulator(projects=("demo",), data_path=data)
    http = make_client(writer)
    for key in ("a1", "a2"):
        assert http.post(FLAGS, json={"key": key, "name": key}).status_code == 201
    journal_before = journal(data).read_bytes()
    with pytest.raises(LedgerLockedError) as info:
        Emulator(EmulatorConfig(projects=("demo",), data_path=data))
    assert str(info.value).startswith(
        f"the emulator's data file {data} is in use by pid {os.getpid()} on {socket.gethostname()}"
        " since "
    )
    assert str(info.value).endswith(f"If no emulator is running, delete {data}.lock")
    assert journal(data).read_bytes() == journal_before
    assert http.post(FLAGS, json={"key": "a3", "name": "a3"}).status_code == 201
    writer.stop()
    restarted = make_emulator(projects=("demo",), data_path=data)
    assert [f["key"] for f in restarted.flags("demo")] == ["a1", "a2", "a3"]


def test_an_emulator_that_created_nothing_leaves_the_data_file_and_any_journal_alone_at_stop(
    tmp_path: Path, make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    data = tmp_path / "emulator.json"
    raw, _ = _journal_of_two_creates(data, make_emulator, make_client)
    before = data.stat()
    reader = make_emulator(projects=("demo",), data_path=data)
    assert make_client(reader).get(FLAGS).status_code == 200
    reader.add_project("demo")  # as plan --emulator does: a project it already has
    # A journal not of its making (say, of an emulator too old to take the lock): not its own
    # to fold, nor to remove.
    journal(data).write_bytes(raw)
    reader.stop()
    after = data.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert journal(data).read_bytes() == raw
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emulator.json", "emulator.json.journal"]


def test_a_project_added_to_a_stopped_emulator_is_refused_not_silently_lost(
    tmp_path: Path, make_emulator: Callable[..., Emulator]
) -> None:
    # Once, it was kept in memory only: the next start loaded the data file without it.
    data = tmp_path / "emulator.json"
    emu = make_emulator(projects=("demo",), data_path=data)
    emu.stop()
    with pytest.raises(RuntimeError, match="cannot add project 'late': the emulator was stopped"):
        emu.add_project("late")
    emu.start()
    assert emu.store.projects() == ["demo"]
    emu.add_project("late")  # once started again, it is saved
    emu.stop()
    assert sorted(json.loads(data.read_text())["projects"]) == ["demo", "late"]


def test_a_lock_file_that_cannot_be_created_is_one_line_naming_it(tmp_path: Path) -> None:
    data = tmp_path / "emulator.json"
    data.with_name("emulator.json.lock").mkdir()
    with pytest.raises(InputError) as info:
        Emulator(EmulatorConfig(data_path=data))
    assert str(info.value) == (
        f"{data}.lock: cannot create the emulator's lock file: Is a directory; check the "
        "permissions of its directory"
    )


def test_a_stopped_emulator_starts_again_on_the_data_file_as_it_is_then(
    tmp_path: Path, make_emulator: Callable[..., Emulator], make_client: Callable[..., httpx.Client]
) -> None:
    data = tmp_path / "emulator.json"
    first = make_emulator(projects=("demo",), data_path=data)
    first.stop()
    other = make_emulator(projects=("demo",), data_path=data)
    other.create_flag("demo", {"key": "meanwhile", "name": "M"})
    with pytest.raises(LedgerLockedError, match="is in use by"):
        first.start()
    other.stop()
    first.start()
    assert [f["key"] for f in first.flags("demo")] == ["meanwhile"]
    assert make_client(first).post(FLAGS, json={"key": "b", "name": "B"}).status_code == 201


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"flags": []}', "not an emulator data file"),
        ('{"format": "ld-reconciler-emulator", "version": 99, "projects": {}}', "version 99"),
        ('{"format": "ld-reconciler-emulator", "version": 1, "projects": {}}', "version 1"),
        ('{"format": "ld-reconciler-emulator", "version": 2, "projects": []}', "malformed"),
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


def _edited(tmp_path: Path, edit: Callable[[dict[str, Any]], object]) -> Path:
    """A data file holding one flag ``x`` with one link, then changed by ``edit``."""
    data = tmp_path / "emulator.json"
    emu = Emulator(EmulatorConfig(projects=("demo",), data_path=data))
    emu.create_flag("demo", {"key": "x", "name": "X"})
    emu.create_link("demo", "x", {"key": "l", "deepLink": "https://x.test"})
    emu.stop()
    document = json.loads(data.read_text())
    edit(document["projects"]["demo"])
    data.write_text(json.dumps(document))
    return data


def _flag(project: dict[str, Any]) -> dict[str, Any]:
    flag: dict[str, Any] = project["flags"][0]
    return flag


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: p.update(flags=[{"key": "x"}]), "flags[0] ('x'): name is missing"),
        (lambda p: _flag(p).pop("variations"), "flags[0] ('x'): variations is missing"),
        (lambda p: _flag(p).update(creationDate="today"), "creationDate must be an integer"),
        (lambda p: _flag(p).update(_version=True), "_version must be an integer"),
        (lambda p: _flag(p).update(archived="no"), "archived must be a boolean"),
        (lambda p: _flag(p)["variations"][1].pop("_id"), "variations[1] must be an object with"),
        (lambda p: _flag(p)["variations"][0].pop("value"), "variations[0].value is missing"),
        (lambda p: p["flags"].append(_flag(p)), "flags[1]: the key 'x' is used by flags[0] too"),
        (lambda p: p.update(flags=[7]), "flags[0]: not a JSON object"),
        (lambda p: p["links"]["x"][0].pop("_deepLink"), "links.x[0] ('l'): _deepLink is missing"),
        (lambda p: p["links"].update(y=[]), "links.y: the project has no flag 'y'"),
        (lambda p: _flag(p).pop("environments"), "('x'): environments must be an object"),
        (
            lambda p: _flag(p)["environments"]["test"].pop("salt"),
            "flags[0] ('x'): environments.test: salt is missing",
        ),
    ],
)
def test_a_hand_edited_data_file_missing_what_the_api_serves_is_refused_at_start(
    tmp_path: Path, edit: Callable[[dict[str, Any]], object], message: str
) -> None:
    data = _edited(tmp_path, edit)
    with pytest.raises(InputError) as info:
        Emulator(EmulatorConfig(projects=("demo",), data_path=data))
    assert str(info.value).startswith(f"{data}: projects.demo.")
    assert message in str(info.value)


def test_a_bad_data_file_stops_the_command_with_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _edited(tmp_path, lambda p: p.update(flags=[{"key": "x"}]))
    with pytest.raises(SystemExit) as info:
        main(["emulator", "--port", "0", "--data", str(data)])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [f"Error: {data}: projects.demo.flags[0] ('x'): name is missing"]


@pytest.mark.parametrize("kind", ["data", "seed"])
def test_a_file_that_is_not_utf8_is_refused_with_its_name(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.json"
    path.write_bytes(b'{"projects": {"caf\xe9": {}}}')
    config = EmulatorConfig(data_path=path) if kind == "data" else EmulatorConfig(seed_file=path)
    with pytest.raises(InputError, match=f"^{re.escape(str(path))}: .* not UTF-8 text"):
        Emulator(config)


def test_a_seed_that_fails_partway_saves_nothing_and_the_fixed_seed_then_applies_whole(
    tmp_path: Path,
) -> None:
    seed = tmp_path / "seed.yaml"
    data = tmp_path / "data.json"
    flag = "{key: f, name: F, links: [{key: a, deepLink: 'https://a'}, {key: %s, deepLink: 'https://b'}]}"
    seed.write_text(f"projects: {{demo: {{flags: [{{key: e, name: E}}, {flag % 'a'}]}}}}\n")
    with pytest.raises(InputError, match=r"flags\[1\]: links\[1\]: .*'a' already exists"):
        Emulator(EmulatorConfig(seed_file=seed, data_path=data))
    assert list(tmp_path.iterdir()) == [seed]
    seed.write_text(f"projects: {{demo: {{flags: [{{key: e, name: E}}, {flag % 'b'}]}}}}\n")
    emu = Emulator(EmulatorConfig(seed_file=seed, data_path=data))
    assert [f["key"] for f in emu.flags("demo")] == ["e", "f"]
    assert [link["_key"] for link in emu.links("demo", "f")] == ["a", "b"]


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
    child = http.get(f"{FLAGS}/child").json()
    assert {env: c["prerequisites"] for env, c in child["environments"].items()} == {
        "production": [{"key": "checkout", "variation": 2}],
        "test": [{"key": "checkout", "variation": 2}],
    }
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
        ("projects: [a, 'bad key']", "'bad key' is not a valid project key"),
        ("projects: [a, {b: {}}]", "is not a valid project key"),
        ("projects: a", "'projects' must map project keys"),
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
