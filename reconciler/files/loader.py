"""Loading flag files: a file's bytes to a ``Document`` (plain data with positions).

The steps, each in its module: ``discovery`` finds the files, ``problems`` decodes the
text, ``nesting`` scans what could nest too deep, ``composer`` builds PyYAML's node
graph, ``builder`` turns it into plain data recording every position in a
``positions.SourceMap``. Every problem becomes one located ``Finding``; oversized
files and what is not a regular file are refused before they are read.
"""

from __future__ import annotations

import stat
from collections.abc import Sequence
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, SequenceNode

from reconciler.errors import InputError
from reconciler.files import nesting
from reconciler.files.builder import Builder
from reconciler.files.composer import Composer
from reconciler.files.discovery import YAML_SUFFIXES, find_files
from reconciler.files.positions import Document, LineBreaks, SourceMap
from reconciler.files.problems import Problem, decode, mark, yaml_problem
from reconciler.model import Finding, Location

# YAML_SUFFIXES lives in discovery; export imports it from here, beside load_text.
__all__ = ["MAX_FILE_BYTES", "SHAPE", "YAML_SUFFIXES", "load_file", "load_paths", "load_text"]

MAX_FILE_BYTES = 10 * 1024 * 1024
SHAPE = "a flag file is a mapping with 'project' and 'flags'"


def load_text(text: str, file: str) -> Document:
    """Load one flag file's text; raises ``Problem`` for anything unusable."""
    lines = LineBreaks.needed(text)
    try:
        return _load_text(text, file, lines)
    except Problem as p:
        if lines is not None:
            p.line, p.col = lines.position(p.line, p.col)
        raise


def _load_text(text: str, file: str, lines: LineBreaks | None) -> Document:
    source = SourceMap(file)
    source.lines = lines
    loader = Composer(text)
    try:
        if nesting.needs_scan(text):
            nesting.check(text)
        node = loader.get_single_node()
    except yaml.YAMLError as e:
        raise (nesting.libyaml_limit(e, text) or yaml_problem(e, text, lines)) from None
    except RecursionError:
        raise Problem(1, 1, nesting.TOO_DEEP) from None
    finally:
        loader.dispose()
    if node is None:
        what = "holds only comments" if text.strip() else "is empty"
        raise Problem(1, 1, f"the file {what}; {SHAPE}")
    if not isinstance(node, MappingNode):
        kind = "a list" if isinstance(node, SequenceNode) else "a single value"
        raise Problem(*mark(node), f"the top level is {kind}; {SHAPE}")
    source.root = Location(file, *mark(node))
    data = Builder(source).build(node)
    return Document(file, data, source)


def load_file(path: Path, display: str | None = None) -> Document | Finding:
    """Load one flag file, or say in one located finding why it cannot be."""
    file = display or path.as_posix()
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):
            # Opening a named pipe would wait for a writer forever.
            return Finding(Location(file), f"{_kind(status.st_mode)}, not a flag file")
        size = status.st_size
        if size > MAX_FILE_BYTES:
            return Finding(
                Location(file),
                f"the file is {size:,} bytes; flag files may be at most {MAX_FILE_BYTES:,} bytes",
            )
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError as e:
        if path.is_symlink():
            return Finding(Location(file), "a broken symbolic link")
        return Finding(Location(file), f"cannot read the file: {e.strerror or e}")
    except OSError as e:
        return Finding(Location(file), f"cannot read the file: {e.strerror or e}")
    try:
        return load_text(decode(raw), file)
    except Problem as p:
        return Finding(Location(file, p.line, p.col), p.message)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"


def load_paths(paths: Sequence[str]) -> tuple[list[Document], list[Finding]]:
    """Load every flag file under ``paths``; problems are returned, not raised."""
    files, findings = find_files(paths)
    if not files and not findings:
        raise InputError(f"no *.yaml or *.yml files found in {', '.join(paths)}")
    documents: list[Document] = []
    for path, display in files:
        result = load_file(path, display)
        if isinstance(result, Document):
            documents.append(result)
        else:
            findings.append(result)
    return documents, findings
