"""``--emulator`` runs and the emulator's data-file lock: one run at a time uses
``.ld-reconciler/emulator.json``; ``apply --lock-wait`` waits for the other, the rest are refused
in one line, and a run that is interrupted leaves the file to the next."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from reconciler.emulator.datafile import Claim, lock
from reconciler.state.lock import LedgerLock
from support.emulators import data_file_refusal
from support.process import default_sigint, host_free_env

from .support import Cli, flag, write_flags

DATA = Path(".ld-reconciler/emulator.json")
LOCK = Path(".ld-reconciler/emulator.json.lock")
TIMEOUT = 60


@pytest.fixture
def web_flags(tmp_path: Path) -> Path:
    return write_flags(tmp_path / "flags" / "web.yaml", "web-app", [flag("one"), flag("two")])


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[LedgerLock]:
    """The data file's lock, held by this process as another ``--emulator`` run holds it."""
    held = lock(tmp_path / DATA, Claim(command="another run"))
    yield held
    held.release()


class Child:
    """``python -m reconciler ARGS`` in ``cwd``. Its stdout and stderr are read on threads, so
    that the test can wait for ``marker`` (a log line, a prompt) in the ``watch``ed one."""

    def __init__(
        self, cwd: Path, args: list[str], *, watch: str, marker: str, **popen: Any
    ) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", *args],
            cwd=cwd,
            env=host_free_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_sigint,
            **popen,
        )
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self.marker = marker
        self._watch = watch
        self.texts = {"stdout": "", "stderr": ""}
        self._seen = threading.Event()  # the marker came, or the stream ended without it
        self._output = threading.Event()  # the child wrote something, or closed its pipes
        self._readers = [
            threading.Thread(target=self._read, args=(name, stream), daemon=True)
            for name, stream in (("stdout", self.process.stdout), ("stderr", self.process.stderr))
        ]
        for reader in self._readers:
            reader.start()

    @property
    def text(self) -> str:
        return self.texts[self._watch]

    def _read(self, name: str, stream: IO[str]) -> None:
        while char := stream.read(1):  # by character: a prompt ends without a newline
            self.texts[name] += char
            self._output.set()
            if name == self._watch and self.texts[name].endswith(self.marker):
                self._seen.set()
        stream.close()
        self._output.set()
        if name == self._watch:
            self._seen.set()

    def wait_for_marker(self) -> None:
        assert self._seen.wait(TIMEOUT), f"no {self.marker!r} within {TIMEOUT} s"
        assert self.marker in self.text, f"the child ended without {self.marker!r}:\n{self.text}"
        assert self.process.poll() is None, "the child ended after the marker"

    def interrupt(self) -> None:
        """Ctrl-C, again until the child reacts (writes or ends). A prompt shows before the
        child reads its answer: a SIGINT that comes in between is only noted, and the read it
        would have interrupted then waits for input, so one signal alone may be lost."""
        for _ in range(TIMEOUT):
            self._output.clear()
            self.process.send_signal(signal.SIGINT)
            if self._output.wait(1.0):
                return
        pytest.fail(f"the child did not react to SIGINT within {TIMEOUT} s")

    def finish(self) -> tuple[int, str, str]:
        """The exit code, stdout and stderr."""
        try:
            code = self.process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(TIMEOUT)
            pytest.fail(f"the child did not end within {TIMEOUT} s: {self.texts}")
        for reader in self._readers:
            reader.join(TIMEOUT)
            assert not reader.is_alive(), "a pipe of the child stayed open after it ended"
        return code, self.texts["stdout"], self.texts["stderr"]


def test_apply_emulator_with_lock_wait_waits_for_the_data_file_then_applies(
    tmp_path: Path, web_flags: Path, holder: LedgerLock
) -> None:
    # Once, --emulator took the data file's lock without waiting, whatever --lock-wait said.
    child = Child(
        tmp_path,
        ["-v", "apply", "flags", "--emulator", "--yes", "--lock-wait", str(TIMEOUT)],
        watch="stderr",
        marker=f"waiting up to {TIMEOUT} s for {LOCK} to be released",
    )
    child.wait_for_marker()  # the child tried, found the lock held, and waits
    releaser = threading.Thread(target=holder.release)
    releaser.start()
    code, out, err = child.finish()
    releaser.join()
    assert code == 0, err
    assert "Apply complete: 2 created, 0 adopted." in out
    assert not (tmp_path / LOCK).exists()  # released by the child in its turn
    # Said without -v too: who holds the data file, and how long the run waits for it.
    said = rf"{re.escape(str(LOCK))} is in use by pid \d+ on \S+ since \S+ \(another run\); "
    assert re.search(said + rf"waiting up to {TIMEOUT} s for it\n", err), err


@pytest.mark.parametrize(
    ("args", "advice"),
    [
        (
            ("apply", "flags", "--emulator", "--yes"),
            "wait for it to finish and retry, or pass --lock-wait SECONDS",
        ),
        (("plan", "flags", "--emulator"), "wait for it to finish and retry"),
        (("export", "--project", "web-app", "--emulator"), "wait for it to finish and retry"),
    ],
    ids=["apply", "plan", "export"],
)
def test_an_emulator_run_while_another_has_the_data_file_is_refused_at_once_in_one_line(
    cli: Cli, web_flags: Path, holder: LedgerLock, args: tuple[str, ...], advice: str
) -> None:
    # The refusal must not suggest another data file: --emulator has no option to choose one.
    result = cli(*args)
    assert result.code == 1, result
    assert result.stdout == ""
    line = data_file_refusal(result.stderr, DATA, os.getpid())
    assert line.endswith(
        f" (another run): one emulator at a time may use it; {advice}. If no emulator is "
        f"running, delete {LOCK}"
    )


@pytest.mark.skipif(sys.platform == "win32", reason="confirms on a pseudo-terminal")
def test_an_apply_emulator_interrupted_at_its_prompt_leaves_the_data_file_to_the_next_run(
    cli: Cli, tmp_path: Path, web_flags: Path
) -> None:
    import pty

    # On a terminal apply asks before creating: Ctrl-C there is an exception raised deep inside
    # the run, while it holds the data file.
    terminal, child_end = pty.openpty()
    try:
        child = Child(
            tmp_path,
            ["apply", "flags", "--emulator"],
            watch="stdout",
            marker="in emulator? [y/N]: ",
            stdin=child_end,
        )
    finally:
        os.close(child_end)
    try:
        child.wait_for_marker()
        holder = json.loads((tmp_path / LOCK).read_text())
        assert (holder["pid"], holder["command"]) == (
            child.process.pid,
            "ld-reconciler apply --emulator",
        )
        child.interrupt()
        code, _, err = child.finish()
    finally:
        os.close(terminal)
    assert code == 1, err
    assert err.strip() == "Aborted.", err  # click's Abort: no traceback
    assert not (tmp_path / LOCK).exists()
    assert cli("plan", "flags", "--emulator").code == 0  # would be refused if the lock were held
