"""Helpers of the workflow tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from e2e.support import EXAMPLES, Cli

REPO = Path(__file__).resolve().parents[2]


def saved_and_rendered(cwd: Path) -> tuple[Path, str]:
    """A saved JSON plan with creates and drifts, and the same plan as Markdown.

    The examples are applied to the bundled emulator; then one flag is renamed in its file
    (drift, with a field-level diff), one variation given a description LaunchDarkly's lacks
    (drift, with an absent side) and one flag added (create).
    """
    cli = Cli(cwd)
    flags = Path(shutil.copytree(EXAMPLES, cwd / "flags"))
    assert cli("apply", "flags", "--emulator", "--yes").code == 0
    checkout = flags / "web-app" / "checkout.yaml"
    text = checkout.read_text(encoding="utf-8")
    renamed = text.replace("name: Checkout redesign", "name: Checkout redesign v2", 1)
    blue = "{value: blue, name: Blue"
    described = renamed.replace(blue, f"{blue}, description: Bolder", 1)
    assert text != renamed != described
    checkout.write_text(described + "  - {key: brand-new-flag, name: Brand new flag}\n", "utf-8")
    saved = cwd / "plan.json"
    assert cli("plan", "flags", "--emulator", "--out", str(saved)).code == 0
    markdown = cli("plan", "flags", "--emulator", "--format", "markdown")
    assert markdown.code == 0, markdown
    return saved, markdown.stdout
