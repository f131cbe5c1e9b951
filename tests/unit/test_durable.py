"""Durable files: a replace is whole or nothing, a journal keeps what its appends returned."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.state import durable

HEADER = b'{"format":"test-journal"}\n'


def test_replace_writes_the_new_content_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "file.json"
    path.write_bytes(b"old")
    durable.replace(path, b"new")
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["file.json"]


def test_a_failed_replace_keeps_the_old_content_and_removes_its_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "file.json"
    path.write_bytes(b"old")

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space left on device"):
        durable.replace(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.json"]


def test_only_the_files_own_temporary_files_are_removed_as_stale(tmp_path: Path) -> None:
    path = tmp_path / "file.json"
    stale = tmp_path / ".file.json.0123456789ab.tmp"
    others = [tmp_path / ".other.json.0123456789ab.tmp", tmp_path / ".file.json.tmp"]
    for p in (stale, *others):
        p.write_text("{")
    assert durable.is_temporary(str(stale), path)
    durable.remove_temporary_files(path)
    assert not stale.exists()
    assert all(p.exists() for p in others)


@pytest.mark.parametrize("keep_open", [True, False])
def test_a_journal_starts_with_its_header_and_reads_back_line_by_line(
    tmp_path: Path, keep_open: bool
) -> None:
    journal = durable.Journal(tmp_path / "j", HEADER, keep_open=keep_open)
    journal.append(b'{"n":1}\n')
    journal.append(b'{"n":2}\n')
    journal.close()
    raw = (tmp_path / "j").read_bytes()
    assert raw == HEADER + b'{"n":1}\n{"n":2}\n'
    assert durable.journal_lines(raw) == ([{"format": "test-journal"}, {"n": 1}, {"n": 2}], False)


def test_a_torn_last_line_is_dropped_and_a_bad_line_before_it_is_an_error() -> None:
    assert durable.journal_lines(HEADER + b'{"n":1}\n{"n"') == (
        [{"format": "test-journal"}, {"n": 1}],
        True,
    )
    with pytest.raises(durable.JournalLineError, match="line 2 is not valid JSON") as info:
        durable.journal_lines(HEADER + b'{"n"\n{"n":2}\n')
    assert info.value.number == 2


def test_a_journal_never_appends_to_a_file_it_did_not_create_or_that_changed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j"
    path.write_bytes(HEADER)
    with pytest.raises(FileExistsError):
        durable.Journal(path, HEADER, keep_open=False).append(b"{}\n")
    assert path.read_bytes() == HEADER

    path.unlink()
    journal = durable.Journal(path, HEADER, keep_open=False)
    journal.append(b"{}\n")
    with path.open("ab") as other:
        other.write(b"{}\n")
    with pytest.raises(FileExistsError):
        journal.append(b"{}\n")


def test_removing_a_journal_starts_a_new_one_at_the_next_append(tmp_path: Path) -> None:
    journal = durable.Journal(tmp_path / "j", HEADER, keep_open=True)
    journal.append(b"{}\n")
    journal.remove()
    assert not journal.exists
    assert not journal.appended
    journal.append(b'{"n":2}\n')
    assert (tmp_path / "j").read_bytes() == HEADER + b'{"n":2}\n'
