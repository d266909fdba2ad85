"""The canonical form of portal files, shared by `portal-config fmt` and `pull`.

Canonical means: the keys in the order ``portal`` (a profile's ``profile``), ``description``,
``extends``, the sections in the settings table's order (each with its fields in the
table's order), a profile's ``locked``, ``acknowledged``, ``waivers``;
booleans as ``true``/``false``; block lists; every string plain unless YAML 1.1 (which lint reads
files as) would take it for something else, then quoted. Comments stay.

Edits go through ruamel.yaml's round-trip mode (``roundtrip``) because it keeps
comments. ruamel reads YAML 1.2, lint reads YAML 1.1 (``on`` is a boolean there), so
the values written are taken from lint's reading, never from ruamel's, and every result
is read back with lint's loader: a rewrite that would change what lint reads is refused.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from portal_config.file_access import Repository
from portal_config.files.inheritance import Inheritance, drop_overrides
from portal_config.files.roundtrip import (
    dump,
    load,
    quoted,
    reason,
    reorder,
    scalar,
    set_key,
    set_names,
    to_block,
)
from portal_config.lint.loader import Document, JsonPath, LoadResult, load_bytes, load_file
from portal_config.lint.reader.project import expand
from portal_config.paths import display
from portal_config.problems import Level, Position, Problem
from portal_config.project.config import Config
from portal_config.project.lint_scope import lint_scope
from portal_config.settings.effective import FieldKey
from portal_config.settings.model import PortalSettings
from portal_config.settings.overrides import inherits_section, overrides
from portal_config.settings.table import Field, Kind, Section, active
from portal_config.storage import write_atomically

RULE = "fmt"
_BOOLEANS = (Kind.SWITCH, Kind.BOOLEAN)
# The keys a portal file (or a profile) starts with, in canonical order; pull places a
# new extends: among them.
HEADS = ("portal", "profile", "description", "extends")


def _portal_keys() -> tuple[str, ...]:
    # A profile is formatted as a portal file is: its own keys where a reader looks for them.
    sections = (s.name for s in active().sections)
    return (*HEADS, *sections, "locked", "acknowledged", "waivers")


def _field_names(section: Section) -> tuple[str, ...]:
    return tuple(one.name for one in section.fields)


def _boolean_paths() -> frozenset[JsonPath]:
    return frozenset((s.name, f.name) for s, f in active().fields() if f.kind in _BOOLEANS)


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
@dataclass(frozen=True)
class FormatRun:
    """What `portal-config fmt` did (or with --check, would do) to each file."""

    files: list[Formatted]
    check: bool

    @property
    def changed(self) -> list[Formatted]:
        return [file for file in self.files if file.changed]

    @property
    def failed(self) -> list[Formatted]:
        return [file for file in self.files if file.problems]

    @property
    def exit_code(self) -> int:
        """1 when a file failed, or with --check would change (as `black --check`)."""
        return int(bool(self.failed or (self.check and self.changed)))


def format_paths(paths: Sequence[Path], config: Config, *, check: bool) -> FormatRun:
    """Format the portal files in ``paths`` (files, or directories searched like lint's).

    With ``check`` nothing is written. A file is rewritten only when its text changes,
    keeping its permissions. A portal file's values equal to what it inherits from its
    profiles are taken out (files.inheritance).
    """
    files = []
    repository = Repository(config.root)  # read as lint reads: bounded, links kept inside
    inheritance = Inheritance(config)
    # Profiles are formatted as portal files are (lint reads them apart, as profiles).
    for path in expand(paths, replace(lint_scope(config), profile_dirs=())):
        loaded = load_file(path, display(path), repository=repository)
        formatted = format_loaded(loaded, inheritance.redundant(path, loaded.document))
        if formatted.changed and not check:
            assert formatted.text is not None
            # A link (inside the repository: others were not read) keeps being a link:
            # the file it leads to is the one rewritten.
            written = Path(os.path.realpath(path))
            write_atomically(written, formatted.text, mode=stat.S_IMODE(written.stat().st_mode))
        files.append(formatted)
    return FormatRun(files, check)


def format_bytes(data: bytes, shown: str) -> Formatted:
    """The canonical form of one portal file, or lint's problems if it does not load."""
    return format_loaded(load_bytes(data, shown))


def format_loaded(loaded: LoadResult, redundant: Collection[FieldKey] = ()) -> Formatted:
    """The canonical form of one file as the loader read it (see format_bytes), without
    the ``redundant`` overrides."""
    shown = loaded.path
    if loaded.document is None:
        return Formatted(shown, loaded.text, None, loaded.problems)
    assert loaded.text is not None
    document = loaded.document
    problems = _unformattable_values(document)
    if problems:
        return Formatted(shown, loaded.text, None, problems)
    try:
        tree = load(loaded.text)
        data = drop_overrides(tree, document.data, redundant)
        _normalize(tree, data)
        text = dump(tree)
        _check_meaning(text, data)
    except (CanonicalError, YAMLError) as exc:
        message = f"cannot format this file without risking its meaning: {reason(exc)}"
        return Formatted(shown, loaded.text, None, [_problem(shown, None, message)])
    return Formatted(shown, loaded.text, text, [])


def _unformattable_values(document: Document) -> list[Problem]:
    """Values fmt will not touch: anything but strings, and booleans outside the flags.

    A plain ``NO`` in a list of work types is a boolean to lint; rewriting it as ``false``
    keeps the meaning and loses the hint, quoting it changes the meaning. Either would
    hide a mistake, so fmt leaves such a file for lint to explain.
    """
    problems = []
    booleans = _boolean_paths()
    for path, value in _scalars(document.data, ()):
        if isinstance(value, str) or (isinstance(value, bool) and path in booleans):
            continue
        plain = document.plain_scalars.get(path)
        detail = plain.explain() if plain else f"{_dotted(path)} is {json.dumps(value)}"
        message = f"fmt leaves this file alone until it is fixed: {detail}"
        problems.append(_problem(document.path, document.locate(path), message))
    return problems


def _normalize(tree: Any, data: Any) -> None:
    if not isinstance(tree, CommentedMap):
        raise CanonicalError("the top level is not a mapping")
    reorder(tree, _portal_keys())  # `acknowledged` keeps its authors' order: it is prose
    for section in active().sections:
        fields = tree.get(section.name)
        if isinstance(fields, CommentedMap):
            reorder(fields, _field_names(section))
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
            to_block(node, entry, child)
            _canonical_values(child, data[entry])
        else:
            node[entry] = quoted(data[entry])


# -- pull -----------------------------------------------------------------------------------
def update_text(
    text: str, data: dict[str, Any], settings: PortalSettings, effective: Resolve | None = None
) -> str | None:
    """``text`` with only the values that differ from ``settings`` changed; None if none do.

    ``data`` is lint's reading of ``text``. Only the sections the file has (and those every
    file must have) are updated. A field the file leaves out that has a default (a guest
    permission: false) is only added when the live value differs from that default.
    ``effective`` gives a file's effective settings from its data (the profiles it
    extends): a field is then written only where live differs from them, as an override.
    """
    resolve: Resolve = effective or (lambda plain: plain)
    changes = _differences(resolve(data), settings)
    if not changes:
        return None
    tree = mapping(text, "the file")
    for section, one in changes:
        if section is None:
            set_key(tree, "portal", quoted(settings.portal), _portal_keys())
            continue
        if section.name not in tree and (not section.required or effective is not None):
            # A section the repository manages that this file does not have yet: added.
            set_key(tree, section.name, CommentedMap(), _portal_keys())
        fields = tree.get(section.name)
        if not isinstance(fields, CommentedMap):
            raise CanonicalError(f"no {section.name} mapping to update")
        value = settings.value(section.name, one.name)
        if one.kind is Kind.NAMES:
            set_names(fields, one.name, value, _field_names(section), sort_new=False)
        else:
            set_key(
                fields,
                one.name,
                value if one.kind in _BOOLEANS else quoted(value),
                _field_names(section),
            )
    updated = dump(tree)
    read = load_bytes(updated.encode("utf-8"), "pulled").document
    if read is None or _differences(resolve(read.data), settings):
        raise CanonicalError("the edited file would not read back as the live settings")
    return updated


def _differences(data: Any, settings: PortalSettings) -> list[tuple[Section | None, Field]]:
    """The fields of lint's reading of a file that differ from ``settings`` (None for the
    portal id). In a section the file has, only the fields it manages (names, or leaves
    out with a default); a section ``settings`` holds that the file lacks, whole."""
    changed: list[tuple[Section | None, Field]] = []
    if not isinstance(data, dict) or data.get("portal") != settings.portal:
        changed.append((None, _PORTAL))
    for section in active().sections:
        given = data.get(section.name) if isinstance(data, dict) else None
        if not isinstance(given, dict):
            if section.required or section.name in settings.values:
                changed += [
                    (section, one)
                    for one in section.fields
                    if section.required or settings.manages(section.name, one.name)
                ]
            continue
        for one in section.fields:
            if not settings.manages(section.name, one.name):
                continue  # live does not say: the file keeps what it has
            if one.name not in given and not one.managed_when_omitted:
                continue  # the file has no opinion on it, and pull gives it none
            want = settings.value(section.name, one.name)
            have = given.get(one.name, one.default if one.managed_when_omitted else None)
            if not _same(one, have, want):
                changed.append((section, one))
    return changed


_PORTAL = Field("portal", Kind.TEXT, "Portal id", "")
Resolve = Callable[[Any], Any]  # a file's data -> its effective settings (profiles)


def _same(one: Field, have: Any, want: Any) -> bool:
    if one.kind is Kind.NAMES:
        return (
            isinstance(have, (list, tuple))
            and all(isinstance(name, str) for name in have)
            and sorted(have) == sorted(want)
        )
    if one.kind in _BOOLEANS:
        return isinstance(have, bool) and have == want
    return isinstance(have, str) and have == want


def mapping(text: str, what: str) -> CommentedMap:
    """The round-trip tree of ``text``, which must be a mapping (``what`` says whose)."""
    try:
        tree = load(text)
    except YAMLError as exc:
        raise CanonicalError(reason(exc)) from None
    if not isinstance(tree, CommentedMap):
        raise CanonicalError(f"{what} is not a mapping")
    return tree


# -- new files and read-back checks ---------------------------------------------------------
def render_portal(
    settings: PortalSettings,
    kept: dict[str, Any],
    modeline: str,
    *,
    extends: Sequence[str] = (),
    over: dict[str, Any] | None = None,
) -> str:
    """A new portal file in canonical form (fmt leaves it as it is).

    With ``over`` (what the file inherits from the profiles it ``extends``, and the
    repository's), only the smallest override over it (settings.overrides).
    """
    lines = [modeline, f"portal: {scalar(settings.portal)}"]
    if isinstance(kept.get("description"), str):
        lines.append(f"description: {scalar(kept['description'])}")
    if extends:
        lines += ["extends:", *[f"  - {scalar(name)}" for name in extends]]
    written: str | None = None
    entries = settings.managed() if over is None else overrides(over, settings.managed())
    for section, one, value in entries:
        if section.name != written:
            lines.append(f"{section.name}:")
            written = section.name
        if one.kind is Kind.NAMES:
            if value:
                lines.append(f"  {one.name}:")
                lines += [f"    - {scalar(name)}" for name in value]
            elif over is not None and inherits_section(over, section):
                lines.append(f"  {one.name}: []")  # left out, it would be what it inherits
            elif not one.managed_when_omitted or one.default:
                lines.append(f"  {one.name}: []")  # left out, it would mean something else
        elif one.kind in _BOOLEANS:
            lines.append(f"  {one.name}: {_bool(value)}")
        else:
            lines.append(f"  {one.name}: {scalar(value)}")
    acknowledged = kept.get("acknowledged")
    if isinstance(acknowledged, dict) and acknowledged:
        lines.append("acknowledged:")
        lines += [
            f"  {one.name}: {scalar(str(acknowledged[one.name]))}"
            for _, one in active().acknowledgeable()
            if one.name in acknowledged
        ]
    text = "\n".join(lines) + "\n"
    # In fmt's spelling (a line break in a text, say), so fmt --check passes on what pull wrote.
    return format_bytes(text.encode("utf-8"), "pulled").text or text


def _bool(value: bool) -> str:
    return "true" if value else "false"


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


def _problem(shown: str, position: Position | None, message: str) -> Problem:
    return Problem(shown, position, Level.ERROR, RULE, message)
