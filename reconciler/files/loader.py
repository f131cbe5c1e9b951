"""Loading flag files: YAML text to plain data, with the source position of every node.

The C parser (``CSafeLoader``, pure Python where libyaml is missing) composes the node
graph; this module then builds plain Python data from it itself, so that it can record
where every value and key came from, refuse what PyYAML would silently accept
(duplicate keys, Python tags) and bound what could exhaust memory (alias bombs, deep
nesting, oversized files). Every problem becomes a located ``Finding``.
"""

from __future__ import annotations

import bisect
import codecs
import contextlib
import functools
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.errors import InputError
from reconciler.model import Finding, Location

try:  # the C loader is many times faster; PyYAML wheels ship it
    from yaml import CSafeLoader as _YamlLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _YamlLoader  # type: ignore[assignment]


@functools.lru_cache(maxsize=4096)
def _resolved_tag(kind: type[Node], value: Any, implicit: Any) -> str:
    tag: str = _RESOLVER.resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
    return tag


class _Composer(_YamlLoader):
    """The loader, with the callbacks its composer makes for every node made cheap.

    For each node the composer calls back into Python to resolve its tag and to descend
    into and ascend from it for path resolvers. A tag depends only on the node's kind and
    text (there are no path resolvers), and in a flag file the same few texts (``key``,
    ``name``, ``value``, ``true``) recur thousands of times: tags come from a cache. The
    path hooks do nothing here, so they are builtins that accept the same arguments and
    cost no Python frame. Composing 10,000 flags: about 15% faster.
    """

    resolve = staticmethod(_resolved_tag)
    descend_resolver = staticmethod(slice)  # type: ignore[assignment]  # -> a discarded slice
    ascend_resolver = staticmethod(tuple)  # type: ignore[assignment]  # -> a discarded ()


MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIAS_NODES = 100_000
# Composing costs about 500 bytes per value; a 10 MiB file of ordinary flags holds under a
# million values, but one of "0," five million (2.5 GB before a single check ran).
MAX_VALUES = 1_000_000
YAML_SUFFIXES = (".yaml", ".yml")
SHAPE = "a flag file is a mapping with 'project' and 'flags'"
"""What the top level must be; the end of the finding for a file that is not that."""

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
_TIMESTAMP, _MERGE, _SEQ, _MAP = (_TAG + t for t in ("timestamp", "merge", "seq", "map"))

# The YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
_PLAIN = (True, False)  # "implicit" as PyYAML's resolver takes it: a plain scalar
_NUMBER_START = frozenset("0123456789+-.")
_CORE_INT = re.compile(r"[-+]?[0-9]+")
_CORE_OCT = re.compile(r"0o[0-7]+")
_CORE_HEX = re.compile(r"0x[0-9a-fA-F]+")
_CORE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_CORE_NOT_FINITE = re.compile(r"[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)")

_OPENING = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSING = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_VALUE = (yaml.ScalarEvent, yaml.AliasEvent, *_OPENING)

# Per container (by id), per child key or index: (value line, value col, key line, key col).
_Pos = tuple[int, int, int, int]


class SourceMap:
    """Where each value (and each mapping key) of one document came from."""

    def __init__(self, file: str) -> None:
        self.file = file
        self._children: dict[int, dict[Any, _Pos] | list[_Pos]] = {}
        self._keep: list[Any] = []  # keeps containers alive so their ids stay unique
        self.root = Location(file)
        self.lines: _Lines | None = None  # set when libyaml's line numbers need correcting

    def _add(self, container: Any, children: dict[Any, _Pos] | list[_Pos]) -> None:
        self._children[id(container)] = children
        self._keep.append(container)

    def locate(self, data: Any, path: Sequence[Any], *, key: bool = False) -> Location:
        """The location of the value at ``path`` (or of its mapping key when ``key``).

        Walks as far down ``path`` as the data goes; a path into something that is
        not there points at the deepest container that is.
        """
        line, col = self.root.line, self.root.col
        current = data
        pos: _Pos | None = None
        children_of = self._children
        for step in path:
            children = children_of.get(id(current))
            if children is None:
                pos = None
                break
            try:
                pos = children[step]
                current = current[step]
            except (KeyError, IndexError, TypeError):
                pos = None
                break
            line, col = pos[0], pos[1]
        if key and pos is not None and pos[2]:
            line, col = pos[2], pos[3]
        if self.lines is not None:
            line, col = self.lines.position(line, col)
        return Location(self.file, line, col)

    def locate_items(self, data: Any, path: Sequence[Any]) -> list[Location]:
        """The location of each item of the list at ``path``, found in one walk."""
        items = data
        for step in path:
            items = items[step]
        children = self._children.get(id(items))
        if not isinstance(children, list) or len(children) != len(items):
            return [self.locate(data, [*path, i]) for i in range(len(items))]
        if self.lines is not None:
            return [Location(self.file, *self.lines.position(p[0], p[1])) for p in children]
        return [Location(self.file, p[0], p[1]) for p in children]


class _Lines:
    """libyaml's positions turned into those of editors, git and GitHub's annotations.

    libyaml (YAML 1.1) also ends a line at NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR
    (U+0085, U+2028, U+2029); YAML 1.2, editors and git do not. After one of them in a
    description, every line number libyaml gives would be one too many.
    """

    UNUSUAL = ("\x85", "\u2028", "\u2029")

    def __init__(self, text: str) -> None:
        yaml_breaks = re.finditer("\r\n|[\r\n\x85\u2028\u2029]", text)
        self._yaml_starts = [0, *(m.end() for m in yaml_breaks)]
        self._starts = [0, *(m.end() for m in re.finditer("\r\n|[\r\n]", text))]

    @classmethod
    def needed(cls, text: str) -> _Lines | None:
        return cls(text) if any(c in text for c in cls.UNUSUAL) else None

    def position(self, line: int, col: int) -> tuple[int, int]:
        """(line, column) for libyaml's (line, column), all counted from 1."""
        if not 0 < line <= len(self._yaml_starts):
            return line, col
        index = self._yaml_starts[line - 1] + col - 1
        real = bisect.bisect_right(self._starts, index)
        return real, index - self._starts[real - 1] + 1


@dataclass(frozen=True)
class Document:
    """One loaded flag file."""

    file: str
    data: Any
    source: SourceMap

    def locate(self, path: Sequence[Any], *, key: bool = False) -> Location:
        return self.source.locate(self.data, path, key=key)

    def locate_items(self, path: Sequence[Any]) -> list[Location]:
        return self.source.locate_items(self.data, path)


class _Problem(Exception):
    def __init__(self, line: int, col: int, message: str) -> None:
        super().__init__(message)
        self.line, self.col, self.message = line, col, message


class _Builder:
    """Builds plain data from a composed node graph, recording positions."""

    _constructor = yaml.SafeLoader("")  # only its scalar converters are used

    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.seen: set[int] = set()
        self.alias_budget = MAX_ALIAS_NODES

    def build(self, node: Node, depth: int = 0, aliased: bool = False) -> Any:
        # mapping() inlines the common case of this method, a scalar met for the first time.
        if id(node) in self.seen:
            aliased = True  # a node met again is an alias being expanded
        else:
            self.seen.add(id(node))
        if aliased:
            self.alias_budget -= 1
            if self.alias_budget < 0:
                raise _Problem(
                    *_mark(node),
                    f"aliases expand to more than {MAX_ALIAS_NODES:,} values; "
                    "this looks like an alias bomb",
                )
        if depth > MAX_DEPTH:
            raise _Problem(*_mark(node), f"nesting is deeper than {MAX_DEPTH} levels")
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                raise _Problem(*_mark(node), _tag_message(node.tag))
            items: list[Any] = []
            positions: list[_Pos] = []
            for child in node.value:
                items.append(self.build(child, depth + 1, aliased))
                mark = child.start_mark
                positions.append((mark.line + 1, mark.column + 1, 0, 0))
            self.source._add(items, positions)
            return items
        if isinstance(node, MappingNode):
            return self.mapping(node, depth, aliased)
        raise _Problem(*_mark(node), "unsupported YAML node")  # pragma: no cover

    def scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        text = node.value
        if tag == _STR and (node.style or text[:1] not in _NUMBER_START):
            return text  # most values: text that cannot be a number
        # Numbers as YAML 1.2 reads them (as editors do), not by PyYAML's YAML 1.1 rules,
        # for a plain scalar (style '' from the C composer, None from Python's) whose tag
        # was resolved, not written. Only text that can be a number needs a look.
        if (
            not node.style
            and (tag in (_INT, _FLOAT) or (tag == _STR and text[:1] in _NUMBER_START))
            and tag == _implicit_tag(text)
        ):
            return _core_value(node)
        if tag in (_STR, _TIMESTAMP):  # dates stay text: keys and names are strings
            return node.value
        c = self._constructor
        if tag == _INT:
            return c.construct_yaml_int(node)
        if tag == _BOOL:
            # YAML 1.2 booleans, as editors read them: `name: On` is the text "On".
            if node.value.lower() in ("true", "false"):
                return node.value.lower() == "true"
            return node.value
        if tag == _NULL:
            return None
        if tag == _FLOAT:
            value = c.construct_yaml_float(node)
            if value != value or value in (float("inf"), float("-inf")):
                raise _Problem(*_mark(node), f"{node.value!r} is not a number JSON can carry")
            return value
        raise _Problem(*_mark(node), _tag_message(tag))

    def mapping(self, node: MappingNode, depth: int, aliased: bool) -> dict[str, Any]:
        if node.tag != _MAP:
            raise _Problem(*_mark(node), _tag_message(node.tag))
        result: dict[str, Any] = {}
        positions: dict[Any, _Pos] = {}
        merged: list[tuple[dict[str, Any], dict[Any, _Pos]]] = []
        seen = self.seen
        # A scalar value met for the first time (most values) is built here, not in build().
        inline = not aliased and depth < MAX_DEPTH
        for key_node, value_node in node.value:
            if type(key_node) is not ScalarNode:
                raise _Problem(*_mark(key_node), "a mapping key must be a plain scalar")
            tag = key_node.tag
            if tag != _STR:
                if tag == _MERGE:
                    merged.extend(self.merge_sources(value_node, depth, aliased))
                    continue
                if tag not in (_INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP):
                    raise _Problem(*_mark(key_node), _tag_message(tag))
            key = key_node.value  # keys are text as written: `on:` is "on", not True
            key_mark = key_node.start_mark
            if key in result:  # merged keys are added after this loop
                first = positions[key]
                raise _Problem(
                    key_mark.line + 1,
                    key_mark.column + 1,
                    f"duplicate key {key!r} "
                    f"(first defined at {self.source.file}:{first[2]}:{first[3]})",
                )
            if inline and type(value_node) is ScalarNode and id(value_node) not in seen:
                seen.add(id(value_node))
                result[key] = self.scalar(value_node)
            else:
                result[key] = self.build(value_node, depth + 1, aliased)
            mark = value_node.start_mark
            line, col = key_mark.line + 1, key_mark.column + 1
            positions[key] = (mark.line + 1, mark.column + 1, line, col)
        for data, pos in merged:  # explicit keys win over merged ones, earlier merges over later
            for key, value in data.items():
                if key not in result:
                    result[key] = value
                    positions[key] = pos[key]
        self.source._add(result, positions)
        return result

    def merge_sources(
        self, node: Node, depth: int, aliased: bool
    ) -> list[tuple[dict[str, Any], dict[Any, _Pos]]]:
        nodes = node.value if isinstance(node, SequenceNode) else [node]
        sources = []
        for n in nodes:
            if not isinstance(n, MappingNode):
                raise _Problem(*_mark(n), "'<<' merges only mappings")
            data = self.build(n, depth + 1, aliased)
            children = self.source._children[id(data)]
            assert isinstance(children, dict)
            sources.append((data, children))
        return sources


_RESOLVER = yaml.resolver.Resolver()


def _implicit_tag(text: str) -> str:
    """The tag PyYAML's YAML 1.1 resolution gives a plain scalar of this text."""
    tag: str = _RESOLVER.resolve(ScalarNode, text, _PLAIN)  # type: ignore[no-untyped-call]
    return tag


def _core_value(node: ScalarNode) -> Any:
    """A plain scalar that may be a number, read by the YAML 1.2 core schema.

    PyYAML resolves by YAML 1.1, where ``010`` is 8, ``1:20`` is 80, ``1_000`` is 1000
    and ``1e3`` is text. Editors (and JSON) read YAML 1.2: ``010`` is 10, ``1:20`` and
    ``1_000`` are text, ``1e3`` is 1000.
    """
    text = node.value
    if _CORE_INT.fullmatch(text):
        return int(text)
    if _CORE_OCT.fullmatch(text):
        return int(text[2:], 8)
    if _CORE_HEX.fullmatch(text):
        return int(text[2:], 16)
    if _CORE_FLOAT.fullmatch(text):
        return float(text)
    if _CORE_NOT_FINITE.fullmatch(text):
        raise _Problem(*_mark(node), f"{text!r} is not a number JSON can carry")
    return text


def _mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _tag_message(tag: str) -> str:
    shown = "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag
    return f"the YAML tag {shown} is not allowed: flag files hold plain data only"


def _decode(raw: bytes) -> str:
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # What Windows PowerShell's '>' writes; without this it reads as "binary".
        raise _Problem(1, 1, "the file is UTF-16 text; save it as UTF-8")
    # Drop a byte-order mark first, so that positions count from the text after it.
    raw = raw.removeprefix(codecs.BOM_UTF8)
    if b"\x00" in raw:
        offset = raw.index(b"\x00")
        raise _Problem(*_line_col(raw, offset), "this is a binary file (it contains NUL bytes)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _Problem(*_line_col(raw, e.start), "the file is not valid UTF-8") from None


def _line_col(raw: bytes, offset: int) -> tuple[int, int]:
    before = raw[:offset]
    line = before.count(b"\n") + 1
    line_start = before.rfind(b"\n") + 1
    return line, len(before[line_start:].decode("utf-8", "replace")) + 1


def _error_mark(e: yaml.YAMLError) -> Any:
    return getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)


def _line_col_of(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _yaml_problem(e: yaml.YAMLError, text: str, lines: _Lines | None = None) -> _Problem:
    mark = _error_mark(e)
    line, col = _line_col_of(mark)
    problem = getattr(e, "problem", None) or str(e)
    context = getattr(e, "context", None)
    if mark is not None and _char_at(text, mark.index) == "\t":
        return _Problem(line, col, "a tab character cannot indent YAML; use spaces")
    if context and "expected a single document" in context:
        return _Problem(line, col, "a second YAML document starts here; keep one document per file")
    if problem == "found undefined alias" and mark is not None:
        name = re.match(r"\*([^\s,\[\]{}]*)", text[mark.index :])
        if name:
            return _Problem(
                line,
                col,
                f"invalid YAML: no anchor &{name[1]} is defined before the alias *{name[1]}",
            )
    message = f"invalid YAML: {problem}"
    if context:
        # Where the unfinished construct began is often the line to fix (an unclosed '[').
        start = getattr(e, "context_mark", None)
        if start is not None and (start.line + 1, start.column + 1) != (line, col):
            at = (start.line + 1, start.column + 1)
            at = lines.position(*at) if lines is not None else at
            context += f" started at {at[0]}:{at[1]}"
        message += f" ({context})"
    return _Problem(line, col, message)


def _char_at(text: str, index: int) -> str:
    return text[index] if 0 <= index < len(text) else ""


# Depth the C composer handles without trouble; the builder then enforces MAX_DEPTH.
_SAFE_COMPOSE_DEPTH = 5_000


def _may_nest_deeply(text: str) -> bool:
    """Whether ``text`` could nest past what the C composer survives.

    Each level of nesting needs a flow bracket or at least one more column on its
    line, so the number of brackets plus the longest line bounds the depth. Ordinary
    files fall far below the bound and skip the event scan, which costs a full parse.
    """
    brackets = text.count("[") + text.count("{")
    if brackets >= _SAFE_COMPOSE_DEPTH:
        return True
    longest = max((len(line) for line in text.splitlines()), default=0)
    return brackets + longest >= _SAFE_COMPOSE_DEPTH


def _check_nesting(
    text: str, loader_class: type[_YamlLoader] | type[yaml.SafeLoader] = _YamlLoader
) -> None:
    """Refuse deep nesting and too many values before composing.

    The C composer recurses once per level and overflows the C stack (a segfault, not
    an exception) near 100,000 levels, and it holds every value as a node. The parser's
    event stream is iterative and its events are dropped as they come, so counting
    depth and values over it is safe.
    """
    loader = loader_class(text)
    depth = 0
    values = 0
    try:
        while (event := loader.get_event()) is not None:
            if isinstance(event, _CLOSING):
                depth -= 1
                continue
            if isinstance(event, _VALUE):
                values += 1
                if values > MAX_VALUES:
                    raise _Problem(
                        *_event_mark(event),
                        f"the file holds more than {MAX_VALUES:,} values; "
                        "split it into several flag files",
                    )
            if isinstance(event, _OPENING):
                depth += 1
                if depth > MAX_DEPTH + 1:  # + 1: the top-level mapping is level 0
                    raise _Problem(
                        *_event_mark(event), f"nesting is deeper than {MAX_DEPTH} levels"
                    )
    finally:
        loader.dispose()


_LIBYAML_DEPTH_LIMIT = "exceeded maximum nesting depth"
_PURE_RESCAN_LIMIT = 1 << 18  # characters: about half a second of the pure-Python parser


def _event_mark(event: yaml.Event) -> tuple[int, int]:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark else (1, 1)


def load_text(text: str, file: str) -> Document:
    """Load one flag file's text; raises ``_Problem`` for anything unusable."""
    lines = _Lines.needed(text)
    try:
        return _load_text(text, file, lines)
    except _Problem as p:
        if lines is not None:
            p.line, p.col = lines.position(p.line, p.col)
        raise


def _load_text(text: str, file: str, lines: _Lines | None) -> Document:
    source = SourceMap(file)
    source.lines = lines
    loader = _Composer(text)
    try:
        if _may_nest_deeply(text) or len(text) > MAX_VALUES:  # a value takes a character
            _check_nesting(text)
        node = loader.get_single_node()
    except yaml.YAMLError as e:
        if _LIBYAML_DEPTH_LIMIT in str(getattr(e, "problem", "")):
            # libyaml 0.2.6 (PyYAML 6.0.4 wheels) stops at 1,000 levels, and its scanner
            # looks that far ahead before the first event, so the scan above never sees
            # level 65. The pure-Python parser has no such limit: it finds the same
            # place, whichever libyaml the wheel carries. It is some 20 times slower, so a
            # large file is told at libyaml's mark instead (the same line, another column).
            if len(text) <= _PURE_RESCAN_LIMIT:
                with contextlib.suppress(yaml.YAMLError):  # then the message below stands
                    _check_nesting(text, yaml.SafeLoader)
            line, col = _line_col_of(_error_mark(e))
            raise _Problem(line, col, f"nesting is deeper than {MAX_DEPTH} levels") from None
        raise _yaml_problem(e, text, lines) from None
    except RecursionError:
        raise _Problem(1, 1, f"nesting is deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()
    if node is None:
        what = "holds only comments" if text.strip() else "is empty"
        raise _Problem(
            1, 1, f"the file {what}; {SHAPE}"
        )
    if not isinstance(node, MappingNode):
        kind = "a list" if isinstance(node, SequenceNode) else "a single value"
        raise _Problem(
            *_mark(node),
            f"the top level is {kind}; {SHAPE}",
        )
    line, col = _mark(node)
    source.root = Location(file, line, col)
    data = _Builder(source).build(node)
    return Document(file, data, source)


def load_file(path: Path, display: str | None = None) -> Document | Finding:
    """Load one flag file, or say in one located finding why it cannot be."""
    file = display or path.as_posix()
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):
            # Opening a named pipe would wait for a writer forever.
            return Finding(Location(file), f"{_kind(status.st_mode)}, not a flag file")
        size = status.st_size
        if size > MAX_FILE_BYTES:
            return Finding(
                Location(file),
                f"the file is {size:,} bytes; flag files may be at most {MAX_FILE_BYTES:,} bytes",
            )
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError as e:
        if path.is_symlink():
            return Finding(Location(file), "a broken symbolic link")
        return Finding(Location(file), f"cannot read the file: {e.strerror or e}")
    except OSError as e:
        return Finding(Location(file), f"cannot read the file: {e.strerror or e}")
    try:
        return load_text(_decode(raw), file)
    except _Problem as p:
        return Finding(Location(file, p.line, p.col), p.message)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"


def find_files(paths: Iterable[str]) -> tuple[list[tuple[Path, str]], list[Finding]]:
    """The flag files named by ``paths``: files as given, directories searched recursively.

    Returns (path, display name) pairs in sorted order, and findings for paths that
    cannot be used. Hidden directories are skipped, symbolic links to directories are
    not followed (so a link loop cannot trap the search).
    """
    found: dict[str, Path] = {}
    findings: list[Finding] = []
    for arg in paths:
        p = Path(arg)
        if p.is_dir():
            for root, dirs, files in os.walk(p, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.endswith(YAML_SUFFIXES) and not name.startswith("."):
                        full = Path(root, name)
                        if full.is_dir():
                            continue
                        found.setdefault(full.as_posix(), full)
        elif p.exists() or p.is_symlink():
            if not p.exists():
                findings.append(Finding(Location(arg), "a broken symbolic link"))
            else:
                found.setdefault(p.as_posix(), p)
        else:
            raise InputError(f"{arg}: no such file or directory")
    return [(path, name) for name, path in sorted(found.items())], findings


def load_paths(paths: Sequence[str]) -> tuple[list[Document], list[Finding]]:
    """Load every flag file under ``paths``; problems are returned, not raised."""
    files, findings = find_files(paths)
    if not files and not findings:
        raise InputError(f"no *.yaml or *.yml files found in {', '.join(paths)}")
    documents: list[Document] = []
    for path, display in files:
        result = load_file(path, display)
        if isinstance(result, Document):
            documents.append(result)
        else:
            findings.append(result)
    return documents, findings
