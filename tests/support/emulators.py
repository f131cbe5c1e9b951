"""Emulators started by a test, all stopped when it ends (the ``emulators`` fixture)."""

from __future__ import annotations

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
