"""The parts of export on their own: file names, YAML that reads back exactly, which defaults
are left out, and when a flag is fetched beyond the list (against ``httpx.MockTransport``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import httpx
import pytest
from emulator.conftest import SPEC_PATH, Contract

from reconciler.export.converter import UNREPORTED_PREREQUISITES, ExportedFlag
from reconciler.export.export import Export, export_project
from reconciler.export.flagfile import group_of, relative_ref, render, safe_file_stem
from reconciler.files.loader import load_text
from reconciler.remote.client import LaunchDarklyClient

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


@pytest.mark.parametrize("tag", ["untagged", "Untagged", ".untagged"])
def test_a_tag_named_untagged_never_shares_the_file_of_the_flags_without_tags(tag: str) -> None:
    assert group_of([tag, "z"]) == "tag-untagged"
    flags = (
        ExportedFlag("a", False, {"key": "a", "name": "a"}),
        ExportedFlag("b", False, {"key": "b", "name": "b", "tags": [tag]}),
    )
    files = Export("p", flags, selected=2).files()
    assert [(f.path, f.flags) for f in files] == [
        ("p/tag-untagged.yaml", 1),
        ("p/untagged.yaml", 1),
    ]
    assert "whose first tag is tag-untagged" in files[0].text
    assert "without tags" in files[1].text


@pytest.mark.parametrize(
    ("ref", "folder", "written"),
    [
        ("flag-file.schema.json", "shop", "../flag-file.schema.json"),
        ("flag-file.schema.json", "shop/archived", "../../flag-file.schema.json"),
        ("../schemas/flag-file.schema.json", "shop", "../../schemas/flag-file.schema.json"),
        ("./schemas//flag-file.schema.json", "shop", "../schemas/flag-file.schema.json"),
        ("https://example.com/s.json", "shop", "https://example.com/s.json"),
        ("/srv/schemas/flag-file.schema.json", "shop", "/srv/schemas/flag-file.schema.json"),
    ],
)
def test_the_modeline_names_the_schema_relative_to_each_file(
    ref: str, folder: str, written: str
) -> None:
    assert relative_ref(ref, folder) == written


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

    def __init__(
        self,
        *flags: dict[str, Any],
        fetch: Mapping[str, dict[str, Any] | None] = MappingProxyType({}),
    ) -> None:
        self.flags = flags
        self.fetch = fetch  # what a GET of a flag answers (None: deleted since it was listed)

    def list_flags(
        self, project: str, *, archived: bool = False, limit: int = 100, offset: int = 0
    ) -> Iterable[dict[str, Any]]:
        return [] if archived else list(self.flags)

    def get_flag(self, project: str, key: str) -> dict[str, Any] | None:
        assert key in self.fetch, f"{key} was fetched, but the list carries everything"
        return self.fetch[key]

    def list_links(self, project: str, flag_key: str) -> list[dict[str, Any]]:
        return []


def summary(prerequisites: int, *, on: bool = False) -> dict[str, Any]:
    """An environment as LaunchDarkly's list shows it: whether the flag is on (a required
    field of ``FeatureFlagConfig``) and a count of prerequisites, not the list."""
    return {"on": on, "_summary": {"variations": {}, "prerequisites": prerequisites}}


NONE_COUNTED = {"production": summary(0), "test": summary(0)}


def live(key: str, **fields: Any) -> dict[str, Any]:
    """A flag as LaunchDarkly's list shows it, counting no prerequisites in its environments."""
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
        "_maintainer": {
            "_links": {"self": {"href": "/api/v2/members/m", "type": "application/json"}},
            "_id": "m",
            "role": "writer",
            "email": "a@example.com",
        },
        "includeInSnippet": False,
        "environments": NONE_COUNTED,
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
    flag = live("f", maintainerTeamKey="t", maintainerId="m1")
    result = export_project(Project(flag), "p")
    assert result.flags[0].data["maintainerTeamKey"] == "t"
    assert "maintainerId" not in result.flags[0].data
    assert [str(n) for n in result.notes] == [
        "p/f: maintainerId left out: a file names one maintainer; kept team 't'"
    ]


def test_flags_with_no_prerequisites_counted_are_not_fetched_and_nothing_is_noted() -> None:
    result = export_project(
        Project(live("a"), live("b", environments={"production": summary(0)})), "p"
    )
    assert [f.key for f in result.flags] == ["a", "b"]
    assert result.notes == ()


def test_prerequisites_not_reported_even_by_the_flag_itself_are_noted_on_that_flag_only() -> None:
    unknown = live("unknown", environments={"production": {"on": True}})
    gone = live("gone")  # deleted between the list and the GET
    del gone["environments"]
    project = Project(live("known"), unknown, gone, fetch={"unknown": unknown, "gone": None})
    result = export_project(project, "p")
    assert [f.key for f in result.flags] == ["gone", "known", "unknown"]
    assert [str(n) for n in result.notes] == [
        "p/gone: isFlagOn left out: LaunchDarkly did not report it",
        f"p/gone: {UNREPORTED_PREREQUISITES}",
        f"p/unknown: {UNREPORTED_PREREQUISITES}",
    ]


# -- what the summary list omits, against a LaunchDarkly-shaped MockTransport ---------------------


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
                "on": False,
                "prerequisites": [
                    {"key": "target", "variation": 1},
                    {"key": "no-prereqs", "variation": 0},
                ],
            },
            "test": {"on": False, "prerequisites": [{"key": "target", "variation": 1}]},
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


# -- LaunchDarkly as it answers today: a list without environments, a flag with all of them -------


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract(SPEC_PATH)


def config(environment: str, prerequisites: list[dict[str, Any]]) -> dict[str, Any]:
    """A ``FeatureFlagConfig``: one environment's settings of a flag, as a GET of it shows."""
    return {
        "on": False,
        "archived": False,
        "salt": "5a1t",
        "sel": "5e1",
        "lastModified": 1_700_000_000_000,
        "version": 1,
        "_site": {"href": f"/shop/{environment}/features/f", "type": "text/html"},
        "_environmentName": environment.capitalize(),
        "trackEvents": False,
        "trackEventsFallthrough": False,
        "targets": [],
        "contextTargets": [],
        "rules": [],
        "fallthrough": {"variation": 0},
        "offVariation": 1,
        "prerequisites": prerequisites,
        "_summary": {"variations": {}, "prerequisites": len(prerequisites)},
    }


def test_launchdarklys_list_without_environments_has_each_flag_fetched_for_its_prerequisites(
    contract: Contract,
) -> None:
    parent = live("parent", kind="multivariate", variations=[
        {"_id": "v0", "value": "a"}, {"_id": "v1", "value": "b"}, {"_id": "v2", "value": "c"},
    ])  # fmt: skip
    flags = {f["key"]: f for f in (parent, live("gate"), live("child"))}
    per_environment = {
        "child": {
            "production": [{"key": "parent", "variation": 2}, {"key": "gate", "variation": 0}],
            "test": [{"key": "parent", "variation": 2}],
        }
    }
    # API version 20240415 lists flags without their environments unless filtered by one.
    listed = [{k: v for k, v in f.items() if k != "environments"} for f in flags.values()]
    requests: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(f"{request.method} {request.url.path}")
        path = request.url.path
        if path == "/api/v2/flags/p":
            body: dict[str, Any] = {"items": listed, "_links": {}, "totalCount": len(listed)}
            contract.validate(body, "FeatureFlags")
        elif path.startswith("/api/v2/flags/p/"):
            key = path.rsplit("/", 1)[1]
            prerequisites = per_environment.get(key, {})
            body = {
                **flags[key],
                "environments": {
                    env: config(env, prerequisites.get(env, [])) for env in ("production", "test")
                },
            }
            contract.validate(body, "FeatureFlag")
        else:
            body = {"items": [], "_links": {}}
        return httpx.Response(200, json=body)

    with LaunchDarklyClient(BASE, TOKEN, transport=httpx.MockTransport(handler)) as client:
        result = export_project(client, "p")

    gets = sorted(r for r in requests if r.startswith("GET /api/v2/flags/p/"))
    assert gets == [f"GET /api/v2/flags/p/{key}" for key in ("child", "gate", "parent")]
    exported = {f.key: f.data for f in result.flags}
    assert exported["child"]["initialPrerequisites"] == [{"key": "parent", "variationIndex": 2}]
    assert "initialPrerequisites" not in exported["parent"]
    assert [str(n) for n in result.notes] == [
        "p/child: prerequisite 'gate' (variation 0) left out: it is not set alike in every "
        "environment"
    ]


class ProjectWithLinks(Project):
    def __init__(self, links: list[dict[str, Any]], *flags: dict[str, Any]) -> None:
        super().__init__(*flags)
        self.links = links

    def list_links(self, project: str, flag_key: str) -> list[dict[str, Any]]:
        return self.links


def test_an_integration_link_without_metadata_is_exported_not_skipped() -> None:
    # flagLinkPost requires no metadata, and LaunchDarkly reports such links with none or {}.
    links = [
        {"_key": "jira-1", "_integrationKey": "jira", "_metadata": {}, "_deepLink": "https://j/1"},
        {"_key": "slack-1", "_integrationKey": "slack", "_deepLink": "https://s/1"},
    ]
    result = export_project(ProjectWithLinks(links, live("f")), "p")
    assert result.skipped == ()
    (flag,) = result.flags
    assert flag.data["links"] == [
        {"key": "jira-1", "integrationKey": "jira"},
        {"key": "slack-1", "integrationKey": "slack"},
    ]


def test_is_flag_on_is_exported_when_every_environment_is_on_and_noted_when_they_differ() -> None:
    on = live("on", environments={"production": summary(0, on=True), "test": summary(0, on=True)})
    off = live("off", environments={"production": summary(0), "test": summary(0)})
    mixed = live("mixed", environments={"production": summary(0, on=True), "test": summary(0)})
    result = export_project(Project(on, off, mixed), "p")
    flags = {f.key: f.data for f in result.flags}
    assert flags["on"]["isFlagOn"] is True
    assert list(flags["on"])[-1] == "isFlagOn"  # in the schema's order
    assert "isFlagOn" not in flags["off"]
    assert "isFlagOn" not in flags["mixed"]
    assert [str(n) for n in result.notes] == [
        "p/mixed: isFlagOn left out: the flag is on in some environments and off in others"
    ]
