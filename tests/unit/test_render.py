"""The plan renderers on hand-made plans: Markdown escaping and structure, colour rules."""

from __future__ import annotations

import io
import re

import pytest

from reconciler.plan.compare import FieldDiff, flag_differences
from reconciler.plan.plan import Action, Kind, Plan
from reconciler.plan.render import MARKER, GithubRenderer, MarkdownRenderer, TextRenderer, use_color

ANSI = re.compile(r"\x1b\[")
UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def _plan(*actions: Action) -> Plan:
    return Plan("https://app.launchdarkly.com", True, actions)


DRIFT = Action(
    Kind.DRIFT,
    "flag",
    "web",
    "checkout",
    source="flags/we|b `odd`.yaml:3:5",
    reason="exists in LaunchDarkly with other settings; not adopted <b>",
    diff=(FieldDiff("description", "Uses `code` | and a pipe", "plain"),),
)
CREATE = Action(Kind.CREATE, "flag", "web", "new", source="flags/web.yaml:9:5")


def _rows(markdown: str) -> list[list[str]]:
    """The table rows after the header, split into cells as GFM splits them."""
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and "---" not in line]
    return [UNESCAPED_PIPE.split(row)[1:-1] for row in rows if not row.startswith("| |")]


def test_markdown_cells_escape_pipes_backticks_and_html_from_sources_and_values() -> None:
    markdown = MarkdownRenderer().render(_plan(DRIFT))
    ((symbol, resource, address, source, note),) = _rows(markdown)
    assert (symbol.strip(), resource.strip(), address.strip()) == ("~", "flag", "`web/checkout`")
    assert source.strip() == "``flags/we\\|b `odd`.yaml:3:5``"
    assert "not adopted &lt;b&gt;<br>" in note
    assert '`description`: ``"Uses `code` \\| and a pipe"`` → `"plain"`' in note


def test_markdown_puts_the_marker_and_summary_first_and_each_kind_in_a_closed_details() -> None:
    markdown = MarkdownRenderer().render(_plan(CREATE, DRIFT))
    lines = markdown.splitlines()
    assert lines[0] == MARKER
    summary = lines.index("**Plan: 1 to create, 1 drifted.**")
    opened = [i for i, line in enumerate(lines) if line.startswith("<details>")]
    closed = [i for i, line in enumerate(lines) if line == "</details>"]
    assert summary < opened[0]
    assert [lines[i] for i in opened] == [
        "<details><summary>1 create</summary>",
        "<details><summary>1 drift</summary>",
    ]
    assert len(closed) == 2
    assert all(o < c for o, c in zip(opened, closed, strict=True))
    assert closed[0] < opened[1]


class Stream(io.StringIO):
    """An output stream that says whether it is a terminal."""

    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(Stream(tty=True))
    assert not use_color(Stream(tty=False))
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(Stream(tty=True))


def test_text_is_coloured_by_kind_only_when_asked() -> None:
    plan = _plan(CREATE, DRIFT)
    coloured = TextRenderer().render(plan, color=True)
    plain = TextRenderer().render(plan, color=False)
    lines = {line.split("flag ")[-1].split()[0]: line for line in coloured.splitlines()[2:4]}
    assert lines["web/new"].startswith("\x1b[32m")  # green
    assert lines["web/checkout"].startswith("\x1b[33m")  # yellow
    assert not ANSI.search(plain)
    assert re.sub(r"\x1b\[\d+m", "", coloured) == plain


def test_an_absent_field_is_shown_unquoted_and_a_declared_string_quoted() -> None:
    declared = {"maintainerTeamKey": "payments", "description": "(absent)"}
    live = {"key": "x", "description": "", "variations": []}
    diff = flag_differences(declared, live)
    action = Action(Kind.DRIFT, "flag", "web", "x", reason="changed", diff=diff)
    text = TextRenderer().render(_plan(action))
    assert 'description: "(absent)" -> ""' in text
    assert 'maintainerTeamKey: "payments" -> (absent)\n' in text


NEW = Action(
    Kind.CREATE,
    "flag",
    "web",
    "new",
    source="flags/web.yaml:9:5",
    body={"key": "new", "name": "New", "description": "Uses ```fences``` | pipes", "tags": ["a"]},
)


def test_text_lists_what_a_create_will_send_under_its_line_with_defaults_marked() -> None:
    lines = TextRenderer().render(_plan(NEW, DRIFT)).splitlines()
    at = lines.index("  + create   flag web/new  (flags/web.yaml:9:5)")
    assert lines[at + 1 : at + 5] == [
        '      key                    = "new"',
        '      name                   = "New"',
        '      description            = "Uses ```fences``` | pipes"',
        "      temporary              = true (LaunchDarkly's default)",
    ]
    assert "      isFlagOn               = false (LaunchDarkly's default)" in lines
    drift = next(i for i, line in enumerate(lines) if "~ drift" in line)
    assert lines[drift + 2] == '      description: "Uses `code` | and a pipe" -> "plain"'
    assert not any(" = " in line for line in lines[drift:])  # only creates list attributes


def test_markdown_shows_each_create_s_attributes_in_a_code_block_inside_the_create_section() -> (
    None
):
    markdown = MarkdownRenderer().render(_plan(NEW, DRIFT))
    section = markdown.split("<details><summary>1 create</summary>")[1].split("</details>")[0]
    assert "`+ flag web/new` will be created with:\n\n````\n" in section  # fenced past ```
    assert '\ndescription            = "Uses ```fences``` | pipes"\n' in section
    assert "\ntemporary              = true (LaunchDarkly's default)\n" in section
    assert section.count("````") == 2
    assert "will be created with" not in markdown.split("<details><summary>1 drift")[1]


def test_github_annotations_show_both_sides_of_each_drifted_field() -> None:
    lines = GithubRenderer().render(_plan(DRIFT, NEW)).splitlines()
    (warning,) = (line for line in lines if line.startswith("::warning "))
    assert '%0Adescription: "Uses `code` | and a pipe" -> "plain"' in warning
