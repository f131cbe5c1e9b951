"""Live observation reads in bulk, and per flag only when that is cheaper."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from reconciler.remote.client import LaunchDarklyClient
from reconciler.remote.observe import observe_live
from reconciler.state.ledger import Ledger
from support.desired import desired_state
from support.launchdarkly import TARGET


class Page:
    def __init__(self, items: list[dict[str, Any]], total: int) -> None:
        self.items = items
        self.total_count = total
        self.next_href = None


class FakeReader:
    """A project of ``live`` and ``archived`` flag keys; counts every call."""

    def __init__(self, live: int, archived: tuple[str, ...] = (), links: int = 0) -> None:
        self.live = [{"key": f"f{i:05d}", "variations": []} for i in range(live)]
        self.archived = [{"key": k, "archived": True, "variations": []} for k in archived]
        self.calls: Counter[str] = Counter()

    def list_flags_page(
        self, project: str, *, offset: int = 0, limit: int = 100, archived: bool = False
    ) -> Page:
        self.calls["list page"] += 1
        items = self.archived if archived else self.live
        return Page(items[offset : offset + limit], len(items))

    def list_flags(
        self, project: str, *, archived: bool = False, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        items = self.archived if archived else self.live
        self.calls["list page"] += max(1, -(-(len(items) - offset) // limit))
        return items[offset:]

    def get_flag(self, project: str, key: str) -> dict[str, Any] | None:
        self.calls["get"] += 1
        for item in self.live + self.archived:
            if item["key"] == key:
                return item
        return None

    def list_links(self, project: str, flag_key: str) -> list[dict[str, Any]]:
        self.calls["links"] += 1
        return []


def declared(keys: list[str], link_keys: tuple[str, ...] = ()) -> Any:
    lines = ["project: web", "flags:"]
    for key in keys:
        lines.append(f"  - key: {key}\n    name: {key}")
        if key in link_keys:
            lines.append(f'    links: [{{deepLink: "https://x.example/{key}"}}]')
    return desired_state("\n".join(lines) + "\n", "f.yaml")


def test_a_project_mostly_declared_is_read_by_list_pages_not_gets(tmp_path: Path) -> None:
    reader = FakeReader(live=450, archived=("old",))
    keys = [f"f{i:05d}" for i in range(400)] + ["old", "new"]
    state = observe_live(reader, declared(keys), Ledger(tmp_path / "l.json"), TARGET)
    assert reader.calls["get"] == 0
    assert reader.calls["list page"] == 5 + 1  # 450 live flags in pages of 100, 1 archived
    old = state.flag("web", "old")
    assert old is not None
    assert old.archived
    assert state.flag("web", "new") is None
    assert len(state.flags) == 451


def test_a_few_declared_flags_in_a_large_project_are_fetched_one_by_one(tmp_path: Path) -> None:
    reader = FakeReader(live=5_000, archived=("old",))
    state = observe_live(
        reader, declared(["f04999", "old", "new"]), Ledger(tmp_path / "l.json"), TARGET
    )
    assert reader.calls["list page"] == 1
    assert reader.calls["get"] == 3
    assert state.flag("web", "old").archived  # type: ignore[union-attr]
    assert state.flag("web", "new") is None


def test_links_are_listed_only_for_existing_flags_that_declare_links(tmp_path: Path) -> None:
    reader = FakeReader(live=3)
    keys = ["f00000", "f00001", "absent"]
    observe_live(
        reader,
        declared(keys, link_keys=("f00000", "absent")),
        Ledger(tmp_path / "l.json"),
        TARGET,
    )
    assert reader.calls["links"] == 1


def test_links_of_an_archived_flag_the_plan_blocks_are_not_listed(tmp_path: Path) -> None:
    reader = FakeReader(live=1, archived=("old",))
    observe_live(
        reader, declared(["f00000", "old"], link_keys=("f00000", "old")),
        Ledger(tmp_path / "l.json"), TARGET,
    )  # fmt: skip
    assert reader.calls["links"] == 1  # f00000's only


def test_without_a_total_count_a_full_first_page_is_followed_by_listing_not_gets(
    tmp_path: Path,
) -> None:
    """A server that leaves out ``totalCount``: the project's size is unknown, so the
    declared flags missing from the first page are found by listing on, never one GET each."""
    requests: list[httpx.Request] = []

    def flag(key: str) -> dict[str, Any]:
        return {"key": key, "name": key, "variations": [{"_id": "a", "value": True}]}

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        params = request.url.params
        offset = int(params.get("offset", "0"))
        count = 0 if "filter" in params else max(0, min(100, 150 - offset))
        body: dict[str, Any] = {"items": [flag(f"f{i:05d}") for i in range(offset, offset + count)]}
        if count == 100:
            body["_links"] = {
                "next": {"href": f"/api/v2/flags/web?limit=100&offset={offset + 100}"}
            }
        return httpx.Response(200, json=body)

    missing = [f"f{i:05d}" for i in range(100, 150)] + [f"new{i}" for i in range(20)]
    client = LaunchDarklyClient(
        "https://ld.example", "api-token", transport=httpx.MockTransport(handler)
    )
    with client:
        state = observe_live(client, declared(missing), Ledger(tmp_path / "l.json"), TARGET)
    assert [(r.method, r.url.path) for r in requests] == [("GET", "/api/v2/flags/web")] * 3
    assert [r.url.params.get("filter") for r in requests] == [None, None, "state:archived"]
    assert state.strategy["web"] == "list all flags"
    assert state.flag("web", "f00149") is not None
    assert state.flag("web", "new0") is None
