"""Which files are flag files: the paths given, directories searched for YAML files."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from reconciler.errors import InputError
from reconciler.model import Finding, Location

YAML_SUFFIXES = (".yaml", ".yml")
# The repository configuration (``config.configuration.CONFIG_NAME``) is never a flag file,
# so that ``paths: [.]`` and ``validate .`` at the repository's root do not read it as one.
NOT_FLAG_FILES = frozenset({"ld-reconciler.yaml"})


def find_files(paths: Iterable[str]) -> tuple[list[tuple[Path, str]], list[Finding]]:
    """The flag files named by ``paths``: files as given, directories searched recursively.

    Returns (path, display name) pairs in sorted order, and findings for paths that
    cannot be used. Hidden files and directories, and the repository configuration, are
    skipped; symbolic links to directories are not followed (so a link loop cannot trap the search).
    """
    found: dict[str, Path] = {}
    findings: list[Finding] = []
    for arg in paths:
        p = Path(arg)
        if p.is_dir():
            for root, dirs, files in os.walk(p, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name in NOT_FLAG_FILES or name.startswith("."):
                        continue
                    if name.endswith(YAML_SUFFIXES):
                        full = Path(root, name)
                        if full.is_dir():
                            continue
                        found.setdefault(full.as_posix(), full)
        elif p.exists() or p.is_symlink():
            if not p.exists():
                findings.append(Finding(Location(arg), "a broken symbolic link"))
            else:
                found.setdefault(p.as_posix(), p)
        else:
            raise InputError(f"{arg}: no such file or directory")
    return [(path, name) for name, path in sorted(found.items())], findings
