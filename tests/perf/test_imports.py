"""What ``--help`` and ``validate`` import: only what they use.

The one performance rule checked in a unit test, because it is not a timing: a module
that is imported is paid for on every run, in CI on every commit and in every
pre-commit hook. Each test runs the real CLI in a fresh process and reads its
``sys.modules`` when it is done.
"""

from __future__ import annotations

from pathlib import Path

from tests.perf.bench import imported_modules
from tests.perf.generate import config_args, write_repository

# The HTTP client, the differ, the full JSON Schema library (its errors are needed only
# for a file that fails the compiled check) and the emulator belong to other commands.
NOT_FOR_ANY = (
    "httpx",
    "httpcore",
    "deepdiff",
    "jsonschema",
    "reconciler.remote.client",
    "reconciler.emulator",
)
NOT_FOR_HELP = (
    *NOT_FOR_ANY,
    "yaml",
    "jsonschema_rs",
    "reconciler.files.loader",
    "reconciler.state.ledger",
)
NOT_FOR_VALIDATE = (
    *NOT_FOR_ANY,
    "reconciler.state.ledger",
    "reconciler.plan.plan",
    "reconciler.apply",
    "reconciler.plan.render",
)


def _imported(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_help_imports_neither_the_http_client_nor_deepdiff_nor_yaml_nor_the_emulator() -> None:
    modules = imported_modules(["--help"])
    assert "reconciler.cli" in modules
    assert _imported(modules, NOT_FOR_HELP) == []


def test_validate_of_one_valid_file_imports_neither_the_http_client_nor_deepdiff_nor_jsonschema(
    tmp_path: Path,
) -> None:
    write_repository(tmp_path / "flags", flags=6, links=6, files=1)
    configured = config_args(tmp_path / "flags")
    modules = imported_modules([*configured, "validate", str(tmp_path / "flags")])
    assert {"reconciler.files.validator", "yaml", "jsonschema_rs"} <= modules
    assert _imported(modules, NOT_FOR_VALIDATE) == []


def test_the_check_itself_sees_what_a_command_imports(tmp_path: Path) -> None:
    # An offline plan needs the ledger and the plan, not httpx; a file that fails the
    # compiled check brings in jsonschema for its findings.
    write_repository(tmp_path / "flags", flags=6, links=6, files=1)
    configured = config_args(tmp_path / "flags")
    plan = imported_modules(
        [*configured, "plan", str(tmp_path / "flags"), "--offline"], cwd=tmp_path
    )
    assert {"reconciler.state.ledger", "reconciler.plan.plan"} <= plan
    offline_not = ("httpx", "deepdiff", "reconciler.emulator", "reconciler.apply")
    assert _imported(plan, offline_not) == []
    bad = tmp_path / "bad.yaml"
    bad.write_text("project: web\nflags:\n  - key: a\n    nmae: typo\n", encoding="utf-8")
    assert "jsonschema" in imported_modules(["validate", str(bad)])
