"""Reading a ledger checks it whole in compiled code (jsonschema-rs), and entry by entry only
when that check fails: both must accept and refuse exactly the same ledgers, with the same
message. Each case below breaks one thing in a valid ledger; both paths read it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from reconciler.errors import LedgerCorruptError
from reconciler.state import ledgerfile

FLAG = {
    "kind": "flag", "project": "web", "key": "f", "id": None, "action": "created",
    "at": "2024-01-01T00:00:00Z", "source": "flags/web.yaml:3:5", "digest": "sha256:ab",
    "spec": {"key": "f", "name": "F", "variations": [{"value": 1.5}]},
    "variation_ids": ["v0", "v1"],
}  # fmt: skip
LINK = {
    "kind": "link", "project": "web", "key": "doc", "flag_key": "f", "id": "L1",
    "action": "adopted", "at": "2024-01-01T00:00:00Z", "source": "flags/web.yaml:5:9",
    "digest": "sha256:cd", "spec": {"key": "doc", "deepLink": "https://d"}, "accepted": "sha256:ef",
}  # fmt: skip
VALID: dict[str, Any] = {
    "format": "ld-reconciler-ledger",
    "version": 1,
    "targets": {"emulator": {"web": {"flags": {"f": FLAG}, "links": {"f/doc": LINK}}}},
}

Edit = Callable[[dict[str, Any]], None]


def _entry(kind: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def get(doc: dict[str, Any]) -> dict[str, Any]:
        project = doc["targets"]["emulator"]["web"]
        return project["flags"]["f"] if kind == "flag" else project["links"]["f/doc"]  # type: ignore[no-any-return]

    return get


def _set(kind: str, name: str, value: Any) -> Edit:
    return lambda doc: _entry(kind)(doc).__setitem__(name, value)


def _drop(kind: str, name: str) -> Edit:
    return lambda doc: _entry(kind)(doc).pop(name)


CASES: dict[str, Edit] = {"valid": lambda doc: None}
for kind, entry in (("flag", FLAG), ("link", LINK)):
    for name in entry:
        CASES[f"{kind} without {name}"] = _drop(kind, name)
        for label, value in (("1", 1), ("true", True), ("null", None), ("''", ""), ("[]", [])):
            CASES[f"{kind} {name} {label}"] = _set(kind, name, value)
    CASES[f"{kind} with an unknown field"] = _set(kind, "extra", "x")
    CASES[f"{kind} accepted ''"] = _set(kind, "accepted", "")
    CASES[f"{kind} accepted 'sha256:x'"] = _set(kind, "accepted", "sha256:x")
    CASES[f"{kind} action 'deleted'"] = _set(kind, "action", "deleted")
    CASES[f"{kind} of another project"] = _set(kind, "project", "api")
    CASES[f"{kind} under another key"] = _set(kind, "key", "g")
    CASES[f"{kind} spec with NaN"] = _set(kind, "spec", {"v": float("nan")})
    CASES[f"{kind} spec with a huge number"] = _set(kind, "spec", {"v": 10**40})
    CASES[f"{kind} as a list"] = lambda doc, kind=kind: doc["targets"]["emulator"]["web"][
        f"{kind}s"
    ].update({"f" if kind == "flag" else "f/doc": []})
CASES["flag variation_ids [1]"] = _set("flag", "variation_ids", ["v0", 1])
CASES["flag variation_ids []"] = _set("flag", "variation_ids", [])
CASES["link kind 'flag'"] = _set("link", "kind", "flag")
CASES["link with variation_ids"] = _set("link", "variation_ids", [])
CASES["an unknown section"] = lambda doc: doc["targets"]["emulator"]["web"].update(other={})
CASES["a project as a list"] = lambda doc: doc["targets"]["emulator"].update(web=[])
CASES["a target as a string"] = lambda doc: doc["targets"].update(emulator="x")
CASES["an empty project"] = lambda doc: doc["targets"]["emulator"].update(api={})
CASES["sections as a list"] = lambda doc: doc["targets"]["emulator"]["web"].update(flags=[])


def _read(raw: bytes) -> Any:
    try:
        return ledgerfile.parse("ledger.json", raw)
    except LedgerCorruptError as e:
        return str(e)


@pytest.mark.parametrize("edit", CASES.values(), ids=CASES.keys())
def test_the_whole_check_and_the_entry_by_entry_one_read_a_ledger_alike(
    edit: Edit, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = copy.deepcopy(VALID)
    edit(doc)
    raw = json.dumps(doc).encode()
    fast = _read(raw)
    monkeypatch.setattr(ledgerfile, "_well_formed", lambda targets: False)
    assert fast == _read(raw)


def test_a_valid_ledger_is_read_by_the_whole_check(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(data: object) -> Any:
        raise AssertionError("checked entry by entry")

    monkeypatch.setattr(ledgerfile.LedgerEntry, "from_data", refuse)
    parsed = ledgerfile.parse("ledger.json", json.dumps(VALID).encode())
    entry = parsed["emulator"]["web"]["links"]["f/doc"]
    assert (entry.flag_key, entry.id, entry.accepted) == ("f", "L1", "sha256:ef")
    assert parsed["emulator"]["web"]["flags"]["f"].variation_ids == ("v0", "v1")
