"""Messages of plan and apply that once misled: each through the real CLI and emulator."""

from __future__ import annotations

from pathlib import Path

from reconciler.emulator import Emulator

from .support import Cli, flag, no_posts, write_flags


def test_an_apply_with_only_drift_says_so_not_that_everything_is_there(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    emu.create_flag("web-app", flag("theirs", description="Set in the UI"))
    emu.create_flag("web-app", flag("same"))
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [
        flag("theirs", description="Declared in git"),
        flag("same"),
    ])  # fmt: skip
    assert cli.live(emu, "apply", "flags", "--yes").code == 0  # adopts "same"
    with no_posts(emu):
        applied = cli.live(emu, "apply", "flags", "--yes")
    assert applied.code == 0, applied
    assert applied.stdout.splitlines()[-1] == (
        "Nothing to create: everything declared exists in LaunchDarkly, but 1 flag or link "
        "differs from the files (drift, listed above); apply only creates, so it changes none "
        "of them."
    )
    assert "already has everything declared" not in applied.output


def test_an_apply_with_nothing_to_do_says_launchdarkly_has_everything(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    emu.create_flag("web-app", flag("same"))
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [flag("same")])
    assert cli.live(emu, "apply", "flags", "--yes").code == 0  # adopts it
    applied = cli.live(emu, "apply", "flags", "--yes")
    assert applied.code == 0, applied
    assert applied.stdout.splitlines()[-1] == (
        "Nothing to create: LaunchDarkly already has everything declared."
    )


def test_an_unknown_project_is_named_with_the_file_that_declares_it(
    cli: Cli, emu: Emulator, tmp_path: Path
) -> None:
    write_flags(tmp_path / "flags" / "web.yaml", "web-app", [flag("fine")])
    write_flags(tmp_path / "flags" / "typo.yaml", "web-ap", [flag("lost")])
    for command in ("plan", "apply"):
        args = ("apply", "flags", "--yes") if command == "apply" else ("plan", "flags")
        with no_posts(emu):
            result = cli.live(emu, *args)
        assert result.code == 1, result
        assert result.stderr == (
            f"Error: project 'web-ap' (declared in flags/typo.yaml) does not exist in "
            f"LaunchDarkly at {emu.base_url}: correct the project key, or create the project "
            f"there first (GET /api/v2/flags/web-ap?limit=100&offset=0: 404 not_found: Unknown "
            "project key 'web-ap')\n"
        )
