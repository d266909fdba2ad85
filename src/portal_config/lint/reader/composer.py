"""The fast reader of an ordinary portal file: libyaml's composer, walked once.

The event builder (loader._Builder) handles a Python call per YAML event; libyaml's
composer (CSafeLoader.get_single_node) builds the whole node tree in C, every node with
its mark, so walking that tree costs far less. The walk gives exactly the Document the
builder gives (data, value and key positions, plain scalars read as non-strings, the
same short strings interned) for the files it accepts, and gives up (None) on anything
else: the builder then reads the file and words every problem as before. It gives up on

* tags (``!``): an explicit tag changes what counts as a plain scalar;
* aliases (``*``), which the builder counts and limits;
* duplicate or non-string keys, any tag beyond the JSON-like core, a number Python
  cannot hold or that is not finite;
* more than MAX_DEPTH levels or MAX_NODES values, an empty file, several documents,
  a top level that is not a mapping, and every syntax error.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from portal_config.lint.load_problems import position_of
from portal_config.lint.loader import (
    MAX_DEPTH,
    MAX_NODES,
    SHARED_LENGTH,
    Document,
    JsonPath,
    PlainScalar,
)
from portal_config.problems import Position

_CORE = "tag:yaml.org,2002:"
_STR = _CORE + "str"
_MAP = _CORE + "map"
_SEQ = _CORE + "seq"
_CONSTRUCT = {
    _CORE + name: SafeConstructor.yaml_constructors[_CORE + name]
    for name in ("int", "float", "bool", "null")
}
_constructor = SafeConstructor()
_Scalar, _Mapping, _Sequence = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode


_RESOLVED: dict[tuple[type, str, tuple[bool, bool]], str] = {}
_RESOLVED_MAX = 4096


def _remembering(base: type) -> type:
    """``base`` with its resolver's answers remembered: the composer asks it in Python for
    every scalar, and the same keys and values (true, false, work types) recur in every
    file. Safe: the safe loader has no path-dependent resolvers, so the tag depends on
    the scalar alone."""

    class Loader(base):  # type: ignore[misc]
        def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
            key = (kind, value, implicit)
            tag = _RESOLVED.get(key)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(_RESOLVED) < _RESOLVED_MAX and len(value or "") <= SHARED_LENGTH:
                    _RESOLVED[key] = tag
            return tag

    return Loader


_Loader = _remembering(yaml.CSafeLoader) if hasattr(yaml, "CSafeLoader") else None


class _GiveUp(Exception):
    """The builder reads this file: only it words what is unusual about it."""


def compose(text: str, shown: str) -> Document | None:
    """The file's Document, as the event builder would make it; None to let it decide."""
    if "!" in text or "*" in text or _Loader is None:
        return None
    parser = _Loader(text)
    try:
        root = parser.get_single_node()
    except yaml.YAMLError:
        return None
    finally:
        parser.dispose()
    if not isinstance(root, _Mapping):
        return None
    walk = _Walk()
    try:
        data = walk.mapping(root, (), 1)
    except _GiveUp:
        return None
    values, keys = _Positions(root, keys=False), _Positions(root, keys=True)
    return Document(shown, data, values, keys, walk.plain)


class _Walk:
    """The data, checked as the builder checks it; paths are made only where needed (a
    container's, a non-string scalar's), positions not at all (see `_Positions`)."""

    def __init__(self) -> None:
        self.plain: dict[JsonPath, PlainScalar] = {}
        self.nodes = 1

    def value(self, node: Any, path: JsonPath, depth: int) -> Any:
        kind = type(node)
        if kind is _Scalar:
            return self.scalar(node, path)
        if depth >= MAX_DEPTH:
            raise _GiveUp  # the builder says how deep is too deep
        if kind is _Mapping and node.tag == _MAP:
            return self.mapping(node, path, depth + 1)
        if kind is _Sequence and node.tag == _SEQ:
            return self.sequence(node, path, depth + 1)
        raise _GiveUp

    def count(self, nodes: int) -> None:
        self.nodes += nodes
        if self.nodes >= MAX_NODES:
            raise _GiveUp  # the builder says how many values are too many

    def mapping(self, node: Any, path: JsonPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        pairs = node.value
        self.count(2 * len(pairs))
        for key_node, value_node in pairs:
            if type(key_node) is not _Scalar or key_node.tag != _STR or key_node.value in result:
                raise _GiveUp  # a non-string or duplicate key: the builder words it
            key = key_node.value
            if len(key) <= SHARED_LENGTH:
                key = sys.intern(key)
            if type(value_node) is _Scalar and value_node.tag == _STR:
                result[key] = value_node.value  # the common case, kept short
            else:
                result[key] = self.value(value_node, path + (key,), depth)
        return result

    def sequence(self, node: Any, path: JsonPath, depth: int) -> list[Any]:
        items = node.value
        self.count(len(items))
        result = []
        for index, item in enumerate(items):
            if type(item) is _Scalar and item.tag == _STR:
                text = item.value  # keys and list items repeat in every file: shared
                result.append(sys.intern(text) if len(text) <= SHARED_LENGTH else text)
            else:
                result.append(self.value(item, path + (index,), depth))
        return result

    def scalar(self, node: Any, path: JsonPath) -> Any:
        tag = node.tag
        if tag == _STR:
            return node.value
        construct = _CONSTRUCT.get(tag)
        if construct is None or node.style:
            raise _GiveUp  # a timestamp, a merge key, ...; a quoted scalar is always a str
        try:
            value = construct(_constructor, node)
        except (ValueError, yaml.YAMLError) as exc:
            raise _GiveUp from exc
        if isinstance(value, float) and not math.isfinite(value):
            raise _GiveUp
        self.plain[path] = PlainScalar(node.value, tag, value)
        return value


class _Positions(Mapping[JsonPath, Position]):
    """A composed document's value (or key) positions, read off its node tree when first
    asked: a valid file's are rarely asked (lint keeps only its ``portal:`` line's)."""

    __slots__ = ("_node", "_keys", "_table")

    def __init__(self, root: Any, *, keys: bool) -> None:
        self._node: Any = root
        self._keys = keys
        self._table: dict[JsonPath, Position] | None = None

    def _built(self) -> dict[JsonPath, Position]:
        if self._table is None:
            values: dict[JsonPath, Position] = {}
            keys: dict[JsonPath, Position] = {}
            _mark(self._node, (), values, keys)
            self._table = keys if self._keys else values
            self._node = None  # the tree can go once both tables are read
        return self._table

    def __getitem__(self, path: JsonPath) -> Position:
        if self._table is not None:
            return self._table[path]
        # One position (lint keeps a valid file's ``portal:`` one): found by following
        # the path down the tree, not by marking every node.
        node = _find(self._node, path, self._keys)
        if node is None:
            raise KeyError(path)
        return position_of(node.start_mark)

    def __iter__(self) -> Iterator[JsonPath]:
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._built())


def _find(root: Any, path: JsonPath, key: bool) -> Any:
    """The node at ``path`` (with ``key``: the key node of its last part), or None."""
    node, found = root, None
    for part in path:
        found = None
        if type(node) is _Mapping:
            found = next(((k, v) for k, v in node.value if k.value == part), None)
        elif type(node) is _Sequence and type(part) is int and 0 <= part < len(node.value):
            found = (None, node.value[part])
        if found is None:
            return None
        node = found[1]
    if key:
        return found[0] if found is not None else None
    return node


def _mark(
    node: Any, path: JsonPath, values: dict[JsonPath, Position], keys: dict[JsonPath, Position]
) -> None:
    values[path] = position_of(node.start_mark)
    if type(node) is _Mapping:
        for key_node, value_node in node.value:
            child = path + (key_node.value,)
            keys[child] = position_of(key_node.start_mark)
            _mark(value_node, child, values, keys)
    elif type(node) is _Sequence:
        for index, item in enumerate(node.value):
            _mark(item, path + (index,), values, keys)
