"""ruamel.yaml round-trip trees: load, dump, and edits that keep every comment.

ruamel.yaml is the one maintained Python YAML library that keeps comments through a
load and dump; PyYAML drops them. It reads YAML 1.2, so the strings written here are
quoted by ``scalar``'s YAML 1.1 rules, which are lint's.

ruamel keeps a comment *line* with the entry above it, not with the key below it. The
``_take``/``_give`` helpers move those lines whenever entries are reordered, inserted
or removed, so a comment stays above the key it was written for, and an end-of-line
comment leaves with the line it is on.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.emitter import RoundTripEmitter
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    LiteralScalarString,
    PlainScalarString,
    SingleQuotedScalarString,
)
from ruamel.yaml.tokens import CommentToken

from portal_config.escaping import double_quoted, holds_raw_controls


def to_block(parent: CommentedMap | CommentedSeq, entry: Any, child: Any) -> None:
    """Make a flow collection (``[a, b]``) block style, with its comment after its last line.

    ruamel files a flow collection's end-of-line comment under its key; left there, it
    would print between the key and the first item of the block.
    """
    if not child.fa.flow_style():
        return
    child.fa.set_block_style()
    if not len(child) or not isinstance(parent, CommentedMap):
        return
    slot = parent.ca.items.get(entry)
    token = slot[2] if slot else None
    if token is None:
        return
    slot[2] = None
    child.ca.comment = None
    eol, lines = _split(token.value)
    _give(child, _last(child), eol + lines)


def reorder(mapping: CommentedMap, order: Sequence[str]) -> None:
    keys = list(mapping)
    wanted = [key for key in order if key in mapping] + [key for key in keys if key not in order]
    if wanted == keys:
        return
    # Comment lines between two keys belong to the key below them.
    above = {key: _take(mapping, prior) for prior, key in pairwise(keys)}
    tail = _take(mapping, keys[-1])
    for key in wanted:
        mapping.move_to_end(key)
    for prior, key in pairwise(wanted):
        _give(mapping, prior, above.get(key, ""))
    _give(mapping, wanted[-1], tail)
    # The new first key had comments above it: they go to the top of the mapping.
    _lead(mapping, above.get(wanted[0], ""))


Owner = tuple[CommentedMap, str]  # a mapping, and the key whose value a nested one is


def _lead(mapping: CommentedMap, lines: str, owner: Owner | None = None) -> None:
    """Put comment lines above the mapping's first key (``owner``: the mapping and key
    whose value it is, where ruamel prints those lines from for a nested mapping)."""
    if not lines:
        return
    start = mapping.ca.comment
    if start is None or len(start) < 2:
        mapping.ca.comment = start = [None, []]
    if start[1] is None:
        start[1] = []
    start[1].append(CommentToken(lines, CommentMark(0)))
    if owner is not None:
        parent, key = owner
        parent.ca.items.setdefault(key, [None, None, None, None])[3] = start[1]


def remove_key(mapping: CommentedMap, key: str, below: str = "", owner: Owner | None = None) -> str:
    """Remove ``key`` and its value, as `_replace_items` removes a name: its end-of-line
    comment goes with it, the comment lines below it stay above the key that follows.

    ``below`` are comment lines to keep after it too; ``owner`` as for `_lead`. Returns
    the lines left with no key to stay with (the mapping is now empty), for the caller.
    """
    keys = list(mapping)
    index = keys.index(key)
    lines = below + _take(mapping, key)
    del mapping[key]
    mapping.ca.items.pop(key, None)
    if index:
        _give(mapping, keys[index - 1], lines)
    elif len(mapping):
        _lead(mapping, lines, owner)
    else:
        return lines
    return ""


def set_key(mapping: CommentedMap, key: str, value: Any, order: Sequence[str]) -> None:
    """Set ``key``; a new key goes after the last key that comes before it in ``order``."""
    if key in mapping:
        mapping[key] = value
        return
    before = [k for k in order[: order.index(key)] if k in mapping]
    position = list(mapping).index(before[-1]) + 1 if before else 0
    prior = list(mapping)[position - 1] if position else None
    mapping.insert(position, key, value)
    if prior is not None:  # the comment lines below the previous key are above the next one
        _give(mapping, key, _take(mapping, prior))


def set_names(
    mapping: CommentedMap, key: str, names: Sequence[str], order: Sequence[str], *, sort_new: bool
) -> None:
    current = mapping.get(key)
    if not isinstance(current, CommentedSeq) or (not names and not len(current)):
        set_key(mapping, key, block_list(names), order)
        return
    orphaned = _replace_items(current, list(names), sort_new=sort_new)
    if not len(current):  # an empty list is written `[]`: its comment lines go below it
        mapping[key] = block_list(())
        _give_slot(mapping.ca.items, key, 2, orphaned)


def _replace_items(items: CommentedSeq, wanted: list[str], *, sort_new: bool) -> str:
    """Remove the names not in ``wanted`` and add the missing ones, touching nothing else.

    A removed line's end-of-line comment goes with it; comment lines below it stay.
    Returns the comment lines left without a line to stay with (the list is now empty).
    """
    remaining = Counter(wanted)
    keep = []
    for name in items:
        keep.append(isinstance(name, str) and remaining[name] > 0)
        if keep[-1]:
            remaining[name] -= 1
    orphaned = ""
    for index in reversed(range(len(items))):
        if keep[index]:
            continue
        lines = _take(items, index)
        del items[index]
        if index:
            _give(items, index - 1, lines)
        else:
            orphaned = lines + orphaned
    missing = []
    for name in wanted:
        if remaining[name] > 0:
            missing.append(name)
            remaining[name] -= 1
    for name in sorted(missing) if sort_new else missing:
        place = len(items)
        if sort_new:
            place = next(
                (i for i, have in enumerate(items) if isinstance(have, str) and have > name),
                len(items),
            )
        lines = _take(items, place - 1) if place else ""
        items.insert(place, quoted(name))
        _give(items, place, lines)
    if orphaned and len(items):
        _give(items, 0, orphaned)
        return ""
    return orphaned


def _split(value: str) -> tuple[str, str]:
    """A comment token's end-of-line part (with its newline) and the full lines after it."""
    if value.startswith("#"):
        end = value.find("\n") + 1 or len(value)
        return value[:end], value[end:]
    return "", value[1:] if value.startswith("\n") else value


def _join(eol: str, lines: str) -> str | None:
    if not eol and not lines:
        return None
    return eol + lines if eol else "\n" + lines


def _take_slot(slots: dict[Any, list[Any]], entry: Any, index: int) -> str:
    slot = slots.get(entry)
    token = slot[index] if slot and len(slot) > index else None
    if token is None:
        return ""
    eol, lines = _split(token.value)
    joined = _join(eol, "")
    assert slot is not None
    if joined is None:
        slot[index] = None
    else:
        token.value = joined
    return lines


def _give_slot(slots: dict[Any, list[Any]], entry: Any, index: int, lines: str) -> None:
    if not lines:
        return
    slot = slots.setdefault(entry, [None, None, None, None])
    token = slot[index]
    if token is None:
        slot[index] = CommentToken("\n" + lines, CommentMark(0))
        return
    eol, had = _split(token.value)
    token.value = _join(eol, had + lines)


Collection = CommentedMap | CommentedSeq


def _take(node: Collection, entry: Any) -> str:
    """Take the comment lines below ``node[entry]``, from its deepest last line."""
    value = node[entry]
    if isinstance(value, (CommentedMap, CommentedSeq)) and len(value):
        return _take(value, _last(value))
    return _take_slot(node.ca.items, entry, _slot(node))


def _give(node: Collection, entry: Any, lines: str) -> None:
    """Put comment lines below ``node[entry]``, after its deepest last line."""
    value = node[entry]
    if isinstance(value, (CommentedMap, CommentedSeq)) and len(value):
        _give(value, _last(value), lines)
    else:
        _give_slot(node.ca.items, entry, _slot(node), lines)


def _last(node: Collection) -> Any:
    return list(node)[-1] if isinstance(node, CommentedMap) else len(node) - 1


def _slot(node: Collection) -> int:
    # Where ruamel keeps the comment after an entry: 2 for a mapping's, 0 for a list's.
    return 2 if isinstance(node, CommentedMap) else 0


def scalar(text: str) -> str:
    """``text`` as a YAML scalar that reads back as exactly this string, in YAML 1.1 too."""
    if holds_raw_controls(text):  # a control, a line break, a bidi control: shown escaped
        return double_quoted(text)
    dumped = yaml.safe_dump(text, allow_unicode=True, width=2**20, default_flow_style=True)
    dumped = dumped.rstrip("\n")
    if dumped.endswith("\n..."):
        dumped = dumped[: -len("\n...")]
    # A multi-line form, or one PyYAML folds when it reads it back (a raw NEL or BOM):
    # the escaped double-quoted form reads back as exactly this string.
    if "\n" in dumped or yaml.safe_load(dumped) != text:
        dumped = double_quoted(text)
    return dumped


def quoted(value: Any) -> Any:
    """A value ruamel writes the way ``scalar`` would: quoted exactly when YAML 1.1 needs it.

    ruamel decides quoting by YAML 1.2, where ``NO`` and ``010`` are plain strings; lint
    would read them as a boolean and a number. Its quoted string types force the quotes.
    """
    if isinstance(value, bool) or not isinstance(value, str):
        return value
    if _literal_block(value):
        # Several lines of prose (a welcome text) read best as a block: `|-` keeps every
        # line break and adds none at the end; the read-back check still has the last word.
        return LiteralScalarString(value)
    form = scalar(value)
    if form.startswith("'"):
        return SingleQuotedScalarString(value)
    if form.startswith('"'):
        return DoubleQuotedScalarString(value)
    # Plain, said explicitly: ruamel would otherwise keep the quotes the value had before.
    return PlainScalarString(value)


def _literal_block(text: str) -> bool:
    """Whether ``text`` reads back exactly from a literal block: lines without controls or
    bidi marks, none with a space at an end, the first not empty, no line break last."""
    lines = text.split("\n")
    return (
        len(lines) > 1
        and not text.endswith("\n")
        and bool(lines[0])
        and all(line == line.strip() and not holds_raw_controls(line) for line in lines)
    )


def block_list(names: Sequence[str]) -> CommentedSeq:
    items = CommentedSeq(quoted(name) for name in names)
    if not names:
        items.fa.set_flow_style()  # `work_types: []`, as a reader would write an empty list
    return items


def load(text: str) -> Any:
    """The round-trip tree of ``text``; raises ruamel's YAMLError."""
    return _round_trip().load(text)


class _Emitter(RoundTripEmitter):
    """ruamel's round-trip emitter, escaping what `scalar` escapes.

    Its double-quoted scalars keep printable Unicode raw, bidi controls included (they
    fall in its printable ranges), so a live name holding U+202E would sit raw in a file a
    reviewer reads. For such a scalar, and only there, it escapes all but ASCII.
    """

    def write_double_quoted(self, text: Any, split: Any = True) -> None:
        if not isinstance(text, str) or not holds_raw_controls(text):
            super().write_double_quoted(text, split)
            return
        kept, self.allow_unicode = self.allow_unicode, False
        try:
            super().write_double_quoted(text, split)
        finally:
            self.allow_unicode = kept


def _round_trip() -> YAML:
    # Indents as canonical.render_portal writes them: mappings by 2, list dashes 2 in, items 4 in.
    handler = YAML(typ="rt")
    handler.Emitter = _Emitter
    handler.preserve_quotes = True
    handler.indent(mapping=2, sequence=4, offset=2)
    handler.width = 4096  # lint's line limit; a long description is never folded
    return handler


def dump(tree: Any) -> str:
    stream = io.StringIO()
    _round_trip().dump(tree, stream)
    return stream.getvalue()


def reason(exc: Exception) -> str:
    problem = getattr(exc, "problem", None)
    return str(problem or exc).splitlines()[0]
