"""The saved plan: the one format ``plan --out`` writes, ``apply --plan`` checks and
``github comment`` renders.

A saved plan is the JSON form of a plan (``plan --format json`` prints the same document)::

    {"format_version": 1, "tool": "ld-reconciler X.Y.Z",
     "target", "mode": "live"|"offline", "fingerprint",
     "inputs": {"desired", "ledger"}, "paths": [PATH, ...],
     "summary": {kind: count}, "actions": [Action.data, ...],
     "findings": [...]}  # only when policies warned: each finding with its severity

``paths`` (added within format_version 1; absent from older files) are the flag files and
directories the plan was made from, as given on its command line, relative to where it ran:
``apply --plan FILE`` without paths re-reads exactly those.

A create action carries ``body``, what its POST will send (and a cloned flag ``clone``). It
was added to format_version 1 without a bump: readers that do not know it ignore it, and a
plan saved without it still reads (its creates are shown without their attributes).

``plan_document`` builds it (``plan_json`` as text), ``save_plan`` writes it, ``SavedPlan``
reads it and checks it against the run that would apply it, and ``plan_from_document`` (or
``SavedPlan.plan``) turns it back into a ``Plan`` for the renderers.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler import __version__
from reconciler.errors import ConfigError, InputError, StalePlanError
from reconciler.model import DesiredState
from reconciler.plan import policies
from reconciler.plan.compare import ABSENT, FieldDiff
from reconciler.plan.fingerprint import desired_fingerprint, ledger_fingerprint
from reconciler.plan.plan import Action, Kind, Plan
from reconciler.state import durable

if TYPE_CHECKING:
    from reconciler.state.ledger import Ledger

FORMAT_VERSION = 1
REMAKE = "ld-reconciler plan --out"
"""The command that makes a plan file, for messages that know no more exact one."""


def plan_document(plan: Plan) -> dict[str, Any]:
    """The versioned JSON form of a plan (also the saved-plan file)."""
    document = {"format_version": FORMAT_VERSION, "tool": f"ld-reconciler {__version__}"}
    document.update(plan.data)
    if plan.findings:  # the policies' warnings (see ``plan/policies.py``)
        document["findings"] = policies.findings_document(plan.findings)
    return document


def plan_json(plan: Plan) -> str:
    """The document as text: what ``plan --out`` writes and ``plan --format json`` prints."""
    return json.dumps(plan_document(plan), indent=2, ensure_ascii=False) + "\n"


def save_plan(path: Path, plan: Plan) -> None:
    """Write the plan file whole or not at all (``durable.replace``)."""
    text = plan_json(plan)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        durable.replace(path, text.encode())
    except OSError as e:
        if isinstance(e, FileExistsError):  # from mkdir: a file where a directory must be
            detail = f"{e.filename} exists and is not a directory"
        elif e.filename and not durable.is_temporary(e.filename, path):
            detail = f"{e.filename}: {e.strerror or e}"
        else:
            detail = e.strerror or str(e)
        raise InputError(f"--out {path}: cannot write the plan ({detail})") from e


def plan_from_document(document: Mapping[str, Any]) -> Plan:
    """The inverse of ``plan_document`` for what the renderers show (no fingerprint inputs).

    A document of the wrong shape raises ``KeyError``, ``TypeError``, ``ValueError`` or
    ``AttributeError``; ``SavedPlan.plan`` turns those into one message.
    """
    actions = tuple(
        Action(
            kind=Kind(a["action"]),
            resource=a["resource"],
            project=a["project"],
            flag_key=a["flag"],
            link_key=a.get("link"),
            source=a.get("source", ""),
            digest=a.get("digest", ""),
            reason=a.get("reason", ""),
            diff=tuple(_field_diff(d) for d in a.get("diff", [])),
            depends_on=tuple(a.get("depends_on", ())),
            body=_body(a.get("body")),
            clone=a.get("clone", ""),
        )
        for a in document["actions"]
    )
    findings = policies.findings_from_document(document.get("findings", ()))
    paths = tuple(document.get("paths", ()))
    return Plan(
        document["target"], document["mode"] == "live", actions, findings=findings, paths=paths
    )


def _body(body: Any) -> dict[str, Any] | None:
    """A create's ``body``; absent in a plan saved before plans showed it (still valid)."""
    if body is None or isinstance(body, dict):
        return body
    raise TypeError(f"an action's body is a {type(body).__name__}, not an object")


def _field_diff(data: Mapping[str, Any]) -> FieldDiff:
    """The inverse of ``FieldDiff.data``: the side ``absent`` names is the missing-value
    sentinel again, not the string ``"(absent)"`` JSON shows, so it renders as ``(absent)``."""
    absent = data.get("absent")
    before = ABSENT if absent == "before" else data["before"]
    after = ABSENT if absent == "after" else data["after"]
    return FieldDiff(data["path"], before, after)


@dataclass(frozen=True)
class SavedPlan:
    """A plan file (``plan --out``), checked in two steps: against what needs no call to
    LaunchDarkly before connecting, then against the plan made from the live state."""

    path: Path
    document: dict[str, Any]
    # The exact command that makes the plan again, for the messages that refuse it.
    remake: str = REMAKE

    @classmethod
    def read(cls, path: Path, remake: str = REMAKE) -> SavedPlan:
        """The plan file at ``path``; one message naming ``remake``, the command that makes
        it, if it cannot be read or is not a saved plan."""
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise ConfigError(f"cannot read the saved plan {path}: {e.strerror or e}") from e
        except ValueError as e:
            raise ConfigError(f"{path} is not a saved plan (invalid JSON: {e})") from e
        if not isinstance(saved, dict) or saved.get("format_version") != FORMAT_VERSION:
            raise ConfigError(
                f"{path} is not a saved plan of format_version {FORMAT_VERSION}; "
                f"make it with `{remake}`"
            )
        inputs = saved.get("inputs")
        shape = {
            "target": isinstance(saved.get("target"), str),
            "mode": saved.get("mode") in ("live", "offline"),
            "fingerprint": isinstance(saved.get("fingerprint"), str),
            "inputs": isinstance(inputs, dict)
            and all(isinstance(inputs.get(k), str) for k in ("desired", "ledger")),
            "summary": isinstance(saved.get("summary"), dict),
            "actions": isinstance(saved.get("actions"), list),
            "paths": _paths_or_absent(saved.get("paths", [])),
        }
        bad = [name for name, ok in shape.items() if not ok]
        if bad:
            raise ConfigError(
                f"{path} is not a complete saved plan (missing or malformed: {', '.join(bad)}); "
                f"make it again with `{remake}`"
            )
        return cls(path, saved, remake)

    @property
    def paths(self) -> tuple[str, ...] | None:
        """The flag files and directories the plan was made from; None if the file predates
        recording them."""
        paths = self.document.get("paths")
        return tuple(paths) if paths else None

    def paths_for(self, given: Sequence[str]) -> tuple[str, ...]:
        """The paths to apply the plan with: those it records, which ``given`` (from the
        command line; may be empty) must name, else an ``InputError`` before any call."""
        recorded = self.paths
        if recorded is None:
            if not given:
                raise InputError(
                    f"saved plan {self.path} does not record its flag files (an older "
                    f"ld-reconciler made it): give them, or run `{self.remake}` again"
                )
            return tuple(given)
        if given and [os.path.normpath(p) for p in given] != [
            os.path.normpath(p) for p in recorded
        ]:
            raise InputError(
                f"saved plan {self.path} was made from {_listing(recorded)}, not "
                f"{_listing(given)}: leave the paths out to apply it as it was made"
            )
        return recorded

    def plan(self) -> Plan:
        """The plan the file records, to render; one message if its actions are malformed."""
        try:
            return plan_from_document(self.document)
        except (AttributeError, KeyError, TypeError, ValueError) as e:
            raise InputError(
                f"{self.path} is not a saved plan of format_version {FORMAT_VERSION} ({e}); "
                f"make it with `{self.remake}`"
            ) from e

    @property
    def adopts_drifted(self) -> bool:
        """Whether the plan was made with ``--adopt-drifted`` (it adopts with differences):
        applying it repeats the choice, as a saved plan carries what it was made with."""
        return any(
            isinstance(a, dict) and a.get("action") == "adopt" and a.get("diff")
            for a in self.document["actions"]
        )

    def check_inputs(self, desired: DesiredState, ledger: Ledger, target: str) -> None:
        """Refuse the plan, before any call, if made for another target, offline, or on
        flag files or a ledger other than these."""
        saved, path = self.document, self.path
        if saved["target"] != target:
            raise StalePlanError(f"saved plan {path} was made for {saved['target']}, not {target}")
        if saved["mode"] != "live":
            raise StalePlanError(f"saved plan {path} was made {saved['mode']}; apply plans live")
        changed = [
            what
            for what, key, now in (
                ("the flag files", "desired", desired_fingerprint(desired)),
                ("the ledger", "ledger", ledger_fingerprint(desired, ledger, target)),
            )
            if saved["inputs"][key] != now
        ]
        if changed:
            raise StalePlanError(
                f"saved plan {path} is stale: {' and '.join(changed)} changed since it was made; "
                f"run `{self.remake}` again and review it"
            )

    def check(self, plan: Plan) -> None:
        """Refuse the plan unless it is, action for action, the plan made now."""
        path = self.path
        if self.document["fingerprint"] != plan.fingerprint:
            raise StalePlanError(
                f"saved plan {path} is stale: LaunchDarkly, the flag files or the ledger changed "
                f"since it was made; run `{self.remake}` again and review it"
            )
        # The fingerprint alone does not vouch for the file's actions: they may be edited.
        now = json.loads(json.dumps(plan_document(plan), ensure_ascii=False))
        for saved_action, action in zip(self.document["actions"], now["actions"], strict=False):
            if isinstance(saved_action, dict) and "body" not in saved_action:
                action.pop("body", None)  # saved before plans carried bodies: nothing to check
        edited = [k for k in ("inputs", "summary", "actions") if self.document[k] != now[k]]
        if edited:
            verb = "differs" if len(edited) == 1 else "differ"
            raise StalePlanError(
                f"saved plan {path} was edited after it was made (its {' and '.join(edited)} "
                f"{verb} from the plan it records); run `{self.remake}` again"
            )


def _paths_or_absent(paths: object) -> bool:
    return isinstance(paths, list) and all(isinstance(p, str) and p for p in paths)


def _listing(paths: Sequence[str]) -> str:
    return " ".join(shlex.quote(p) for p in paths)
