"""The canonical form of portal files, shared by `portal-config fmt` and `pull`.

Canonical means: the keys in the order ``portal``, ``description``, ``guest_workorder``
(``enabled``, the three ``allow_*`` flags, ``work_types``), ``acknowledged``; booleans as
``true``/``false``; block lists; every string plain unless YAML 1.1 (which lint reads
files as) would take it for something else, then quoted. Comments stay.

Edits go through ruamel.yaml's round-trip mode because it keeps comments; PyYAML throws
them away. ruamel reads YAML 1.2, lint reads YAML 1.1 (``on`` is a boolean there), so the
values written are taken from lint's reading, never from ruamel's, and every result is
read back with lint's loader: a rewrite that would change what lint reads is refused.

ruamel keeps a comment *line* with the entry above it, not with the key below it. The
``_take``/``_give`` helpers move those lines whenever entries are
reordered, inserted or removed, so a comment stays above the key it was written for.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    PlainScalarString,
    SingleQuotedScalarString,
)
from ruamel.yaml.tokens import CommentToken

from portal_config.loader import Document, JsonPath, load_bytes
from portal_config.model import FLAGS, PortalSettings
from portal_config.problems import Level, Position, Problem

RULE = "fmt"
PORTAL_KEYS = ("portal", "description", "guest_workorder", "acknowledged")
GUEST_KEYS = ("enabled", *FLAGS, "work_types")
BOOLEAN_PATHS = frozenset(("guest_workorder", field) for field in ("enabled", *FLAGS))


class CanonicalError(Exception):
    """The file cannot be rewritten without risking its meaning or its comments."""


@dataclass(frozen=True)
class Formatted:
    """One file through fmt: its canonical text, or the problems that stopped it."""

    path: str
    original: str | None
    text: str | None
    problems: list[Problem]

    @property
    def changed(self) -> bool:
        return self.text is not None and self.text != self.original


# -- fmt ------------------------------------------------------------------------------------
def format_bytes(data: bytes, shown: str) -> Formatted:
    """The canonical form of one portal file, or lint's problems if it does not load."""
    loaded = load_bytes(data, shown)
    if loaded.document is None:
        return Formatted(shown, loaded.text, None, loaded.problems)
    assert loaded.text is not None
    document = loaded.document
    problems = _unformattable_values(document)
    if problems:
        return Formatted(shown, loaded.text, None, problems)
    try:
        tree = _round_trip().load(loaded.text)
        _normalize(tree, document.data)
        text = _dump(tree)
        _check_meaning(text, document.data)
    except (CanonicalError, YAMLError) as exc:
        message = f"cannot format this file without risking its meaning: {_reason(exc)}"
        return Formatted(shown, loaded.text, None, [_problem(shown, None, message)])
    return Formatted(shown, loaded.text, text, [])


def _unformattable_values(document: Document) -> list[Problem]:
    """Values fmt will not touch: anything but strings, and booleans outside the flags.

    A plain ``NO`` in a list of work types is a boolean to lint; rewriting it as ``false``
    keeps the meaning and loses the hint, quoting it changes the meaning. Either would
    hide a mistake, so fmt leaves such a file for lint to explain.
    """
    problems = []
    for path, value in _scalars(document.data, ()):
        if isinstance(value, str) or (isinstance(value, bool) and path in BOOLEAN_PATHS):
            continue
        plain = document.plain_scalars.get(path)
        detail = plain.explain() if plain else f"{_dotted(path)} is {json.dumps(value)}"
        message = f"fmt leaves this file alone until it is fixed: {detail}"
        problems.append(_problem(document.path, document.locate(path), message))
    return problems


def _normalize(tree: Any, data: Any) -> None:
    if not isinstance(tree, CommentedMap):
        raise CanonicalError("the top level is not a mapping")
    _reorder(tree, PORTAL_KEYS)
    guest = tree.get("guest_workorder")
    if isinstance(guest, CommentedMap):
        _reorder(guest, GUEST_KEYS)
    acknowledged = tree.get("acknowledged")
    if isinstance(acknowledged, CommentedMap):
        _reorder(acknowledged, FLAGS)
    _canonical_values(tree, data)


def _canonical_values(node: Any, data: Any) -> None:
    """Write lint's reading of every scalar in canonical style; make collections block."""
    if isinstance(node, CommentedMap):
        if not isinstance(data, dict) or sorted(node) != sorted(data):
            raise CanonicalError("ruamel.yaml and lint read the keys differently")
        entries: Sequence[Any] = list(node)
    elif isinstance(node, CommentedSeq):
        if not isinstance(data, list) or len(node) != len(data):
            raise CanonicalError("ruamel.yaml and lint read a list differently")
        entries = range(len(node))
    else:
        raise CanonicalError("ruamel.yaml and lint read the structure differently")
    for entry in entries:
        child = node[entry]
        if isinstance(child, (CommentedMap, CommentedSeq)):
            _to_block(node, entry, child)
            _canonical_values(child, data[entry])
        else:
            node[entry] = _canonical_scalar(data[entry])


def _to_block(parent: CommentedMap | CommentedSeq, entry: Any, child: Any) -> None:
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


def _reorder(mapping: CommentedMap, order: Sequence[str]) -> None:
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
    lead = above.get(wanted[0], "")
    if lead:  # the new first key had comments above it: they go to the top of the mapping
        start = mapping.ca.comment
        if start is None or len(start) < 2:
            mapping.ca.comment = start = [None, []]
        if start[1] is None:
            start[1] = []
        start[1].append(CommentToken(lead, CommentMark(0)))


# -- pull -----------------------------------------------------------------------------------
def update_text(text: str, data: dict[str, Any], settings: PortalSettings) -> str | None:
    """``text`` with only the values that differ from ``settings`` changed; None if none do.

    ``data`` is lint's reading of ``text``. A flag the file leaves out is false, so it is
    only added when the live value is true.
    """
    changes = _differences(data, settings)
    if not changes:
        return None
    try:
        tree = _round_trip().load(text)
    except YAMLError as exc:
        raise CanonicalError(_reason(exc)) from None
    if not isinstance(tree, CommentedMap) or not isinstance(
        tree.get("guest_workorder"), CommentedMap
    ):
        raise CanonicalError("no guest_workorder mapping to update")
    guest = tree["guest_workorder"]
    for field in changes:
        if field == "portal":
            _set(tree, "portal", _canonical_scalar(settings.portal), PORTAL_KEYS)
        elif field == "work_types":
            _set_names(guest, "work_types", settings.work_types, GUEST_KEYS, sort_new=False)
        else:
            _set(guest, field, getattr(settings, field), GUEST_KEYS)
    updated = _dump(tree)
    read = load_bytes(updated.encode("utf-8"), "pulled").document
    if read is None or _differences(read.data, settings):
        raise CanonicalError("the edited file would not read back as the live settings")
    return updated


def _differences(data: Any, settings: PortalSettings) -> list[str]:
    """The fields of lint's reading of a file that differ from ``settings``."""
    guest = data.get("guest_workorder") if isinstance(data, dict) else None
    if not isinstance(guest, dict):
        return ["portal", *GUEST_KEYS]
    changed = [] if data.get("portal") == settings.portal else ["portal"]
    for field in ("enabled", *FLAGS):
        have = guest.get(field, None if field == "enabled" else False)
        if not isinstance(have, bool) or have != getattr(settings, field):
            changed.append(field)
    have_types = guest.get("work_types", [])
    if not (
        isinstance(have_types, list)
        and all(isinstance(name, str) for name in have_types)
        and sorted(have_types) == sorted(settings.work_types)
    ):
        changed.append("work_types")
    return changed


def update_catalog(text: str, active: Sequence[str], inactive: Sequence[str]) -> str:
    """The catalog ``text`` with names added and removed to match; comments kept.

    New names go in at their sorted place, so a sorted list stays sorted.
    """
    try:
        tree = _round_trip().load(text)
    except YAMLError as exc:
        raise CanonicalError(_reason(exc)) from None
    if not isinstance(tree, CommentedMap):
        raise CanonicalError("the catalog is not a mapping")
    for key, names in (("work_types", active), ("inactive_work_types", inactive)):
        if names or key in tree:
            _set_names(tree, key, names, ("work_types", "inactive_work_types"), sort_new=True)
    return _dump(tree)


def _set(mapping: CommentedMap, key: str, value: Any, order: Sequence[str]) -> None:
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


def _set_names(
    mapping: CommentedMap, key: str, names: Sequence[str], order: Sequence[str], *, sort_new: bool
) -> None:
    current = mapping.get(key)
    if not isinstance(current, CommentedSeq) or (not names and not len(current)):
        _set(mapping, key, _block_list(names), order)
        return
    orphaned = _replace_items(current, list(names), sort_new=sort_new)
    if not len(current):  # an empty list is written `[]`: its comment lines go below it
        mapping[key] = _block_list(())
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
        items.insert(place, _canonical_scalar(name))
        _give(items, place, lines)
    if orphaned and len(items):
        _give(items, 0, orphaned)
        return ""
    return orphaned


# -- comment lines --------------------------------------------------------------------------
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


# -- scalars and text -----------------------------------------------------------------------
def scalar(text: str) -> str:
    """``text`` as a YAML scalar that reads back as exactly this string, in YAML 1.1 too."""
    dumped = yaml.safe_dump(text, allow_unicode=True, width=2**20, default_flow_style=True)
    dumped = dumped.rstrip("\n")
    if dumped.endswith("\n..."):
        dumped = dumped[: -len("\n...")]
    if "\n" in dumped:  # multi-line forms: fall back to a double-quoted JSON string
        dumped = json.dumps(text, ensure_ascii=False)
    return dumped


def _canonical_scalar(value: Any) -> Any:
    """A value ruamel writes the way ``scalar`` would: quoted exactly when YAML 1.1 needs it.

    ruamel decides quoting by YAML 1.2, where ``NO`` and ``010`` are plain strings; lint
    would read them as a boolean and a number. Its quoted string types force the quotes.
    """
    if isinstance(value, bool) or not isinstance(value, str):
        return value
    form = scalar(value)
    if form.startswith("'"):
        return SingleQuotedScalarString(value)
    if form.startswith('"'):
        return DoubleQuotedScalarString(value)
    # Plain, said explicitly: ruamel would otherwise keep the quotes the value had before.
    return PlainScalarString(value)


def _block_list(names: Sequence[str]) -> CommentedSeq:
    items = CommentedSeq(_canonical_scalar(name) for name in names)
    if not names:
        items.fa.set_flow_style()  # `work_types: []`, as a reader would write an empty list
    return items


def render_portal(settings: PortalSettings, kept: dict[str, Any], modeline: str) -> str:
    """A new portal file in canonical form (fmt leaves it as it is)."""
    lines = [modeline, f"portal: {scalar(settings.portal)}"]
    if isinstance(kept.get("description"), str):
        lines.append(f"description: {scalar(kept['description'])}")
    lines += ["guest_workorder:", f"  enabled: {_bool(settings.enabled)}"]
    lines += [f"  {flag}: {_bool(getattr(settings, flag))}" for flag in FLAGS]
    if settings.work_types:
        lines.append("  work_types:")
        lines += [f"    - {scalar(name)}" for name in settings.work_types]
    acknowledged = kept.get("acknowledged")
    if isinstance(acknowledged, dict) and acknowledged:
        lines.append("acknowledged:")
        lines += [
            f"  {flag}: {scalar(str(acknowledged[flag]))}" for flag in FLAGS if flag in acknowledged
        ]
    return "\n".join(lines) + "\n"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _round_trip() -> YAML:
    # Indents as render_portal writes them: mappings by 2, list dashes 2 in, items 4 in.
    handler = YAML(typ="rt")
    handler.preserve_quotes = True
    handler.indent(mapping=2, sequence=4, offset=2)
    handler.width = 4096  # lint's line limit; a long description is never folded
    return handler


def _dump(tree: Any) -> str:
    stream = io.StringIO()
    _round_trip().dump(tree, stream)
    return stream.getvalue()


def _check_meaning(text: str, data: Any) -> None:
    read = load_bytes(text.encode("utf-8"), "formatted").document
    if read is None or _canonical_json(read.data) != _canonical_json(data):
        raise CanonicalError("the formatted file would read differently")


def _canonical_json(data: Any) -> str:
    # JSON tells true from 1, which == does not.
    return json.dumps(data, sort_keys=True)


def _scalars(data: Any, path: JsonPath) -> list[tuple[JsonPath, Any]]:
    if isinstance(data, dict):
        return [pair for key, value in data.items() for pair in _scalars(value, (*path, key))]
    if isinstance(data, list):
        return [pair for i, value in enumerate(data) for pair in _scalars(value, (*path, i))]
    return [(path, data)]


def _dotted(path: JsonPath) -> str:
    return ".".join(str(part) for part in path) or "the document"


def _reason(exc: Exception) -> str:
    problem = getattr(exc, "problem", None)
    return str(problem or exc).splitlines()[0]


def _problem(shown: str, position: Position | None, message: str) -> Problem:
    return Problem(shown, position, Level.ERROR, RULE, message)
