"""Apply against an emulator that throttles, fails, drops and stalls: it converges, never twice.

Each scenario gets its own emulator (fixed fault seed) and working directory; the scenarios'
applies run at the same time, as child processes, so that the slow ones (429s wait for their
``Retry-After``, stalls for the ``--timeout``) overlap. An apply may end incomplete (exit 1) when
a create's outcome stayed unknown; the next apply must then finish the job.
"""

from __future__ import annotations

import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import Emulator, EmulatorConfig, Faults, RateLimit
from reconciler.model import derive_link_key

from .support import (
    CREATE_FLAG,
    Cli,
    Result,
    load_ledger,
    posts,
    recorded,
    stored,
    target_of,
    write_flags,
)

PROJECT = "reliability"
MAX_APPLIES = 4


def declared_flags() -> list[dict[str, Any]]:
    """30 flags, 25 links (15 with a key, 10 with a derived one), 4 prerequisite chains."""
    flags: list[dict[str, Any]] = []
    for i in range(30):
        spec: dict[str, Any] = {"key": f"flag-{i:02}", "name": f"Flag {i}"}
        if i % 4 == 1:
            spec["variations"] = [{"value": "a"}, {"value": "b"}, {"value": "c"}]
        links: list[dict[str, Any]] = []
        if i % 2 == 0:
            links.append(
                {
                    "key": f"jira-{i}",
                    "deepLink": f"https://jira.example.com/R-{i}",
                    "title": f"R-{i}",
                }
            )
        if i % 3 == 0:
            links.append({"deepLink": f"https://docs.example.com/{i}"})
        if links:
            spec["links"] = links
        if i >= 10 and i % 5 == 0:
            spec["initialPrerequisites"] = [{"key": f"flag-{i - 10:02}", "variationIndex": 0}]
        flags.append(spec)
    return flags


def declared_addresses() -> set[str]:
    addresses = set()
    for spec in declared_flags():
        addresses.add(f"{PROJECT}/{spec['key']}")
        for link in spec.get("links", []):
            key = link.get("key") or derive_link_key(link)
            addresses.add(f"{PROJECT}/{spec['key']}/{key}")
    return addresses


@dataclass(frozen=True)
class Setting:
    """How one scenario's emulator misbehaves, and the apply options it is run with."""

    faults: Faults = field(default_factory=Faults)
    options: tuple[str, ...] = ()
    rate_limit: RateLimit | None = None
    global_rate_limit: RateLimit | None = None


STALL = Faults(stall_rate=0.15, stall_seconds=2.0)
ALL_AT_ONCE = Faults(
    fail_rate=0.1, throttle_rate=0.05, drop_rate=0.1, stall_rate=0.05, stall_seconds=2.0
)
SCENARIOS: dict[str, Setting] = {
    "throttled (429)": Setting(Faults(throttle_rate=0.1)),
    "server errors (5xx)": Setting(Faults(fail_rate=0.35)),
    "connections dropped after commit": Setting(Faults(drop_rate=0.25)),
    "responses stalled past the timeout": Setting(STALL, ("--timeout", "1")),
    "all at once": Setting(ALL_AT_ONCE, ("--timeout", "1")),
    "tight rate limits": Setting(
        rate_limit=RateLimit(10, 1.0), global_rate_limit=RateLimit(15, 1.0)
    ),
}


@dataclass
class Scenario:
    emu: Emulator
    cli: Cli
    options: tuple[str, ...]
    runs: list[Result]


def _converge(scenario: Scenario) -> None:
    for _ in range(MAX_APPLIES):
        run = scenario.cli.live(
            scenario.emu, "apply", "flags", "--yes", *scenario.options, subprocess=True
        )
        scenario.runs.append(run)
        if run.code != 1:
            return


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Scenario]]:
    started: dict[str, Scenario] = {}
    try:
        for seed, (name, setting) in enumerate(SCENARIOS.items(), start=11):
            cwd = tmp_path_factory.mktemp("faults")
            write_flags(cwd / "flags" / "flags.yaml", PROJECT, declared_flags())
            config = EmulatorConfig(
                projects=(PROJECT,),
                faults=setting.faults,
                seed=seed,
                rate_limit=setting.rate_limit,
                global_rate_limit=setting.global_rate_limit,
            )
            started[name] = Scenario(Emulator(config).start(), Cli(cwd), setting.options, [])
        with ThreadPoolExecutor(len(started)) as pool:
            list(pool.map(_converge, started.values()))
        yield started
    finally:
        for scenario in started.values():
            scenario.emu.stop()


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_apply_under_faults_converges_to_exactly_the_declared_state(
    scenarios: dict[str, Scenario], name: str
) -> None:
    scenario = scenarios[name]
    emu, runs = scenario.emu, scenario.runs
    assert runs[-1].code == 0, "\n\n".join(map(str, runs))
    for run in runs[:-1]:  # an incomplete apply says so; it is never a crash
        assert "Apply incomplete" in run.stdout, run
        assert "unexpected" not in run.output, run

    setting = SCENARIOS[name]
    for kind in ("fail", "throttle", "drop", "stall"):
        if getattr(setting.faults, f"{kind}_rate"):
            assert emu.count(fault=kind) > 0, f"no {kind} fault was injected"
    if setting.rate_limit is not None:  # paced by the headers: at most one 429 per worker
        assert emu.count(status=429) <= 4
    expected = declared_addresses()
    assert stored(emu, PROJECT) == dict.fromkeys(expected, 1)  # every one, none twice
    ledger = load_ledger(scenario.cli.cwd)
    target = target_of(emu)
    assert set(recorded(ledger, target, PROJECT)) == expected
    live_flags = {f["key"]: f for f in emu.flags(PROJECT)}
    for key, entry in ledger.flags(target, PROJECT).items():
        assert entry.variation_ids == tuple(v["_id"] for v in live_flags[key]["variations"])
    for name_, entry in ledger.links(target, PROJECT).items():
        flag_key, link_key = name_.split("/")
        (link,) = (x for x in emu.links(PROJECT, flag_key) if x["_key"] == link_key)
        assert entry.id == link["_id"]
    created_flags = emu.count(route=CREATE_FLAG, status=201)
    assert created_flags == len(live_flags)  # each flag committed once

    emu.set_faults(Faults())
    before = posts(emu)
    again = scenario.cli.live(emu, "apply", "flags", "--yes", *scenario.options)
    assert again.code == 0, again
    assert "Nothing to create" in again.stdout
    assert posts(emu) == before


def test_apply_killed_midway_is_finished_by_the_next_apply_without_duplicates(
    tmp_path: Path, cli: Cli
) -> None:
    write_flags(tmp_path / "flags" / "flags.yaml", PROJECT, declared_flags())
    expected = declared_addresses()
    kill_after = len(expected) // 2
    child: list[subprocess.Popen[str]] = []
    spawned = threading.Event()
    commits = 0
    lock = threading.Lock()

    def on_request(line: str) -> None:
        # Called once a request is processed, before its response is sent: the Nth create is
        # committed, and the apply dies before it hears so.
        nonlocal commits
        if not (line.startswith("POST ") and line.endswith(" 201")):
            return
        with lock:
            commits += 1
            if commits == kill_after:
                assert spawned.wait(60)
                child[0].kill()

    emu = Emulator(EmulatorConfig(projects=(PROJECT,)), log=on_request).start()
    try:
        child.append(cli.spawn_live(emu, "apply", "flags", "--yes"))
        spawned.set()
        _, stderr = child[0].communicate(timeout=60)
        assert child[0].returncode == -signal.SIGKILL, stderr
        survived = stored(emu, PROJECT)
        assert kill_after <= len(survived) < len(expected)
        recorded_before = set(recorded(load_ledger(tmp_path), target_of(emu), PROJECT))
        assert recorded_before < set(survived)  # the last commit(s) never reached the ledger
        emu.clear_request_log()

        rerun = cli.live(emu, "apply", "flags", "--yes")
        assert rerun.code == 0, rerun
        match = re.search(r"Apply complete: (\d+) created, (\d+) adopted\.", rerun.stdout)
        assert match, rerun
        created, adopted = int(match[1]), int(match[2])
        assert created + adopted + len(recorded_before) == len(expected)
        assert adopted >= len(set(survived) - recorded_before)
        assert emu.count(method="POST", status=201) == created == posts(emu)
        assert stored(emu, PROJECT) == dict.fromkeys(expected, 1)
        assert set(recorded(load_ledger(tmp_path), target_of(emu), PROJECT)) == expected
    finally:
        emu.stop()
