"""The loader: YAML text to plain data, every value and key with its source position."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.errors import InputError
from reconciler.files.discovery import find_files
from reconciler.files.loader import MAX_FILE_BYTES, load_file, load_paths, load_text
from reconciler.files.positions import Document
from reconciler.model import Finding, Location

BLOCK = """\
# a comment first
project: web-app
flags:
  - key: checkout
    name: Checkout
    tags:
      - payments
      - web
    customProperties:
      jira.issues:
        name: Jira
        value: [PAY-1, PAY-2]
"""


def where(doc: Document, *path: object, key: bool = False) -> tuple[int, int]:
    loc = doc.locate(list(path), key=key)
    assert loc.file == doc.file
    return loc.line, loc.col


def at(text: str, line: int, needle: str) -> tuple[int, int]:
    """The (line, column) where ``needle`` first appears on ``line`` of ``text``."""
    return line, text.splitlines()[line - 1].index(needle) + 1


def problem(tmp_path: Path, text: str | bytes, name: str = "f.yaml") -> Finding:
    """The one finding for a file that cannot be loaded."""
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    result = load_file(path, name)
    assert isinstance(result, Finding), result
    return result


def loaded(text: str) -> Document:
    return load_text(text, "f.yaml")


# -- positions ---------------------------------------------------------------------


def test_values_in_block_style_are_located_at_their_first_character() -> None:
    doc = loaded(BLOCK)
    assert where(doc, "project") == (2, 10)
    assert where(doc, "flags", 0) == (4, 5)
    assert where(doc, "flags", 0, "name") == (5, 11)
    assert where(doc, "flags", 0, "tags", 1) == (8, 9)


def test_keys_are_located_at_the_key_itself() -> None:
    doc = loaded(BLOCK)
    assert where(doc, "project", key=True) == (2, 1)
    assert where(doc, "flags", 0, "name", key=True) == (5, 5)
    assert where(doc, "flags", 0, "customProperties", "jira.issues", key=True) == (10, 7)


def test_a_list_item_has_no_key_so_key_lookups_give_the_item() -> None:
    doc = loaded(BLOCK)
    assert where(doc, "flags", 0, "tags", 0, key=True) == (7, 9)


def test_nested_values_in_flow_style_are_located() -> None:
    text = "project: p\nflags: [{key: a, name: A, tags: [x, y]}, {key: b, name: B}]\n"
    doc = loaded(text)
    assert where(doc, "flags", 0) == at(text, 2, "{key: a")
    assert where(doc, "flags", 0, "name") == at(text, 2, "A,")
    assert where(doc, "flags", 0, "tags", 1) == at(text, 2, "y]")
    assert where(doc, "flags", 1, "key") == at(text, 2, "b,")
    assert where(doc, "flags", 1, "key", key=True) == at(text, 2, "key: b")


def test_a_deeply_nested_value_is_located() -> None:
    doc = loaded(BLOCK)
    assert where(doc, "flags", 0, "customProperties", "jira.issues", "value", 1) == at(
        BLOCK, 12, "PAY-2"
    )


def test_the_root_is_the_top_level_mapping_after_leading_comments() -> None:
    assert where(loaded(BLOCK)) == (2, 1)


def test_a_path_that_is_not_there_points_at_the_deepest_container_that_is() -> None:
    doc = loaded(BLOCK)
    assert where(doc, "flags", 0, "defaults", "onVariation") == (4, 5)
    assert where(doc, "flags", 7, "name") == where(doc, "flags")
    assert where(doc, "flags", 0, "name", "deeper") == (5, 11)


def test_an_aliased_value_is_located_where_its_anchor_defines_it() -> None:
    doc = loaded(
        "project: p\n"
        "flags:\n"
        "  - key: a\n"
        "    name: &shared Shared name\n"
        "  - key: b\n"
        "    name: *shared\n"
    )
    assert doc.data["flags"][1]["name"] == "Shared name"
    assert where(doc, "flags", 1, "name") == (4, 11)
    assert where(doc, "flags", 1, "name", key=True) == (6, 5)


def test_an_aliased_mapping_is_a_copy_located_at_its_anchor() -> None:
    text = "project: p\nflags:\n  - &base {key: a, name: A}\n  - *base\n"
    doc = loaded(text)
    first, second = doc.data["flags"]
    assert first == second
    assert first is not second  # later stages may not share mutable data between flags
    assert where(doc, "flags", 1, "name") == at(text, 3, "A}")


def test_merged_keys_are_located_where_they_were_written() -> None:
    doc = loaded(
        "project: p\n"
        "flags:\n"
        "  - &base\n"
        "    key: a\n"
        "    name: A\n"
        "    temporary: false\n"
        "  - <<: *base\n"
        "    key: b\n"
    )
    assert doc.data["flags"][1] == {"key": "b", "name": "A", "temporary": False}
    assert where(doc, "flags", 1, "key") == (8, 10)  # its own key
    assert where(doc, "flags", 1, "temporary") == (6, 16)  # from the merged mapping
    assert where(doc, "flags", 1, "temporary", key=True) == (6, 5)


# -- merge keys --------------------------------------------------------------------


def test_explicit_keys_win_over_merged_ones_wherever_the_merge_is_written() -> None:
    doc = loaded("base: &b {x: 1, y: 1}\nafter: {<<: *b, x: 2}\nbefore: {x: 2, <<: *b}\n")
    assert doc.data["after"] == {"x": 2, "y": 1}
    assert doc.data["before"] == {"x": 2, "y": 1}


def test_earlier_merges_win_over_later_ones() -> None:
    doc = loaded("a: &a {x: a, y: a}\nb: &b {x: b, z: b}\nm: {<<: [*a, *b]}\n")
    assert doc.data["m"] == {"x": "a", "y": "a", "z": "b"}


def test_merging_something_that_is_not_a_mapping_is_refused_at_that_thing(
    tmp_path: Path,
) -> None:
    finding = problem(tmp_path, "a: &a text\nb: {<<: *a}\n")
    assert str(finding) == "f.yaml:1:4: '<<' merges only mappings"  # at &a
    text = "a: &a {x: 1}\nb: {<<: [*a, 2]}\n"
    in_a_list = problem(tmp_path, text)
    assert (in_a_list.location.line, in_a_list.location.col) == at(text, 2, "2]")


# -- scalars: YAML 1.2, JSON-compatible ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("On", "On"),
        ("off", "off"),
        ("yes", "yes"),
        ("No", "No"),
        ("y", "y"),
        ("true", True),
        ("True", True),
        ("FALSE", False),
        ("~", None),
        ("null", None),
        ("", None),
    ],
)
def test_booleans_and_nulls_follow_yaml_1_2(text: str, value: object) -> None:
    assert loaded(f"v: {text}\n").data["v"] == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", 12),
        ("-3", -3),
        ("010", 10),  # YAML 1.1: octal 8
        ("0o17", 15),
        ("0x1F", 31),
        ("1.5", 1.5),
        ("1e3", 1000.0),  # YAML 1.1: the text "1e3"
        ("-2.5E-2", -0.025),
        (".5", 0.5),
        ("1:20", "1:20"),  # YAML 1.1: 80
        ("1_000", "1_000"),  # YAML 1.1: 1000
        ("0b101", "0b101"),  # YAML 1.1: 5
        ("1.2.3", "1.2.3"),
    ],
)
def test_numbers_follow_yaml_1_2(text: str, value: object) -> None:
    data = loaded(f"v: {text}\n").data["v"]
    assert (data, type(data)) == (value, type(value))


def test_quoted_and_explicitly_tagged_scalars_keep_their_type() -> None:
    doc = loaded("a: '010'\nb: \"true\"\nc: !!str 010\nd: !!float 1\n")
    assert doc.data == {"a": "010", "b": "true", "c": "010", "d": 1.0}


@pytest.mark.parametrize("text", ["2024-05-01", "2024-05-01T10:00:00Z", "2024-05-01 10:00:00"])
def test_timestamps_stay_text(text: str) -> None:
    assert loaded(f"v: {text}\n").data["v"] == text


def test_keys_stay_text_as_written() -> None:
    doc = loaded("on: 1\nyes: 2\n3: 3\ntrue: 4\nnull: 5\n2024-05-01: 6\n")
    assert list(doc.data) == ["on", "yes", "3", "true", "null", "2024-05-01"]


@pytest.mark.parametrize("text", [".inf", "-.Inf", ".NaN", "!!float .nan"])
def test_non_finite_numbers_are_refused(tmp_path: Path, text: str) -> None:
    finding = problem(tmp_path, f"project: p\nv: {text}\n")
    assert finding.location == Location("f.yaml", 2, 4)
    assert finding.message.endswith("is not a number JSON can carry")


# -- refusals ----------------------------------------------------------------------------


def test_a_duplicate_key_names_both_locations(tmp_path: Path) -> None:
    finding = problem(tmp_path, "project: p\nflags:\n  - key: a\n    name: A\n    key: b\n")
    assert (str(finding.location), finding.message) == (
        "f.yaml:5:5",
        "duplicate key 'key' (first defined at f.yaml:3:5)",
    )


def test_a_duplicate_key_in_flow_style_is_refused(tmp_path: Path) -> None:
    finding = problem(tmp_path, "v: {a: 1, b: 2, a: 3}\n")
    assert str(finding) == "f.yaml:1:17: duplicate key 'a' (first defined at f.yaml:1:5)"


def test_keys_are_duplicates_when_their_text_is_the_same_however_quoted(tmp_path: Path) -> None:
    finding = problem(tmp_path, "1: a\n'1': b\n")
    assert str(finding) == "f.yaml:2:1: duplicate key '1' (first defined at f.yaml:1:1)"


@pytest.mark.parametrize(
    "tag", ["!!python/object/apply:os.system [ls]", "!!python/name:os.system", "!custom x"]
)
def test_python_and_custom_tags_are_refused(tmp_path: Path, tag: str) -> None:
    finding = problem(tmp_path, f"project: p\nname: {tag}\n")
    assert finding.location == Location("f.yaml", 2, 7)
    assert finding.message.startswith("the YAML tag ")
    assert finding.message.endswith("is not allowed: flag files hold plain data only")


def test_an_alias_bomb_fails_fast_instead_of_exhausting_memory(tmp_path: Path) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    started = time.monotonic()
    finding = problem(tmp_path, "\n".join(lines) + "\n")  # 10**9 values if expanded
    assert time.monotonic() - started < 5  # a hang guard: it takes milliseconds
    assert finding.message == (
        "aliases expand to more than 100,000 values; this looks like an alias bomb"
    )


def test_modest_reuse_of_anchors_is_fine() -> None:
    doc = loaded("a: &a [1, 2, 3]\nb: [*a, *a, *a, *a]\n")
    assert doc.data["b"] == [[1, 2, 3]] * 4


def test_nesting_deeper_than_64_levels_is_refused_where_it_goes_too_deep(
    tmp_path: Path,
) -> None:
    ok = loaded("v: " + "[" * 64 + "]" * 64 + "\n")
    assert ok.data["v"] is not None
    finding = problem(tmp_path, "v: " + "[" * 65 + "]" * 65 + "\n")
    assert str(finding) == "f.yaml:1:68: nesting is deeper than 64 levels"


@pytest.mark.parametrize("levels", [1_500, 20_000])
def test_nesting_past_libyamls_own_limit_is_the_same_finding_whatever_libyaml_it_is(
    tmp_path: Path, levels: int
) -> None:
    # libyaml 0.2.6 gives up at 1,000 levels with a message of its own, 0.2.5 does not;
    # 1,500 levels reach the composer, 20,000 the event scan before it.
    finding = problem(tmp_path, "v: " + "[" * levels + "]" * levels + "\n")
    assert str(finding) == "f.yaml:1:68: nesting is deeper than 64 levels"


def test_deep_nesting_at_the_end_of_a_large_file_is_told_on_its_line_without_a_slow_rescan(
    tmp_path: Path,
) -> None:
    # Past 256 KiB the pure-Python re-scan is not worth its cost under libyaml 0.2.6: the
    # finding names the line (its column is libyaml's, or the 65th level's under 0.2.5).
    body = "".join(f"k{i}: [{i}]\n" for i in range(30_000))
    assert len(body) > 1 << 18
    finding = problem(tmp_path, body + "v: " + "[" * 1_100 + "]" * 1_100 + "\n")
    assert finding.message == "nesting is deeper than 64 levels"
    assert finding.location.line == 30_001


def test_deep_nesting_through_aliases_is_refused(tmp_path: Path) -> None:
    inner = "[" * 40 + "]" * 40
    finding = problem(tmp_path, f"a: &a {inner}\nb: " + "[" * 30 + "*a" + "]" * 30 + "\n")
    assert finding.message == "nesting is deeper than 64 levels"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty; a flag file is a mapping with 'project' and 'flags'"),
        ("\n  \n", "the file is empty; a flag file is a mapping with 'project' and 'flags'"),
        (
            "# only\n# comments\n",
            "the file holds only comments; a flag file is a mapping with 'project' and 'flags'",
        ),
    ],
)
def test_a_file_without_data_is_refused_at_its_start(
    tmp_path: Path, text: str, message: str
) -> None:
    finding = problem(tmp_path, text)
    assert (finding.location, finding.message) == (Location("f.yaml", 1, 1), message)


def test_a_complex_mapping_key_is_refused(tmp_path: Path) -> None:
    finding = problem(tmp_path, "? [a, b]\n: c\n")
    assert str(finding) == "f.yaml:1:3: a mapping key must be a plain scalar"


def test_an_oversized_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: nothing is written
    result = load_file(path, "huge.yaml")
    assert isinstance(result, Finding)
    assert result.message == (
        f"the file is {MAX_FILE_BYTES + 1:,} bytes; flag files may be at most "
        f"{MAX_FILE_BYTES:,} bytes"
    )


def test_a_file_at_the_size_cap_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    head = b"project: p\nflags: []\n"
    path.write_bytes(head + b"#" * (MAX_FILE_BYTES - len(head) - 1) + b"\n")
    assert isinstance(load_file(path), Document)


def test_positions_count_from_after_a_byte_order_mark(tmp_path: Path) -> None:
    finding = problem(tmp_path, b"\xef\xbb\xbfproject: caf\xe9\n")
    assert str(finding) == "f.yaml:1:13: the file is not valid UTF-8"
    nul = problem(tmp_path, b"\xef\xbb\xbfab\x00\n")
    assert str(nul) == "f.yaml:1:3: this is a binary file (it contains NUL bytes)"


def test_a_utf16_file_is_named_as_such(tmp_path: Path) -> None:
    finding = problem(tmp_path, "\ufeffproject: p\n".encode("utf-16-le"))
    assert str(finding) == "f.yaml:1:1: the file is UTF-16 text; save it as UTF-8"


def test_crlf_line_ends_do_not_shift_positions() -> None:
    doc = loaded(BLOCK.replace("\n", "\r\n"))
    assert where(doc, "flags", 0, "tags", 1) == (8, 9)
    assert doc.data["flags"][0]["name"] == "Checkout"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "a: [1, 2\nb: 3\n",
            "f.yaml:2:2: invalid YAML: did not find expected ',' or ']' "
            "(while parsing a flow sequence started at 1:4)",
        ),
        (
            "a: *nothing\n",
            "f.yaml:1:4: invalid YAML: no anchor &nothing is defined before the alias *nothing",
        ),
        (
            "a: 1\n---\nb: 2\n",
            "f.yaml:2:1: a second YAML document starts here; keep one document per file",
        ),
        ("a:\n\tb: 1\n", "f.yaml:2:1: a tab character cannot indent YAML; use spaces"),
    ],
)
def test_yaml_syntax_errors_are_one_located_line(tmp_path: Path, text: str, expected: str) -> None:
    assert str(problem(tmp_path, text)) == expected


# -- finding files -------------------------------------------------------------------------


def test_directories_are_searched_recursively_in_sorted_order(tmp_path: Path) -> None:
    for name in ("b/two.yml", "a/one.yaml", "a/z/three.yaml", "top.yaml", "a/notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x: 1\n")
    files, findings = find_files([str(tmp_path)])
    shown = [Path(display).relative_to(tmp_path).as_posix() for _, display in files]
    assert shown == ["a/one.yaml", "a/z/three.yaml", "b/two.yml", "top.yaml"]
    assert findings == []


def test_hidden_files_and_directories_are_skipped(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config.yaml").write_text("x: 1\n")
    (tmp_path / ".hidden.yaml").write_text("x: 1\n")
    (tmp_path / "seen.yaml").write_text("x: 1\n")
    files, _ = find_files([str(tmp_path)])
    assert [path.name for path, _ in files] == ["seen.yaml"]


def test_a_file_named_on_the_command_line_is_used_whatever_its_suffix(tmp_path: Path) -> None:
    (tmp_path / "flags.txt").write_text("x: 1\n")
    files, _ = find_files([str(tmp_path / "flags.txt")])
    assert [path.name for path, _ in files] == ["flags.txt"]


def test_a_missing_path_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"^nope\.yaml: no such file or directory$"):
        find_files(["nope.yaml"])


def test_nothing_to_load_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no \*\.yaml or \*\.yml files found in "):
        load_paths([str(tmp_path)])


def test_load_paths_returns_documents_and_findings_together(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text("project: p\nflags: []\n")
    (tmp_path / "bad.yaml").write_text("project: [\n")
    documents, findings = load_paths([str(tmp_path)])
    assert [Path(d.file).name for d in documents] == ["good.yaml"]
    assert [Path(f.location.file).name for f in findings] == ["bad.yaml"]


def _pyyaml_loaders() -> dict[str, dict[str, Any]]:
    classes = (yaml.SafeLoader, yaml.CSafeLoader, yaml.resolver.Resolver, yaml.Loader)
    return {c.__name__: {**vars(c), "implicit": repr(c.yaml_implicit_resolvers)} for c in classes}


def test_loading_leaves_pyyaml_s_own_loaders_as_they_were() -> None:
    # The loader's speed-ups (cached tags, no-op path hooks) live on a private subclass;
    # another library in the same process still reads YAML 1.1 through PyYAML's loaders.
    before = _pyyaml_loaders()
    load_text("project: p\nflags:\n  - key: a\n    n: 010\n    b: &x on\n    c: *x\n", "f.yaml")
    assert _pyyaml_loaders() == before
    assert yaml.safe_load("a: 010\nb: on\n") == {"a": 8, "b": True}
    assert yaml.load("a: 010\nb: on\n", Loader=yaml.CSafeLoader) == {"a": 8, "b": True}
