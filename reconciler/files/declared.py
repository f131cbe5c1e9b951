"""A declared flag as the semantic rules see it: its document, place and values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.files.positions import Document
from reconciler.files.schema_errors import readable_path
from reconciler.model import Finding, FlagSpec, Location


@dataclass
class Declared:
    """A flag that passed the schema, with what the cross-file rules need."""

    doc: Document
    index: int
    data: dict[str, Any]
    project: str
    values: list[Any] | None  # None: the flag's variations are unknown
    spec: FlagSpec | None = None
    checked: bool = True  # False: the schema refused the flag's shape

    def path(self, *rest: Any) -> list[Any]:
        return ["flags", self.index, *rest]

    def at(self, *rest: Any, key: bool = False) -> Location:
        return self.doc.locate(self.path(*rest), key=key)

    def finding(self, path: list[Any], message: str, *, key: bool = False) -> Finding:
        """A finding at ``path`` of this flag's document (at its key when ``key``)."""
        return Finding(self.doc.locate(path, key=key), message, readable_path(path))
