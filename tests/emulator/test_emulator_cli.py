"""``ld-reconciler emulator``: the real command in a subprocess, and its usage errors."""

from __future__ import annotations

import selectors
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.cli import main
from reconciler.emulator import DEV_TOKEN

URL_PREFIX = "LaunchDarkly emulator listening on "
STARTUP_TIMEOUT = 30


class Running:
    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "emulator", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.url = self._read_url()

    def _read_url(self) -> str:
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=STARTUP_TIMEOUT):
                self.process.kill()
                pytest.fail("the emulator printed no URL")
        line = self.process.stdout.readline()
        assert line.startswith(URL_PREFIX), (line, self.process.stderr)
        return line[len(URL_PREFIX) :].strip()

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str, str]:
        self.process.send_signal(signum)
        out, err = self.process.communicate(timeout=STARTUP_TIMEOUT)
        return self.process.returncode, out, err


@pytest.fixture
def running() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for r in started:
        if r.process.poll() is None:
            r.process.kill()
            r.process.communicate()


def _client(url: str, token: str = DEV_TOKEN) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": token}, trust_env=False)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_emulator_prints_its_url_serves_and_exits_0_on_signal(
    running: list[Running], signum: int
) -> None:
    emu = Running("--project", "demo")
    running.append(emu)
    assert emu.url.startswith("http://127.0.0.1:")
    with _client(emu.url) as client:
        created = client.post("/api/v2/flags/demo", json={"key": "cli", "name": "CLI"})
        assert created.status_code == 201
        assert client.get("/api/v2/flags/demo/cli").json()["key"] == "cli"
    code, out, err = emu.stop(signum)
    assert code == 0
    assert out == ""
    assert "POST /api/v2/flags/demo 201" in err
    assert "Traceback" not in err


def test_emulator_options_reach_the_server(running: list[Running], tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("projects: {seeded: {flags: [{key: s, name: S}]}}\n")
    data = tmp_path / "data.json"
    emu = Running(
        "--token", "api-one", "--token", "api-two",
        "--seed-file", str(seed), "--data", str(data),
        "--rate-limit", "2/60", "--retry-after-mode", "--quiet",
    )  # fmt: skip
    running.append(emu)
    with _client(emu.url, "api-two") as client:
        assert client.get("/api/v2/flags/seeded/s").status_code == 200
        refused = None
        for _ in range(2):
            refused = client.get("/api/v2/flags/seeded/s")
        assert refused is not None
        assert refused.status_code == 429
        assert "Retry-After" in refused.headers
    with _client(emu.url, DEV_TOKEN) as client:
        assert client.get("/api/v2/flags/seeded").status_code == 401
    code, _, err = emu.stop()
    assert code == 0
    assert err == ""
    assert "seeded" in data.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "--port"),
        (["--fail-rate", "1.5"], "--fail-rate"),
        (["--drop-rate", "0.7", "--stall-rate", "0.7"], "--drop-rate plus --stall-rate"),
        (["--rate-limit", "many/10"], "--rate-limit"),
        (["--global-rate-limit", "10/0"], "--global-rate-limit"),
        (["--latency-ms", "fast"], "--latency-ms"),
        (["--stall-seconds", "-1"], "--stall-seconds"),
        (["--project", "not a key"], "--project"),
        (["--token", ""], "--token"),
        (["--seed", "x"], "--seed"),
        # NaN passes click.FloatRange; inf and 1e400 (inf too) would overflow a timer.
        (["--fail-rate", "nan"], "--fail-rate"),
        (["--throttle-rate", "nan"], "--throttle-rate"),
        (["--drop-rate", "nan"], "--drop-rate"),
        (["--stall-rate", "nan"], "--stall-rate"),
        (["--stall-seconds", "nan"], "--stall-seconds"),
        (["--stall-seconds", "inf"], "--stall-seconds"),
        (["--stall-seconds", "1e400"], "--stall-seconds"),
        # Accepted once, then every request failed with an OverflowError in the server.
        (["--stall-rate", "1", "--stall-seconds", "1e300"], "--stall-seconds"),
        (["--rate-limit", "5/1e-300"], "--rate-limit"),
        (["--rate-limit", "5/nan"], "--rate-limit"),
        (["--global-rate-limit", "5/86401"], "--global-rate-limit"),
        (["--latency-ms", "1e300"], "--latency-ms"),
        (["--latency-ms", "0:86400001"], "--latency-ms"),
        (["--seed-file", "/does/not/exist.yaml"], "--seed-file"),
        (["--no-such-option"], "--no-such-option"),
    ],
)
def test_bad_options_are_usage_errors(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["emulator", *args])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_unusable_seed_file_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("projects: {demo: {flags: [{name: no key}]}}\n")
    with pytest.raises(SystemExit) as info:
        main(["emulator", "--seed-file", str(seed)])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"Error: {seed}: projects.demo.flags[0]: key: required"]


def test_port_in_use_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as info:
            main(["emulator", "--port", str(port), "--quiet"])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"Error: cannot listen on 127.0.0.1:{port}")
    assert "Traceback" not in err
