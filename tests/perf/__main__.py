"""``python -m tests.perf``: run the benchmarks, print the table, write the figures as JSON.

    python -m tests.perf                 # the full sizes of issue 6 (several minutes)
    python -m tests.perf --quick         # tiny sizes: a smoke run for CI
    python -m tests.perf --only offline --only cold --rounds 5

Exit status 0 when every figure meets its target, 1 otherwise (a quick run always 0:
its sizes are too small for the targets to mean anything).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from tests.perf.bench import (
    BENCHMARKS,
    FULL,
    QUICK,
    Figure,
    Report,
    results_document,
    write_results,
)
from tests.support.process import cache_bytecode

DEFAULT_OUT = Path(__file__).parent / "out" / "results.json"


def table(figures: list[Figure]) -> str:
    rows = [("figure", "value", "target", "met")]
    benchmark = None
    lines: list[str] = []
    widths = [58, 12, 10, 4]
    for f in figures:
        if f.benchmark != benchmark:
            benchmark = f.benchmark
            lines.append(f"{f.benchmark}")
        met = "" if f.met is None else ("yes" if f.met else "NO")
        rows.append((f"  {f.name}", f.shown, f.target, met))
        lines.append(
            f"  {f.name:<{widths[0] - 2}} {f.shown:>{widths[1]}} {f.target:>{widths[2]}} {met:>4}"
        )
    head = rows[0]
    header = f"{head[0]:<{widths[0]}} {head[1]:>{widths[1]}} {head[2]:>{widths[2]}} {head[3]:>4}"
    return "\n".join([header, "-" * len(header), *lines])


def compile_package(prefix: Path) -> None:
    """Measure the package as installed, with its bytecode, as the floor's yaml has its:
    where PYTHONDONTWRITEBYTECODE is set, each measured process would otherwise compile
    the package from source (about 0.15 s, a tenth of the floor)."""
    import reconciler

    cache_bytecode(str(prefix))
    package = str(Path(reconciler.__file__).parent)
    subprocess.run([sys.executable, "-m", "compileall", "-q", package], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.perf", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), help="repeatable")
    parser.add_argument("--rounds", type=int, help="rounds of the offline benchmark")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default {DEFAULT_OUT}")
    parser.add_argument("--workdir", type=Path, help="keep the generated files here")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.rounds:
        sizes = replace(sizes, rounds=args.rounds)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="ld-reconciler-perf-"))
    work.mkdir(parents=True, exist_ok=True)
    compile_package(work / "bytecode")
    reports: dict[str, Report] = {}
    try:
        for name in args.only or list(BENCHMARKS):
            started = time.perf_counter()
            print(f"running {name} ...", file=sys.stderr, flush=True)
            reports[name] = BENCHMARKS[name](work, sizes)
            print(f"  {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    figures = [f for r in reports.values() for f in r.figures]
    mode = "quick" if args.quick else "full"
    write_results(args.out, results_document(reports, sizes, mode))
    print(table(figures))
    print(f"\nwrote {args.out}")
    missed = [f for f in figures if f.met is False]
    return 0 if args.quick or not missed else 1


if __name__ == "__main__":
    sys.exit(main())
