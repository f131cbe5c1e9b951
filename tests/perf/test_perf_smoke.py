"""The benchmark runner works end to end at tiny sizes and writes its figures as JSON.

No timing is asserted here (performance is measured by ``python -m tests.perf`` as
ratios, not by timed assertions in unit tests): only that every benchmark runs, checks
what it measured, and reports each figure with its target.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.perf.__main__ import main
from tests.perf.bench import BENCHMARKS, ideal_seconds
from tests.perf.generate import load_configuration, write_ledger, write_repository


@pytest.mark.slow
def test_quick_run_measures_every_benchmark_and_writes_the_figures_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out" / "results.json"
    assert main(["--quick", "--out", str(out), "--workdir", str(tmp_path / "work")]) == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["mode"] == "quick"
    assert set(document["samples"]) == set(BENCHMARKS)
    benchmarks = {f["benchmark"].split()[0] for f in document["figures"]}
    assert benchmarks == {"1", "2", "3", "4", "5", "6"}
    for figure in document["figures"]:
        assert isinstance(figure["value"], (int, float)), figure
        assert figure["met"] in (True, False, None), figure
        assert (figure["target"] is None) == (figure["met"] is None), figure
    targets = [f for f in document["figures"] if f["target"]]
    assert len(targets) == 14
    table = capsys.readouterr().out
    assert "plan --offline, full ledger (all unchanged) / floor" in table
    assert "API calls" in table


def test_generated_repository_and_full_ledger_plan_as_all_unchanged(tmp_path: Path) -> None:
    from reconciler.files.validator import validate_paths
    from reconciler.plan.plan import Kind, make_plan
    from reconciler.reconcile import DEFAULT_BASE_URL
    from reconciler.remote.baseurl import normalise_base_url
    from reconciler.remote.observe import observe_offline
    from reconciler.state.ledger import Ledger

    write_repository(tmp_path / "flags", flags=30, links=45, files=3)
    result = validate_paths([str(tmp_path / "flags")], load_configuration(tmp_path / "flags"))
    assert result.ok, result.findings
    assert (len(result.state.flags), result.state.link_count) == (30, 45)
    target = normalise_base_url(DEFAULT_BASE_URL)
    assert write_ledger(tmp_path / "ledger.json", result.state, target) == 75
    plan = make_plan(result.state, observe_offline(), Ledger.load(tmp_path / "ledger.json"), target)
    assert plan.counts == {Kind.UNCHANGED: 75}


def test_ideal_of_a_rate_limited_apply_is_set_by_the_busier_route() -> None:
    assert ideal_seconds(2_000, 2_000, 100) == 20.0
    assert ideal_seconds(2_000, 6_000, 100) == 60.0
    assert ideal_seconds(150, 0, 100, window=10.0) == 20.0
