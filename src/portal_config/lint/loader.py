"""YAML files -> Documents (data + positions), with every load failure as a Problem.

The loader builds Python data straight from PyYAML's *event* stream instead of
calling ``yaml.safe_load``. That gives us, in one iterative pass:

* the 1-based position of every key and value (PyYAML throws marks away);
* duplicate keys as errors (PyYAML silently keeps the last one);
* the original text of plain scalars, so a later type error can explain a
  YAML 1.1 surprise (``NO`` -> false, ``010`` -> 8, ``1:30`` -> 90);
* hard limits on depth, aliases and alias expansion that are checked *while*
  reading, so an alias bomb or a deep nest is refused before anything walks it;
* a whitelist of tags: only the JSON-compatible core types are constructed, so
  no tag can ever build a Python object.

Only the safe loaders are used: libyaml's CSafeLoader when present, else the
pure-Python SafeLoader. Both produce the same event stream for valid input.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from portal_config.file_access import Repository, UnreadableFile, read_bounded
from portal_config.lint.document import (
    CORE,
    TYPE_NAMES,
    Document,
    JsonPath,
    LoadResult,
    PlainScalar,
)
from portal_config.lint.load_problems import (
    byte_position,
    position_of,
    problem,
    reader_problem,
    syntax_problem,
    tag_message,
)
from portal_config.paths import display
from portal_config.problems import Position, Problem
from portal_config.text import clip

# The loader's results: importable from here, where they are made, as from lint.document.
__all__ = ["Document", "JsonPath", "LoadResult", "PlainScalar", "load_bytes", "load_file"]

MAX_BYTES = 256 * 1024
MAX_LINE = 4096
MAX_DEPTH = 32
MAX_ALIASES = 100
MAX_NODES = 10_000
SHARED_LENGTH = 64  # strings up to this long are interned (see _Builder._scalar)

_SCALAR_TAGS = {CORE + t for t in ("str", "int", "float", "bool", "null")}
_STR = CORE + "str"
_SEQUENCE_TAG = CORE + "seq"
_MAPPING_TAG = CORE + "map"
try:  # libyaml is ~10x faster; fall back transparently when it is not compiled in.
    DEFAULT_LOADER: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    DEFAULT_LOADER = yaml.SafeLoader


class _Stop(Exception):
    """Raised inside the builder when reading must stop at once (limits, bad structure)."""


@dataclass
class _Frame:
    container: dict[Any, Any] | list[Any]
    path: JsonPath
    anchor: str | None
    start: Position
    nodes: int = 1
    pending_key: Any = None
    key_position: Position | None = None
    has_key: bool = False
    skip_value: bool = False
    seen_keys: dict[Any, Position] = field(default_factory=dict)


_constructor = SafeConstructor()


def load_file(
    path: Path | str,
    shown: str | None = None,
    loader: type = DEFAULT_LOADER,
    *,
    repository: Repository | None = None,
) -> LoadResult:
    """Read and load one file; any failure (I/O included) becomes a Problem.

    With a ``repository``, links leading out of it are refused (see file_access).
    """
    shown = shown if shown is not None else display(path)
    try:
        data = read_bounded(path, MAX_BYTES, repository)
    except (OSError, UnreadableFile) as exc:
        return LoadResult(shown, None, None, [unreadable(shown, exc)])
    return load_bytes(data, shown, loader)


def unreadable(shown: str, exc: OSError | UnreadableFile) -> Problem:
    """The problem of a file that was not read: at 1:1, as a file-level problem is."""
    if isinstance(exc, UnreadableFile):
        return problem(shown, Position(1, 1), str(exc))
    reason = exc.strerror or exc.__class__.__name__
    return problem(shown, Position(1, 1), f"cannot read file: {reason}")


def load_bytes(data: bytes, display: str, loader: type = DEFAULT_LOADER) -> LoadResult:
    if len(data) > MAX_BYTES:
        message = f"file is larger than {MAX_BYTES} bytes; a portal file is a few hundred bytes"
        return LoadResult(display, None, None, [problem(display, None, message)])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        position = byte_position(data, exc.start)
        byte = data[exc.start : exc.start + 1].hex()
        message = f"file is not valid UTF-8 (byte 0x{byte}); save it as UTF-8"
        return LoadResult(display, None, None, [problem(display, position, message)])
    for number, line in enumerate(text.split("\n"), start=1):
        if len(line) > MAX_LINE:
            message = f"line is longer than {MAX_LINE} characters"
            return LoadResult(
                display, text, None, [problem(display, Position(number, MAX_LINE + 1), message)]
            )
    builder = _Builder(display, text)
    try:
        builder.run(loader)
    except _Stop:
        pass
    except yaml.MarkedYAMLError as exc:
        builder.problems.append(syntax_problem(display, text, exc, MAX_DEPTH))
    except yaml.YAMLError as exc:
        builder.problems.append(reader_problem(display, text, exc))
    if builder.problems:
        return LoadResult(display, text, None, builder.problems)
    document = Document(display, builder.root, builder.values, builder.keys, builder.plain)
    return LoadResult(display, text, document, [])


class _Builder:
    """Turns a YAML event stream into data + positions, enforcing every limit on the way."""

    def __init__(self, display: str, text: str) -> None:
        self.display = display
        self.text = text
        self.problems: list[Problem] = []
        self.root: Any = None
        self.values: dict[JsonPath, Position] = {}
        self.keys: dict[JsonPath, Position] = {}
        self.plain: dict[JsonPath, PlainScalar] = {}
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.open_anchors: set[str] = set()
        self.aliases = 0
        self.nodes = 0

    def run(self, loader: type) -> None:
        documents = 0
        handlers: dict[type, Callable[[Any], None]] = {
            yaml.ScalarEvent: self._scalar,
            yaml.AliasEvent: self._alias,
            yaml.SequenceStartEvent: self._open,
            yaml.MappingStartEvent: self._open,
            yaml.SequenceEndEvent: self._close,
            yaml.MappingEndEvent: self._close,
        }
        parser = loader(self.text)
        try:
            while parser.check_event():
                event = parser.get_event()
                handler = handlers.get(type(event))
                if handler is not None:
                    handler(event)
                elif type(event) is yaml.DocumentStartEvent:
                    documents += 1
                    if documents > 1:
                        self._stop(
                            event.start_mark,
                            "file holds more than one YAML document; "
                            "keep one portal per file and remove the extra '---'",
                        )
        finally:
            parser.dispose()
        if documents == 0:
            self._stop(None, "file is empty (or only comments); expected a portal mapping")
        if not isinstance(self.root, dict) and not self.problems:
            found = {list: "a list", type(None): "nothing (null)"}.get(
                type(self.root), "a single value"
            )
            self.problems.append(
                problem(
                    self.display,
                    self.values.get((), Position(1, 1)),
                    f"top level must be a mapping of settings, found {found}",
                )
            )

    # -- helpers ---------------------------------------------------------------------------
    def _stop(self, mark: Any, message: str) -> None:
        position = position_of(mark) if mark is not None else Position(1, 1)
        self.problems.append(problem(self.display, position, message))
        raise _Stop

    def _error(self, mark: Any, message: str) -> None:
        self.problems.append(problem(self.display, position_of(mark), message))

    def _count_node(self, mark: Any, size: int = 1) -> None:
        self.nodes += size
        if self.nodes > MAX_NODES:
            self._stop(mark, f"document expands to more than {MAX_NODES} values (alias bomb?)")

    def _child_path(self) -> JsonPath | None:
        """Path a new value will get, or None when it is being read as a mapping key."""
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.container, list):
            return top.path + (len(top.container),)
        if not top.has_key:
            return None
        if top.skip_value:
            return top.path + ("\0skipped",)
        return top.path + (top.pending_key,)

    def _attach(
        self, value: Any, position: Position, size: int, plain: PlainScalar | None = None
    ) -> None:
        if not self.stack:
            self.root = value
            self.values[()] = position
            return
        top = self.stack[-1]
        top.nodes += size
        if isinstance(top.container, list):
            path = top.path + (len(top.container),)
            top.container.append(value)
            self._record(path, position, plain)
            return
        if not top.has_key:
            self._key(top, value, position, plain)
            return
        if not top.skip_value:
            path = top.path + (top.pending_key,)
            top.container[top.pending_key] = value
            self._record(path, position, plain)
            assert top.key_position is not None
            self.keys[path] = top.key_position
        top.has_key = False
        top.skip_value = False

    def _record(self, path: JsonPath, position: Position, plain: PlainScalar | None) -> None:
        self.values[path] = position
        if plain is not None:
            self.plain[path] = plain

    def _key(self, top: _Frame, key: Any, position: Position, plain: PlainScalar | None) -> None:
        top.has_key = True
        top.key_position = position
        top.skip_value = False
        if not isinstance(key, str):
            if plain is not None:
                detail = plain.explain()
            elif isinstance(key, (dict, list)):
                detail = "a mapping or list cannot be a key"
            else:
                detail = f"`{key!r}` is not a string"
            self.problems.append(
                problem(self.display, position, f"mapping keys must be strings: {detail}")
            )
            top.skip_value = True
            return
        if key in top.seen_keys:
            first = top.seen_keys[key]
            self.problems.append(
                problem(self.display, position, f"duplicate key '{key}' (first defined at {first})")
            )
            top.skip_value = True
            return
        top.seen_keys[key] = position
        top.pending_key = key

    # -- events ----------------------------------------------------------------------------
    def _scalar(self, event: yaml.ScalarEvent) -> None:
        self._count_node(event.start_mark)
        tag = event.tag
        if tag is None or tag == "!":
            if event.style:  # quoted or block scalars are always strings
                tag = _STR
            else:
                tag = _resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag not in _SCALAR_TAGS:
            self._error(event.start_mark, tag_message(tag, event.value))
            # The raw text stands in so a refused key does not also count as a non-string key.
            self._attach(event.value, position_of(event.start_mark), 1)
            return
        if tag == _STR:  # the common case, kept short
            text: str = event.value
            top = self.stack[-1] if self.stack else None
            if top is not None and len(text) <= SHARED_LENGTH:
                if type(top.container) is list or not top.has_key:
                    # Keys and list items (work type names) repeat in every file: one
                    # shared copy of each keeps lint of a large project small. Values
                    # (ids, descriptions) are unique: interning them would only cost.
                    text = sys.intern(text)
            if event.anchor:
                self.anchors[event.anchor] = (text, 1)
            self._attach(text, position_of(event.start_mark), 1, None)
            return
        node = yaml.ScalarNode(tag, event.value, None, None, event.style)  # marks unused here
        try:
            value = SafeConstructor.yaml_constructors[tag](_constructor, node)
        except (ValueError, yaml.YAMLError) as exc:
            # In practice: an integer longer than Python's int-conversion limit.
            reason = "too many digits" if "digits" in str(exc) else str(exc)
            kind = TYPE_NAMES.get(tag, tag)
            self._error(
                event.start_mark, f"cannot read `{clip(event.value, 40)}` as {kind}: {reason}"
            )
            value = None
        if isinstance(value, float) and not math.isfinite(value):
            self._error(
                event.start_mark,
                f"`{event.value}` is not a finite number (NaN and infinity are not allowed)",
            )
        plain = PlainScalar(event.value, tag, value) if event.implicit[0] else None
        self._attach_scalar(event, value, plain)

    def _attach_scalar(
        self, event: yaml.ScalarEvent, value: Any, plain: PlainScalar | None
    ) -> None:
        if event.anchor:
            self.anchors[event.anchor] = (value, 1)
        self._attach(value, position_of(event.start_mark), 1, plain)

    def _alias(self, event: yaml.AliasEvent) -> None:
        name = event.anchor or ""
        if name in self.open_anchors:
            self._stop(
                event.start_mark, f"recursive alias *{name} refers to a node that contains it"
            )
        if name not in self.anchors:
            self._stop(event.start_mark, f"undefined alias *{name}")
        self.aliases += 1
        if self.aliases > MAX_ALIASES:
            self._stop(event.start_mark, f"more than {MAX_ALIASES} aliases in one file")
        value, size = self.anchors[name]
        self._count_node(event.start_mark, size)
        self._attach(value, position_of(event.start_mark), size)

    def _open(self, event: yaml.CollectionStartEvent) -> None:
        self._count_node(event.start_mark)
        if len(self.stack) >= MAX_DEPTH:
            self._stop(event.start_mark, f"nesting is deeper than {MAX_DEPTH} levels")
        is_sequence = isinstance(event, yaml.SequenceStartEvent)
        expected = _SEQUENCE_TAG if is_sequence else _MAPPING_TAG
        if event.tag not in (None, "!", expected):
            self._error(event.start_mark, tag_message(event.tag, None))
        path = self._child_path()
        container: dict[Any, Any] | list[Any] = [] if is_sequence else {}
        start = position_of(event.start_mark)
        frame = _Frame(container, path if path is not None else ("\0key",), event.anchor, start)
        if event.anchor:
            self.open_anchors.add(event.anchor)
        self.stack.append(frame)

    def _close(self, event: yaml.CollectionEndEvent) -> None:
        frame = self.stack.pop()
        if frame.anchor:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = (frame.container, frame.nodes)
        self._attach(frame.container, frame.start, frame.nodes)


class _Resolver(yaml.resolver.Resolver):
    pass


_resolve: Callable[[type, str, tuple[bool, bool]], str] = _Resolver().resolve
