"""The benchmarks of issue 6, each a function from a work directory and sizes to figures.

Every figure that has a target is a ratio or a count measured inside one run, so that it
means the same on a fast laptop and on a loaded 2-core CI runner:

1. ``offline``: ``plan --offline`` of a synthetic repository (10,000 flags and 30,000 links
   in 500 files), with an empty ledger (all create) and with a ledger that records
   everything (all unchanged), and ``validate``, each in a fresh process, against the
   *floor*: a fresh process that only parses the same files with ``yaml.CSafeLoader``.
   Peak RSS of the plan. Then the same at twice the size: no quadratic step anywhere.
2. ``live_plan``: a live plan against the emulator holding 10,000 flags, 2,000 of which
   declare links: API calls from the emulator's request log, beside what one GET per flag
   and one per flag's links (the pattern of LaunchDarkly's Terraform provider) would cost.
3. ``apply_rate_limited``: apply 2,000 flags and 2,000 links against the emulator limited
   to 100 requests per route per 1-second window; wall time against the ideal the limit
   sets (see ``ideal_seconds``) and the share of 429 answers.
4. ``apply_latency``: apply 1,000 flags against an emulator answering after 30-40 ms,
   ``--concurrency 1`` against ``--concurrency 8``.
5. ``cold_start``: ``python -X importtime`` totals, the wall time of ``validate`` of one
   file, and which heavy modules ``--help`` and ``validate`` import (none of them should).

Offline rounds are interleaved (see ``offline``) and each ratio is the median of its
per-round ratios, so that a noisy neighbour, which slows a stretch of a round, skews one
round and not one side of every ratio.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.reconcile import DEFAULT_BASE_URL
from reconciler.remote.baseurl import normalise_base_url
from tests.perf.generate import config_args, load_configuration, write_ledger, write_repository
from tests.perf.measure import Run, floor, median, reconciler, run

PROJECT = "bench"
PAGE = 100  # LaunchDarkly's largest flag-list page


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark is; ``FULL`` is the issue's, ``QUICK`` a smoke run."""

    flags: int = 10_000
    links: int = 30_000
    files: int = 500
    rounds: int = 5
    live_flags: int = 10_000
    live_linked: int = 2_000  # flags that declare a link
    rate_flags: int = 2_000
    rate_links: int = 2_000
    rate_limit: int = 100  # per route per 1-second window
    rate_concurrency: int = 16
    latency_creates: int = 1_000
    one_file_flags: int = 20


FULL = Sizes()
QUICK = Sizes(
    flags=200,
    links=600,
    files=10,
    rounds=1,
    live_flags=200,
    live_linked=40,
    rate_flags=100,
    rate_links=100,
    rate_limit=50,
    latency_creates=40,
)


@dataclass(frozen=True)
class Figure:
    """One measured figure, with its target when it has one."""

    benchmark: str
    name: str
    value: float
    unit: str  # "x", "s", "MB", "ms", "calls", "%", "modules"
    limit: float | None = None
    at_most: bool = True
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.limit is None:
            return None
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    @property
    def target(self) -> str:
        if self.limit is None:
            return ""
        return f"{'<=' if self.at_most else '>='} {_number(self.limit, self.unit)}"

    @property
    def shown(self) -> str:
        return _number(self.value, self.unit)

    @property
    def data(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "name": self.name,
            "value": round(self.value, 4),
            "unit": self.unit,
            "target": self.target or None,
            "met": self.met,
            "note": self.note or None,
        }


def _number(value: float, unit: str) -> str:
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "s":
        return f"{value:.2f} s"
    if unit in ("MB", "ms"):
        return f"{value:.0f} {unit}"
    if unit == "%":
        return f"{value:.2f} %"
    return f"{value:,.0f} {unit}"


@dataclass
class Report:
    """Figures plus the raw samples behind them (written to the JSON too)."""

    figures: list[Figure] = field(default_factory=list)
    samples: dict[str, Any] = field(default_factory=dict)


def token_env() -> dict[str, str]:
    """The environment of a measured command: the emulator's token, no colour, no CI."""
    from reconciler.emulator import DEV_TOKEN

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LAUNCHDARKLY_", "LD_", "GITHUB_")) and k != "SSL_CERT_FILE"
    }
    env.update(LAUNCHDARKLY_ACCESS_TOKEN=DEV_TOKEN, NO_COLOR="1")
    return env


def _summary(result: Run) -> str:
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    return lines[-1] if lines else ""


# -- 1 and 2: offline plan, validate, and scaling -----------------------------------------------


@dataclass(frozen=True)
class _Repo:
    root: Path
    empty_ledger: Path
    full_ledger: Path
    resources: int


def _offline_repo(work: Path, name: str, flags: int, links: int, files: int) -> _Repo:
    from reconciler.files.validator import validate_paths

    root = work / name
    write_repository(root, flags=flags, links=links, files=files)
    result = validate_paths([str(root)], load_configuration(root))
    if not result.ok:
        raise AssertionError(f"the generated repository does not validate: {result.findings[0]}")
    full = work / f"{name}-ledger-full.json"
    resources = write_ledger(full, result.state, normalise_base_url(DEFAULT_BASE_URL))
    return _Repo(root, work / f"{name}-ledger-empty.json", full, resources)


def offline(work: Path, sizes: Sizes) -> Report:
    """Benchmarks 1 and 2: see the module docstring."""
    small = _offline_repo(work, "repo", sizes.flags, sizes.links, sizes.files)
    big = _offline_repo(work, "repo-2x", 2 * sizes.flags, 2 * sizes.links, 2 * sizes.files)

    def commands(repo: _Repo) -> dict[str, list[str]]:
        configured = config_args(repo.root)
        plan = (*configured, "plan", str(repo.root), "--offline", "--ledger")
        return {
            "floor": floor(repo.root),
            "validate": reconciler(*configured, "validate", str(repo.root)),
            "plan_empty": reconciler(*plan, str(repo.empty_ledger)),
            "plan_full": reconciler(*plan, str(repo.full_ledger)),
        }

    def expected(name: str, repo: _Repo) -> str | None:
        if name == "plan_empty":
            return f"Plan: {repo.resources} to create."
        if name == "plan_full":
            return f"Plan: nothing to create, {repo.resources} unchanged."
        return None

    # Each round runs every command at both sizes back to back (a 2x / 1x ratio compares
    # neighbours), and the floor at the start and at the end of the round (a ratio to the
    # floor divides by their mean), so that a burst of load elsewhere skews one round.
    runs: dict[str, list[Run]] = {}
    floors: list[float] = []
    small_commands, big_commands = commands(small), commands(big)
    for _ in range(sizes.rounds):
        first = run(small_commands["floor"])
        for name in small_commands:
            for size, repo, argv in (
                ("1x", small, small_commands[name]),
                ("2x", big, big_commands[name]),
            ):
                result = first if (name, size) == ("floor", "1x") else run(argv)
                summary = expected(name, repo)
                if summary is not None and _summary(result) != summary:
                    raise AssertionError(f"{name}: {_summary(result)!r}, not {summary!r}")
                runs.setdefault(f"{name}_{size}", []).append(result)
        floors.append((first.wall + run(small_commands["floor"]).wall) / 2)

    def ratios(top: str, bottom: str) -> list[float]:
        if bottom == "floor_1x":
            return [a.wall / f for a, f in zip(runs[top], floors, strict=True)]
        return [a.wall / b.wall for a, b in zip(runs[top], runs[bottom], strict=True)]

    b1 = f"1 offline, {sizes.flags:,} flags / {sizes.links:,} links / {sizes.files} files"
    b2 = f"2 scaling, {2 * sizes.flags:,} flags against {sizes.flags:,}"
    report = Report()
    figures = report.figures
    figures.append(
        Figure(b1, "floor: parse only (CSafeLoader), fresh process", _wall(runs["floor_1x"]), "s")
    )
    for name, label in (
        ("validate", "validate"),
        ("plan_empty", "plan --offline, empty ledger (all create)"),
        ("plan_full", "plan --offline, full ledger (all unchanged)"),
    ):
        figures.append(Figure(b1, f"{label}: wall", _wall(runs[f"{name}_1x"]), "s"))
        figures.append(
            Figure(b1, f"{label} / floor", median(ratios(f"{name}_1x", "floor_1x")), "x", 2.0)
        )
    rss = max(
        r.rss_mb for name in ("validate", "plan_empty", "plan_full") for r in runs[f"{name}_1x"]
    )
    figures.append(Figure(b1, "peak RSS (validate, plans)", rss, "MB", 300))
    for name, label in (
        ("validate", "validate"),
        ("plan_empty", "plan, empty ledger"),
        ("plan_full", "plan, full ledger"),
    ):
        figures.append(
            Figure(b2, f"{label}: 2x / 1x", median(ratios(f"{name}_2x", f"{name}_1x")), "x", 2.2)
        )
    figures.append(
        Figure(b2, "floor (parse only): 2x / 1x", median(ratios("floor_2x", "floor_1x")), "x")
    )
    rss_2x = max(r.rss_mb for r in runs["plan_full_2x"])
    figures.append(Figure(b2, "peak RSS, plan with full ledger at 2x", rss_2x, "MB"))
    report.samples = {
        name: [{"wall": r.wall, "cpu": r.cpu, "rss_mb": r.rss_mb} for r in results]
        for name, results in runs.items()
    }
    return report


def _wall(results: Sequence[Run]) -> float:
    return median([r.wall for r in results])


# -- 3: live plan ------------------------------------------------------------------------------


def live_plan(work: Path, sizes: Sizes) -> Report:
    """Benchmark 3: the API calls of a live plan; see the module docstring."""
    from reconciler.emulator import Emulator, EmulatorConfig
    from reconciler.files.validator import validate_paths

    root = work / "repo-live"
    files = max(1, sizes.live_flags // 20)
    write_repository(root, flags=sizes.live_flags, links=sizes.live_linked, files=files)
    state = validate_paths([str(root)], load_configuration(root)).state
    linked = sum(1 for spec in state.flags if spec.links)
    with Emulator(EmulatorConfig(projects=(PROJECT,))) as emu:
        for spec in state.flags:  # as created in the UI: the plan adopts them
            emu.create_flag(PROJECT, dict(spec.fields))
        emu.clear_request_log()
        argv = reconciler(
            *config_args(root), "plan", str(root), "--base-url", emu.base_url,
            "--ledger", "ledger.json",
        )  # fmt: skip
        result = run(argv, cwd=work, env=token_env())
        log = emu.request_log
    routes = Counter(str(r.route) for r in log)
    bound = 2 * math.ceil(sizes.live_flags / PAGE) + linked
    name = f"3 live plan, emulator holds {sizes.live_flags:,} flags, {linked:,} declare links"
    report = Report()
    report.figures += [
        Figure(name, "API calls", len(log), "calls", bound, note=f"2 x ceil(n/{PAGE}) + {linked}"),
        Figure(name, "one GET per flag and per flag's links (Terraform)", 2 * len(state.flags),
               "calls"),
        Figure(name, "live plan: wall", result.wall, "s"),
    ]  # fmt: skip
    report.samples = {"routes": dict(routes), "summary": _summary(result)}
    return report


# -- 4: apply under a rate limit -----------------------------------------------------------------


def ideal_seconds(flags: int, links: int, limit: int, window: float = 1.0) -> float:
    """The shortest apply the rate limit allows.

    Flags and links are separate routes, each admitting ``limit`` requests per window, so
    alone each needs ``ceil(n / limit)`` windows. A link needs its flag first, but it can be
    sent the moment its flag exists: in the best schedule every window carries a batch of
    flags and, behind them on the other route, the links of that batch, so the links cost
    no extra window and the apply is done when the busier route is (the first window may
    be partly gone at the start, which only helps: the ideal is an upper bound of the best
    schedule by less than one window).
    """
    return max(math.ceil(flags / limit), math.ceil(links / limit)) * window


def apply_rate_limited(work: Path, sizes: Sizes) -> Report:
    """Benchmark 4; see the module docstring and ``ideal_seconds``."""
    from reconciler.emulator import Emulator, EmulatorConfig, RateLimit

    root = work / "repo-rate"
    files = max(1, sizes.rate_flags // 20)
    write_repository(root, flags=sizes.rate_flags, links=sizes.rate_links, files=files)
    config = EmulatorConfig(projects=(PROJECT,), rate_limit=RateLimit(sizes.rate_limit, 1.0))
    with Emulator(config) as emu:
        argv = reconciler(
            *config_args(root), "apply", str(root), "--base-url", emu.base_url, "--yes",
            "--ledger", "ledger-rate.json",
            "--concurrency", str(sizes.rate_concurrency),
        )  # fmt: skip
        result = run(argv, cwd=work, env=token_env())
        log = emu.request_log
        created = len(emu.flags(PROJECT))
    if created != sizes.rate_flags:
        raise AssertionError(f"apply created {created} flags, not {sizes.rate_flags}")
    throttled = sum(1 for r in log if r.status == 429)
    posts = sorted(r.time for r in log if r.method == "POST" and r.status == 201)
    ideal = ideal_seconds(sizes.rate_flags, sizes.rate_links, sizes.rate_limit)
    name = (
        f"4 apply {sizes.rate_flags:,} flags + {sizes.rate_links:,} links at "
        f"{sizes.rate_limit}/1s per route, --concurrency {sizes.rate_concurrency}"
    )
    report = Report()
    report.figures += [
        Figure(name, "ideal set by the limit", ideal, "s"),
        Figure(name, "apply: wall (whole process)", result.wall, "s"),
        Figure(name, "wall / ideal", result.wall / ideal, "x", 1.25),
        Figure(name, "429 answers / requests", 100 * throttled / max(1, len(log)), "%", 1.0),
    ]
    report.samples = {
        "requests": len(log),
        "throttled": throttled,
        "first_to_last_create": posts[-1] - posts[0] if posts else 0.0,
        "summary": _summary(result),
    }
    return report


# -- 5: apply under latency ----------------------------------------------------------------------


def apply_latency(work: Path, sizes: Sizes) -> Report:
    """Benchmark 5; see the module docstring."""
    from reconciler.emulator import Emulator, EmulatorConfig, Faults

    root = work / "repo-latency"
    n = sizes.latency_creates
    write_repository(root, flags=n, links=0, files=max(1, n // 20))
    walls: dict[int, float] = {}
    for concurrency in (1, 8):
        faults = Faults(latency_ms=30, latency_jitter_ms=10)
        with Emulator(EmulatorConfig(projects=(PROJECT,), faults=faults, seed=1)) as emu:
            argv = reconciler(
                *config_args(root), "apply", str(root), "--base-url", emu.base_url, "--yes",
                "--ledger", f"ledger-latency-{concurrency}.json", "--concurrency", str(concurrency),
            )  # fmt: skip
            walls[concurrency] = run(argv, cwd=work, env=token_env()).wall
            if len(emu.flags(PROJECT)) != n:
                raise AssertionError(f"--concurrency {concurrency} did not create {n} flags")
    name = f"5 apply {n:,} flags, latency 30 ms + 0-10 ms jitter"
    report = Report()
    report.figures += [
        Figure(name, "--concurrency 1: wall", walls[1], "s"),
        Figure(name, "--concurrency 8: wall", walls[8], "s"),
        Figure(name, "speed-up of --concurrency 8", walls[1] / walls[8], "x", 6.0, at_most=False),
    ]
    return report


# -- 6: cold start -------------------------------------------------------------------------------

# Modules that --help and validate must not import: they belong to other commands.
HEAVY = (
    "httpx",
    "httpcore",
    "deepdiff",
    "jsonschema",
    "reconciler.emulator",
    "reconciler.remote.client",
)

_MODULES_SCRIPT = """
import sys
from reconciler.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("\\n--- modules ---")
print("\\n".join(sorted(sys.modules)))
"""


def imported_modules(args: Sequence[str], cwd: Path | None = None) -> set[str]:
    """The modules ``ld-reconciler ARGS`` has imported when it is done (a fresh process)."""
    result = run([sys.executable, "-c", _MODULES_SCRIPT, *args], cwd=cwd, expect=None)
    return set(result.stdout.split("\n--- modules ---\n", 1)[1].split())


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def import_time_ms(args: Sequence[str]) -> float:
    """The total of ``python -X importtime`` (every module's own time), in milliseconds."""
    result = run([sys.executable, "-X", "importtime", "-m", "reconciler", *args], expect=None)
    total = 0
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            field_ = line.split(":", 1)[1].split("|")[0].strip()
            if field_.isdigit():
                total += int(field_)
    return total / 1000


def cold_start(work: Path, sizes: Sizes) -> Report:
    """Benchmark 6; see the module docstring."""
    root = work / "repo-one-file"
    write_repository(root, flags=sizes.one_file_flags, links=sizes.one_file_flags, files=1)
    validate = (*config_args(root), "validate", str(root))
    walls = [run(reconciler(*validate)).wall for _ in range(max(5, sizes.rounds))]
    helps = [run(reconciler("--help")).wall for _ in range(max(5, sizes.rounds))]
    name = "6 cold start"
    report = Report()
    report.figures += [
        Figure(name, "--help: python -X importtime total", import_time_ms(["--help"]), "ms"),
        Figure(name, "validate 1 file: python -X importtime total", import_time_ms(validate),
               "ms"),
        Figure(name, "--help: wall", median(helps), "s"),
        Figure(name, "validate 1 file: wall", median(walls), "s", 0.3),
    ]  # fmt: skip
    for label, args in (("--help", ["--help"]), ("validate 1 file", list(validate))):
        found = heavy(imported_modules(args))
        report.figures.append(
            Figure(name, f"{label}: heavy modules imported", len(found), "modules", 0,
                   note=", ".join(found) or "none of " + ", ".join(HEAVY))
        )  # fmt: skip
    return report


BENCHMARKS: dict[str, Callable[[Path, Sizes], Report]] = {
    "offline": offline,
    "live": live_plan,
    "rate": apply_rate_limited,
    "latency": apply_latency,
    "cold": cold_start,
}


def results_document(reports: dict[str, Report], sizes: Sizes, mode: str) -> dict[str, Any]:
    return {
        "mode": mode,
        "machine": {
            "python": sys.version.split()[0],
            "platform": sys.platform,
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        },
        "sizes": sizes.__dict__,
        "figures": [f.data for r in reports.values() for f in r.figures],
        "samples": {name: r.samples for name, r in reports.items()},
    }


def write_results(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
