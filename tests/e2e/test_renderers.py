"""The plan's output formats, through the CLI, on a plan with every kind of action."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.emulator import DEV_TOKEN, Emulator
from support.process import host_free_env

from .support import Cli, flag, target_of, write_flags

ANSI = re.compile(r"\x1b\[")


@pytest.fixture
def mixed(cli: Cli, emu: Emulator, tmp_path: Path) -> Path:
    """Files whose live plan has one create, adopt, unchanged, drift, orphan and blocked."""
    path = tmp_path / "flags" / "web.yaml"
    write_flags(path, "web-app", [flag("unchanged"), flag("orphaned")])
    assert cli.live(emu, "apply", "flags", "--yes").code == 0
    emu.create_flag("web-app", flag("adoptable"))
    emu.create_flag("web-app", flag("drifted", description="Set in the UI"))
    emu.create_flag("web-app", flag("retired"), archived=True)
    write_flags(path, "web-app", [
        flag("unchanged"),
        flag("brand-new"),
        flag("adoptable"),
        flag("drifted", description="Declared in git"),
        flag("retired"),
    ])  # fmt: skip
    return path


def test_json_format_is_a_versioned_document_of_every_action(
    cli: Cli, emu: Emulator, mixed: Path
) -> None:
    result = cli.live(emu, "plan", "flags", "--format", "json")
    assert result.code == 1, result  # blocked
    document = json.loads(result.stdout)
    assert document["format_version"] == 1
    assert document["target"] == target_of(emu)
    assert document["mode"] == "live"
    actions = {a["address"]: a["action"] for a in document["actions"]}
    assert actions == {
        "web-app/adoptable": "adopt",
        "web-app/brand-new": "create",
        "web-app/drifted": "drift",
        "web-app/orphaned": "orphan",
        "web-app/retired": "blocked",
        "web-app/unchanged": "unchanged",
    }
    assert document["summary"] == {
        "create": 1, "adopt": 1, "unchanged": 1, "drift": 1, "orphan": 1, "blocked": 1,
    }  # fmt: skip
    (drift,) = (a for a in document["actions"] if a["action"] == "drift")
    assert drift["diff"] == [
        {"path": "description", "before": "Declared in git", "after": "Set in the UI"}
    ]
    assert drift["source"].startswith("flags/web.yaml:")


def test_markdown_format_is_a_marked_pull_request_comment(
    cli: Cli, emu: Emulator, mixed: Path
) -> None:
    result = cli.live(emu, "plan", "flags", "--format", "markdown")
    assert result.code == 1, result
    assert result.stdout.startswith("<!-- ld-reconciler-plan -->\n")
    summary = "Plan: 1 to create, 1 to adopt, 1 unchanged, 1 drifted, 1 orphaned, 1 blocked."
    assert f"**{summary}**" in result.stdout
    assert "`web-app/brand-new`" in result.stdout
    assert '`description`: `"Declared in git"` → `"Set in the UI"`' in result.stdout
    # The summary first, then each kind collapsed in its own closed <details>.
    assert result.stdout.index(summary) < result.stdout.index("<details>")
    assert re.findall(r"<details><summary>1 (\w+)</summary>", result.stdout) == [
        "blocked", "create", "adopt", "drift", "orphan",
    ]  # fmt: skip
    assert result.stdout.count("</details>") == 5
    assert result.stdout.rstrip().endswith("</details>")


def test_github_format_annotates_sources_and_appends_the_step_summary(
    cli: Cli, emu: Emulator, mixed: Path, tmp_path: Path
) -> None:
    summary = tmp_path / "step-summary.md"
    summary.write_text("# earlier step\n")
    result = cli.live(
        emu, "plan", "flags", "--format", "github", env={"GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert result.code == 1, result
    lines = result.stdout.splitlines()
    notice = [line for line in lines if line.startswith("::notice ")]
    warning = [line for line in lines if line.startswith("::warning ")]
    error = [line for line in lines if line.startswith("::error ")]
    assert len(notice) == len(warning) == len(error) == 1, result.stdout
    assert re.match(r"::notice file=flags/web\.yaml,line=\d+,col=\d+,.*brand-new", notice[0])
    assert re.match(r"::warning file=flags/web\.yaml,line=\d+,col=\d+,.*drifted", warning[0])
    assert re.match(r"::error file=flags/web\.yaml,line=\d+,col=\d+,.*retired", error[0])
    written = summary.read_text()
    assert written.startswith("# earlier step\n<!-- ld-reconciler-plan -->\n")
    assert "1 to create" in written


def test_text_output_has_no_colour_off_a_terminal(
    cli: Cli, emu: Emulator, mixed: Path, tmp_path: Path
) -> None:
    write_flags(mixed, "web-app", [flag("unchanged"), flag("brand-new")])
    plan = cli.live(emu, "plan", "flags", subprocess=True)
    applied = cli.live(emu, "apply", "flags", "--yes", subprocess=True)
    for result in (plan, applied):
        assert result.code == 0, result
        assert not ANSI.search(result.output), result
    assert "+ create   flag web-app/brand-new" in plan.stdout
    assert "created flag web-app/brand-new" in applied.stdout


def test_json_format_stays_valid_json_when_the_plan_is_offline_for_want_of_a_token(
    cli: Cli, emu: Emulator, mixed: Path
) -> None:
    result = cli("plan", "flags", "--format", "json", "--base-url", emu.base_url)
    assert result.code == 0, result
    assert "No access token" in result.stderr
    document = json.loads(result.stdout)
    assert document["mode"] == "offline"
    assert {a["address"]: a["action"] for a in document["actions"]} == {
        "web-app/adoptable": "create",
        "web-app/brand-new": "create",
        "web-app/drifted": "create",
        "web-app/orphaned": "orphan",
        "web-app/retired": "create",
        "web-app/unchanged": "unchanged",
    }


def _on_a_terminal(cli: Cli, emu: Emulator, env: dict[str, str]) -> str:
    """What ``plan`` prints when its stdout is a terminal (a pseudo-terminal here)."""
    primary, secondary = pty.openpty()
    try:
        child = subprocess.run(
            [sys.executable, "-m", "reconciler", "plan", "flags", "--base-url", emu.base_url],
            cwd=cli.cwd,
            env=host_free_env({"LAUNCHDARKLY_ACCESS_TOKEN": DEV_TOKEN, **env}),
            stdin=subprocess.DEVNULL,
            stdout=secondary,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
        )
        os.close(secondary)
        secondary = -1
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(primary)
        if secondary != -1:
            os.close(secondary)
    assert child.returncode == 0, child.stderr
    return b"".join(chunks).decode()


def test_text_output_is_coloured_on_a_terminal_unless_no_color_is_set(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [flag("brand-new")])
    coloured = _on_a_terminal(cli, emu, {})
    assert re.search(r"\x1b\[32m[^\n]*\+ create   flag web-app/brand-new", coloured), coloured
    plain = _on_a_terminal(cli, emu, {"NO_COLOR": "1"})
    assert "+ create   flag web-app/brand-new" in plain
    assert not ANSI.search(plain), plain
