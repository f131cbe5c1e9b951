"""The flag-file JSON Schema: where it lives and a compiled validator for it.

The file in the repository's ``schemas/`` is the one source of truth; packaging maps
it into ``reconciler.schemas`` so an installed wheel carries the same file. Running from
a checkout without installing falls back to the repository copy.
"""

from __future__ import annotations

import json
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
    """A compiled Draft 2020-12 validator for the flag-file schema, built once per process."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema())
