"""``ld-reconciler.yaml``: where it is, what it says, and every mistake in it.

The file is found as pre-commit and ruff find theirs: in the working directory or the
nearest parent that has one; an explicit path wins. It is loaded with the flag files'
loader, so every value keeps its line and column, and checked against
``schemas/config.schema.json`` (which takes its flag fields from the flag-file schema)
with the same error translation as flag files. Relative paths in it are relative to
its directory, so every command behaves the same from any subdirectory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any

from reconciler.errors import InputError
from reconciler.files.loader import SHAPE, load_file
from reconciler.files.positions import Document, SourceMap
from reconciler.files.schema import schema, schema_path, validator_class
from reconciler.files.schema_errors import findings_for
from reconciler.model import Finding

CONFIG_NAME = "ld-reconciler.yaml"
CONFIG_SCHEMA_NAME = "config.schema.json"
DEFAULT_LEDGER = ".ld-reconciler/ledger.json"
CONFIG_SHAPE = (
    "ld-reconciler.yaml is a mapping of settings "
    "(paths, ledger, baseUrl, defaults, projects, templates, policies)"
)
MAX_FINDINGS = 1_000
"""Schema findings reported for the file; a configuration is small, so this is a guard."""

_EMPTY: Mapping[str, Any] = {}


@dataclass(frozen=True)
class Config:
    """The repository configuration: the loaded file and the settings it gives.

    Every setting is read through a type guard, so a part the schema refused (reported
    in ``findings``) reads as unset instead of breaking what uses it.
    """

    document: Document
    directory: Path  # absolute: where relative paths in the file point from
    file: Path | None = None  # None: there is no configuration file
    findings: tuple[Finding, ...] = field(default=())

    @property
    def data(self) -> Mapping[str, Any]:
        data = self.document.data
        return data if isinstance(data, dict) else _EMPTY

    @property
    def paths(self) -> tuple[Path, ...]:
        """The configured flag paths, resolved against the file's directory."""
        paths = self.data.get("paths")
        if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
            return ()
        return tuple(self.directory / p for p in paths)

    @property
    def ledger(self) -> Path:
        ledger = self.data.get("ledger")
        return self.directory / (ledger if isinstance(ledger, str) and ledger else DEFAULT_LEDGER)

    @property
    def base_url(self) -> str | None:
        base_url = self.data.get("baseUrl")
        return base_url if isinstance(base_url, str) else None

    @property
    def defaults(self) -> Mapping[str, Any]:
        """The defaults for every flag of every project."""
        return _mapping(self.data.get("defaults"))

    def project_defaults(self, project: str) -> Mapping[str, Any]:
        """The defaults for the flags of ``project``."""
        return _mapping(_mapping(_mapping(self.data.get("projects")).get(project)).get("defaults"))

    @property
    def templates(self) -> Mapping[str, Mapping[str, Any]]:
        templates = _mapping(self.data.get("templates"))
        return {name: t for name, t in templates.items() if isinstance(t, dict)}

    @property
    def policies(self) -> tuple[Mapping[str, Any], ...]:
        """The policies as written (their meaning is the policy evaluator's)."""
        policies = self.data.get("policies")
        if not isinstance(policies, list):
            return ()
        return tuple(p for p in policies if isinstance(p, dict))

    def flag_paths(self) -> tuple[str, ...]:
        """The configured flag paths as command-line arguments: relative to the working
        directory, as findings name the files."""
        return tuple(_display(p) for p in self.paths)

    def display(self, path: Path) -> str:
        """``path`` as findings and listings show it: relative to the working directory."""
        return _display(path)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else _EMPTY


def _display(path: Path) -> str:
    try:
        return Path(os.path.relpath(path)).as_posix()
    except ValueError:  # another drive (Windows)
        return path.as_posix()


def find_config(start: Path) -> Path | None:
    """``ld-reconciler.yaml`` in ``start`` or its nearest parent that has one, or None."""
    directory = start.resolve()
    for candidate in (directory, *directory.parents):
        path = candidate / CONFIG_NAME
        if path.is_file():
            return path
    return None


def no_config(directory: Path) -> Config:
    """The configuration of a repository without a file: built-in defaults only."""
    directory = directory.resolve()
    name = _display(directory / CONFIG_NAME)
    return Config(Document(name, {}, SourceMap(name)), directory)


def load_config(explicit: str | Path | None = None, start: Path | None = None) -> Config:
    """The configuration named by ``explicit``, or found from ``start`` (the working
    directory by default). Mistakes in the file are ``findings``, never raised; a file
    named explicitly that does not exist is an ``InputError``."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            what = "is not a file" if path.exists() else "no such file"
            raise InputError(f"{explicit}: {what} (given as the configuration)")
    else:
        start = start if start is not None else Path.cwd()
        found = find_config(start)
        if found is None:
            return no_config(start)
        path = found
    path = path.resolve()
    name = _display(path)
    loaded = load_file(path, name)
    if isinstance(loaded, Finding):
        if loaded.message.startswith(("the file is empty", "the file holds only comments")):
            return Config(Document(name, {}, SourceMap(name)), path.parent, path)
        message = loaded.message.replace(SHAPE, CONFIG_SHAPE)
        finding = Finding(loaded.location, message, loaded.path)
        return Config(Document(name, {}, SourceMap(name)), path.parent, path, (finding,))
    return Config(loaded, path.parent, path, tuple(check(loaded)))


def check(document: Document) -> list[Finding]:
    """Every mistake in a loaded configuration, located, sorted by line.

    A configuration the compiled check passes has none: the full validator (and the
    import of jsonschema, a tenth of a second) is for one that has some. A float is
    left to the full validator, which alone refuses 2.0 where an integer is wanted.
    """
    fast = _fast_validator()
    if fast is not None and not _has_float(document.data) and fast.is_valid(document.data):
        return []
    errors = list(islice(_validator().iter_errors(document.data), MAX_FINDINGS))
    type_errors = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    findings: list[Finding] = []
    for error in errors:
        if error.validator != "type" and tuple(error.absolute_path) in type_errors:
            continue  # the wrong type says it all
        findings.extend(findings_for(error, document))
    return sorted(set(findings), key=Finding.sort_key)


@cache
def config_schema() -> dict[str, Any]:
    """The configuration's schema as data (loaded once)."""
    with schema_path(CONFIG_SCHEMA_NAME).open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


@cache
def _fast_validator() -> Any:
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - depends on the platform's wheels
        return None
    flag_file = schema()
    registry = jsonschema_rs.Registry([(flag_file["$id"], flag_file)])
    return jsonschema_rs.Draft202012Validator(config_schema(), registry=registry)


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return False


@cache
def _validator() -> Any:
    from referencing import Registry, Resource

    flag_file = schema()
    # The configuration's flag fields are the flag-file schema's own definitions.
    registry: Registry[Any] = Registry().with_resource(
        flag_file["$id"], Resource.from_contents(flag_file)
    )
    return validator_class()(config_schema(), registry=registry)
