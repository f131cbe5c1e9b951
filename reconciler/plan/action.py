"""A plan's action: one thing the plan says about one flag or link, as a frozen value.

``Kind`` names the actions (the table in ``plan.py`` says what each means); ``SUMMARY_ORDER``
is the order and wording of the summary line.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, NamedTuple

from reconciler.model import flag_address, link_address
from reconciler.plan import compare


class Kind(str, Enum):
    CREATE = "create"
    ADOPT = "adopt"
    UNCHANGED = "unchanged"
    DRIFT = "drift"
    ORPHAN = "orphan"
    BLOCKED = "blocked"


SUMMARY_ORDER = (
    (Kind.CREATE, "to create"),
    (Kind.ADOPT, "to adopt"),
    (Kind.UNCHANGED, "unchanged"),
    (Kind.DRIFT, "drifted"),
    (Kind.ORPHAN, "orphaned"),
    (Kind.BLOCKED, "blocked"),
)


class Action(NamedTuple):
    """One thing the plan says about one flag or link.

    A NamedTuple rather than a frozen dataclass: a plan makes one or two per declared
    resource, and a tuple is made in a third of the time.
    """

    kind: Kind
    resource: str  # "flag" or "link"
    project: str
    flag_key: str
    link_key: str | None = None
    source: str = ""
    digest: str = ""
    reason: str = ""
    diff: tuple[compare.FieldDiff, ...] = ()
    depends_on: tuple[str, ...] = ()
    variation_ids: tuple[str, ...] = ()
    link_id: str | None = None
    clone: str = ""  # a flag's: the address of the flag it is (to be) a copy of
    body: Mapping[str, Any] | None = None  # a create's: what its POST sends (``post_body``)

    @property
    def address(self) -> str:
        if self.link_key is None:
            return flag_address(self.project, self.flag_key)
        return link_address(self.project, self.flag_key, self.link_key)

    @property
    def sort_key(self) -> tuple[str, str, int, str]:
        return (self.project, self.flag_key, 0 if self.link_key is None else 1, self.link_key or "")

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "action": self.kind.value,
            "resource": self.resource,
            "address": self.address,
            "project": self.project,
            "flag": self.flag_key,
        }
        if self.link_key is not None:
            data["link"] = self.link_key
        for name in ("source", "digest", "reason"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        if self.diff:
            data["diff"] = [d.data for d in self.diff]
        if self.depends_on:
            data["depends_on"] = list(self.depends_on)
        if self.clone:
            data["clone"] = self.clone
        if self.body is not None:
            data["body"] = self.body
        return data
