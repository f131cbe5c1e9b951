"""Writing an export's files below a directory: all or none when some exist already, a file
replaced only with ``--force`` (atomically), and what else the projects' directories hold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import InputError
from reconciler.export.export import ExportFile
from reconciler.files.discovery import YAML_SUFFIXES
from reconciler.state import durable


@dataclass(frozen=True)
class Written:
    """The files written, and the YAML files in the projects' directories left as they were."""

    files: tuple[Path, ...]
    others: tuple[Path, ...]


def write_files(files: Sequence[ExportFile], directory: Path, *, force: bool = False) -> Written:
    """Write ``files`` below ``directory``; a file that exists only with ``force``."""
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory} is not a directory")
    targets = [(directory / f.path, f.text.encode()) for f in files]
    existing = [str(p) for p, _ in targets if p.exists() or p.is_symlink()]
    if existing and not force:
        more = f" and {len(existing) - 5} more" if len(existing) > 5 else ""
        raise InputError(
            f"{len(existing)} file(s) exist already: {', '.join(existing[:5])}{more}; "
            "nothing was written (pass --force to replace them)"
        )
    for path, data in targets:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if force:
                durable.replace(path, data)
            else:
                with path.open("xb") as out:  # never replace a file made since the check
                    out.write(data)
        except OSError as e:
            raise InputError(f"cannot write {path}: {e.strerror or e}") from e
    written = tuple(p for p, _ in targets)
    roots = {directory / f.path.split("/")[0] for f in files}
    others = sorted(
        p
        for root in roots
        for p in root.rglob("*")
        if p.name.endswith(YAML_SUFFIXES) and p not in written and p.is_file()
    )
    return Written(written, tuple(others))


def missing_schema(directory: Path, ref: str) -> Path | None:
    """The schema file ``ref`` names below ``directory``, if it is a path and there is none."""
    if "://" in ref:
        return None
    path = directory / ref
    return None if path.is_file() else path
