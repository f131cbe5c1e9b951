"""The policy benchmark runs at a tiny size and reports every figure (no timing asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.engine import REASON

pytest.importorskip("cel", reason=REASON)  # before the imports that need it

from tests.perf.policy import RULES, measure


def test_policy_benchmark_evaluates_every_rule_on_every_flag(tmp_path: Path) -> None:
    figures = measure(tmp_path, 40)
    assert figures["flags"] == 40
    assert figures["evaluations"] == 40 * len(RULES)
    assert figures["findings"] == 0  # the synthetic flags comply: no rule is broken
    assert figures["microseconds_per_evaluation"] > 0
