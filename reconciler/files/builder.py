"""Plain data from a composed YAML node graph, with the position of every value.

Built here rather than by PyYAML's constructor, so that it can record where every value
and key came from (in a ``SourceMap``), refuse what PyYAML would silently accept
(duplicate keys, Python tags), bound alias expansion and depth, and read scalars as
YAML 1.2 and editors do. Every refusal is a ``Problem`` at the offending node.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.files.composer import implicit_tag
from reconciler.files.nesting import MAX_DEPTH, TOO_DEEP
from reconciler.files.positions import Pos, SourceMap
from reconciler.files.problems import Problem, mark

MAX_ALIAS_NODES = 100_000

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
_TIMESTAMP, _MERGE, _SEQ, _MAP = (_TAG + t for t in ("timestamp", "merge", "seq", "map"))

# The YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
_NUMBER_START = frozenset("0123456789+-.")
_CORE_INT = re.compile(r"[-+]?[0-9]+")
_CORE_OCT = re.compile(r"0o[0-7]+")
_CORE_HEX = re.compile(r"0x[0-9a-fA-F]+")
_CORE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_CORE_NOT_FINITE = re.compile(r"[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)")


class Builder:
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
                raise Problem(
                    *mark(node),
                    f"aliases expand to more than {MAX_ALIAS_NODES:,} values; "
                    "this looks like an alias bomb",
                )
        if depth > MAX_DEPTH:
            raise Problem(*mark(node), TOO_DEEP)
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                raise Problem(*mark(node), _tag_message(node.tag))
            items: list[Any] = []
            positions: list[Pos] = []
            for child in node.value:
                items.append(self.build(child, depth + 1, aliased))
                start = child.start_mark
                positions.append((start.line + 1, start.column + 1, 0, 0))
            self.source.add(items, positions)
            return items
        if isinstance(node, MappingNode):
            return self.mapping(node, depth, aliased)
        raise Problem(*mark(node), "unsupported YAML node")  # pragma: no cover

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
            and tag == implicit_tag(text)
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
                raise Problem(*mark(node), f"{node.value!r} is not a number JSON can carry")
            return value
        raise Problem(*mark(node), _tag_message(tag))

    def mapping(self, node: MappingNode, depth: int, aliased: bool) -> dict[str, Any]:
        if node.tag != _MAP:
            raise Problem(*mark(node), _tag_message(node.tag))
        result: dict[str, Any] = {}
        positions: dict[Any, Pos] = {}
        merged: list[tuple[dict[str, Any], dict[Any, Pos]]] = []
        seen = self.seen
        # A scalar value met for the first time (most values) is built here, not in build().
        inline = not aliased and depth < MAX_DEPTH
        for key_node, value_node in node.value:
            if type(key_node) is not ScalarNode:
                raise Problem(*mark(key_node), "a mapping key must be a plain scalar")
            tag = key_node.tag
            if tag != _STR:
                if tag == _MERGE:
                    merged.extend(self.merge_sources(value_node, depth, aliased))
                    continue
                if tag not in (_INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP):
                    raise Problem(*mark(key_node), _tag_message(tag))
            key = key_node.value  # keys are text as written: `on:` is "on", not True
            key_mark = key_node.start_mark
            if key in result:  # merged keys are added after this loop
                first = positions[key]
                raise Problem(
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
            value_mark = value_node.start_mark
            line, col = key_mark.line + 1, key_mark.column + 1
            positions[key] = (value_mark.line + 1, value_mark.column + 1, line, col)
        for data, pos in merged:  # explicit keys win over merged ones, earlier merges over later
            for key, value in data.items():
                if key not in result:
                    result[key] = value
                    positions[key] = pos[key]
        self.source.add(result, positions)
        return result

    def merge_sources(
        self, node: Node, depth: int, aliased: bool
    ) -> list[tuple[dict[str, Any], dict[Any, Pos]]]:
        nodes = node.value if isinstance(node, SequenceNode) else [node]
        sources = []
        for n in nodes:
            if not isinstance(n, MappingNode):
                raise Problem(*mark(n), "'<<' merges only mappings")
            data = self.build(n, depth + 1, aliased)
            children = self.source.children(data)
            assert isinstance(children, dict)
            sources.append((data, children))
        return sources


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
        raise Problem(*mark(node), f"{text!r} is not a number JSON can carry")
    return text


def _tag_message(tag: str) -> str:
    shown = "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag
    return f"the YAML tag {shown} is not allowed: flag files hold plain data only"
