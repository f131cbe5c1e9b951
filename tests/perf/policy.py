"""The cost of evaluating policies, alone: 10 flag rules over the synthetic repository.

Issue 16's target is a ratio of whole runs (``validate`` under 10 policies against the
parse floor, at most 1.6x), to be added to ``bench.py`` once the engine is wired into
``validate``. Until then this measures what the engine adds, in one process: the
seconds to parse the same files with libyaml (the floor's work) and to evaluate the
policies, the ratio of the two, and the cost of one evaluation (rule x flag).

    python -m tests.perf.policy [FLAGS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import yaml

from reconciler.config.resolution import resolve_documents
from reconciler.files.loader import load_paths
from reconciler.model import Location
from reconciler.policy.catalog import compile_policies
from reconciler.policy.evaluation import evaluate
from reconciler.policy.policy import Policy
from reconciler.policy.subject import subject_from_document
from tests.perf.generate import load_configuration, write_repository

# Ten rules of the kinds the README offers, most of which every synthetic flag passes.
RULES = (
    "flag.key.matches('^[a-z0-9]+(-[a-z0-9]+)*$')",
    "!flag.temporary || flag.links.exists(l, l.deepLink.startsWith('https://'))",
    "flag.maintainerId != '' || flag.maintainerTeamKey != ''",
    "flag.description.size() > 0",
    "flag.tags.all(t, t in ['web', 'mobile', 'api', 'billing', 'search', 'growth', 'bench', "
    "'kill-switch'])",
    "!('server-only' in flag.tags) || !flag.clientSideAvailability.usingEnvironmentId",
    "flag.variations.size() >= 2",
    "flag.name.size() <= 100",
    "file.endsWith('.yaml')",
    "flag.tags.size() <= 5",
)


def measure(root: Path, flags: int) -> dict[str, float]:
    write_repository(root, flags=flags, links=flags * 3, files=max(1, flags // 20))
    files = sorted(root.rglob("*.yaml"))
    start = time.perf_counter()
    for file in files:
        yaml.load(file.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    parse = time.perf_counter() - start
    # Policies judge what a flag resolves to: the generated configuration's defaults and
    # templates included (a quarter of the flags take their maintainer from it).
    documents, _ = resolve_documents(load_paths([str(root)])[0], load_configuration(root))
    subjects = [
        subject_from_document(doc, i) for doc in documents for i in range(len(doc.data["flags"]))
    ]
    policies = [
        Policy(f"rule-{n}", rule, "m", Location("ld-reconciler.yaml", n + 1))
        for n, rule in enumerate(RULES)
    ]
    start = time.perf_counter()
    catalog = compile_policies(policies)
    findings = evaluate(catalog, subjects)
    seconds = time.perf_counter() - start
    assert catalog.findings == (), catalog.findings
    evaluations = len(subjects) * len(RULES)
    return {
        "flags": len(subjects),
        "evaluations": evaluations,
        "findings": len(findings),
        "parse_seconds": parse,
        "policy_seconds": seconds,
        "policy_over_parse": seconds / parse,
        "microseconds_per_evaluation": seconds / evaluations * 1e6,
    }


def main(argv: list[str]) -> int:
    flags = int(argv[0]) if argv else 10_000
    with tempfile.TemporaryDirectory() as work:
        figures = measure(Path(work), flags)
    for name, value in figures.items():
        print(f"{name:>28}: {value:,.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
