"""Helpers of the end-to-end tests: the real CLI against the real emulator over loopback HTTP.

``Cli`` runs ``ld-reconciler`` exactly as a user does, through ``reconciler.cli.main`` (the
console script's entry point), with the working directory set to the test's ``tmp_path`` and an
environment from which every LaunchDarkly, colour and GitHub variable of the host is removed.
By default it runs in this process (an import costs half a second, so a subprocess per call would
make the suite slow); ``subprocess=True`` runs ``python -m reconciler`` in a child process, for the
tests that are about the process boundary (tokens in output, terminals, the lock's holder).

The tests count the calls the CLI made from the emulator's request log, and inspect what the
emulator stores and what the ledger records with the helpers below. Fixtures are in ``conftest``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from reconciler.emulator import DEV_TOKEN, Emulator
from reconciler.remote.client import normalise_base_url
from reconciler.state.ledger import Ledger
from support.cli import Result, run_child, run_main
from support.process import default_sigint, host_free_env

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "flags"
EXAMPLE_PROJECTS = ("mobile-app", "web-app")

LIST_FLAGS = "GET /api/v2/flags/{projectKey}"
CREATE_FLAG = "POST /api/v2/flags/{projectKey}"
GET_FLAG = "GET /api/v2/flags/{projectKey}/{featureFlagKey}"
LIST_LINKS = "GET /api/v2/flag-links/projects/{projectKey}/flags/{featureFlagKey}"
CREATE_LINK = "POST /api/v2/flag-links/projects/{projectKey}/flags/{featureFlagKey}"

LEDGER = Path(".ld-reconciler/ledger.json")


class Cli:
    """Runs ``ld-reconciler`` in ``cwd`` with a controlled environment."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd

    def __call__(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        subprocess: bool = False,
    ) -> Result:
        if subprocess:
            return self._child(list(args), dict(env or {}))
        return self._in_process(list(args), dict(env or {}))

    def live(
        self,
        emu: Emulator,
        *args: str,
        token: str = DEV_TOKEN,
        env: Mapping[str, str] | None = None,
        subprocess: bool = False,
    ) -> Result:
        """Run a command against ``emu`` (``--base-url`` and the token in the environment)."""
        full_env = {"LAUNCHDARKLY_ACCESS_TOKEN": token, **(env or {})}
        return self(*args, "--base-url", emu.base_url, env=full_env, subprocess=subprocess)

    def _in_process(self, args: list[str], env: dict[str, str]) -> Result:
        return run_main(self.cwd, args, env)

    def script(self, script: Path, *args: str, env: Mapping[str, str] | None = None) -> Result:
        """Run ``python script args...`` in a child process, as ``subprocess=True`` runs the CLI
        (a script that wraps ``reconciler.cli.main``)."""
        return self._child(list(args), dict(env or {}), program=(str(script),))

    def spawn_live(self, emu: Emulator, *args: str) -> subprocess.Popen[str]:
        """Start a command against ``emu`` in a child process, without waiting for it; a
        test may interrupt it (SIGINT)."""
        env = host_free_env({"LAUNCHDARKLY_ACCESS_TOKEN": DEV_TOKEN})
        return subprocess.Popen(
            [sys.executable, "-m", "reconciler", *args, "--base-url", emu.base_url],
            cwd=self.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_sigint,
        )

    def _child(
        self, args: list[str], env: dict[str, str], program: Sequence[str] = ("-m", "reconciler")
    ) -> Result:
        return run_child(self.cwd, args, env, program=program)


# -- flag files --------------------------------------------------------------------------------


def flag(key: str, **fields: Any) -> dict[str, Any]:
    """A declared flag: the key, a name derived from it, and ``fields``."""
    return {"key": key, "name": key.replace("-", " ").capitalize(), **fields}


def write_flags(path: Path, project: str, flags: Sequence[Mapping[str, Any]]) -> Path:
    """Write a flag file declaring ``flags`` in ``project``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"project": project, "flags": [dict(f) for f in flags]}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


# -- what exists and what was recorded -----------------------------------------------------------


def target_of(emu: Emulator) -> str:
    """The ledger's name for the emulator's instance: its normalised base URL."""
    return normalise_base_url(emu.base_url)


def load_ledger(cwd: Path, path: Path = LEDGER) -> Ledger:
    return Ledger.load(cwd / path, create=False)


def recorded(ledger: Ledger, target: str, project: str) -> dict[str, str]:
    """Every flag and link the ledger records in ``project``, address -> action."""
    entries = {f"{project}/{key}": e.action for key, e in ledger.flags(target, project).items()}
    entries.update(
        {f"{project}/{name}": e.action for name, e in ledger.links(target, project).items()}
    )
    return entries


def stored(emu: Emulator, project: str) -> dict[str, int]:
    """Every flag and link the emulator holds in ``project``, address -> how many."""
    counts: dict[str, int] = {}
    for f in emu.flags(project):
        counts[f"{project}/{f['key']}"] = counts.get(f"{project}/{f['key']}", 0) + 1
        for link in emu.links(project, f["key"]):
            address = f"{project}/{f['key']}/{link.get('_key')}"
            counts[address] = counts.get(address, 0) + 1
    return counts


def posts(emu: Emulator) -> int:
    """Creates that reached the emulator's API, whatever their outcome."""
    return emu.count(route=CREATE_FLAG) + emu.count(route=CREATE_LINK)


@contextlib.contextmanager
def no_posts(emu: Emulator) -> Iterator[None]:
    """Assert that no create reached the emulator inside the block."""
    before = posts(emu)
    yield
    assert posts(emu) == before, "a create was sent"


@contextlib.contextmanager
def no_requests(emu: Emulator) -> Iterator[None]:
    """Assert that no request of any kind reached the emulator inside the block."""
    before = emu.count()
    yield
    assert emu.count() == before, "a request was sent"


def assert_settled(cli: Cli, emu: Emulator, summary: str) -> None:
    """A live ``plan --detailed-exitcode`` finds nothing to do and ends with ``summary``."""
    again = cli.live(emu, "plan", "flags", "--detailed-exitcode")
    assert again.code == 0, again
    assert summary in again.stdout


def changed_in_launchdarkly(
    emu: Emulator,
    make_emulator: Callable[..., Emulator],
    change: Callable[[dict[str, Any]], None],
) -> Emulator:
    """Someone changes LaunchDarkly by hand.

    ``emu`` (which must have a data file) is stopped, ``change`` edits the data's ``projects``,
    and a new emulator with the same config and port serves them.
    """
    data, port = emu.config.data_path, emu.port
    assert data is not None
    emu.stop()
    document = json.loads(data.read_text())
    change(document["projects"])
    data.write_text(json.dumps(document))
    return make_emulator(dataclasses.replace(emu.config, port=port))
