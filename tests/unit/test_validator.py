"""validate_paths as a library function: it leaves the interpreter as it found it."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

from reconciler.files.validator import validate_paths


def test_validating_leaves_the_garbage_collector_running_and_nothing_frozen(
    tmp_path: Path,
) -> None:
    # Pausing the collector for bulk loading is the CLI entry's decision, not the library's.
    (tmp_path / "web.yaml").write_text(
        "project: web\nflags:\n  - key: a\n    name: A\n", encoding="utf-8"
    )
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    result = validate_paths([str(tmp_path)])
    assert result.ok, result.findings
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen


def test_the_policy_engine_is_imported_only_for_a_configuration_with_policies(
    tmp_path: Path,
) -> None:
    """A fresh interpreter: ``validate`` without policies pays nothing for the CEL engine."""
    (tmp_path / "flags").mkdir()
    (tmp_path / "flags" / "web.yaml").write_text(
        "project: web\nflags:\n  - key: a\n    name: A\n", encoding="utf-8"
    )
    (tmp_path / "ld-reconciler.yaml").write_text("paths: [flags]\npolicies: []\n")
    script = (
        "import sys\n"
        "from reconciler.config.configuration import load_config\n"
        "from reconciler.files.validator import validate_paths\n"
        "assert validate_paths(['flags'], load_config()).ok\n"
        "print(sorted(m for m in sys.modules if m.startswith(('cel', 'reconciler.policy'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout == "[]\n"
