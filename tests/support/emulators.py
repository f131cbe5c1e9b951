"""Emulators started by a test, all stopped when it ends (the ``emulators`` fixture), and the
refusal of a run whose data file another emulator holds."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from reconciler.emulator import Emulator, EmulatorConfig


class Emulators:
    """The emulators one test started, in order; ``stop_all`` stops every one."""

    def __init__(self) -> None:
        self.started: list[Emulator] = []

    def start(self, config: EmulatorConfig, **options: Any) -> Emulator:
        """Start ``Emulator(config, **options)`` (``clock``, ``log``) and keep it to stop."""
        emu = Emulator(config, **options).start()
        self.started.append(emu)
        return emu

    def stop_all(self) -> None:
        for emu in self.started:
            emu.stop()


def data_file_refusal(stderr: str, data: Path | str, pid: int) -> str:
    """The one line of ``stderr``: the refusal to use ``data`` while ``pid`` holds it.

    Its start, which names the holder, is checked here; its end (the advice) is the caller's."""
    [line] = stderr.splitlines()
    assert line.startswith(
        f"Error: the emulator's data file {data} is in use by pid {pid} on "
        f"{socket.gethostname()} since "
    )
    return line
