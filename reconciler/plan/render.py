"""Rendering plans: text, json, markdown and github, one small class each, in a registry.

The text form reads like Terraform's; the markdown form is a pull-request comment
(summary first, details collapsed, a hidden marker so a workflow updates one comment);
json is the saved plan's document (``plan/saved.py``: versioned, what ``plan --out`` saves); github
prints workflow annotations at each action's source line and appends the markdown to
``$GITHUB_STEP_SUMMARY`` when that is set.
"""

from __future__ import annotations

import html
import json
import os
import re
from typing import Any, ClassVar, Protocol, TextIO

import click

from reconciler.errors import ConfigError
from reconciler.files.report import github_annotation
from reconciler.model import Finding, Location
from reconciler.plan import policies
from reconciler.plan.attributes import Attribute, attributes
from reconciler.plan.clones import COPIES
from reconciler.plan.compare import CONFIGURED, FieldDiff, is_absent
from reconciler.plan.plan import Action, Kind, Plan
from reconciler.plan.saved import plan_json

MARKER = "<!-- ld-reconciler-plan -->"

_SYMBOL = {
    Kind.CREATE: ("+", "green"),
    Kind.ADOPT: ("=", "cyan"),
    Kind.UNCHANGED: (" ", None),
    Kind.DRIFT: ("~", "yellow"),
    Kind.ORPHAN: ("?", "magenta"),
    Kind.BLOCKED: ("!", "red"),
}
_SHOWN = (Kind.BLOCKED, Kind.CREATE, Kind.ADOPT, Kind.DRIFT, Kind.ORPHAN)
# An unchanged action is shown, last, only with a note: differences a user accepted, or a
# record an apply will refresh.
_ORDER = (*_SHOWN, Kind.UNCHANGED)


def _shown(action: Action) -> bool:
    """Every action but an unchanged one, and an unchanged one with a note; not those that
    differ only by the configuration (counted in one line, listed with ``-v``)."""
    return action.kind in _SHOWN or bool(action.reason and action.reason != CONFIGURED)


class Renderer(Protocol):
    def render(self, plan: Plan, *, color: bool = False) -> str: ...


def use_color(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def mode_line(plan: Plan) -> str:
    if plan.target == "emulator":
        where = "live" if plan.live else "offline"
        data = (plan.emulator_data or ".ld-reconciler").rstrip("/")
        return f"Planned {where} against the bundled emulator (its data is in {data}/)."
    if plan.live:
        return f"Planned live against {plan.target}."
    return (
        f"Planned offline from the ledger for {plan.target}: flags created outside "
        "ld-reconciler, or since the ledger was last committed, are not seen."
    )


def _value(value: Any) -> str:
    if is_absent(value):
        return "(absent)"  # unquoted: not the string a file could declare
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def _describe(action: Action) -> str:
    clone = f" (clone of {action.clone})" if action.clone else ""
    return f"{action.resource} {action.address}{clone}"


def _change(d: FieldDiff) -> str:
    """One field difference, both sides: ``path: before -> after``."""
    return f"{d.path}: {_value(d.before)} -> {_value(d.after)}"


def attribute_lines(shown: list[Attribute], indent: str) -> list[str]:
    """``name = value (note)`` per attribute, the ``=`` aligned as Terraform aligns them."""
    width = max([len(a[0]) for a in shown], default=0)
    return [
        f"{indent}{name.ljust(width)} = {value} ({note})"
        if note
        else f"{indent}{name.ljust(width)} = {value}"
        for name, value, note in shown
    ]


class TextRenderer:
    def render(self, plan: Plan, *, color: bool = False) -> str:
        def style(text: str, fg: str | None, bold: bool = False) -> str:
            return click.style(text, fg=fg, bold=bold) if color and fg else text

        lines = [mode_line(plan), ""]
        shown = [a for a in plan.actions if _shown(a)]
        for action in sorted(shown, key=lambda a: (_ORDER.index(a.kind), a.sort_key)):
            lines += _text_action(action, color)
        if shown:
            lines.append("")
        lines.append(style(plan.summary, "green" if plan.has_changes else None, bold=True))
        note = configuration_note(plan)
        if note:
            lines.append(note + "; ld-reconciler -v plan lists them.")
        return "\n".join(lines) + "\n"


# The start of each kind's line in a text plan: ``  + create   ``.
_HEAD = {kind: f"  {symbol} {kind.value:<8} " for kind, (symbol, _) in _SYMBOL.items()}


def _text_action(action: Action, color: bool = False) -> list[str]:
    kind = action.kind
    head = _HEAD[kind] + _describe(action)
    if action.source:
        head += f"  ({action.source})"
    fg = _SYMBOL[kind][1]
    lines = [click.style(head, fg=fg) if color and fg else head]
    if action.reason:
        lines.append(f"      {action.reason}")
    if action.clone and kind is Kind.CREATE:
        lines.append(f"      {COPIES} {action.clone}")
    for d in action.diff:
        lines.append(f"      {_change(d)}")
    if action.body is not None:
        lines += attribute_lines(attributes(action), "      ")
    return lines


def configuration_changes(plan: Plan) -> tuple[Action, ...]:
    """The created flags that differ from what they now resolve to only because the
    configuration's defaults or templates changed since (``compare.CONFIGURED``)."""
    return tuple(a for a in plan.of(Kind.UNCHANGED) if a.reason == CONFIGURED)


def configuration_note(plan: Plan) -> str:
    """One line for them all, or nothing when there are none."""
    count = len(configuration_changes(plan))
    if not count:
        return ""
    flags = "1 created flag differs" if count == 1 else f"{count} created flags differ"
    return f"{flags} from the current configuration (defaults or templates)"


def configuration_listing(plan: Plan) -> str:
    """Each of them, with how it differs (what ``-v`` adds to the text plan)."""
    lines = [line for a in configuration_changes(plan) for line in _text_action(a)]
    return "\n".join(["", *lines]) + "\n" if lines else ""


class JsonRenderer:
    def render(self, plan: Plan, *, color: bool = False) -> str:
        return plan_json(plan)


class MarkdownRenderer:
    def render(self, plan: Plan, *, color: bool = False) -> str:
        out = [MARKER, "### ld-reconciler plan", "", f"**{plan.summary}**", ""]
        note = configuration_note(plan)
        if note:
            out += [f"{note}: created once, they are not updated.", ""]
        out.append(f"_{mode_line(plan)}_")
        for kind in _ORDER:
            actions = tuple(a for a in plan.of(kind) if _shown(a))
            if not actions:
                continue
            symbol = _SYMBOL[kind][0]
            out += ["", f"<details><summary>{len(actions)} {kind.value}</summary>", ""]
            out += ["| | resource | address | source | note |", "|---|---|---|---|---|"]
            for a in actions:
                notes = [html.escape(a.reason, quote=False)] if a.reason else []
                if a.clone and kind is Kind.CREATE:
                    notes.append(f"{COPIES} {_code(a.clone)}")
                if a.diff:
                    notes.append("; ".join(_markdown_change(d) for d in a.diff))
                source = _code(a.source) if a.source else ""
                address = _code(a.address) + (f" (clone of {_code(a.clone)})" if a.clone else "")
                cells = (symbol, a.resource, address, source, "<br>".join(notes))
                out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
            for a in actions:
                if a.body is not None:
                    out += _markdown_attributes(a)
            out += ["", "</details>"]
        out += policies.markdown_section(plan.findings)
        return "\n".join(out) + "\n"


def _markdown_attributes(action: Action) -> list[str]:
    """What a create will send: its attribute lines as a code block, under its kind's
    collapsed ``<details>`` (one per kind, so a large plan stays one click from its summary)."""
    text = "\n".join(attribute_lines(attributes(action), ""))
    fence = "`" * max(3, max(map(len, re.findall("`+", text)), default=0) + 1)
    return [
        "",
        f"{_code(_SYMBOL[action.kind][0] + ' ' + _describe(action))} will be created with:",
        "",
        fence,
        text,
        fence,
    ]


def _markdown_change(d: FieldDiff) -> str:
    return f"{_code(d.path)}: {_code(_value(d.before))} → {_code(_value(d.after))}"


def _code(text: str) -> str:
    """``text`` as a Markdown code span, fenced by more backticks than any run it holds."""
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text[:1] in ("`", " ", "") or text[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(text: str) -> str:
    """A table cell: a pipe would end it (even in a code span), a newline the row."""
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


class GithubRenderer:
    _LEVEL: ClassVar[dict[Kind, str]] = {
        Kind.BLOCKED: "error",
        Kind.DRIFT: "warning",
        Kind.CREATE: "notice",
    }

    def render(self, plan: Plan, *, color: bool = False) -> str:
        lines = []
        for action in plan.actions:
            level = self._LEVEL.get(action.kind)
            if level is None or not action.source:
                continue
            file, line, col = action.source.rsplit(":", 2)
            message = f"{action.kind.value} {_describe(action)}"
            if action.reason:
                message += f": {action.reason}"
            message += "".join(f"\n{_change(d)}" for d in action.diff)  # both sides of each
            finding = Finding(Location(file, int(line), int(col)), message)
            lines.append(github_annotation(level, finding, title="ld-reconciler plan"))
        lines += policies.github_annotations(plan.findings)
        summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary_path:
            try:
                with open(summary_path, "a", encoding="utf-8") as f:
                    f.write(MarkdownRenderer().render(plan))
            except OSError as e:
                raise ConfigError(
                    f"GITHUB_STEP_SUMMARY={summary_path}: cannot append the plan to the job "
                    f"summary ({e.strerror or e}); unset it or point it at a writable file"
                ) from e
        lines.append(plan.summary)
        return "\n".join(lines) + "\n"


RENDERERS: dict[str, Renderer] = {
    "text": TextRenderer(),
    "json": JsonRenderer(),
    "markdown": MarkdownRenderer(),
    "github": GithubRenderer(),
}
