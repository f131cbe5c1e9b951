"""LaunchDarkly going down in the middle of an apply: the apply stops starting creates.

Every create that gets no answer has already spent its client's retries (about a minute
of backoff); a thousand more would take hours. After ``OUTAGE_LIMIT`` such failures in
a row, apply skips the creates it has not started and says why; the next apply finishes
the job. A fake LaunchDarkly in memory stands in for the outage (the client's retries
are the client's tests' business), so this runs in milliseconds.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply import OUTAGE_LIMIT, apply_plan
from reconciler.errors import ApiError, OutcomeUnknownError, TransportError
from reconciler.files.loader import load_text
from reconciler.files.validator import validate_documents
from reconciler.plan.plan import make_plan
from reconciler.remote.observe import ExistingState
from reconciler.state.ledger import Ledger
from reconciler.state.lock import ledger_lock

TARGET = "https://app.launchdarkly.com"
FLAGS = 40
FILE = "project: web\nflags:\n" + "".join(
    f"  - {{key: flag-{i:02d}, name: Flag {i}}}\n" for i in range(FLAGS)
)


class FlakyLaunchDarkly:
    """Answers until ``up`` creates have succeeded, then nothing gets an answer (or, with
    ``every_other``, every other create gets none, and the rest succeed)."""

    def __init__(self, up: int, *, every_other: bool = False, error: Exception) -> None:
        self.up, self.every_other, self.error = up, every_other, error
        self.flags: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.lock = threading.Lock()

    def _down(self) -> bool:
        if self.every_other:
            return self.calls % 2 == 0
        return len(self.flags) >= self.up

    def create_flag(
        self, project: str, body: dict[str, Any], clone: str | None = None
    ) -> dict[str, Any]:
        with self.lock:
            self.calls += 1
            if self._down():
                raise OutcomeUnknownError("POST /api/v2/flags/web: the server answered 503")
            flag = {"key": body["key"], "variations": [{"_id": "a", "value": True}]}
            self.flags[body["key"]] = flag
            return flag

    def get_flag(self, project: str, key: str) -> dict[str, Any] | None:
        raise self.error  # the look after an unknown outcome gets no answer either

    def create_link(self, project: str, flag_key: str, body: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("no links here")

    def list_links(self, project: str, flag_key: str) -> list[dict[str, Any]]:
        raise AssertionError("no links here")


def apply(tmp_path: Path, launchdarkly: FlakyLaunchDarkly, concurrency: int) -> Any:
    (document,) = [load_text(FILE, "flags.yaml")]
    desired, findings = validate_documents([document])
    assert findings == []
    with ledger_lock(tmp_path / "ledger.json") as lock:
        ledger = Ledger.load(tmp_path / "ledger.json", lock=lock)
        plan = make_plan(desired, ExistingState(live=True), ledger, TARGET)
        try:
            return apply_plan(plan, desired, launchdarkly, ledger, concurrency=concurrency)
        finally:
            ledger.compact()
            ledger.close()


@pytest.mark.parametrize(
    "error",
    [
        TransportError("GET /api/v2/flags/web/x: ConnectError (gave up after 9 attempts)"),
        ApiError(503, "service_unavailable", "down", method="GET", path="/api/v2/flags/web/x"),
        ApiError(429, "rate_limited", "slow down", method="GET", path="/api/v2/flags/web/x"),
    ],
    ids=["no connection", "5xx", "429"],
)
@pytest.mark.parametrize("concurrency", [1, 4])
def test_an_outage_mid_apply_stops_new_creates_after_a_few_in_a_row(
    tmp_path: Path, error: Exception, concurrency: int
) -> None:
    launchdarkly = FlakyLaunchDarkly(up=5, error=error)
    result = apply(tmp_path, launchdarkly, concurrency)
    assert len(result.created) == 5
    # "In a row" is in the order creates finish: a success still in flight when the outage
    # began (recording it takes an fsync) may reset the count once per worker.
    most = OUTAGE_LIMIT * concurrency + concurrency
    assert OUTAGE_LIMIT <= len(result.failed) <= most
    assert launchdarkly.calls <= 5 + most
    assert len(result.created) + len(result.failed) + len(result.skipped) == FLAGS
    for _, why in result.skipped:
        assert re.fullmatch(
            r"not attempted: the last \d+ creates got no answer from LaunchDarkly", why
        ), why
    assert "Apply incomplete" in result.summary

    launchdarkly.up = FLAGS  # back up: the next apply finishes the job
    again = apply(tmp_path, launchdarkly, concurrency)
    assert again.ok, again.failed
    assert len(launchdarkly.flags) == FLAGS


def test_failures_that_are_not_in_a_row_never_stop_the_apply(tmp_path: Path) -> None:
    error = TransportError("no answer")
    launchdarkly = FlakyLaunchDarkly(up=FLAGS, every_other=True, error=error)
    result = apply(tmp_path, launchdarkly, concurrency=1)
    assert len(result.created) == len(result.failed) == FLAGS // 2
    assert result.skipped == []


def test_a_refused_create_is_not_an_outage(tmp_path: Path) -> None:
    refused = ApiError(400, "invalid_request", "no", method="GET", path="/api/v2/flags/web/x")
    launchdarkly = FlakyLaunchDarkly(up=0, error=refused)
    result = apply(tmp_path, launchdarkly, concurrency=1)
    assert len(result.failed) == FLAGS  # each one tried: LaunchDarkly is answering
    assert result.skipped == []
