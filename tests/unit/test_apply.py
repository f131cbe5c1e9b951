"""Apply against an in-memory LaunchDarkly: ordering, unknown outcomes, 409s, failures."""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler import notices
from reconciler.apply import MAX_SENDS, OUTAGE_LIMIT, apply_plan
from reconciler.errors import ApiError, OutcomeUnknownError, ReconcilerError
from reconciler.model import DesiredState
from reconciler.plan.plan import Action, make_plan
from reconciler.progress import SilentProgress
from reconciler.remote.client import LaunchDarklyClient
from reconciler.remote.observe import ExistingFlag, ExistingState
from reconciler.state.ledger import Ledger
from reconciler.state.lock import ledger_lock
from support.desired import desired_state
from support.launchdarkly import TARGET

FILE = """\
project: web
flags:
  - key: base
    name: Base
    links: [{key: doc, deepLink: "https://docs.example/base"}]
  - key: child
    name: Child
    initialPrerequisites: [{key: base, variationIndex: 1}]
  - key: other
    name: Other
"""


class FakeLaunchDarkly:
    """Stores creates; ``lose`` keys have their first response lost after the commit,
    ``drop`` keys have their first POST fail before the commit, ``refuse`` keys get a 400."""

    def __init__(
        self,
        lose: frozenset[str] = frozenset(),
        drop: frozenset[str] = frozenset(),
        refuse: frozenset[str] = frozenset(),
    ) -> None:
        self.flags: dict[str, dict[str, Any]] = {}
        self.links: dict[str, list[dict[str, Any]]] = {}
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.lose, self.drop, self.refuse = set(lose), set(drop), set(refuse)
        self.lock = threading.Lock()

    def create_flag(
        self, project: str, body: dict[str, Any], clone: str | None = None
    ) -> dict[str, Any]:
        key = body["key"]
        with self.lock:
            self.posts.append(("flag", body))
            if key in self.refuse:
                raise ApiError(400, "invalid_request", "no", method="POST", path="/flags")
            if key in self.drop:
                self.drop.discard(key)
                raise OutcomeUnknownError("connection dropped before the commit")
            if key in self.flags:
                raise ApiError(409, "conflict", "exists", method="POST", path="/flags")
            flag = {**body, "variations": [
                {"_id": f"{key}-{i}", "value": v} for i, v in enumerate([True, False])
            ]}  # fmt: skip
            self.flags[key] = flag
            if key in self.lose:
                self.lose.discard(key)
                raise OutcomeUnknownError("response lost after the commit")
            return flag

    def get_flag(self, project: str, key: str) -> dict[str, Any] | None:
        return self.flags.get(key)

    def create_link(self, project: str, flag_key: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.posts.append(("link", body))
            assert flag_key in self.flags, "a link was created before its flag"
            link = {"_key": body["key"], "_id": "L-" + body["key"], "_deepLink": body["deepLink"]}
            self.links.setdefault(flag_key, []).append(link)
            return link

    def list_links(self, project: str, flag_key: str) -> list[dict[str, Any]]:
        return list(self.links.get(flag_key, []))


def desired(text: str = FILE) -> DesiredState:
    return desired_state(text)


def run(
    tmp_path: Path,
    ld: Any,
    existing: ExistingState | None = None,
    *,
    text: str = FILE,
    concurrency: int = 4,
    sleeps: list[float] | None = None,
) -> Any:
    state = desired(text)
    path = tmp_path / "ledger.json"
    with ledger_lock(path) as lock:
        ledger = Ledger.load(path, lock=lock)
        plan = make_plan(state, existing or ExistingState(live=True), ledger, TARGET)
        result = apply_plan(
            plan,
            state,
            ld,
            ledger,
            concurrency=concurrency,
            sleep=(sleeps if sleeps is not None else []).append,
            rng=random.Random(0),
        )
        ledger.compact()
    return result, Ledger.load(path)


def test_prerequisites_and_links_come_after_their_flags_with_resolved_ids(tmp_path: Path) -> None:
    ld = FakeLaunchDarkly()
    result, ledger = run(tmp_path, ld)
    assert result.ok
    assert sorted(result.created) == ["web/base", "web/base/doc", "web/child", "web/other"]
    order = [body["key"] for _, body in ld.posts]
    assert order.index("base") < order.index("child")
    assert order.index("base") < order.index("doc")
    assert ld.flags["child"]["initialPrerequisites"] == [{"key": "base", "variationId": "base-1"}]
    assert ledger.get_flag(TARGET, "web", "base").variation_ids == ("base-0", "base-1")  # type: ignore[union-attr]
    assert ledger.get_link(TARGET, "web", "base", "doc").id == "L-doc"  # type: ignore[union-attr]


def test_a_create_whose_response_was_lost_is_looked_up_not_sent_again(tmp_path: Path) -> None:
    ld = FakeLaunchDarkly(lose=frozenset({"base"}))
    result, ledger = run(tmp_path, ld)
    assert result.ok
    assert [body["key"] for kind, body in ld.posts if kind == "flag"].count("base") == 1
    assert ledger.get_flag(TARGET, "web", "base").action == "created"  # type: ignore[union-attr]


def test_a_create_that_did_not_land_is_sent_again_after_looking(tmp_path: Path) -> None:
    ld = FakeLaunchDarkly(drop=frozenset({"other"}))
    result, _ = run(tmp_path, ld)
    assert result.ok
    assert [body["key"] for kind, body in ld.posts if kind == "flag"].count("other") == 2
    assert "other" in ld.flags


def test_a_409_for_a_matching_flag_is_adopted_and_for_another_is_a_failure(
    tmp_path: Path,
) -> None:
    ld = FakeLaunchDarkly()
    ld.flags["other"] = {"key": "other", "name": "Other", "variations": []}
    ld.flags["base"] = {"key": "base", "name": "Somebody else's", "variations": []}
    # The plan did not see them (they appeared after it was made): apply meets 409s.
    result, ledger = run(tmp_path, ld)
    assert result.adopted == ["web/other"]
    assert ledger.get_flag(TARGET, "web", "other").action == "adopted"  # type: ignore[union-attr]
    assert [address for address, _ in result.failed] == ["web/base"]
    assert "other settings (name)" in result.failed[0][1]
    assert sorted(address for address, _ in result.skipped) == ["web/base/doc", "web/child"]
    assert ledger.get_flag(TARGET, "web", "base") is None
    assert result.summary == "Apply incomplete: 0 created, 1 adopted, 1 failed, 2 skipped."


def test_one_refused_create_does_not_stop_independent_ones(tmp_path: Path) -> None:
    ld = FakeLaunchDarkly(refuse=frozenset({"other"}))
    result, _ = run(tmp_path, ld)
    assert [address for address, _ in result.failed] == ["web/other"]
    assert "400 invalid_request" in result.failed[0][1]
    assert sorted(result.created) == ["web/base", "web/base/doc", "web/child"]


def test_a_plan_with_a_blocked_action_is_refused_before_any_call(tmp_path: Path) -> None:
    existing = ExistingState(live=True)
    existing.flags[("web", "other")] = ExistingFlag(
        "other", True, {"key": "other", "archived": True}
    )
    ld = FakeLaunchDarkly()
    with pytest.raises(ReconcilerError, match="blocked"):
        run(tmp_path, ld, existing)
    assert ld.posts == []


# -- a server whose every create fails with a 5xx, through the real client ---------------------


def independent(count: int) -> str:
    """A file of ``count`` flags that depend on nothing."""
    return "project: web\nflags:\n" + "".join(
        f"  - {{key: f{i}, name: F{i}}}\n" for i in range(count)
    )


def _json(status: int, body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(status, json=body, headers={"Content-Type": "application/json"})


class AlwaysUnavailable:
    """Every POST gets a 503 with LaunchDarkly's error body; every GET of a flag a 404."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        if request.method == "POST":
            return _json(503, {"code": "service_unavailable", "message": "Writes are paused"})
        return _json(404, {"code": "not_found", "message": "Unknown resource"})


def _client(handler: AlwaysUnavailable, client_sleeps: list[float]) -> LaunchDarklyClient:
    return LaunchDarklyClient(
        "https://ld.example",
        "api-secret-token",
        transport=httpx.MockTransport(handler),
        sleep=client_sleeps.append,
        rng=random.Random(0),
    )


def test_a_create_answered_5xx_is_looked_up_and_resent_after_growing_pauses(
    tmp_path: Path,
) -> None:
    handler = AlwaysUnavailable()
    client_sleeps: list[float] = []
    sleeps: list[float] = []
    with _client(handler, client_sleeps) as client:
        result, _ = run(tmp_path, client, text=independent(1), sleeps=sleeps)
    ((address, reason),) = result.failed
    assert address == "web/f0"
    # Each send is followed by a look (a 5xx may have been committed), never two sends in a row.
    send_then_look = [("POST", "/api/v2/flags/web"), ("GET", "/api/v2/flags/web/f0")]
    assert handler.requests == send_then_look * MAX_SENDS
    # A pause before every re-send, each at least half of a doubling ceiling (equal jitter).
    assert len(sleeps) == MAX_SENDS - 1
    for attempt, pause in enumerate(sleeps):
        ceiling = 0.5 * 2**attempt
        assert ceiling / 2 <= pause <= ceiling, sleeps
    assert client_sleeps == []
    # The API's own words are kept, not only "stayed unknown".
    assert f"stayed unknown after {MAX_SENDS} tries" in reason
    assert "503 (Writes are paused)" in reason


def apply_over(
    tmp_path: Path,
    serve: Callable[[httpx.Request], httpx.Response],
    flags: int,
    *,
    progress: Any,
    sleep: Callable[[float], object] | None = None,
) -> Any:
    """Apply ``flags`` independent flags at once through the real client over ``serve``."""
    state = desired(independent(flags))
    path = tmp_path / "ledger.json"
    client = LaunchDarklyClient(
        "https://ld.example", "api-secret-token", transport=httpx.MockTransport(serve),
        sleep=lambda s: None, rng=random.Random(0),
    )  # fmt: skip
    with client, ledger_lock(path) as lock:
        ledger = Ledger.load(path, lock=lock)
        plan = make_plan(state, ExistingState(live=True), ledger, TARGET)
        try:
            return apply_plan(
                plan, state, client, ledger, concurrency=flags, progress=progress, sleep=sleep,
                rng=random.Random(0),
            )  # fmt: skip
        finally:
            ledger.compact()


def test_a_create_still_running_when_the_outage_stop_comes_sends_no_more(
    tmp_path: Path,
) -> None:
    others = [f"/api/v2/flags/web/f{i}" for i in range(OUTAGE_LIMIT)]
    lagging = f"/api/v2/flags/web/f{OUTAGE_LIMIT}"
    handler = AlwaysUnavailable()
    others_done = threading.Event()  # every other create has had its last look
    stopped = threading.Event()  # apply has reported the third failure in a row

    def serve(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and b'"f%d"' % OUTAGE_LIMIT in request.content:
            assert others_done.wait(10), "the other creates never finished"
        response = handler(request)
        looks = [path for method, path in handler.requests if method == "GET"]
        if all(looks.count(path) == MAX_SENDS for path in others):
            others_done.set()
        return response

    class Progress(SilentProgress):
        failed = 0

        def finished_one(self, action: Action, outcome: str) -> None:
            self.failed += outcome == "failed"
            if self.failed == OUTAGE_LIMIT:
                stopped.set()

    def sleep(seconds: float) -> None:
        if others_done.is_set():  # the lagging create's pause: hold it until the stop
            assert stopped.wait(10), "the outage stop never came"

    result = apply_over(tmp_path, serve, OUTAGE_LIMIT + 1, progress=Progress(), sleep=sleep)
    # The lagging create sent once, looked once, and then sent no more.
    assert [r for r in handler.requests if r[1] == lagging] == [("GET", lagging)]
    posts = [r for r in handler.requests if r[0] == "POST"]
    assert len(posts) == OUTAGE_LIMIT * MAX_SENDS + 1
    failed = dict(result.failed)
    assert failed[f"web/f{OUTAGE_LIMIT}"].startswith("not sent again: the apply is stopping")


def test_ctrl_c_stops_the_running_creates_from_sending_again(tmp_path: Path) -> None:
    handler = AlwaysUnavailable()
    interrupted = threading.Event()

    def serve(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and b'"f0"' in request.content:
            handler.requests.append(("POST", "f0"))
            return _json(400, {"code": "invalid_request", "message": "no"})
        if request.method == "GET":  # f1's look: the interrupt has come by the time it ends
            assert interrupted.wait(10), "no interrupt"
        return handler(request)

    class Progress(SilentProgress):
        def finished_one(self, action: Action, outcome: str) -> None:
            interrupted.set()  # Ctrl-C reaches the main thread while f1 is still running
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        apply_over(tmp_path, serve, 2, progress=Progress())  # the default pause: it ends early
    f1 = [r for r in handler.requests if r == ("POST", "/api/v2/flags/web")]
    assert len(f1) == 1, handler.requests  # sent once, looked once, never sent again


def test_creates_answered_5xx_every_time_count_towards_the_outage_stop(tmp_path: Path) -> None:
    handler = AlwaysUnavailable()
    with _client(handler, []) as client:
        result, _ = run(tmp_path, client, text=independent(6), concurrency=1)
    assert [address for address, _ in result.failed] == [f"web/f{i}" for i in range(OUTAGE_LIMIT)]
    assert [address for address, _ in result.skipped] == [
        f"web/f{i}" for i in range(OUTAGE_LIMIT, 6)
    ]
    posts = [path for method, path in handler.requests if method == "POST"]
    assert len(posts) == OUTAGE_LIMIT * MAX_SENDS
    why = f"not attempted: the last {OUTAGE_LIMIT} creates got no answer from LaunchDarkly"
    assert {reason for _, reason in result.skipped} == {why}


def test_a_create_sent_again_says_why_and_after_how_long(tmp_path: Path) -> None:
    class NeverLands(FakeLaunchDarkly):
        def create_flag(
            self, project: str, body: dict[str, Any], clone: str | None = None
        ) -> dict[str, Any]:
            self.posts.append(("flag", body))
            raise OutcomeUnknownError("the server answered 503")

    said: list[str] = []
    notices.listen(said.append)
    try:
        result, _ = run(tmp_path, NeverLands(), text=independent(1), concurrency=1)
    finally:
        notices.listen(None)
    assert len(result.failed) == 1
    # The sleeps are not real: every pause after the first said falls within it, unsaid.
    assert len(said) == 1, said
    assert re.fullmatch(
        r"Creating flag 'f0': its outcome was unknown and it did not land; sending it again "
        rf"in \d\.\d s \(send [2-{MAX_SENDS}] of {MAX_SENDS}\)",
        said[0],
    ), said
