"""The access token stays secret, and is only ever sent where it belongs, over TLS.

The token must not appear in stdout, stderr, the ``-v``/``-vv`` debug logs, a saved plan,
the ledger, the Markdown step summary or any error text, even when the server echoes it
back in error bodies and headers. It is never sent in plain text to a host that is not
loopback, never to a host a redirect names, and never over a TLS connection whose
certificate does not verify; a CA bundle of one's own is trusted only when named.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

import reconciler.cli
from reconciler.emulator import Emulator, EmulatorConfig, Faults
from reconciler.remote import secret
from support.launchdarkly import flag_json

from .fake_server import FakeServer, Reply, Seen, json_reply
from .support import Run, live_env, run, write_repository

SECRET = "api-4d1c7e2b-reliability-secret-0b9a"
# A token of characters that URL encoding, JSON and repr() each write differently.
HOSTILE = 'api-ab"c\\d/e+f%g&h<i>jk'
# HOSTILE as a server or a debug log may echo it, spelled out here rather than computed
# the way the scrubber computes them.
HOSTILE_ECHOES = (
    HOSTILE,
    "api-ab%22c%5Cd%2Fe%2Bf%25g%26h%3Ci%3Ejk",  # URL-encoded
    "api-ab%22c%5Cd/e%2Bf%25g%26h%3Ci%3Ejk",  # URL-encoded but "/"
    'api-ab\\"c\\\\d/e+f%g&h<i>jk',  # JSON
    'api-ab\\"c\\\\d\\/e+f%g&h<i>jk',  # JSON, "/" escaped
    'api-ab\\"c\\\\d/e+f%g\\u0026h\\u003ci\\u003ejk',  # JSON as Go writes it
    'api-ab"c\\\\d/e+f%g&h<i>jk',  # repr() of the header's bytes
    'api-ab\\\\"c\\\\\\\\d/e+f%g&h<i>jk',  # repr() of the JSON form
)
PROJECT = "secrets"
DECLARED = [
    {"key": "one", "name": "One", "links": [{"deepLink": "https://docs.example.com/one"}]},
    {"key": "two", "name": "Two", "initialPrerequisites": [{"key": "one", "variationIndex": 0}]},
]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    write_repository(tmp_path / "flags", PROJECT, DECLARED)
    return tmp_path


def assert_token_nowhere(
    runs: list[Run], workdir: Path, echoes: tuple[str, ...] = (SECRET,)
) -> None:
    """Neither the token (in any of its ``echoes``) nor any 8 characters of it in a row in
    any output or file."""
    pieces = {echo[i : i + 8] for echo in echoes for i in range(len(echo) - 7)}
    for result in runs:
        leaked = [p for p in pieces if p in result.output]
        assert not leaked, f"the token leaked ({leaked[0]!r}) in {result}"
    for path in workdir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            leaked = [p for p in pieces if p.encode() in data]
            assert not leaked, f"the token leaked ({leaked[0]!r}) into {path}"


def test_the_token_echoed_in_error_bodies_is_in_no_output_log_or_file(workdir: Path) -> None:
    config = EmulatorConfig(
        projects=(PROJECT,),
        tokens=(SECRET,),
        echo_token_in_errors=True,
        faults=Faults(fail_rate=0.3, throttle_rate=0.1),
        seed=5,
    )
    summary = workdir / "summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    with Emulator(config) as emu:
        ok = live_env(emu, SECRET) | env
        wrong = live_env(emu, SECRET + "-wrong") | env
        runs = [
            run("-vv", "plan", "flags", "--out", "plan.json", cwd=workdir, env=ok),
            run("-v", "plan", "flags", "--format", "markdown", cwd=workdir, env=ok),
            run("-vv", "plan", "flags", "--format", "github", cwd=workdir, env=ok),
            run("-vv", "apply", "flags", "--yes", cwd=workdir, env=ok),
            run("-vv", "plan", "flags", cwd=workdir, env=wrong),
            run("-vv", "apply", "flags", "--yes", cwd=workdir, env=wrong),
        ]
        assert emu.count(fault="fail") > 0
    assert [r.code for r in runs] == [0, 0, 0, 0, 1, 1], runs
    for denied in runs[4:]:
        assert "401" in denied.stderr
        assert "[REDACTED]" in denied.stderr, denied  # the emulator did echo it
    assert "DEBUG" in runs[0].stderr
    assert "httpcore" in runs[0].stderr
    assert "reconciler.remote.client" in runs[1].stderr
    assert "httpcore" not in runs[1].stderr
    assert "created flag secrets/two" in runs[3].stdout
    assert summary.is_file()
    assert (workdir / "plan.json").is_file()
    assert_token_nowhere(runs, workdir)


def _echoing(seen: Seen) -> Reply:
    """Lists no flags; refuses every create. Echoes the Authorization header in a response
    header, in the error's code, and at the end of a long error message, where cutting the
    message short would cut the token in half."""
    token = seen.headers.get("Authorization", "")
    if seen.method == "GET":
        reply = json_reply({"items": [], "_links": {}})
    else:
        message = "x" * 480 + f" token {token} was refused"
        reply = json_reply({"code": f"bad_{token}", "message": message}, 400)
    return Reply(reply.status, reply.body, {**reply.headers, "X-Echo": token})


def _plan_then_apply(server: FakeServer, token: str, workdir: Path) -> list[Run]:
    """``-vv plan`` then ``-vv apply`` against ``server`` with ``token``: debug logs show all."""
    env = live_env(server.base_url, token)
    return [
        run("-vv", "plan", "flags", cwd=workdir, env=env),
        run("-vv", "apply", "flags", "--yes", cwd=workdir, env=env),
    ]


def _echoing_encoded(seen: Seen) -> Reply:
    """Lists no flags, echoing the token raw, URL-encoded and JSON-escaped in headers (which
    httpcore's debug log shows as repr() of their bytes); redirects every create to a
    login page that carries the token URL-encoded."""
    token = seen.headers.get("Authorization", "")
    if seen.method == "GET":
        reply = json_reply({"items": [], "_links": {}})
        echoes = {
            "X-Echo": token,
            "X-Echo-Url": quote(token, safe=""),
            "X-Echo-Json": json.dumps(token)[1:-1],
        }
        return Reply(reply.status, reply.body, {**reply.headers, **echoes})
    return Reply(307, b"", {"Location": f"https://login.example.com/?next=1&t={quote(token)}"})


@pytest.mark.parametrize(
    ("answer", "token", "echoes", "debug_shows", "refusal"),
    [
        pytest.param(
            _echoing,
            SECRET,
            (SECRET,),
            "X-Echo",
            "failed: secrets/one: POST /api/v2/flags/secrets: 400 bad_",
            id="in headers, codes and long messages: scrubbed whole",
        ),
        pytest.param(
            _echoing_encoded,
            HOSTILE,
            HOSTILE_ECHOES,
            "X-Echo-Json",
            "redirected to https://login.example.com/?next=1&t=[REDACTED]; ",
            id="url-encoded, json-escaped or as bytes",
        ),
    ],
)
def test_a_token_the_server_echoes_is_scrubbed(
    workdir: Path,
    answer: Callable[[Seen], Reply],
    token: str,
    echoes: tuple[str, ...],
    debug_shows: str,
    refusal: str,
) -> None:
    with FakeServer(answer) as server:
        runs = _plan_then_apply(server, token, workdir)
    assert server.seen[0].headers["Authorization"] == token  # sent, as it must be
    assert runs[0].code == 0, runs[0]
    assert debug_shows in runs[0].stderr  # httpcore's debug log shows the response headers
    assert runs[1].code == 1, runs[1]
    assert refusal in runs[1].stderr
    assert_token_nowhere(runs, workdir, echoes)


@pytest.mark.parametrize(
    "url",
    [
        f"http://127.0.0.1:9/?token={SECRET}",
        f"https://ld.example.com/api?token={SECRET}#x",
        f"https://ld.example.com/#{SECRET}",
        f"https://user:{SECRET}@ld.example.com",
        f"https://{SECRET}@ld.example.com",
    ],
)
def test_a_base_url_carrying_the_token_is_refused_without_showing_it(
    workdir: Path, url: str
) -> None:
    results = [
        run(*args, cwd=workdir, env=live_env(url, SECRET))
        for args in (("plan", "flags"), ("apply", "flags", "--yes"))
    ]
    for result in results:
        assert result.code == 1, result
        (line,) = result.stderr.splitlines()
        assert line.startswith("Error: the base URL must not contain credentials") or (
            line.startswith("Error: base URL ") and "must not have a query or fragment" in line
        ), result
    assert_token_nowhere(results, workdir)


@pytest.mark.parametrize(
    ("token", "problem"),
    [("api-tökén-0b9a", "contains non-ASCII characters"),
     ("api-0b9a\x07bell", "is empty or contains spaces or control characters")],
)  # fmt: skip
def test_a_token_that_cannot_be_sent_in_a_header_is_one_line_saying_why(
    workdir: Path, token: str, problem: str
) -> None:
    result = run("plan", "flags", cwd=workdir, env=live_env("http://127.0.0.1:9", token))
    assert result.code == 1, result
    assert result.stderr == (
        f"Error: the access token {problem}; check LAUNCHDARKLY_ACCESS_TOKEN / LD_ACCESS_TOKEN\n"
    )


@pytest.fixture
def debug_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``-v``'s logging set-up in this process; undone afterwards."""
    monkeypatch.setattr(reconciler.cli, "_handler", None)
    root, ours = logging.getLogger(), logging.getLogger("reconciler")
    handlers, levels = list(root.handlers), (root.level, ours.level)
    try:
        reconciler.cli.log_to_stderr(1)
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(levels[0])
        ours.setLevel(levels[1])


@pytest.mark.usefixtures("debug_log")
def test_the_debug_log_scrubs_messages_arguments_and_tracebacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret.register(SECRET)
    log = logging.getLogger("reconciler.test")
    log.debug("sent %s", SECRET)
    log.debug(f"sent {SECRET} again")
    try:
        raise RuntimeError(f"refused {SECRET}")
    except RuntimeError:
        log.exception("failed")
    logging.getLogger("elsewhere").warning("a library says %r", {"token": SECRET})
    logging.getLogger("elsewhere").debug("not shown below -vv %s", SECRET)
    text = capsys.readouterr().err
    assert SECRET not in text
    assert text.count("[REDACTED]") == 4, text
    assert "RuntimeError: refused [REDACTED]" in text
    assert "not shown" not in text


# -- where the token may be sent ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://ld.example.com",
        "HTTP://LD.EXAMPLE.COM",
        "http://10.0.0.7:8765",
        "http://localhost.example.com",
        "http://127.0.0.1.nip.io",
        "http://0x7f000001",
        "ftp://127.0.0.1",
        "app.launchdarkly.com",
    ],
)
def test_no_token_is_sent_in_plain_text_to_a_host_that_is_not_loopback(
    workdir: Path, url: str
) -> None:
    for args in (("plan", "flags"), ("apply", "flags", "--yes")):
        result = run(*args, cwd=workdir, env=live_env(url, SECRET))
        assert result.code == 1, result
        assert result.stderr.startswith("Error: base URL "), result
        assert "Traceback" not in result.output
    assert_token_nowhere([result], workdir)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_never_followed_with_the_token(workdir: Path, status: int) -> None:
    with FakeServer(lambda seen: json_reply({"items": [], "_links": {}})) as elsewhere:
        moved = f"{elsewhere.base_url}/api/v2/flags/{PROJECT}"
        with FakeServer(lambda seen: Reply(status, b"", {"Location": moved})) as server:
            planned = run("plan", "flags", cwd=workdir, env=live_env(server.base_url, SECRET))
            applied = run(
                "apply", "flags", "--yes", cwd=workdir, env=live_env(server.base_url, SECRET)
            )
    for result in (planned, applied):
        assert result.code == 1, result
        assert f"{status} redirect: redirected to {moved}; redirects are not followed" in (
            result.stderr
        )
    assert elsewhere.seen == []
    assert {seen.method for seen in server.seen} == {"GET"}  # apply stopped at its plan


def _nothing(seen: Seen) -> Reply:
    """A project without flags (and a flag without links)."""
    return json_reply({"items": [], "_links": {}})


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_loopback_base_url_is_never_reached_through_a_proxy(workdir: Path, variable: str) -> None:
    # A proxy set for the machine (as CI runners behind a corporate proxy have) would get
    # the request to 127.0.0.1, the token in plain text with it, and could not reach it.
    with FakeServer(_nothing) as proxy, FakeServer(_nothing) as server:
        env = live_env(server.base_url, SECRET) | {variable: proxy.base_url}
        result = run("plan", "flags", cwd=workdir, env=env)
    assert result.code == 0, result
    assert proxy.seen == []
    assert server.seen[0].headers["Authorization"] == SECRET


# -- TLS -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throw-away CA and a certificate it signed for 127.0.0.1 (needs the openssl tool)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command-line tool is not installed")
    where = tmp_path_factory.mktemp("tls")
    (where / "leaf.ext").write_text(
        "basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for argv in (
        ["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
         "-subj", "/CN=ld-reconciler test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.ext"],
    ):  # fmt: skip
        subprocess.run([openssl, *argv], cwd=where, check=True, capture_output=True)
    return where


@pytest.fixture
def tls_server(certificates: Path) -> Iterator[FakeServer]:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates / "leaf.pem", certificates / "leaf.key")

    def answer(seen: Seen) -> Reply:
        live = seen.path.startswith(f"/api/v2/flags/{PROJECT}?") and "archived" not in seen.path
        items = [flag_json(PROJECT, "one")] if live else []  # else: archived flags, or links
        return json_reply({"items": items, "_links": {}})

    with FakeServer(answer, tls=context) as server:
        yield server


def test_tls_is_verified_by_default_and_a_failure_is_one_clear_line_at_once(
    workdir: Path, tls_server: FakeServer
) -> None:
    result = run("plan", "flags", cwd=workdir, env=live_env(tls_server.base_url, SECRET))
    assert result.code == 1, result
    (line,) = result.stderr.splitlines()
    assert "certificate" in line, result
    assert "LD_RECONCILER_CA_BUNDLE" in line, result
    assert result.seconds < 15, result  # not retried: a certificate does not heal
    assert tls_server.seen == []  # the handshake failed before any request was sent


@pytest.mark.parametrize("variable", ["LD_RECONCILER_CA_BUNDLE", "SSL_CERT_FILE"])
def test_a_ca_bundle_named_in_the_environment_is_trusted(
    workdir: Path, tls_server: FakeServer, certificates: Path, variable: str
) -> None:
    env = live_env(tls_server.base_url, SECRET) | {variable: str(certificates / "ca.pem")}
    result = run("plan", "flags", cwd=workdir, env=env)
    assert result.code == 0, result
    assert "Planned live" in result.stdout
    assert tls_server.seen[0].headers["Authorization"] == SECRET


def test_an_unreadable_ca_bundle_is_one_clear_line(workdir: Path, tmp_path: Path) -> None:
    env = live_env("https://127.0.0.1:9", SECRET) | {
        "LD_RECONCILER_CA_BUNDLE": str(tmp_path / "missing.pem")
    }
    result = run("plan", "flags", cwd=workdir, env=env)
    assert result.code == 1, result
    assert result.stderr.startswith("Error: LD_RECONCILER_CA_BUNDLE="), result
    assert "cannot load the CA bundle" in result.stderr
    assert len(result.stderr.splitlines()) == 1
