"""A bug is reported as a bug: "unexpected error", the traceback, exit 3, nothing lost."""

from __future__ import annotations

from pathlib import Path

from reconciler.emulator import DEV_TOKEN, Emulator

from .support import CREATE_FLAG, Cli, flag, load_ledger, recorded, stored, target_of, write_flags

PLANTED_BUG = Path(__file__).with_name("planted_bug.py")


def test_a_bug_in_an_apply_worker_stops_the_apply_exits_3_with_the_traceback_and_keeps_the_ledger(
    cli: Cli, tmp_path: Path, emu: Emulator
) -> None:
    """The bug is planted by ``planted_bug.py``: the 4th flag create raises ``KeyError`` in
    httpx's transport (a third-party seam) on the worker's thread, in a real child process of
    the console entry. One worker makes the order certain: three flags are created first."""
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [flag(f"f{i}") for i in range(8)])
    run = cli.script(
        PLANTED_BUG, "4", "apply", "flags", "--yes", "--concurrency", "1",
        "--base-url", emu.base_url, env={"LAUNCHDARKLY_ACCESS_TOKEN": DEV_TOKEN},
    )  # fmt: skip
    assert run.code == 3, run
    assert "ld-reconciler: unexpected error (this is a bug, please report it):" in run.stderr
    assert "Traceback (most recent call last):" in run.stderr
    assert "KeyError: 'planted bug'" in run.stderr
    assert "failed:" not in run.stderr, run  # not reported as an expected failure
    assert "Apply incomplete" not in run.stdout, run
    created = {"web-app/f0": 1, "web-app/f1": 1, "web-app/f2": 1}
    assert stored(emu, "web-app") == created
    assert emu.count(route=CREATE_FLAG) == 3  # the apply stopped: nothing sent after the bug
    ledger = load_ledger(tmp_path)
    assert recorded(ledger, target_of(emu), "web-app") == dict.fromkeys(created, "created")
