"""Listing flags: pages, their links and total, archived flags, tag and query filters."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.emulator import Emulator

FLAGS = "/api/v2/flags/demo"


@pytest.fixture
def seeded(emu: Emulator) -> Emulator:
    """45 live flags (creation order f00..f44) and 3 archived ones."""
    for i in range(45):
        tags = ["even"] if i % 2 == 0 else ["odd"]
        if i % 5 == 0:
            tags.append("five")
        emu.create_flag("demo", {"key": f"f{i:02d}", "name": f"Flag {i}", "tags": tags})
    for i in range(3):
        emu.create_flag(
            "demo", {"key": f"gone-{i}", "name": "Gone", "tags": ["even"]}, archived=True
        )
    return emu


def _keys(body: dict[str, Any]) -> list[str]:
    return [f["key"] for f in body["items"]]


def _hrefs(body: dict[str, Any]) -> dict[str, str]:
    return {name: link["href"] for name, link in body["_links"].items()}


@pytest.mark.usefixtures("seeded")
def test_default_page_is_20_flags_in_creation_order_with_next_and_last(http: httpx.Client) -> None:
    body = http.get(FLAGS).json()
    assert _keys(body) == [f"f{i:02d}" for i in range(20)]
    assert body["totalCount"] == 45
    assert _hrefs(body) == {
        "self": "/api/v2/flags/demo?limit=20&offset=0",
        "next": "/api/v2/flags/demo?limit=20&offset=20",
        "last": "/api/v2/flags/demo?limit=20&offset=40",
    }


@pytest.mark.usefixtures("seeded")
def test_following_next_links_visits_every_live_flag_once(http: httpx.Client) -> None:
    seen: list[str] = []
    href: str | None = f"{FLAGS}?limit=7"
    pages = 0
    while href is not None:
        body = http.get(href).json()
        seen += _keys(body)
        href = body["_links"].get("next", {}).get("href")
        pages += 1
    assert seen == [f"f{i:02d}" for i in range(45)]
    assert pages == 7


@pytest.mark.usefixtures("seeded")
def test_middle_page_has_first_prev_next_last(http: httpx.Client) -> None:
    body = http.get(FLAGS, params={"limit": 10, "offset": 15}).json()
    assert _keys(body) == [f"f{i:02d}" for i in range(15, 25)]
    assert _hrefs(body) == {
        "self": "/api/v2/flags/demo?limit=10&offset=15",
        "first": "/api/v2/flags/demo?limit=10&offset=0",
        "prev": "/api/v2/flags/demo?limit=10&offset=5",
        "next": "/api/v2/flags/demo?limit=10&offset=25",
        "last": "/api/v2/flags/demo?limit=10&offset=40",
    }


@pytest.mark.usefixtures("seeded")
def test_last_page_has_no_next(http: httpx.Client) -> None:
    body = http.get(FLAGS, params={"limit": 100}).json()
    assert len(body["items"]) == 45
    assert set(body["_links"]) == {"self"}
    beyond = http.get(FLAGS, params={"offset": 100}).json()
    assert beyond["items"] == []
    assert beyond["totalCount"] == 45
    assert "next" not in beyond["_links"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"offset": -1},
        {"offset": "x"},
        {"limit": "+5"},
        {"limit": " 5"},
        {"limit": "5_0"},
        {"limit": "\u0665"},  # ARABIC-INDIC DIGIT FIVE, which int() takes
        {"offset": "9" * 5000},  # more digits than int() converts
        {"filter": "nonsense"},
        {"filter": "state:gone"},
        {"filter": "colour:blue"},
        {"sort": "colour"},
        {"archived": "maybe"},
    ],
)
def test_bad_list_parameters_are_400(http: httpx.Client, params: dict[str, Any]) -> None:
    response = http.get(FLAGS, params=params)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert next(iter(params)) in response.json()["message"]


@pytest.mark.usefixtures("seeded")
def test_archived_flags_are_hidden_unless_filtered_and_then_alone(http: httpx.Client) -> None:
    live = http.get(FLAGS, params={"limit": 100}).json()
    assert not any(key.startswith("gone") for key in _keys(live))
    archived = http.get(FLAGS, params={"filter": "state:archived"}).json()
    assert _keys(archived) == ["gone-0", "gone-1", "gone-2"]
    assert all(
        f["archived"] is True and isinstance(f["archivedDate"], int) for f in archived["items"]
    )
    assert archived["totalCount"] == 3
    assert archived["_links"]["self"]["href"] == (
        "/api/v2/flags/demo?filter=state%3Aarchived&limit=20&offset=0"
    )
    assert _keys(http.get(FLAGS, params={"archived": "true"}).json()) == _keys(archived)
    assert http.get(f"{FLAGS}/gone-1").json()["archived"] is True


@pytest.mark.usefixtures("seeded")
def test_archived_pages_keep_the_filter_in_their_links(http: httpx.Client) -> None:
    body = http.get(FLAGS, params={"filter": "state:archived", "limit": 2}).json()
    assert body["_links"]["next"]["href"] == (
        "/api/v2/flags/demo?filter=state%3Aarchived&limit=2&offset=2"
    )
    assert _keys(http.get(body["_links"]["next"]["href"]).json()) == ["gone-2"]


@pytest.mark.usefixtures("seeded")
def test_tag_parameter_and_tags_filter_require_all_tags(http: httpx.Client) -> None:
    by_tag = http.get(FLAGS, params={"tag": "five", "limit": 100}).json()
    assert _keys(by_tag) == [f"f{i:02d}" for i in range(0, 45, 5)]
    both = http.get(FLAGS, params={"filter": "tags:even+five", "limit": 100}).json()
    assert _keys(both) == [f"f{i:02d}" for i in range(0, 45, 10)]
    assert both["totalCount"] == 5
    repeated = http.get(FLAGS, params=[("tag", "even"), ("tag", "five"), ("limit", "100")]).json()
    assert _keys(repeated) == _keys(both)


@pytest.mark.usefixtures("seeded")
def test_query_filter_matches_key_or_name_ignoring_case(emu: Emulator, http: httpx.Client) -> None:
    emu.create_flag("demo", {"key": "dark-mode", "name": "Night theme"})
    assert _keys(http.get(FLAGS, params={"filter": "query:DARK"}).json()) == ["dark-mode"]
    assert _keys(http.get(FLAGS, params={"filter": "query:night"}).json()) == ["dark-mode"]
    combined = http.get(FLAGS, params={"filter": "query:flag 4,tags:five"}).json()
    assert _keys(combined) == ["f40"]


def test_type_and_maintainer_filters(emu: Emulator, http: httpx.Client) -> None:
    emu.create_flag("demo", {"key": "perm", "name": "P", "temporary": False, "maintainerId": "m1"})
    emu.create_flag("demo", {"key": "temp", "name": "T", "maintainerTeamKey": "team-a"})
    assert _keys(http.get(FLAGS, params={"filter": "type:permanent"}).json()) == ["perm"]
    assert _keys(http.get(FLAGS, params={"filter": "type:temporary"}).json()) == ["temp"]
    assert _keys(http.get(FLAGS, params={"filter": "maintainerId:m1"}).json()) == ["perm"]
    assert _keys(http.get(FLAGS, params={"filter": "maintainerTeamKey:team-a"}).json()) == ["temp"]


def test_sort_by_key_descending(emu: Emulator, http: httpx.Client) -> None:
    for key in ("b", "c", "a"):
        emu.create_flag("demo", {"key": key, "name": key.upper()})
    assert _keys(http.get(FLAGS).json()) == ["b", "c", "a"]
    assert _keys(http.get(FLAGS, params={"sort": "key"}).json()) == ["a", "b", "c"]
    assert _keys(http.get(FLAGS, params={"sort": "-name"}).json()) == ["c", "b", "a"]


def test_empty_project_lists_nothing(http: httpx.Client) -> None:
    body = http.get("/api/v2/flags/other").json()
    assert body == {
        "items": [],
        "_links": {
            "self": {"href": "/api/v2/flags/other?limit=20&offset=0", "type": "application/json"}
        },
        "totalCount": 0,
    }
