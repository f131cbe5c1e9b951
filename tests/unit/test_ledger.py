"""The ledger: strict to read, deterministic to write, and durable record by record."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import LedgerCorruptError, LedgerError
from reconciler.model import FlagSpec, LinkSpec, Location, PrerequisiteSpec
from reconciler.state.ledger import Ledger, LedgerEntry
from reconciler.state.lock import LedgerLock, ledger_lock
from support.launchdarkly import TARGET

CLOCK = lambda: datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)  # noqa: E731


def flag(key: str, project: str = "web", **fields: Any) -> FlagSpec:
    body = {"key": key, "name": key.title(), **fields}
    return FlagSpec(project, key, body, Location("flags/web.yaml", 3, 5))


def link(flag_key: str, key: str, project: str = "web") -> LinkSpec:
    fields = {"key": key, "deepLink": f"https://jira.example.com/browse/{key}"}
    return LinkSpec(project, flag_key, key, fields, Location("flags/web.yaml", 9, 9))


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / ".ld-reconciler" / "ledger.json")


@pytest.fixture
def lock(path: str) -> Iterator[LedgerLock]:
    with ledger_lock(path) as held:
        yield held


def writable(path: str, lock: LedgerLock) -> Ledger:
    return Ledger.load(path, lock=lock, clock=CLOCK)


def test_a_missing_ledger_is_empty_and_loading_it_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "none" / "ledger.json"
    ledger = Ledger.load(path)
    assert ledger.targets() == ()
    assert ledger.flags(TARGET, "web") == {}
    assert not (tmp_path / "none").exists()


def test_a_missing_ledger_is_an_error_when_it_must_exist(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match=r"no ledger at .*ledger\.json"):
        Ledger.load(tmp_path / "ledger.json", create=False)


def test_file_format_is_sorted_indented_with_final_newline(path: str, lock: LedgerLock) -> None:
    ledger = writable(path, lock)
    ledger.record_flag(TARGET, flag("beta"), action="created", variation_ids=["v0", "v1"])
    ledger.record_link(TARGET, link("beta", "PAY-1"), action="adopted", link_id="L1")
    ledger.compact()
    text = Path(path).read_text()
    assert text.endswith("}\n")
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2) + "\n"
    assert json.loads(text) == {
        "format": "ld-reconciler-ledger",
        "version": 1,
        "targets": {
            TARGET: {
                "web": {
                    "flags": {
                        "beta": {
                            "kind": "flag", "project": "web", "key": "beta", "id": None,
                            "variation_ids": ["v0", "v1"], "action": "created",
                            "at": "2024-05-01T12:00:00Z", "source": "flags/web.yaml:3:5",
                            "digest": flag("beta").digest,
                            "spec": {"key": "beta", "name": "Beta"},
                        }
                    },
                    "links": {
                        "beta/PAY-1": {
                            "kind": "link", "project": "web", "key": "PAY-1", "flag_key": "beta",
                            "id": "L1", "action": "adopted", "at": "2024-05-01T12:00:00Z",
                            "source": "flags/web.yaml:9:9", "digest": link("beta", "PAY-1").digest,
                            "spec": {"key": "PAY-1", "deepLink": "https://jira.example.com/browse/PAY-1"},
                        }
                    },
                }
            }
        },
    }  # fmt: skip


def test_round_trip_keeps_every_field(path: str, lock: LedgerLock) -> None:
    spec = FlagSpec(
        "web", "b", {"key": "b", "tags": ["ü"]}, Location("f.yaml", 2, 3),
        prerequisites=(PrerequisiteSpec("a", 1, Location("f.yaml", 4, 5)),),
    )  # fmt: skip
    ledger = writable(path, lock)
    flag_entry = ledger.record_flag(TARGET, spec, action="adopted", variation_ids=["x", "y"])
    link_entry = ledger.record_link("emulator", link("b", "K"), action="created", link_id="L9")
    ledger.compact()

    again = Ledger.load(path)
    assert again.get_flag(TARGET, "web", "b") == flag_entry
    assert again.get_link("emulator", "web", "b", "K") == link_entry
    assert flag_entry.spec["initialPrerequisites"] == [{"key": "a", "variation": 1}]
    assert flag_entry.digest == spec.digest
    assert again.data == ledger.data
    assert again.dumps() == Path(path).read_text()


def test_same_content_gives_byte_identical_files_whatever_the_order(tmp_path: Path) -> None:
    entries = [(TARGET, "web", f"f{i}") for i in range(5)] + [("emulator", "api", "g")]
    files = []
    for name, order in (("one", entries), ("two", entries[::-1])):
        path = str(tmp_path / name / "ledger.json")
        with ledger_lock(path) as lock:
            ledger = writable(path, lock)
            for target, project, key in order:
                ledger.record_flag(target, flag(key, project), action="created", variation_ids=[])
            ledger.compact()
            Ledger.load(path, lock=lock).save()  # rewriting unchanged content changes nothing
        files.append(Path(path).read_bytes())
    assert files[0] == files[1]


def test_queries_by_target_project_and_key(path: str, lock: LedgerLock) -> None:
    ledger = writable(path, lock)
    ledger.record_flag(TARGET, flag("a"), action="created", variation_ids=["v"])
    ledger.record_flag(TARGET, flag("z", "api"), action="created", variation_ids=["v"])
    ledger.record_link(TARGET, link("a", "L"), action="created", link_id="1")
    assert ledger.targets() == (TARGET,)
    assert ledger.projects(TARGET) == ("api", "web")
    assert ledger.projects("emulator") == ()
    assert set(ledger.flags(TARGET, "web")) == {"a"}
    assert set(ledger.links(TARGET, "web")) == {"a/L"}
    assert ledger.get_flag(TARGET, "web", "z") is None
    assert ledger.get_flag("emulator", "web", "a") is None
    assert ledger.get_link(TARGET, "web", "a", "L") is not None
    assert ledger.get_link(TARGET, "web", "L", "a") is None


def test_a_record_is_on_disk_when_record_returns(path: str, lock: LedgerLock) -> None:
    ledger = writable(path, lock)
    ledger.record_flag(TARGET, flag("a"), action="created", variation_ids=["v"])
    # A crash now: no compaction; another process reads ledger file plus journal.
    assert not os.path.exists(path)
    assert Ledger.load(path).get_flag(TARGET, "web", "a") is not None


def test_records_from_eight_threads_are_all_kept(path: str, lock: LedgerLock) -> None:
    ledger = writable(path, lock)
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        barrier.wait()
        for i in range(200):
            ledger.record_flag(TARGET, flag(f"t{n}-{i}"), action="created", variation_ids=[str(i)])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ledger.close()

    replayed = Ledger.load(path)
    assert len(replayed.flags(TARGET, "web")) == 1600
    assert replayed.get_flag(TARGET, "web", "t7-199").variation_ids == ("199",)  # type: ignore[union-attr]
    assert len(Path(path + ".journal").read_text().splitlines()) == 1 + 1600

    ledger.compact()
    assert not os.path.exists(path + ".journal")
    assert len(json.loads(Path(path).read_text())["targets"][TARGET]["web"]["flags"]) == 1600


def journal_bytes(keys: list[str]) -> bytes:
    header = {"format": "ld-reconciler-journal", "version": 1}
    records = [
        {
            "target": TARGET,
            "entry": LedgerEntry.for_flag(flag(k), action="created", variation_ids=[], at="t").data,
        }
        for k in keys
    ]
    return "".join(json.dumps(line) + "\n" for line in [header, *records]).encode()


def journal_with(path: str, lock: LedgerLock, keys: list[str]) -> bytes:
    ledger = writable(path, lock)
    for key in keys:
        ledger.record_flag(TARGET, flag(key), action="created", variation_ids=[])
    ledger.close()
    return Path(path + ".journal").read_bytes()


def test_a_torn_last_journal_line_is_ignored_and_the_rest_loaded(
    path: str, lock: LedgerLock, caplog: pytest.LogCaptureFixture
) -> None:
    journal = journal_with(path, lock, ["a", "b", "c"])
    Path(path + ".journal").write_bytes(journal[:-25])  # a crash in the middle of "c"
    ledger = Ledger.load(path)
    assert set(ledger.flags(TARGET, "web")) == {"a", "b"}
    assert "ignored its incomplete last line" in caplog.text


def test_a_torn_header_is_an_empty_journal(path: str, lock: LedgerLock) -> None:
    Path(path + ".journal").write_bytes(b'{"format":"ld-rec')
    assert Ledger.load(path).targets() == ()


def test_loading_with_the_lock_folds_a_leftover_journal_into_the_file(
    path: str, lock: LedgerLock
) -> None:
    journal = journal_with(path, lock, ["a", "b"])
    Path(path + ".journal").write_bytes(journal[:-3])
    ledger = Ledger.load(path, lock=lock)
    assert not os.path.exists(path + ".journal")
    assert set(json.loads(Path(path).read_text())["targets"][TARGET]["web"]["flags"]) == {"a"}
    ledger.record_flag(TARGET, flag("c"), action="created", variation_ids=[])
    assert set(Ledger.load(path).flags(TARGET, "web")) == {"a", "c"}


def test_a_journal_replayed_over_a_compacted_ledger_changes_nothing(
    path: str, lock: LedgerLock
) -> None:
    journal = journal_with(path, lock, ["a", "b"])
    writable(path, lock).compact()
    compacted = Path(path).read_bytes()
    Path(path + ".journal").write_bytes(journal)  # a crash between replace and unlink
    Ledger.load(path, lock=lock)
    assert Path(path).read_bytes() == compacted


def test_compaction_removes_the_journal_and_leaves_valid_json_and_no_temp_files(
    path: str, lock: LedgerLock
) -> None:
    ledger = writable(path, lock)
    ledger.record_flag(TARGET, flag("a"), action="created", variation_ids=[])
    ledger.compact()
    assert sorted(os.listdir(os.path.dirname(path))) == ["ledger.json", "ledger.json.lock"]
    assert json.loads(Path(path).read_text())["targets"][TARGET]["web"]["flags"]["a"]["key"] == "a"
    ledger.record_flag(TARGET, flag("b"), action="created", variation_ids=[])
    ledger.compact()
    assert set(Ledger.load(path).flags(TARGET, "web")) == {"a", "b"}
    assert not os.path.exists(path + ".journal")


def test_recording_after_close_continues_the_same_journal(path: str, lock: LedgerLock) -> None:
    ledger = writable(path, lock)
    ledger.record_flag(TARGET, flag("a"), action="created", variation_ids=[])
    ledger.close()
    ledger.record_flag(TARGET, flag("b"), action="created", variation_ids=[])
    assert set(Ledger.load(path).flags(TARGET, "web")) == {"a", "b"}
    assert len(Path(path + ".journal").read_text().splitlines()) == 3


def test_a_journal_written_behind_the_lock_holders_back_is_refused(
    path: str, lock: LedgerLock
) -> None:
    ledger = writable(path, lock)
    Path(path + ".journal").write_bytes(journal_bytes(["x"]))
    with pytest.raises(LedgerError, match="written by another process"):
        ledger.record_flag(TARGET, flag("a"), action="created", variation_ids=[])
    assert ledger.get_flag(TARGET, "web", "a") is None


def test_compaction_without_records_writes_no_file(path: str, lock: LedgerLock) -> None:
    writable(path, lock).compact()
    assert not os.path.exists(path)


def valid_document() -> dict[str, Any]:
    entry = LedgerEntry.for_flag(flag("a"), action="created", variation_ids=["v"], at="t")
    return {
        "format": "ld-reconciler-ledger",
        "version": 1,
        "targets": {TARGET: {"web": {"flags": {"a": entry.data}, "links": {}}}},
    }


def mutated(change: str) -> bytes:
    doc = valid_document()
    entry = doc["targets"][TARGET]["web"]["flags"]["a"]
    if change == "version 2":
        doc["version"] = 2
    elif change == "version 0":
        doc["version"] = 0
    elif change == "version true":
        doc["version"] = True
    elif change == "foreign format":
        doc["format"] = "terraform-state"
    elif change == "no format":
        del doc["format"]
    elif change == "unknown top-level field":
        doc["token"] = "x"
    elif change == "entry missing digest":
        del entry["digest"]
    elif change == "entry with unknown field":
        entry["token"] = "x"
    elif change == "entry of another kind":
        entry["kind"] = "segment"
    elif change == "entry under another key":
        doc["targets"][TARGET]["web"]["flags"]["b"] = entry
    elif change == "flag among links":
        doc["targets"][TARGET]["web"]["links"]["a"] = entry
    elif change == "projects not an object":
        doc["targets"][TARGET] = []
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (json.dumps(valid_document()).encode()[:-40], "is not valid JSON"),
        (b"\x89PNG\r\n\x1a\n\x00", "is not UTF-8 text"),
        (b"", "is not valid JSON"),
        (b"[]", "is not a JSON object"),
        (mutated("foreign format"), "it has format 'terraform-state'"),
        (mutated("no format"), "it has no 'format' field"),
        (
            mutated("version 2"),
            "has version 2, but this ld-reconciler reads only version 1: upgrade",
        ),
        (mutated("version 0"), "has version 0, unknown"),
        (mutated("version true"), "has no valid version"),
        (mutated("unknown top-level field"), "unknown field(s) 'token'"),
        (mutated("entry missing digest"), '["web"].flags["a"]: missing field(s) \'digest\''),
        (mutated("entry with unknown field"), "unknown field(s) 'token'"),
        (mutated("entry of another kind"), "kind is 'segment'"),
        (mutated("entry under another key"), 'flags["b"] holds flag web/a'),
        (mutated("flag among links"), 'links["a"] holds flag web/a'),
        (mutated("projects not an object"), '["https://app.launchdarkly.com"] is not a JSON'),
    ],
)
def test_a_corrupt_or_foreign_ledger_is_refused_and_left_untouched(
    path: str, lock: LedgerLock, content: bytes, problem: str
) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Path(path).write_bytes(content)
    journal = journal_bytes(["b"])  # a journal that loading with the lock would compact
    Path(path + ".journal").write_bytes(journal)
    for attempt in (lambda: Ledger.load(path, lock=lock), lambda: Ledger.load(path)):
        with pytest.raises(LedgerCorruptError) as raised:
            attempt()
        assert str(raised.value).startswith(f"ledger {path} ")
        assert problem in str(raised.value)
        assert Path(path).read_bytes() == content
        assert Path(path + ".journal").read_bytes() == journal


def test_a_valid_document_loads(path: str) -> None:
    os.makedirs(os.path.dirname(path))
    Path(path).write_text(json.dumps(valid_document()))
    assert Ledger.load(path).get_flag(TARGET, "web", "a") is not None


@pytest.mark.parametrize(
    ("journal", "problem"),
    [
        (b'{"format":"ld-reconciler-journal","version":1}\n{garbage\n{"target":"t"}\n', "line 2 "),
        (b'{"format":"ld-reconciler-journal","version":2}\n', "header"),
        (b'{"target":"t","entry":{}}\n', "header"),
        (b'{"format":"ld-reconciler-journal","version":1}\n{"target":"t","entry":{}}\n', "line 2:"),
    ],
)
def test_a_damaged_journal_is_refused_and_left_untouched(
    path: str, lock: LedgerLock, journal: bytes, problem: str
) -> None:
    Path(path + ".journal").write_bytes(journal)
    with pytest.raises(LedgerCorruptError, match=f"ledger {path}.journal .*{problem}"):
        Ledger.load(path, lock=lock)
    assert Path(path + ".journal").read_bytes() == journal
    assert not os.path.exists(path)


def test_a_ledger_loaded_without_its_lock_is_read_only(path: str) -> None:
    ledger = Ledger.load(path)
    entry = LedgerEntry.for_flag(flag("a"), action="created", variation_ids=[], at="t")
    for write in (lambda: ledger.record(TARGET, entry), ledger.save, ledger.compact):
        with pytest.raises(RuntimeError, match="read-only"):
            write()
    assert not os.path.exists(os.path.dirname(path))


def test_the_lock_of_another_ledger_is_refused(path: str, tmp_path: Path) -> None:
    with (
        ledger_lock(tmp_path / "other.json") as other,
        pytest.raises(ValueError, match="not a held"),
    ):
        Ledger.load(path, lock=other)


def test_fingerprint_changes_when_an_entry_is_added_and_not_otherwise(
    path: str, lock: LedgerLock
) -> None:
    ledger = writable(path, lock)
    empty = ledger.fingerprint(TARGET, ["web"])
    ledger.record_flag(TARGET, flag("a"), action="created", variation_ids=[])
    one = ledger.fingerprint(TARGET, ["web"])
    assert one != empty
    assert ledger.fingerprint(TARGET, ["web", "web"]) == one
    ledger.record_flag(TARGET, flag("x", "api"), action="created", variation_ids=[])
    ledger.record_flag("emulator", flag("y"), action="created", variation_ids=[])
    assert ledger.fingerprint(TARGET, ["web"]) == one  # other projects and targets don't count
    ledger.compact()
    assert Ledger.load(path).fingerprint(TARGET, ["web"]) == one
    ledger.record_link(TARGET, link("a", "L"), action="created", link_id="1")
    assert ledger.fingerprint(TARGET, ["web"]) != one
    assert ledger.fingerprint(TARGET, ["api"]) != ledger.fingerprint(TARGET, ["web"])


def test_an_accepted_difference_round_trips_and_entries_without_one_are_written_as_before(
    path: str, lock: LedgerLock
) -> None:
    ledger = writable(path, lock)
    plain = ledger.record_flag(TARGET, flag("a"), action="created", variation_ids=[])
    marked = ledger.record_flag(
        TARGET, flag("b"), action="adopted", variation_ids=[], accepted="sha256:abc"
    )
    ledger.compact()
    assert "accepted" not in plain.data  # a ledger with nothing accepted reads as version 1 did
    again = Ledger.load(path)
    assert again.get_flag(TARGET, "web", "b") == marked
    assert again.get_flag(TARGET, "web", "b").accepted == "sha256:abc"  # type: ignore[union-attr]
    assert json.loads(Path(path).read_text())["version"] == 1


def test_an_accepted_difference_counts_in_the_fingerprint(path: str, lock: LedgerLock) -> None:
    ledger = writable(path, lock)
    entry = ledger.record_flag(TARGET, flag("a"), action="created", variation_ids=[])
    before = ledger.fingerprint(TARGET, ["web"])
    ledger.record(TARGET, entry._replace(accepted="sha256:abc"))
    assert ledger.fingerprint(TARGET, ["web"]) != before


def test_forget_removes_entries_at_once_and_for_good(path: str, lock: LedgerLock) -> None:
    ledger = writable(path, lock)
    kept = ledger.record_flag(TARGET, flag("kept"), action="created", variation_ids=[])
    gone = ledger.record_flag(TARGET, flag("gone", project="other"), action="created",
                              variation_ids=[])  # fmt: skip
    gone_link = ledger.record_link(TARGET, link("kept", "K"), action="created", link_id="L")
    ledger.forget(TARGET, [gone, gone_link])
    assert not os.path.exists(ledger.journal_path)  # nothing left to replay them from
    again = Ledger.load(path)
    assert again.projects(TARGET) == ("web",)
    assert dict(again.flags(TARGET, "web")) == {"kept": kept}
    assert not again.links(TARGET, "web")


def test_an_accepted_field_that_is_not_a_string_is_refused(path: str) -> None:
    document = valid_document()
    document["targets"][TARGET]["web"]["flags"]["a"]["accepted"] = 3
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(document))
    with pytest.raises(LedgerCorruptError, match="accepted must be a non-empty string"):
        Ledger.load(path)
