"""Comparing a declared resource with what exists, field by field.

Only what the file declares is compared (create-only: a field the file leaves out is
LaunchDarkly's to choose). LaunchDarkly's representation is first projected onto the
declared shape (``_purpose`` is ``purpose``, variations lose their ``_id``, link fields
lose their underscore), digests are compared, and only when they differ does
deepdiff describe the difference. ``flag_differences`` and ``link_differences`` are the
comparisons plan, apply and export make; ``recorded_flag_differences`` and
``recorded_link_differences`` compare a file with what the ledger recorded (the offline
fallback), in the same comparable shape, so tags compare as a set everywhere.
``differences_digest`` names a set of differences (what ``ledger accept`` and
``apply --adopt-drifted`` record); ``variation_ids`` reads a flag's variation ids.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler.model import FlagSpec, canonical_json, digest

if TYPE_CHECKING:
    from reconciler.state.ledger import LedgerEntry

# Fields that cannot be read back from a flag's summary representation, or that only
# matter at the moment of creation.
_NOT_COMPARED = frozenset({"key", "isFlagOn", "includeInSnippet", "initialPrerequisites"})
_LINK_FIELDS = {
    "deepLink": "_deepLink",
    "title": "title",
    "description": "description",
    "integrationKey": "_integrationKey",
    "metadata": "_metadata",
}


class _Absent(str):
    """The stand-in for a field one side lacks. JSON shows it as the string ``"(absent)"``
    (so views stay JSON for their digests); ``is_absent`` tells it from a declared string
    that happens to read the same."""


# Public for readers of a saved plan, which put it back on the side ``absent`` names.
ABSENT = _Absent("(absent)")


def is_absent(value: Any) -> bool:
    return isinstance(value, _Absent)


@dataclass(frozen=True)
class FieldDiff:
    """One field that differs: where, what it was, and what it is."""

    path: str
    before: Any
    after: Any

    @property
    def data(self) -> dict[str, Any]:
        """The JSON form; ``absent`` names the side that lacks the field, if one does."""
        data = {"path": self.path, "before": self.before, "after": self.after}
        if is_absent(self.before):
            data["absent"] = "before"
        elif is_absent(self.after):
            data["absent"] = "after"
        return data


def _flag_view(declared: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    """LaunchDarkly's flag projected onto the fields ``declared`` names."""
    view: dict[str, Any] = {}
    for name, value in declared.items():
        if name in _NOT_COMPARED:
            continue
        if name == "purpose":
            view[name] = live.get("_purpose", ABSENT)
        elif name == "variations":
            view[name] = _variations_view(value, live.get("variations", []))
        elif name == "tags":
            view[name] = sorted(live.get("tags", []))
        elif name == "migrationSettings":
            settings = live.get("migrationSettings") or {}
            view[name] = {k: settings.get(k, ABSENT) for k in value}
        elif name in ("clientSideAvailability", "defaults"):
            live_value = live.get(name) or {}
            view[name] = {k: live_value.get(k, ABSENT) for k in value}
        elif name == "description":
            view[name] = live.get(name, "")
        else:
            view[name] = live.get(name, ABSENT)
    return view


def _declared_flag_view(declared: Mapping[str, Any]) -> dict[str, Any]:
    """The declared flag in the comparable shape (tags as a sorted set)."""
    view = {k: v for k, v in declared.items() if k not in _NOT_COMPARED}
    if "tags" in view:
        view["tags"] = sorted(view["tags"])
    return view


def _variations_view(declared: list[Any], live: list[Any]) -> list[Any]:
    if len(declared) != len(live):
        return [{k: v for k, v in var.items() if k != "_id"} for var in live]
    out = []
    for want, have in zip(declared, live, strict=True):
        out.append({k: have.get(k, ABSENT) for k in want})
    return out


def _link_view(declared: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    """A ``FlagLinkRep`` projected onto the fields ``declared`` names."""
    view: dict[str, Any] = {}
    for name in declared:
        if name in ("key", "timestamp"):
            continue
        live_name = _LINK_FIELDS.get(name, name)
        view[name] = live.get(live_name, ABSENT)
    return view


def _declared_link_view(declared: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in declared.items() if k not in ("key", "timestamp")}


def flag_differences(declared: Mapping[str, Any], live: Mapping[str, Any]) -> tuple[FieldDiff, ...]:
    """How LaunchDarkly's flag ``live`` differs from the flag fields ``declared`` (empty: alike)."""
    return differences(_declared_flag_view(declared), _flag_view(declared, live))


def link_differences(declared: Mapping[str, Any], live: Mapping[str, Any]) -> tuple[FieldDiff, ...]:
    """How LaunchDarkly's link ``live`` differs from the link fields ``declared`` (empty: alike)."""
    return differences(_declared_link_view(declared), _link_view(declared, live))


def recorded_flag_differences(
    recorded: Mapping[str, Any], declared: Mapping[str, Any]
) -> tuple[FieldDiff, ...]:
    """How the flag ``declared`` differs from the spec the ledger ``recorded``, as a live plan
    would see it: the fields a live plan does not compare (``isFlagOn``, ...) and tag order
    do not count."""
    return differences(_declared_flag_view(recorded), _declared_flag_view(declared))


def recorded_link_differences(
    recorded: Mapping[str, Any], declared: Mapping[str, Any]
) -> tuple[FieldDiff, ...]:
    """How the link ``declared`` differs from the link the ledger ``recorded``."""
    return differences(_declared_link_view(recorded), _declared_link_view(declared))


def reversed_differences(diff: tuple[FieldDiff, ...]) -> tuple[FieldDiff, ...]:
    """The same differences seen from the other side (``before`` and ``after`` swapped)."""
    return tuple(FieldDiff(d.path, d.after, d.before) for d in diff)


def differences_digest(diff: tuple[FieldDiff, ...]) -> str:
    """A digest of a set of differences between a file and LaunchDarkly, in the file ->
    LaunchDarkly direction: an accepted difference stays accepted while it is the same."""
    return digest([d.data for d in sorted(diff, key=lambda d: d.path)])


def variation_ids(flag: Mapping[str, Any]) -> tuple[str, ...]:
    """The ``_id`` of each of a LaunchDarkly flag's variations, in order: what a prerequisite
    names by index in a file is sent by id."""
    return tuple(str(v.get("_id", "")) for v in flag.get("variations", []))


def differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[FieldDiff, ...]:
    """The field-level differences from ``before`` to ``after`` (empty when equal)."""
    if canonical_json(before) == canonical_json(after):
        return ()
    from deepdiff import DeepDiff  # imported here: only a plan with drift pays for it

    report = DeepDiff(dict(before), dict(after), verbose_level=2).to_dict()
    diffs: list[FieldDiff] = []
    for kind, changes in report.items():
        if not isinstance(changes, Mapping):
            continue
        for raw_path, change in changes.items():
            path = _readable(raw_path)
            if kind in ("values_changed", "type_changes"):
                diffs.append(FieldDiff(path, change.get("old_value"), change.get("new_value")))
            elif kind in ("dictionary_item_added", "iterable_item_added"):
                diffs.append(FieldDiff(path, ABSENT, change))
            elif kind in ("dictionary_item_removed", "iterable_item_removed"):
                diffs.append(FieldDiff(path, change, ABSENT))
    return tuple(sorted(diffs, key=lambda d: d.path))


# deepdiff quotes a key with '...', or with "..." when the key holds a single quote.
_PATH_STEP = re.compile(r"""\[('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\d+)\]""")


def _readable(raw: str) -> str:
    """deepdiff's ``root['variations'][1]['name']`` as ``variations[1].name``."""
    out = ""
    for step in _PATH_STEP.findall(raw):
        if step[0] in "'\"":
            name = step[1:-1]
            out += f".{name}" if out else name
        else:
            out += f"[{step}]"
    return out or raw


CONFIGURED = (
    "created before a change to the configuration's defaults or templates; "
    "LaunchDarkly is not updated"
)
"""The reason of an unchanged flag that differs from what it now resolves to only in
fields the repository configuration gives it. Create-only: a changed default or template
changes no flag already created; shown as drift, hundreds of such flags would drown the
real drift, so the plan counts them in one line and ``-v`` lists them."""


def configured_changes(recorded: LedgerEntry, spec: FlagSpec) -> tuple[FieldDiff, ...]:
    """How ``spec`` differs from what was created, when every field that differs is one
    the configuration gives it (a default's or the template's), not one the flag sets
    itself; otherwise (also when nothing differs) none."""
    if recorded.digest == spec.digest or spec.own is None:
        return ()
    created, now = recorded.spec, spec.spec
    changed = [
        name
        for name in {*created, *now}
        if canonical_json(created.get(name)) != canonical_json(now.get(name))
    ]
    if not all(spec.configured(name) for name in changed):
        return ()
    return differences(created, now)


def created_fields(recorded: LedgerEntry, spec: FlagSpec) -> Mapping[str, Any]:
    """The flag fields a recorded flag was created with (its prerequisites compared apart)."""
    if recorded.digest == spec.digest:
        return spec.fields
    return {name: value for name, value in recorded.spec.items() if name != "initialPrerequisites"}
