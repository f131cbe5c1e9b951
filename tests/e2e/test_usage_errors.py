"""What cannot be done is one clear line: unusable options and environment (exit 1, no call),
and a create LaunchDarkly refuses (its own message, on the `failed:` line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.emulator import Emulator

from .support import Cli, flag, write_flags


@pytest.fixture(autouse=True)
def web_flags(tmp_path: Path) -> Path:
    return write_flags(tmp_path / "flags" / "web.yaml", "web-app", [flag("one")])


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        ("http://[::1", "base URL 'http://[::1' is not a valid URL (Invalid IPv6 URL)"),
        (
            "https://app.launchdarkly.com/api/v2",
            "base URL 'https://app.launchdarkly.com/api/v2' must not end in the API's own path "
            "(/api/v2)",
        ),
        ("https://app.launchdarkly.com?x=1", "must not have a query or fragment"),
        ("https://app.launchdarkly.com#top", "must not have a query or fragment"),
        ("", "the base URL (--base-url, LAUNCHDARKLY_BASE_URL) is empty"),
    ],
    ids=["bad IPv6", "path", "query", "fragment", "empty"],
)
@pytest.mark.parametrize("command", [("plan", "flags", "--offline"), ("apply", "flags", "--yes")])
def test_an_unusable_base_url_is_one_line_naming_the_problem(
    cli: Cli, base_url: str, message: str, command: tuple[str, ...]
) -> None:
    result = cli(*command, "--base-url", base_url, env={"LAUNCHDARKLY_ACCESS_TOKEN": "api-x"})
    assert result.code == 1, result
    assert result.stderr.startswith("Error: "), result
    assert message in result.stderr
    assert result.stderr.count("\n") == 1, result


def test_an_unwritable_step_summary_is_one_line_naming_the_variable(
    cli: Cli, tmp_path: Path
) -> None:
    missing = tmp_path / "nonexistent" / "summary.md"
    result = cli(
        "plan", "flags", "--offline", "--format", "github",
        env={"GITHUB_STEP_SUMMARY": str(missing)},
    )  # fmt: skip
    assert result.code == 1, result
    assert f"Error: GITHUB_STEP_SUMMARY={missing}: cannot append the plan" in result.stderr
    assert "No such file or directory" in result.stderr
    assert result.stderr.count("\n") == 1, result


def test_a_plan_out_path_under_a_file_is_one_line_and_leaves_the_file_alone(
    cli: Cli, tmp_path: Path
) -> None:
    (tmp_path / "some-file").write_text("not a directory\n")
    result = cli("plan", "flags", "--offline", "--out", "some-file/plan.json")
    assert result.code == 1, result
    assert (
        "Error: --out some-file/plan.json: cannot write the plan "
        "(some-file exists and is not a directory)"
    ) in result.stderr
    assert result.stderr.count("\n") == 1, result
    assert (tmp_path / "some-file").read_text() == "not a directory\n"


def test_a_create_refused_by_launchdarkly_is_reported_with_its_own_message(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    link = {"key": "far", "deepLink": "https://x.example/far", "timestamp": 10**15}
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [flag("one", links=[link])])
    result = cli.live(emu, "apply", "flags", "--yes")
    assert result.code == 1, result
    assert (
        "failed: web-app/one/far: POST /api/v2/flag-links/projects/web-app/flags/one: "
        "400 invalid_request: timestamp: must be Unix milliseconds between 0 and the year 9999"
    ) in result.stderr.splitlines()
    assert "Apply incomplete: 1 created, 0 adopted, 1 failed." in result.stdout
