"""``ld-reconciler init``: the files that start a flag repository, and writing them safely.

``scaffold`` says what a new repository gets (the configuration, the schemas editors read,
an example flag file, the ``.gitignore`` lines, and with ``github`` the two workflows and a
pre-commit configuration); ``init`` writes it into a directory, never over a file that is
already there: such a file is skipped and said so, and ``.gitignore`` is appended to, each
line at most once. The workflows are the ones users copy (``examples/github-workflows``),
shipped as package data so an installed wheel writes the same files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from reconciler.config.configuration import CONFIG_NAME, CONFIG_SCHEMA_NAME, DEFAULT_LEDGER
from reconciler.errors import InputError
from reconciler.files.schema import SCHEMA_NAME, schema_path
from reconciler.shipped import shipped_file

DEFAULT_PROJECT = "default"  # the project every LaunchDarkly account starts with
KEY_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")  # the flag-file schema's $defs/key
WORKFLOWS = {  # shipped name -> where init writes it
    "plan.yml": ".github/workflows/ld-reconciler-plan.yml",
    "apply.yml": ".github/workflows/ld-reconciler-apply.yml",
}
NEXT_STEPS = (
    "ld-reconciler validate",
    "ld-reconciler plan --emulator",
    "ld-reconciler apply --emulator --yes",
)

CONFIG_TEXT = """\
# yaml-language-server: $schema=schemas/config.schema.json
# ld-reconciler's configuration for this repository. Every key is optional. Command-line
# options and environment variables win over it; relative paths are relative to this file,
# so every command behaves the same from any subdirectory.

# What validate, plan and apply read when given no PATH.
paths: [flags]

# The record of what ld-reconciler created: commit it (its .lock and .journal are ignored).
ledger: {ledger}

# The LaunchDarkly instance (LAUNCHDARKLY_BASE_URL and --base-url win). The default is
# https://app.launchdarkly.com; https://app.launchdarkly.us or https://app.eu.launchdarkly.com
# for the federal and EU instances.
# baseUrl: https://app.launchdarkly.com

# Fields for every flag, merged from the least to the most specific level: these defaults,
# the project's defaults, the flag's template, the flag. Tags are added together; any other
# field is taken whole from the most specific level that sets it.
defaults:
  tags: [ld-reconciler]
projects:
  {project}:
    defaults:
      clientSideAvailability: {{usingEnvironmentId: false, usingMobileKey: false}}

# Named sets of fields a flag picks with `template: NAME`.
templates:
  kill-switch:
    temporary: false
    tags: [kill-switch]
    variations:
      - {{value: true, name: Enabled}}
      - {{value: false, name: Disabled}}
    defaults: {{onVariation: 0, offVariation: 1}}

policies: []
"""

FLAG_FILE_TEXT = """\
# yaml-language-server: $schema=../schemas/flag-file.schema.json
# The flags ld-reconciler creates in the LaunchDarkly project {project!r}. Each is created
# once, with these settings; from then on, the LaunchDarkly UI owns it.
project: {project}
flags:
  - key: example-feature
    name: Example feature
    description: A temporary boolean flag; replace it with your own.
    temporary: true
    variations:
      - {{value: true, name: On}}
      - {{value: false, name: Off}}
    defaults: {{onVariation: 0, offVariation: 1}}

  - key: example-kill-switch
    name: Example kill switch
    description: Takes its variations and settings from the kill-switch template.
    template: kill-switch
"""

PRE_COMMIT_TEXT = """\
# Replace your-org/ld-reconciler and the rev with where you host ld-reconciler, at a tag.
repos:
  - repo: https://github.com/your-org/ld-reconciler
    rev: v0.1.0
    hooks:
      - id: ld-reconciler-validate
"""


@dataclass(frozen=True)
class Outcome:
    """What ``init`` did to one file."""

    path: str  # relative to the directory, with '/'
    written: bool  # False: the file was there and was left as it is
    note: str = ""

    def __str__(self) -> str:
        what = "wrote" if self.written else "skipped"
        return f"{what} {self.path}" + (f" ({self.note})" if self.note else "")


def scaffold(project: str = DEFAULT_PROJECT, github: bool = False) -> dict[str, str]:
    """The files a new repository gets, by path relative to it (``.gitignore`` apart)."""
    if not KEY_PATTERN.match(project) or len(project) > 256:
        raise InputError(
            f"{project!r} is not a project key: it starts with a letter or digit, "
            "then letters, digits, '.', '_' or '-'"
        )
    files = {
        CONFIG_NAME: CONFIG_TEXT.format(ledger=DEFAULT_LEDGER, project=project),
        f"schemas/{SCHEMA_NAME}": schema_path().read_text(encoding="utf-8"),
        f"schemas/{CONFIG_SCHEMA_NAME}": (
            schema_path(CONFIG_SCHEMA_NAME).read_text(encoding="utf-8")
        ),
        f"flags/{project}.yaml": FLAG_FILE_TEXT.format(project=project),
    }
    if github:
        for shipped, target in WORKFLOWS.items():
            files[target] = workflow_path(shipped).read_text(encoding="utf-8")
        files[".pre-commit-config.yaml"] = PRE_COMMIT_TEXT
    return files


def ignored_lines(ledger: str = DEFAULT_LEDGER) -> tuple[str, ...]:
    """``.gitignore`` lines: the ledger's lock and journal, and the emulator's files.
    The ledger itself is committed: it is the record of what was created."""
    return (
        f"/{ledger}.lock",
        f"/{ledger}.journal",
        "/.ld-reconciler/emulator*",
    )


def init(directory: Path, project: str = DEFAULT_PROJECT, github: bool = False) -> list[Outcome]:
    """Write the scaffold into ``directory`` (created if need be), never over a file."""
    files = scaffold(project, github)
    outcomes: list[Outcome] = []
    for relative, text in files.items():
        target = directory / relative
        if target.exists() or target.is_symlink():
            outcomes.append(Outcome(relative, False, "it exists; left as it is"))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with target.open("x", encoding="utf-8", newline="\n") as f:
                f.write(text)
        except FileExistsError:  # created since we looked: still never overwritten
            outcomes.append(Outcome(relative, False, "it exists; left as it is"))
            continue
        outcomes.append(Outcome(relative, True))
    outcomes.append(_ignore(directory / ".gitignore", ignored_lines()))
    return outcomes


def _ignore(gitignore: Path, lines: tuple[str, ...]) -> Outcome:
    existing = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    present = {line.strip() for line in existing.splitlines()}
    missing = [line for line in lines if line not in present]
    if not missing:
        return Outcome(".gitignore", False, "it already ignores the ledger's lock and journal")
    prefix = "" if not existing or existing.endswith("\n") else "\n"
    header = "# ld-reconciler: the ledger is committed; its lock and journal are not\n"
    text = prefix + ("\n" if existing else "") + header + "".join(f"{x}\n" for x in missing)
    with gitignore.open("a", encoding="utf-8", newline="\n") as f:
        f.write(text)
    note = "appended to it" if existing else ""
    return Outcome(".gitignore", True, note)


def workflow_path(name: str) -> Path:
    """A shipped workflow: the package's copy, or the checkout's when not installed."""
    return shipped_file("reconciler.workflows", name, "examples/github-workflows")
