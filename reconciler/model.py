"""The validated desired state: what the flag files declare.

These records are what the loader and validator produce and what observe, plan and
apply consume. Every record knows the file position it came from, so any later
finding can point at its source. Records are frozen; their ``fields`` are plain
JSON-compatible data that must not be mutated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any


@dataclass(frozen=True, order=True)
class Location:
    """A position in a source file; ``line`` and ``col`` count from 1."""

    file: str
    line: int = 1
    col: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Finding:
    """One problem found in the flag files.

    ``severity`` is ``error`` (fails validate, blocks plan and apply) or ``warning``
    (shown, fails nothing); only policies make warnings, so every other finding keeps
    the default and reads as before.
    """

    location: Location
    message: str
    path: str = ""
    severity: str = "error"

    def __str__(self) -> str:
        prefix = f"{self.path}: " if self.path else ""
        return f"{self.location}: {prefix}{self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def sort_key(self) -> tuple[str, int, int, str]:
        loc = self.location
        return (loc.file, loc.line, loc.col, self.message)


_PROBE = {"b": [1, 2.5, True, None, "é\n"], "a": {"z": False, "y": -0.0}}


def json_encoder(*, item: str, key: str, sort_keys: bool) -> Callable[[Any], str]:
    """What ``json.dumps(value, separators=(item, key), sort_keys=sort_keys,
    ensure_ascii=False)`` does, as a function made once.

    ``json.dumps`` (and ``JSONEncoder.encode``) build a new C encoder on every call, a third
    of the time it takes to encode a small value; a plan encodes tens of thousands. This
    builds the C encoder once (the one ``JSONEncoder`` itself uses), without its check for
    circular references: the values encoded here are trees (flag files are built as trees,
    ledgers and answers parsed from JSON), and a deep value still ends in RecursionError.
    Where the C encoder is missing or does not agree with ``JSONEncoder`` (another Python),
    it is ``JSONEncoder.encode``.
    """
    plain = json.JSONEncoder(sort_keys=sort_keys, separators=(item, key), ensure_ascii=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return plain.encode
    try:
        encoder = make(None, plain.default, json.encoder.encode_basestring, None, key, item,
                       sort_keys, False, True)  # fmt: skip

        def encode(value: Any) -> str:
            return "".join(encoder(value, 0))

        if encode(_PROBE) == plain.encode(_PROBE):
            return encode
    except TypeError:  # another signature
        pass
    return plain.encode


canonical_json = json_encoder(item=",", key=":", sort_keys=True)
"""The canonical JSON text of a value: sorted keys, no spaces, UTF-8 as is."""


def digest(data: Any) -> str:
    """A stable digest of JSON-compatible data, ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(canonical_json(data).encode()).hexdigest()


def same_json(a: Any, b: Any) -> bool:
    """Whether two JSON values have the same canonical JSON text (``canonical_json``), without
    encoding them: equal, and, where ``==`` is not strict, alike in type (``true`` is not
    ``1``, ``1`` is not ``1.0``, ``-0.0`` is not ``0.0``)."""
    return bool(a == b) and _alike(a, b)


def _alike(a: Any, b: Any) -> bool:
    """``a == b`` given: whether every value is of the same type, and every float the same.
    Strings are most values, and a string equal to another is a string: they are skipped.
    (The plainest form measured fastest: half the time of hashing the same values.)"""
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict:  # equal dicts: the same keys
        for name, value in a.items():
            if type(value) is not str and not _alike(value, b[name]):
                return False
        return True
    if kind is list:  # equal lists: one length
        return all(map(_alike, a, b))
    return kind is not float or repr(a) == repr(b)


def _take_digest(spec: Any, own: Mapping[str, Any], recorded: str, spec_recorded: Any) -> None:
    """Give ``spec`` the digest ``recorded`` when the ledger recorded it with the very
    settings ``own`` (``same_json``): the ledger's digest is of them. A plan of a whole
    recorded repository then hashes nothing (40,000 digests were a third of its work)."""
    if "digest" not in spec.__dict__ and same_json(own, spec_recorded):
        spec.__dict__["digest"] = recorded  # the cached_property's own slot


def netstring_line(values: Iterable[str | None]) -> str:
    """``values`` as one unambiguous line, each as ``length:text;`` (None as ``-;``).

    For fingerprints of many records: hashing such lines is several times faster than
    encoding the same records as one canonical JSON document.
    """
    return "".join(["-;" if v is None else f"{len(v)}:{v};" for v in values]) + "\n"


def flag_address(project: str, flag_key: str) -> str:
    """The address of a flag in plans, ledgers and messages: ``project/flag``."""
    return f"{project}/{flag_key}"


def link_address(project: str, flag_key: str, link_key: str) -> str:
    """The address of a flag link: ``project/flag/link`` (keys never contain ``/``)."""
    return f"{project}/{flag_key}/{link_key}"


@dataclass(frozen=True)
class PrerequisiteSpec:
    """A prerequisite named by flag key and variation index (resolved from a value if need be)."""

    key: str
    variation: int
    location: Location

    @property
    def data(self) -> dict[str, Any]:
        return {"key": self.key, "variation": self.variation}


@dataclass(frozen=True)
class LinkSpec:
    """A declared flag link.

    ``fields`` is the ``flagLinkPost`` body as it will be sent, ``key`` included; when
    the file gives no key, ``key`` was derived from the link's content and
    ``key_derived`` is true.
    """

    project: str
    flag_key: str
    key: str
    fields: Mapping[str, Any]
    location: Location
    key_derived: bool = False

    @property
    def address(self) -> str:
        return link_address(self.project, self.flag_key, self.key)

    @cached_property
    def digest(self) -> str:  # once per link: a plan and its fingerprint each need it
        return digest(dict(self.fields))

    def take_digest(self, recorded: str, spec: Mapping[str, Any]) -> None:
        """The ledger's digest, for a record of these very fields (``_take_digest``)."""
        _take_digest(self, self.fields, recorded, spec)

    def post_body(self) -> dict[str, Any]:
        return dict(self.fields)


@dataclass(frozen=True)
class FlagSpec:
    """A declared flag.

    ``fields`` holds the ``FeatureFlagBody`` fields exactly as declared, except
    ``links`` (sent by a separate call), ``initialPrerequisites`` (kept as
    ``prerequisites`` because their variation ids are known only at apply time) and
    ``clone``: the key of the flag of the same project it is a copy of (sent as the
    create's ``?clone=`` query parameter), or None.
    """

    project: str
    key: str
    fields: Mapping[str, Any]
    location: Location
    prerequisites: tuple[PrerequisiteSpec, ...] = ()
    links: tuple[LinkSpec, ...] = ()
    clone: str | None = None
    # The fields the flag sets itself, when the repository configuration gave it others
    # (None: every field is its own). Not part of the spec: it says where a value came from.
    own: frozenset[str] | None = field(default=None, compare=False)

    @property
    def address(self) -> str:
        return flag_address(self.project, self.key)

    def configured(self, name: str) -> bool:
        """Whether field ``name`` is the configuration's (a default's or the template's):
        the flag does not set it itself. ``tags`` the flag sets are its own, even when
        the configuration adds to them."""
        return self.own is not None and name not in self.own

    @property
    def spec(self) -> dict[str, Any]:
        """The declared settings as one JSON-compatible value (links excluded)."""
        data = dict(self.fields)
        if self.prerequisites:
            data["initialPrerequisites"] = [p.data for p in self.prerequisites]
        if self.clone is not None:  # so the ledger records what a flag was copied from
            data["clone"] = self.clone
        return data

    @cached_property
    def digest(self) -> str:  # once per flag: a plan and its fingerprint each need it
        return digest(self.spec)

    def take_digest(self, recorded: str, spec: Mapping[str, Any]) -> None:
        """The ledger's digest, for a record of this very spec (``_take_digest``)."""
        _take_digest(self, self.spec, recorded, spec)

    def post_body(
        self, variation_ids: Mapping[tuple[str, int], str] | None = None
    ) -> dict[str, Any]:
        """The ``FeatureFlagBody`` to send; ``variation_ids`` maps (flag key, index) to ``_id``.

        Apply sends it; a plan shows it. A plan is made before its prerequisites exist, so
        without ``variation_ids`` each prerequisite's ``variationId`` is None (known after
        apply) and ``variation`` names the index it will be resolved from.
        """
        body = dict(self.fields)
        if self.prerequisites:
            if variation_ids is None:
                body["initialPrerequisites"] = [
                    {"key": p.key, "variationId": None, "variation": p.variation}
                    for p in self.prerequisites
                ]
            else:
                body["initialPrerequisites"] = [
                    {"key": p.key, "variationId": variation_ids[(p.key, p.variation)]}
                    for p in self.prerequisites
                ]
        return body


@dataclass(frozen=True)
class DesiredState:
    """Everything the flag files declare, sorted by project and flag key."""

    flags: tuple[FlagSpec, ...]
    files: tuple[str, ...] = field(default=())

    @property
    def links(self) -> Iterator[LinkSpec]:
        for flag in self.flags:
            yield from flag.links

    @property
    def projects(self) -> tuple[str, ...]:
        return tuple(sorted({f.project for f in self.flags}))

    @property
    def link_count(self) -> int:
        return sum(len(f.links) for f in self.flags)

    def flags_of(self, project: str) -> tuple[FlagSpec, ...]:
        return tuple(f for f in self.flags if f.project == project)


def derive_link_key(fields: Mapping[str, Any]) -> str:
    """The stable key of a link declared without one: ``link-`` and 12 hex digits.

    It is derived from what the link points at (``deepLink``, ``integrationKey`` and
    ``metadata``, exactly as written), not from its title or description, so editing
    the text of a link never makes a second link, and re-runs never create duplicates.
    """
    if "integrationKey" in fields or "metadata" in fields:
        target = {k: fields[k] for k in ("deepLink", "integrationKey", "metadata") if k in fields}
        text = canonical_json(target)
    else:  # the common URL link; the same text canonical_json would give, made faster
        text = '{"deepLink":' + json.dumps(fields["deepLink"], ensure_ascii=False) + "}"
    return "link-" + hashlib.sha256(text.encode()).hexdigest()[:12]
