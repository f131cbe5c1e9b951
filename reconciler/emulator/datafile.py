"""The ``--data`` file: everything the emulator holds, kept across restarts.

The file is rewritten after every create, before the create is answered, atomically (a temporary
file beside it, fsync, rename, then fsync of the directory), so a crash leaves the previous or the
new state and never half of one. Format (version 1)::

    {"format": "ld-reconciler-emulator", "version": 1,
     "projects": {"<projectKey>": {"flags": [<FeatureFlag>, ...],
                                   "links": {"<flagKey>": [<FlagLinkRep>, ...]}}}}

Flags are listed in creation order; the representations are exactly what the API returned.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from reconciler.errors import InputError

FORMAT = "ld-reconciler-emulator"
VERSION = 1


def read(path: Path) -> dict[str, Any] | None:
    """The saved state, or None if the file does not exist yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise InputError(f"{path}: cannot read the emulator data file: {e.strerror}") from e
    try:
        data = json.loads(text)
    except ValueError as e:
        raise InputError(f"{path}: the emulator data file is not valid JSON: {e}") from e
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{path}: not an emulator data file (refusing to overwrite it)")
    if data.get("version") != VERSION:
        raise InputError(f"{path}: unsupported emulator data file version {data.get('version')!r}")
    projects = data.get("projects")
    if not isinstance(projects, dict) or not all(
        isinstance(p, dict)
        and isinstance(p.get("flags", []), list)
        and isinstance(p.get("links", {}), dict)
        for p in projects.values()
    ):
        raise InputError(f"{path}: the emulator data file's 'projects' is malformed")
    return data


def write(path: Path, projects: dict[str, Any]) -> None:
    """Replace ``path`` atomically with the given state."""
    payload = json.dumps(
        {"format": FORMAT, "version": VERSION, "projects": projects}, separators=(",", ":")
    ).encode()
    directory = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform (Windows); the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
