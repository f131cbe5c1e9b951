"""A ledger entry: one flag or link this tool created or adopted, and its JSON form.

``LedgerEntry.data`` is the entry as the ledger file and its journal hold it;
``LedgerEntry.from_data`` parses it back strictly (see ``reconciler.state.ledger`` for the
file as a whole).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any, Literal, NamedTuple

from reconciler.model import FlagSpec, LinkSpec

Kind = Literal["flag", "link"]
Action = Literal["created", "adopted"]
SECTION: dict[str, str] = {"flag": "flags", "link": "links"}
"""The ledger section of each kind of entry."""
_COMMON = ("kind", "project", "key", "id", "action", "at", "source", "digest", "spec")
_FIELDS: dict[str, frozenset[str]] = {
    "flag": frozenset((*_COMMON, "variation_ids")),
    "link": frozenset((*_COMMON, "flag_key")),
}
# ``accepted`` is optional (a newer field: ledgers written before it load as they are).
_WITH_ACCEPTED = {kind: fields | {"accepted"} for kind, fields in _FIELDS.items()}
_STRINGS: dict[str, tuple[str, ...]] = {
    "flag": ("project", "key", "action", "at", "source", "digest"),
    "link": ("project", "key", "action", "at", "source", "digest", "flag_key"),
}


class LedgerEntry(NamedTuple):
    """One recorded flag or link; ``spec`` is JSON data that must not be mutated.

    A NamedTuple rather than a frozen dataclass: a ledger holds tens of thousands, all
    made at every load, and a tuple is made in a third of the time.
    """

    kind: Kind
    project: str
    key: str
    action: Action
    at: str
    source: str
    digest: str
    spec: Mapping[str, Any]
    flag_key: str | None = None
    id: str | None = None
    variation_ids: tuple[str, ...] = ()
    # The digest of differences from LaunchDarkly a user accepted (``ledger accept``,
    # ``apply --adopt-drifted``); a live plan shows them as accepted while they stay the same.
    accepted: str | None = None

    @classmethod
    def for_flag(
        cls,
        spec: FlagSpec,
        *,
        action: Action,
        variation_ids: Sequence[str],
        at: str,
        accepted: str | None = None,
    ) -> LedgerEntry:
        return cls(
            "flag", spec.project, spec.key, action, at, str(spec.location), spec.digest,
            spec.spec, variation_ids=tuple(variation_ids), accepted=accepted,
        )  # fmt: skip

    @classmethod
    def for_link(
        cls,
        spec: LinkSpec,
        *,
        action: Action,
        link_id: str | None,
        at: str,
        accepted: str | None = None,
    ) -> LedgerEntry:
        return cls(
            "link", spec.project, spec.key, action, at, str(spec.location), spec.digest,
            dict(spec.fields), flag_key=spec.flag_key, id=link_id, accepted=accepted,
        )  # fmt: skip

    @property
    def name(self) -> str:
        """The entry's key in its section: the flag key, or ``flag_key/link_key``."""
        return f"{self.flag_key}/{self.key}" if self.kind == "link" else self.key

    @property
    def clone(self) -> str | None:
        """The key of the flag this flag was created as a copy of. Kept in ``spec`` (as the
        files say it), not in a field of its own, which earlier versions would refuse."""
        source = self.spec.get("clone") if self.kind == "flag" else None
        return source if isinstance(source, str) else None

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind, "project": self.project, "key": self.key, "id": self.id,
            "action": self.action, "at": self.at, "source": self.source,
            "digest": self.digest, "spec": dict(self.spec),
        }  # fmt: skip
        if self.kind == "link":
            data["flag_key"] = self.flag_key
        else:
            data["variation_ids"] = list(self.variation_ids)
        if self.accepted is not None:
            data["accepted"] = self.accepted
        return data

    @classmethod
    def from_data(cls, data: object) -> LedgerEntry:
        """Parse an entry; raises ``ValueError`` saying what is wrong.

        A load parses every entry of the ledger, so the usual, well-formed entry takes a
        few C-level checks (one key comparison, the set of the strings' types) and skips
        the NamedTuple's Python-level ``__new__``; the messages come from the slow checks.
        """
        if not isinstance(data, dict):
            raise ValueError("is not a JSON object")
        kind = data.get("kind")
        if not isinstance(kind, str) or kind not in _FIELDS:
            raise ValueError(f"kind is {kind!r}, expected 'flag' or 'link'")
        fields = _FIELDS[kind]
        if data.keys() != fields and data.keys() != _WITH_ACCEPTED[kind]:
            missing = ", ".join(repr(n) for n in sorted(fields - data.keys()))
            if missing:
                raise ValueError(f"missing field(s) {missing}")
            unknown = ", ".join(repr(n) for n in sorted(data.keys() - _WITH_ACCEPTED[kind]))
            raise ValueError(f"unknown field(s) {unknown}")
        strings = _STRING_VALUES[kind](data)
        if "" in strings or set(map(type, strings)) != _STR:
            for name in _STRINGS[kind]:
                value = data[name]
                if not value or not isinstance(value, str):
                    raise ValueError(f"{name} must be a non-empty string")
        action = data["action"]
        if action != "created" and action != "adopted":
            raise ValueError(f"action is {action!r}, expected 'created' or 'adopted'")
        id_ = data["id"]
        if id_ is not None and type(id_) is not str:
            raise ValueError("id must be a string or null")
        if not isinstance(data["spec"], dict):
            raise ValueError("spec must be a JSON object")
        accepted = data.get("accepted")
        if accepted is not None and (type(accepted) is not str or not accepted):
            raise ValueError("accepted must be a non-empty string")
        ids = data.get("variation_ids", _NO_IDS)
        if type(ids) is not list or (ids and set(map(type, ids)) != _STR):
            raise ValueError("variation_ids must be a list of strings")
        return cls.from_checked(data)

    @classmethod
    def from_checked(cls, data: dict[str, Any]) -> LedgerEntry:
        """An entry from data found valid, by ``from_data`` or by ``ENTRY_SCHEMA`` (a ledger
        is checked whole, in compiled code: ``ledgerfile.parse``)."""
        get = data.get
        return _new_entry(
            cls, (
                data["kind"], data["project"], data["key"], data["action"], data["at"],
                data["source"], data["digest"], data["spec"], get("flag_key"), data["id"],
                tuple(get("variation_ids", ())), get("accepted"),
            ),
        )  # fmt: skip


_STR = {str}
_NO_IDS: list[str] = []
_STRING_VALUES = {kind: itemgetter(*names) for kind, names in _STRINGS.items()}
_new_entry = tuple.__new__


def _entry_schema(kind: Kind) -> dict[str, Any]:
    text = {"type": "string", "minLength": 1}
    properties: dict[str, Any] = {name: text for name in _STRINGS[kind]}
    properties |= {
        "kind": {"const": kind},
        "action": {"enum": ["created", "adopted"]},
        "id": {"type": ["string", "null"]},
        "spec": {"type": "object"},
        "accepted": text,
    }
    if kind == "flag":
        properties["variation_ids"] = {"type": "array", "items": {"type": "string"}}
    return {
        "type": "object",
        "required": sorted(_FIELDS[kind]),
        "properties": properties,
        "additionalProperties": False,
    }


ENTRY_SCHEMA: dict[str, dict[str, Any]] = {kind: _entry_schema(kind) for kind in ("flag", "link")}
"""What ``from_data`` accepts of each kind of entry, as JSON Schema: a ledger whose entries
all match is read with ``from_checked``; one that does not is read with ``from_data``, for
its message."""
