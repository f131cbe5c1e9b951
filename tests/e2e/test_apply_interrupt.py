"""Ctrl-C during an apply: the creates that were running finish and are shown, and the apply
ends with what it created and recorded, what is left, and the exact command that finishes it."""

from __future__ import annotations

import shlex
import signal
from collections.abc import Callable
from pathlib import Path

from reconciler.emulator import Emulator, EmulatorConfig
from reconciler.emulator.config import Faults
from support.process import read_line

from .support import Cli, flag, load_ledger, recorded, stored, target_of, write_flags

FLAGS = 40
TIMEOUT = 60


def test_ctrl_c_ends_an_apply_with_a_summary_and_every_recorded_create_shown(
    cli: Cli, make_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    # Each request takes 0.2 s, so creates are running whenever the interrupt comes.
    emu = make_emulator(EmulatorConfig(projects=("web-app",), faults=Faults(latency_ms=200)))
    write_flags(
        tmp_path / "flags" / "web.yaml", "web-app", [flag(f"f{i:02}") for i in range(FLAGS)]
    )
    child = cli.spawn_live(emu, "apply", "flags", "--yes")
    assert child.stdout is not None
    lines = []
    while sum(line.startswith("created ") for line in lines) < 4:
        lines.append(read_line(child.stdout, TIMEOUT))
        assert lines[-1], f"the apply ended before it was interrupted: {lines}"
    child.send_signal(signal.SIGINT)
    try:
        rest, err = child.communicate(timeout=TIMEOUT)
    finally:
        child.kill()
    out = "".join(lines) + rest

    assert child.returncode == 1, err  # as any interrupted command: "Aborted.", exit 1
    shown = sorted(line.split()[-1] for line in out.splitlines() if line.startswith("created "))
    in_ledger = sorted(recorded(load_ledger(tmp_path), target_of(emu), "web-app"))
    assert shown == in_ledger, err
    assert in_ledger == sorted(stored(emu, "web-app")), err
    assert 4 <= len(shown) < FLAGS
    left = FLAGS - len(shown)
    assert (
        f"Interrupted: {len(shown)} created and 0 adopted, all recorded in the ledger; "
        f"{left} still to create." in err
    ), err
    again = shlex.join(["ld-reconciler", "apply", "flags", "--base-url", emu.base_url])
    assert f"Run `{again}` again to finish." in err
    assert err.rstrip().endswith("Aborted."), err
    assert "Traceback" not in err

    finished = cli.live(emu, *shlex.split(again)[1:-2], "--yes")
    assert finished.code == 0, finished
    assert f"Apply complete: {left} created, 0 adopted." in finished.stdout
    assert len(stored(emu, "web-app")) == FLAGS


def test_an_apply_that_cannot_ask_says_the_command_that_applies_without_asking(
    cli: Cli, make_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = make_emulator(EmulatorConfig(projects=("web-app",)))
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [flag("f1")])
    asked = cli.live(emu, "apply", "flags")  # stdin is not a terminal
    assert asked.code != 0
    again = shlex.join(["ld-reconciler", "apply", "flags", "--base-url", emu.base_url, "--yes"])
    assert f"not on a terminal: pass --yes to apply without confirmation: {again}" in asked.stderr
    assert not stored(emu, "web-app")
    applied = cli.live(emu, *shlex.split(again)[1:])
    assert applied.code == 0, applied
    assert stored(emu, "web-app") == {"web-app/f1": 1}
