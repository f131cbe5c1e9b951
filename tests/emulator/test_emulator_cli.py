"""``ld-reconciler emulator``: the real command in a subprocess, and its usage errors."""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest

from reconciler.cli import main
from reconciler.emulator import DEV_TOKEN, Emulator, EmulatorConfig
from support.emulators import data_file_refusal
from support.process import default_sigint

URL_PREFIX = "LaunchDarkly emulator listening on "
STARTUP_TIMEOUT = 30
FLAGS = "/api/v2/flags/default"


class Running:
    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "emulator", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_sigint,  # it is stopped by SIGINT in a test
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
            r.process.communicate(timeout=STARTUP_TIMEOUT)


def lock(data: Path) -> Path:
    return data.with_name(data.name + ".lock")


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
        "--rate-limit", "2/86400", "--retry-after-mode", "--quiet",
    )  # fmt: skip
    running.append(emu)
    with _client(emu.url, "api-two") as client:
        # Windows are aligned to the epoch: a day-long one, unlike a minute, cannot end between
        # these three requests (short of one starting at midnight UTC).
        statuses = [client.get("/api/v2/flags/seeded/s") for _ in range(3)]
        assert [r.status_code for r in statuses] == [200, 200, 429]
        assert "Retry-After" in statuses[2].headers
    with _client(emu.url, DEV_TOKEN) as client:
        assert client.get("/api/v2/flags/seeded").status_code == 401
    code, _, err = emu.stop()
    assert code == 0
    assert err == ""
    assert "seeded" in data.read_text()


def test_host_option_reaches_the_server(running: list[Running]) -> None:
    emu = Running("--host", "localhost", "--quiet")
    running.append(emu)
    assert emu.url.startswith("http://localhost:")
    with _client(emu.url) as client:
        assert client.get("/api/v2/flags/default").status_code == 200


def test_global_rate_limit_option_reaches_the_server(running: list[Running]) -> None:
    emu = Running("--global-rate-limit", "3/86400", "--quiet")
    running.append(emu)
    with _client(emu.url) as client:
        paths = ["/api/v2/flags/default", "/api/v2/flags/default/a", "/api/v2/flags/default/b"]
        statuses = [client.get(path) for path in [*paths, "/api/v2/flags/default"]]
    assert [r.status_code for r in statuses] == [200, 404, 404, 429]  # across routes
    assert statuses[0].headers["X-Ratelimit-Global-Remaining"] == "2"
    assert "X-Ratelimit-Route-Remaining" not in statuses[0].headers


class FaultRun(NamedTuple):
    lines: list[str]  # the command's log line for each request
    outcomes: list[str]  # each response's status, or the transport error that replaced it
    seconds: list[float]  # how long each request took


def _fault_run(*options: str, requests: int = 12) -> FaultRun:
    """Run the command with ``options`` and send ``requests`` creates."""
    emu = Running(*options)
    outcomes, seconds = [], []
    try:
        with _client(emu.url) as client:
            for i in range(requests):
                started = time.perf_counter()
                body = {"key": f"f{i}", "name": "F"}
                try:
                    outcomes.append(str(client.post(FLAGS, json=body).status_code))
                except httpx.TransportError as e:
                    outcomes.append(type(e).__name__)
                seconds.append(time.perf_counter() - started)
    finally:
        code, _, err = emu.stop()
    assert code == 0
    lines = [line for line in err.splitlines() if line.startswith("POST ")]
    return FaultRun(lines, outcomes, seconds)


def test_seed_and_before_processing_fault_options_reach_the_server() -> None:
    options = ("--seed", "1", "--fail-rate", "0.3", "--throttle-rate", "0.3")
    first, again = _fault_run(*options), _fault_run(*options)
    assert first.outcomes == again.outcomes  # the same seed: the same faults
    assert {"201", "429"} <= set(first.outcomes)
    assert set(first.outcomes) & {"500", "502", "503"}
    assert _fault_run("--seed", "2", *options[2:]).outcomes != first.outcomes


def test_after_processing_fault_and_latency_options_reach_the_server() -> None:
    run = _fault_run(
        "--seed", "3", "--drop-rate", "0.5", "--stall-rate", "0.5", "--stall-seconds", "0.2",
        "--latency-ms", "100:50", requests=6,
    )  # fmt: skip
    assert all(line.endswith((" 201 [drop]", " 201 [stall]")) for line in run.lines), run.lines
    stalled = [line.endswith("[stall]") for line in run.lines]
    assert 0 < sum(stalled) < 6
    # A stall of the default 30 s would outlast the client's 5 s timeout (ReadTimeout).
    assert set(run.outcomes) == {"RemoteProtocolError"}
    for took, stall in zip(run.seconds, stalled, strict=True):
        assert took >= 0.1 + (0.2 if stall else 0)


def test_every_answered_create_survives_kill_9(running: list[Running], tmp_path: Path) -> None:
    data = tmp_path / "emulator.json"
    emu = Running("--project", "demo", "--data", str(data), "--quiet")
    running.append(emu)
    with _client(emu.url) as client:
        for i in range(30):
            created = client.post("/api/v2/flags/demo", json={"key": f"f{i}", "name": "F"})
            assert created.status_code == 201
        link = client.post(
            "/api/v2/flag-links/projects/demo/flags/f0",
            json={"key": "l", "deepLink": "https://x.test"},
            headers={"LD-API-Version": "beta"},
        )
        assert link.status_code == 201
    emu.stop(signal.SIGKILL)
    # The lock file stays, naming the dead process; its OS lock went with it: no one is refused.
    assert json.loads(lock(data).read_text())["pid"] == emu.process.pid
    restarted = Emulator(EmulatorConfig(projects=("demo",), data_path=data))
    assert json.loads(lock(data).read_text())["pid"] == os.getpid()
    assert [f["key"] for f in restarted.flags("demo")] == [f"f{i}" for i in range(30)]
    assert restarted.links("demo", "f0") == [link.json()]
    restarted.stop()
    assert not lock(data).exists()


def test_sigterm_folds_the_journal_into_the_data_file_and_removes_the_lock_file(
    running: list[Running], tmp_path: Path
) -> None:
    data = tmp_path / "emulator.json"
    journal = data.with_name("emulator.json.journal")
    emu = Running("--project", "demo", "--data", str(data), "--quiet")
    running.append(emu)
    with _client(emu.url) as client:
        for key in ("a", "b"):
            created = client.post("/api/v2/flags/demo", json={"key": key, "name": key})
            assert created.status_code == 201
    assert journal.exists()
    holder = json.loads(lock(data).read_text())
    assert (holder["pid"], holder["command"]) == (emu.process.pid, "ld-reconciler emulator")
    assert emu.stop(signal.SIGTERM) == (0, "", "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emulator.json"]
    saved = json.loads(data.read_text())["projects"]["demo"]["flags"]
    assert [f["key"] for f in saved] == ["a", "b"]


def test_a_second_emulator_on_a_data_file_exits_1_with_one_line_naming_the_first(
    running: list[Running], tmp_path: Path
) -> None:
    data = tmp_path / "emulator.json"
    first = Running("--data", str(data), "--quiet")
    running.append(first)
    second = subprocess.run(
        [sys.executable, "-m", "reconciler", "emulator", "--port", "0", "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
    )
    assert second.returncode == 1
    assert second.stdout == ""
    line = data_file_refusal(second.stderr, data, first.process.pid)
    assert line.endswith(
        " (ld-reconciler emulator): one emulator at a time may use it; stop that one or wait "
        f"for it to finish, or use another data file. If no emulator is running, delete {data}.lock"
    )
    with _client(first.url) as client:  # the first serves on, unharmed
        assert client.post(FLAGS, json={"key": "after", "name": "A"}).status_code == 201
    assert first.stop()[0] == 0
    assert [f["key"] for f in json.loads(data.read_text())["projects"]["default"]["flags"]] == [
        "after"
    ]


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
