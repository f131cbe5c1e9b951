"""The parts of export on their own: file names, YAML that reads back exactly, which defaults
are left out, and when a flag is fetched beyond the list (against ``httpx.MockTransport``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx
import pytest

from reconciler.client import LaunchDarklyClient
from reconciler.export import (
    UNLISTED_PREREQUISITES,
    export_project,
    group_of,
    render,
    safe_file_stem,
)
from reconciler.loader import load_text

BASE = "https://ld.example"
TOKEN = "api-test-token"


@pytest.mark.parametrize(
    ("tag", "stem"),
    [
        ("checkout", "checkout"),
        ("Checkout", "checkout"),  # one file where the file system ignores case
        ("v1.2_beta-3", "v1.2_beta-3"),
        (".hidden", "hidden"),  # validate skips hidden files
        ("-x", "x"),  # would read as an option
        ("...", "tag"),
        ("con", "tag-con"),  # Windows device names
        ("NUL.x", "tag-nul.x"),
        ("lpt1", "tag-lpt1"),
        ("a/b c", "a-b-c"),  # not from LaunchDarkly's tag pattern, but never a path
        ("ü" * 3, "tag"),
    ],
)
def test_a_tag_becomes_a_safe_file_name(tag: str, stem: str) -> None:
    assert safe_file_stem(tag) == stem


def test_the_group_is_the_first_tag_in_sorted_order_or_untagged() -> None:
    assert group_of(["payments", "checkout"]) == "checkout"
    assert group_of([]) == "untagged"


@pytest.mark.parametrize(
    "text",
    ["1e3", "0o17", "0x1F", ".5", "+1", "-2.5e-3", "1_000", ".inf", "-.Inf", ".nan", "010",
     "true", "False", "on", "null", "~", "", " leading", "trailing ", "a: b", "#hash", "@at",
     "*star", "&amp", "!bang", "- dash", "2024-01-02", "multi\nline", "multi\nline\n",
     "\n leading break", "tab\there", "cr\r\nlf", "ümlaut ✓", "line\u2028separator"],
)  # fmt: skip
def test_any_string_reads_back_as_the_same_string(text: str) -> None:
    flag = {"key": "f", "name": text or "x", "variations": [{"value": text}, {"value": "other"}]}
    document = load_text(render("p", [flag], "a comment"), "f.yaml")
    assert document.data == {"project": "p", "flags": [flag]}


class Project:
    """An in-memory LaunchDarkly project: flags as the list shows them, no links."""

    def __init__(self, *flags: dict[str, Any]) -> None:
        self.flags = flags

    def list_flags(
        self, project: str, *, archived: bool = False, limit: int = 100, offset: int = 0
    ) -> Iterable[dict[str, Any]]:
        return [] if archived else list(self.flags)

    def get_flag(self, project: str, key: str) -> dict[str, Any] | None:
        raise AssertionError("the list carries everything: no flag is fetched")

    def list_links(self, project: str, flag_key: str) -> list[dict[str, Any]]:
        return []


def live(key: str, **fields: Any) -> dict[str, Any]:
    flag: dict[str, Any] = {
        "key": key,
        "name": key,
        "description": "",
        "temporary": True,
        "tags": [],
        "variations": [{"_id": "a", "value": True}, {"_id": "b", "value": False}],
        "defaults": {"onVariation": 0, "offVariation": 1},
        "clientSideAvailability": {"usingEnvironmentId": False, "usingMobileKey": True},
        "customProperties": {},
        "_version": 3,
        "kind": "boolean",
        "creationDate": 1,
        "archived": False,
        "deprecated": False,
        "experiments": {"baselineIdx": 0, "items": []},
        "_links": {},
        "_maintainer": {"_id": "m", "email": "a@example.com"},
        "includeInSnippet": False,
    }
    flag.update(fields)
    return flag


MINIMAL = {"usingEnvironmentId": False, "usingMobileKey": True}


def exported(*flags: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result = export_project(Project(*flags), "p")
    return {f.key: dict(f.data) for f in result.flags}


def test_api_defaults_and_server_fields_are_left_out_but_client_side_availability_is_kept() -> None:
    assert exported(live("plain")) == {
        "plain": {"key": "plain", "name": "plain", "clientSideAvailability": MINIMAL}
    }


@pytest.mark.parametrize(
    ("variations", "defaults", "written"),
    [
        # not the default: names, another order, numbers that equal true and false
        ([{"value": True, "name": "On"}, {"value": False}], (0, 1), {"variations"}),
        ([{"value": False}, {"value": True}], (0, 1), {"variations"}),
        ([{"value": 1}, {"value": 0}], (0, 1), {"variations"}),
        # defaults other than first and last
        ([{"value": True}, {"value": False}], (1, 1), {"defaults"}),
        ([{"value": "a"}, {"value": "b"}, {"value": "c"}], (0, 2), {"variations"}),
        ([{"value": "a"}, {"value": "b"}, {"value": "c"}], (0, 1), {"variations", "defaults"}),
    ],
)
def test_variations_and_defaults_are_written_only_when_they_differ_from_the_default(
    variations: list[dict[str, Any]], defaults: tuple[int, int], written: set[str]
) -> None:
    flag = live(
        "f",
        variations=[{"_id": str(i), **v} for i, v in enumerate(variations)],
        defaults={"onVariation": defaults[0], "offVariation": defaults[1]},
    )
    data = exported(flag)["f"]
    assert {"variations", "defaults"} & set(data) == written
    if "variations" in written:
        assert data["variations"] == variations


def test_a_team_maintainer_is_kept_over_a_member_and_that_is_noted() -> None:
    flag = live("f", maintainerTeamKey="t", maintainerId="m1", _prerequisites=[])
    result = export_project(Project(flag), "p")
    assert result.flags[0].data["maintainerTeamKey"] == "t"
    assert "maintainerId" not in result.flags[0].data
    assert [str(n) for n in result.notes] == [
        "p/f: maintainerId left out: a file names one maintainer; kept team 't'"
    ]


def test_a_list_without_prerequisites_or_environments_says_none_were_exported() -> None:
    result = export_project(Project(live("a"), live("b")), "p")
    assert [str(n) for n in result.notes] == [f"p: {UNLISTED_PREREQUISITES}"]


# -- what the summary list omits, against a LaunchDarkly-shaped MockTransport ---------------------


def summary(prerequisites: int) -> dict[str, Any]:
    return {"_summary": {"variations": {}, "prerequisites": prerequisites}}


LISTED = [
    # LaunchDarkly's summary list: per environment a count of prerequisites, not the list.
    live("no-prereqs", environments={"production": summary(0), "test": summary(0)}),
    live("prereqs", environments={"production": summary(2), "test": summary(1)}),
    live("no-defaults", defaults=None),
    live("target", variations=[{"_id": "x", "value": "a"}, {"_id": "y", "value": "b"}]),
]
FULL = {
    "prereqs": live(
        "prereqs",
        environments={
            "production": {
                "prerequisites": [
                    {"key": "target", "variation": 1},
                    {"key": "no-prereqs", "variation": 0},
                ]
            },
            "test": {"prerequisites": [{"key": "target", "variation": 1}]},
        },
    ),
    "no-defaults": live("no-defaults", defaults={"onVariation": 1, "offVariation": 1}),
}


def test_a_flag_is_fetched_only_when_the_list_lacks_what_its_file_needs() -> None:
    requests: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(f"{request.method} {request.url.path}")
        path = request.url.path
        if path == "/api/v2/flags/p":
            return httpx.Response(200, json={"items": LISTED, "_links": {}, "totalCount": 4})
        if path.startswith("/api/v2/flags/p/"):
            return httpx.Response(200, json=FULL[path.rsplit("/", 1)[1]])
        return httpx.Response(200, json={"items": [], "_links": {}})

    with LaunchDarklyClient(BASE, TOKEN, transport=httpx.MockTransport(handler)) as client:
        result = export_project(client, "p")

    gets = sorted(r for r in requests if r.startswith("GET /api/v2/flags/p/"))
    assert gets == ["GET /api/v2/flags/p/no-defaults", "GET /api/v2/flags/p/prereqs"]
    flags = {f.key: f.data for f in result.flags}
    assert flags["no-defaults"]["defaults"] == {"onVariation": 1, "offVariation": 1}
    # Only the prerequisite set alike in every environment is an initial prerequisite.
    assert flags["prereqs"]["initialPrerequisites"] == [{"key": "target", "variationIndex": 1}]
    assert [str(n) for n in result.notes] == [
        "p/prereqs: prerequisite 'no-prereqs' (variation 0) left out: it is not set alike in "
        "every environment"
    ]
