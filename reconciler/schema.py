"""The flag-file JSON Schema: where it lives and a compiled validator for it.

The file in the repository's ``schemas/`` is the one source of truth; packaging maps
it into ``reconciler.schemas`` so an installed wheel carries the same file. Running from
a checkout without installing falls back to the repository copy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

SCHEMA_NAME = "flag-file.schema.json"


def schema_path() -> Path:
    """The path of the installed flag-file schema."""
    try:
        resource = resources.files("reconciler.schemas").joinpath(SCHEMA_NAME)
        if resource.is_file():
            return Path(str(resource))
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parent.parent / "schemas" / SCHEMA_NAME


@cache
def schema() -> dict[str, Any]:
    """The flag-file schema as data (loaded once)."""
    with schema_path().open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


@cache
def compiled_validator() -> Any:
    """A compiled Draft 2020-12 validator for the flag-file schema, built once per process.

    This is the validator whose errors become findings; it is imported only when a
    document fails the fast check.
    """
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema())


@cache
def fast_check() -> Callable[[Any], bool]:
    """A pass/fail check of a document against the schema, about 100 times faster.

    jsonschema-rs (compiled) answers "valid?" for the great majority of documents,
    which are valid; only a document it rejects goes through ``compiled_validator``,
    whose errors are what users see, so findings are exactly as good either way.
    Without jsonschema-rs (a platform with no wheel), every document takes the slow path.
    """
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - depends on the platform's wheels
        return lambda _document: False
    checker = jsonschema_rs.Draft202012Validator(schema())
    is_valid: Callable[[Any], bool] = checker.is_valid
    return is_valid
