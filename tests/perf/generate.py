"""A generator of synthetic, valid flag repositories for benchmarks.

``write_repository(root, flags=10_000, links=30_000, files=500)`` writes ``files`` YAML
files under ``root`` (in a few team directories), spreading ``flags`` flags of every
kind (boolean, string, number, JSON, migration; prerequisites; custom properties) and
``links`` links over them, and an ``ld-reconciler.yaml`` with global and project
defaults and two templates that a share of the flags use (so every benchmark resolves
flags as a configured repository does; commands name it with ``config_args(root)``). The
same arguments always give the same bytes. ``write_ledger`` writes a ledger in which all
of them are recorded as created.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import yaml

from reconciler.config.configuration import Config, load_config
from reconciler.model import DesiredState
from reconciler.state.ledger import FORMAT, VERSION, LedgerEntry
from tests.support.configs import KILL_SWITCH_TEMPLATE

# The C emitter writes the same text as yaml.safe_dump, several times faster.
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

MODELINE = "# yaml-language-server: $schema=../../schemas/flag-file.schema.json\n"
CONFIG_NAME = "ld-reconciler.yaml"
CONFIGURATION = (
    """\
# yaml-language-server: $schema=../schemas/config.schema.json
paths: [.]
defaults:
  tags: [bench]
projects:
  bench:
    defaults:
      maintainerTeamKey: platform
      clientSideAvailability: {usingEnvironmentId: false, usingMobileKey: true}
templates:
  tri-colour:
    variations:
      - {value: red, name: Red}
      - {value: green, name: Green}
      - {value: blue, name: Blue}
    defaults: {onVariation: 1, offVariation: 0}
"""
    + KILL_SWITCH_TEMPLATE
)


def config_args(root: Path) -> list[str]:
    """The global option that names the generated repository's configuration."""
    return ["--config", str(root / CONFIG_NAME)]


def load_configuration(root: Path) -> Config:
    return load_config(root / CONFIG_NAME)


def flag(rng: random.Random, index: int, links: int, previous: str | None) -> dict[str, Any]:
    key = f"flag-{index:06d}"
    data: dict[str, Any] = {
        "key": key,
        "name": f"Flag {index}",
        "description": f"Synthetic flag number {index} for benchmarks.",
        "temporary": rng.random() < 0.7,
        "tags": sorted(rng.sample(["web", "mobile", "api", "billing", "search", "growth"], 2)),
        "maintainerTeamKey": rng.choice(["payments", "platform", "mobile", "growth"]),
    }
    if index % 4 == 0:  # the project's default maintainer
        del data["maintainerTeamKey"]
    kind = index % 6
    if kind == 0 and index % 12 == 0:
        data["template"] = "kill-switch"
    if kind == 1:
        data["template"] = "tri-colour"
    elif kind == 2:
        data["variations"] = [{"value": n} for n in (0, 10, 100)]
    elif kind == 3:
        data["variations"] = [
            {"value": {"model": "a", "limit": 4}, "name": "A"},
            {"value": {"model": "b", "limit": 8}, "name": "B"},
        ]
        data["clientSideAvailability"] = {"usingEnvironmentId": True, "usingMobileKey": False}
    elif kind == 4:
        stages = rng.choice([2, 4, 6])
        data["purpose"] = "migration"
        data["migrationSettings"] = {"stageCount": stages}
        if stages == 6:
            data["migrationSettings"]["contextKind"] = "account"
    elif kind == 5:
        data["customProperties"] = {"jira.issues": {"name": "Jira", "value": [f"PAY-{index}"]}}
        if previous is not None:
            data["initialPrerequisites"] = [{"key": previous, "variationIndex": 0}]
    if links:
        data["links"] = [
            {
                "key": f"ticket-{index}-{n}",
                "deepLink": f"https://jira.example.com/browse/PAY-{index}-{n}",
                "title": f"PAY-{index}-{n}",
            }
            if n % 2 == 0
            else {"deepLink": f"https://docs.example.com/flags/{key}/{n}", "title": "Design doc"}
            for n in range(links)
        ]
    return data


def write_repository(
    root: Path, *, flags: int = 10_000, links: int = 30_000, files: int = 500, seed: int = 7
) -> list[Path]:
    """Write a synthetic repository; returns the files written."""
    rng = random.Random(seed)
    per_file = max(1, -(-flags // files))
    written: list[Path] = []
    root.mkdir(parents=True, exist_ok=True)
    (root / CONFIG_NAME).write_text(CONFIGURATION, encoding="utf-8")
    link_counts = [links // flags] * flags
    for i in range(links - sum(link_counts)):
        link_counts[i] += 1
    for file_index in range(files):
        start = file_index * per_file
        stop = min(flags, start + per_file)
        if start >= stop:
            break
        boolean_prerequisite: str | None = None
        items = []
        for index in range(start, stop):
            item = flag(rng, index, link_counts[index], boolean_prerequisite)
            if index % 6 == 0:
                boolean_prerequisite = item["key"]
            items.append(item)
        team = ("payments", "platform", "mobile", "growth")[file_index % 4]
        path = root / team / f"flags-{file_index:04d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = yaml.dump(
            {"project": "bench", "flags": items},
            Dumper=_Dumper,
            sort_keys=False,
            allow_unicode=True,
            width=100,
        )
        path.write_text(MODELINE + body, encoding="utf-8")
        written.append(path)
    return written


def write_ledger(path: Path, state: DesiredState, target: str) -> int:
    """Write a ledger that records every flag and link of ``state`` as created; returns how
    many entries it holds. Built from ``LedgerEntry`` in one write: recording 40,000 entries
    one by one would append and fsync the journal 40,000 times."""
    at = "2024-01-01T00:00:00Z"
    projects: dict[str, dict[str, dict[str, Any]]] = {}
    for spec in state.flags:
        sections = projects.setdefault(spec.project, {"flags": {}, "links": {}})
        ids = [f"{spec.key}-v{i}" for i in range(len(spec.fields.get("variations", [0, 1])))]
        entry = LedgerEntry.for_flag(spec, action="created", variation_ids=ids, at=at)
        sections["flags"][entry.name] = entry.data
        for link in spec.links:
            entry = LedgerEntry.for_link(link, action="created", link_id=f"id-{link.key}", at=at)
            sections["links"][entry.name] = entry.data
    document = {"format": FORMAT, "version": VERSION, "targets": {target: projects}}
    path.write_text(json.dumps(document, sort_keys=True, indent=2) + "\n", encoding="utf-8")
    return sum(len(s["flags"]) + len(s["links"]) for s in projects.values())


if __name__ == "__main__":
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "bench-flags")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    write_repository(target, flags=n, links=3 * n, files=max(1, n // 20))
    print(f"wrote {n} flags to {target}")
