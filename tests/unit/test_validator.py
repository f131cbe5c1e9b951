"""validate_paths as a library function: it leaves the interpreter as it found it."""

from __future__ import annotations

import gc
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
