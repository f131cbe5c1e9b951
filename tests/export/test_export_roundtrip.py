"""A team's own flags, created by apply, exported and planned against the team's own ledger.

Flags created on (``isFlagOn: true``) were once exported without it, so the export of a
team's flags drifted from what the team's ledger recorded at creation. (The team's files
give ``clientSideAvailability``, which export always writes: left out, a create takes the
project's default, which no flag-list read tells.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from reconciler.emulator import Emulator, EmulatorConfig

from .support import Cli

TEAM_FLAGS = """\
project: team
flags:
  - key: kill-switch
    name: Kill switch
    temporary: false
    tags: [ops]
    clientSideAvailability: {usingEnvironmentId: false, usingMobileKey: false}
    isFlagOn: true
  - key: theme
    name: Theme
    tags: [web]
    variations:
      - {value: light, name: Light}
      - {value: dark}
    defaults: {onVariation: 1, offVariation: 0}
    clientSideAvailability: {usingEnvironmentId: true, usingMobileKey: false}
    initialPrerequisites: [{key: kill-switch, variationIndex: 0}]
    isFlagOn: true
    links:
      - {key: doc, deepLink: "https://docs.example.com/theme", title: Theme}
  - key: quiet
    name: Quiet
    tags: [web]
    clientSideAvailability: {usingEnvironmentId: false, usingMobileKey: true}
"""


@pytest.fixture
def team(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(projects=("team",))) as emu:
        yield emu


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.yaml"))}


def _exported(root: Path) -> dict[str, dict[str, object]]:
    flags = [
        f for p in sorted(root.rglob("*.yaml")) for f in yaml.safe_load(p.read_text())["flags"]
    ]
    return {str(f["key"]): f for f in flags}


def test_flags_created_on_are_exported_on_and_plan_unchanged_against_the_teams_ledger(
    cli: Cli, team: Emulator, tmp_path: Path
) -> None:
    (tmp_path / "flags").mkdir()
    (tmp_path / "flags" / "team.yaml").write_text(TEAM_FLAGS)
    assert cli.live(team, "apply", "flags", "--yes").code == 0

    exported = cli.live(team, "export", "--project", "team", "--output", "out")
    assert exported.code == 0, exported
    flags = _exported(tmp_path / "out")
    assert flags["kill-switch"]["isFlagOn"] is True
    assert flags["theme"]["isFlagOn"] is True
    assert "isFlagOn" not in flags["quiet"]  # off everywhere: the default, not written

    for mode in ((), ("--offline",)):
        plan = cli.live(team, "plan", "out", *mode)
        assert plan.code == 0, plan
        assert "drift" not in plan.stdout, plan
        assert "Plan: nothing to create, 4 unchanged." in plan.stdout, plan


def test_a_re_export_of_exported_and_adopted_files_is_byte_identical(
    cli: Cli, team: Emulator, tmp_path: Path
) -> None:
    (tmp_path / "flags").mkdir()
    (tmp_path / "flags" / "team.yaml").write_text(TEAM_FLAGS)
    assert cli.live(team, "apply", "flags", "--yes").code == 0
    assert cli.live(team, "export", "--project", "team", "--output", "first").code == 0
    assert cli.live(team, "export", "--project", "team", "--output", "second").code == 0
    assert _files(tmp_path / "first") == _files(tmp_path / "second")
    # The exported files adopted as the team's own, then exported again: the same bytes.
    (tmp_path / ".ld-reconciler" / "ledger.json").unlink()
    assert cli.live(team, "apply", "first", "--yes").code == 0
    assert cli.live(team, "export", "--project", "team", "--output", "third").code == 0
    assert _files(tmp_path / "third") == _files(tmp_path / "first")
