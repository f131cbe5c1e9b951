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
from reconciler.plan.clones import COPIES
from reconciler.plan.compare import FieldDiff, is_absent
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
        return f"Planned {where} against the bundled emulator (its data is in .ld-reconciler/)."
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


class TextRenderer:
    def render(self, plan: Plan, *, color: bool = False) -> str:
        def style(text: str, fg: str | None, bold: bool = False) -> str:
            return click.style(text, fg=fg, bold=bold) if color and fg else text

        lines = [mode_line(plan), ""]
        shown = [a for a in plan.actions if a.kind in _SHOWN]
        for action in sorted(shown, key=lambda a: (_SHOWN.index(a.kind), a.sort_key)):
            symbol, fg = _SYMBOL[action.kind]
            head = f"  {symbol} {action.kind.value:<8} {_describe(action)}"
            if action.source:
                head += f"  ({action.source})"
            lines.append(style(head, fg))
            if action.reason:
                lines.append(f"      {action.reason}")
            if action.clone and action.kind is Kind.CREATE:
                lines.append(f"      {COPIES} {action.clone}")
            for d in action.diff:
                lines.append(f"      {d.path}: {_value(d.before)} -> {_value(d.after)}")
        if shown:
            lines.append("")
        lines.append(style(plan.summary, "green" if plan.has_changes else None, bold=True))
        return "\n".join(lines) + "\n"


class JsonRenderer:
    def render(self, plan: Plan, *, color: bool = False) -> str:
        return plan_json(plan)


class MarkdownRenderer:
    def render(self, plan: Plan, *, color: bool = False) -> str:
        out = [MARKER, "### ld-reconciler plan", "", f"**{plan.summary}**", ""]
        out.append(f"_{mode_line(plan)}_")
        for kind in _SHOWN:
            actions = plan.of(kind)
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
            out += ["", "</details>"]
        return "\n".join(out) + "\n"


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
            finding = Finding(Location(file, int(line), int(col)), message)
            lines.append(github_annotation(level, finding, title="ld-reconciler plan"))
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
