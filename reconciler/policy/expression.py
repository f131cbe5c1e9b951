"""CEL expressions: the one module that talks to the CEL library.

The library is ``common-expression-language`` (Rust, ``cel``): compiled once, a program
runs in microseconds, where the pure-Python ``cel-python`` took milliseconds. It has
no type checker, so what CEL's checker would find at compile time (unknown names, a
result that is not a boolean) is found here: names by scanning the expression, the
result's type by running it once on a sample (see ``catalog.py``). Its errors are
translated into ``CelSyntaxError`` and ``CelEvaluationError`` at this boundary.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.policy import regex, scan

if TYPE_CHECKING:
    from cel import Program


def _load_cel() -> Any:
    """The library's compiled module ``cel.cel``, without the package's ``__init__``.

    ``import cel`` also imports the library's REPL (typer, rich, prompt_toolkit): ten
    times what importing PyYAML costs, paid by every ``validate``. The compiled module
    is all the engine uses; it is registered as ``cel.cel``, so a later ``import cel``
    reuses it instead of initialising the extension twice.
    """
    if "cel.cel" in sys.modules:
        return sys.modules["cel.cel"]
    package = importlib.util.find_spec("cel")
    locations = list(package.submodule_search_locations or []) if package else []
    for folder in locations:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = Path(folder) / f"cel{suffix}"
            if path.is_file():
                loader = importlib.machinery.ExtensionFileLoader("cel.cel", str(path))
                spec = importlib.util.spec_from_file_location("cel.cel", path, loader=loader)
                if spec is not None:
                    module = importlib.util.module_from_spec(spec)
                    sys.modules["cel.cel"] = module
                    loader.exec_module(module)
                    return module
    import cel  # laid out otherwise: the ordinary way

    return cel


_cel = _load_cel()


class CelSyntaxError(Exception):
    """An expression that does not parse; ``line`` and ``column`` are inside it (from 1)."""

    def __init__(self, line: int, column: int, reason: str) -> None:
        super().__init__(reason)
        self.line, self.column, self.reason = line, column, reason


class CelEvaluationError(Exception):
    """An expression that failed on one input (a missing field, a type error, ...)."""


# "ERROR: <input>:1:12: Syntax error: mismatched input ..." (then the line and a caret).
_SYNTAX = re.compile(r"<input>:(\d+):(\d+):\s*(.*)")
_UNDEFINED = re.compile(r"Undefined variable or function: '([^']*)'")


# Programs that call the Python functions of ``regex.py``: ``run`` gives them those.
_WITH_FUNCTIONS: dict[int, Program] = {}


def compile_expression(source: str) -> Program:
    """``source`` compiled; a ``CelSyntaxError`` (located in ``source``) if it does not parse."""
    try:
        program: Program = _cel.compile(source)
    except ValueError as e:
        text = str(e)
        match = _SYNTAX.search(text)
        if match is None:
            raise CelSyntaxError(1, 1, text.splitlines()[0] if text else "invalid") from e
        reason = match.group(3).strip()
        raise CelSyntaxError(int(match.group(1)), int(match.group(2)), reason) from e
    faster = regex.rewrite(source)
    if faster != source:
        program = _cel.compile(faster)
        _WITH_FUNCTIONS[id(program)] = program  # kept alive: the id stays its own
    return program


def run(program: Program, variables: Mapping[str, Any]) -> Any:
    """The value of ``program`` for ``variables``; errors become ``CelEvaluationError``."""
    values = dict(variables)
    if id(program) in _WITH_FUNCTIONS:
        values.update(regex.FUNCTIONS)
    try:
        return program.execute(values)
    except KeyError as e:  # the library's word for a missing map key or field
        raise CelEvaluationError(f"no field {e}") from e
    except Exception as e:  # RuntimeError, TypeError, ValueError, OverflowError ...
        raise CelEvaluationError(_first_sentence(str(e))) from e


def undefined_name(error: CelEvaluationError) -> str | None:
    """The name an error says is not defined, if that is what it says."""
    match = _UNDEFINED.search(str(error))
    return match.group(1) if match else None


def _first_sentence(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else "failed"
    if ". " in first:
        first = first.split(". ", 1)[0]
    return first.rstrip(".")


# Identifiers the language gives meaning to, and the comprehension macros whose first
# argument binds a new variable (``flags.filter(f, f.temporary)``).
_KEYWORDS = frozenset({"true", "false", "null", "in"})
_STRING = scan.QUOTED
_COMMENT = scan.COMMENT
_NAME = re.compile(r"(?<![\w.])([A-Za-z_]\w*)")
BINDER = re.compile(
    r"\.\s*(?:all|exists|exists_one|existsOne|filter|map)\s*\(\s*([A-Za-z_]\w*)\s*,"
)


def free_variables(source: str) -> Iterator[str]:
    """Each variable ``source`` names that it does not bind itself, in order, once.

    A scan, not a parse (the library exposes no syntax tree): strings and comments are
    blanked, then an identifier counts when it is not a member (``.x``), not a function
    call, not a keyword and not bound by a comprehension macro. The expression has
    already compiled, so what is left is well-formed.
    """
    text = _COMMENT.sub(" ", _STRING.sub("''", source))
    bound = set(BINDER.findall(text))
    seen: set[str] = set()
    for match in _NAME.finditer(text):
        name = match.group(1)
        before = text[: match.start()].rstrip()
        after = text[match.end() :].lstrip()
        if before.endswith(".") or after.startswith("("):
            continue  # a field (``flag.key``) or a function (``size(x)``)
        if name in _KEYWORDS or name in bound or name in seen:
            continue
        seen.add(name)
        yield name


def fields_read(source: str, variable: str) -> frozenset[str] | None:
    """The fields of ``variable`` that ``source`` reads (``flag.key``: ``key``), or None
    when it uses the variable otherwise (whole, or by index) and so may read any field.

    Converting a flag into CEL values costs more than most rules: passing only the
    fields the rules read makes each flag cheaper.
    """
    text = _COMMENT.sub(" ", _STRING.sub("''", source))
    fields: set[str] = set()
    for match in re.finditer(rf"(?<![\w.]){re.escape(variable)}\b", text):
        member = _MEMBER.match(text, match.end())
        if member is None:
            return None
        fields.add(member.group(1))
    return frozenset(fields)


_MEMBER = re.compile(r"\s*\.\s*([A-Za-z_]\w*)")
