"""A flag file's text and where it goes: the file a flag is grouped in, names that are safe on
every file system, the editor modeline's schema reference, and YAML that reads back exactly.

One file per first tag: ``<project>/<group>.yaml``, archived flags in ``archived/``. Text that
YAML 1.2 would read as another type is quoted; multi-line text is a block; no anchors.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

from reconciler.files.schema import SCHEMA_NAME

try:  # the C emitter; the representer below is Python either way
    from yaml import CSafeDumper as _BaseDumper
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]

UNTAGGED = "untagged"
ARCHIVED_DIR = "archived"
# Where the modeline's schema is by default: the root of the output directory, as the README's
# "Editor support" suggests keeping it (``ld-reconciler schema > flags/flag-file.schema.json``).
DEFAULT_SCHEMA_REF = SCHEMA_NAME
_WINDOWS_DEVICES = frozenset(
    {"con", "prn", "aux", "nul", *(f"{d}{i}" for d in ("com", "lpt") for i in range(10))}
)


def group_of(tags: Iterable[str]) -> str:
    """The file a flag goes in: its first tag in sorted order as a safe name, or ``untagged``.

    A tag that would name the file of the flags without tags gets the prefix that Windows
    device names get: ``tag-untagged``.
    """
    first = min(tags, default=None)
    if first is None:
        return UNTAGGED
    stem = safe_file_stem(first)
    return f"tag-{stem}" if stem == UNTAGGED else stem


def safe_file_stem(text: str) -> str:
    """``text`` as a file name that means the same on every file system and is never hidden.

    Lower case (so "Beta" and "beta" share a file where case is ignored); anything but
    letters, digits, '.', '_' and '-' becomes '-'; no leading '.' or '-' (validate skips hidden
    files, and '-' reads as an option); Windows device names get a prefix.
    """
    stem = re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).lstrip(".-")[:64] or "tag"
    return f"tag-{stem}" if stem.split(".")[0] in _WINDOWS_DEVICES else stem


def relative_ref(ref: str, folder: str) -> str:
    """``ref``, a URL or absolute path as it is, or a path relative to the output directory,
    as the file in ``folder`` (below that directory) reaches it."""
    if "://" in ref or posixpath.isabs(ref):
        return ref
    return posixpath.relpath(posixpath.normpath(ref), folder)


class _Dumper(_BaseDumper):
    """Safe YAML without anchors, quoting text that YAML 1.2 would read as another type."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


# Plain text that YAML 1.2 (our loader, editors) reads as a number; PyYAML quotes by YAML 1.1.
_LOOKS_TYPED = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)


def _represent_str(dumper: yaml.representer.SafeRepresenter, text: str) -> yaml.Node:
    style = None
    if "\n" in text and not re.search("[\r\x85\u2028\u2029]", text):
        style = "|"  # the emitter falls back to quotes where a block cannot carry the text
    elif _LOOKS_TYPED.fullmatch(text):
        style = '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_str)


def render(
    project: str,
    flags: Sequence[Mapping[str, Any]],
    comment: str,
    schema_ref: str = DEFAULT_SCHEMA_REF,
) -> str:
    """A flag file: the editor modeline, a comment, and the flags in block style."""
    body = yaml.dump(
        {"project": project, "flags": [dict(f) for f in flags]},
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 16,  # never fold long text over lines
    )
    return f"# yaml-language-server: $schema={schema_ref}\n# {comment}\n{body}"
