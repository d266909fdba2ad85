"""A loaded YAML file as lint and everything above it see it: data plus positions.

The values only; reading them from YAML is `loader`'s. Kept apart so the rules, the
schema's messages and the plan can name a Document without the event reader.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from portal_config.problems import Position, Problem
from portal_config.settings.effective import Origin, Resolution

JsonPath = tuple[str | int, ...]

CORE = "tag:yaml.org,2002:"
TYPE_NAMES = {
    CORE + "int": "an integer",
    CORE + "float": "a number",
    CORE + "bool": "a boolean",
    CORE + "null": "null",
}


def file_stem(shown: str) -> str:
    """The name a document's shown path gives it (a profile's name): the file name without
    its extension, nor the ``@ref`` a three-way plan's base files carry. (os.path, not
    PurePath: a fleet's lint asks for every profile of every account.)"""
    return os.path.splitext(os.path.basename(shown.partition("@")[0]))[0]


def short_tag(tag: str) -> str:
    return "!!" + tag[len(CORE) :] if tag.startswith(CORE) else tag


@dataclass(frozen=True)
class PlainScalar:
    """A plain (unquoted) scalar that YAML resolved to something other than a string."""

    text: str
    tag: str
    value: Any

    def explain(self) -> str:
        """Say how YAML read this scalar and how to keep it a string."""
        kind = TYPE_NAMES.get(self.tag, short_tag(self.tag))
        shown = " " + repr(self.value)
        if isinstance(self.value, bool):
            shown = " true" if self.value else " false"
        elif self.value is None:
            shown = " (no value)"
        reason = ""
        if self.tag == CORE + "bool" and self.text.lower() not in ("true", "false"):
            reason = " (YAML 1.1 reads yes/no/on/off as booleans)"
        elif self.tag == CORE + "int" and ":" in self.text:
            reason = " (YAML 1.1 reads a:b numbers as base 60)"
        elif self.tag == CORE + "int" and re.fullmatch(r"[-+]?0[0-7_]+", self.text):
            reason = " (YAML 1.1 reads a leading 0 as octal)"
        return f'`{self.text}` was read as {kind}{shown}{reason}; quote it: "{self.text}"'


@dataclass(slots=True)  # slots: lint keeps one per valid file, 10,000 in a big project
class Document:
    """One loaded portal file: its data and where every part of it came from."""

    path: str
    data: Any
    # Read-only once loaded: lint's slim copies share one empty mapping (reader.batch.slim).
    values: Mapping[JsonPath, Position] = field(default_factory=dict)
    keys: Mapping[JsonPath, Position] = field(default_factory=dict)
    plain_scalars: Mapping[JsonPath, PlainScalar] = field(default_factory=dict)
    # Rules switched off for this file by `# portal-config: disable ...` (set by lint);
    # a saved plan carries them per portal, so it is checked exactly as its file was.
    disabled_rules: frozenset[str] = frozenset()
    # A portal whose settings come partly from profiles: how they were merged (set by
    # lint, see `lint.profiles`; its data is then the effective settings).
    resolution: Resolution | None = None

    def origin(self, path: JsonPath, *, key: bool = False) -> Origin:
        """Where the value at ``path`` was written: in this file, or in the profile that
        set the field it belongs to."""
        if self.resolution is not None and len(path) >= 2:
            setting = self.resolution.settings.get((str(path[0]), str(path[1])))
            if setting is not None and setting.origin.file != self.path:
                return setting.origin
        return Origin(self.path, self.locate(path, key=key))

    def locate(self, path: JsonPath, *, key: bool = False) -> Position:
        """Position of the value (or of its key) at ``path``, else of its nearest ancestor.

        Values reached through an alias have no positions of their own; they
        resolve to the alias, which is where a reader has to look anyway.
        """
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            found = table.get(probe) or self.values.get(probe)
            if found:
                return found
            probe = probe[:-1]
        return self.values.get((), Position(1, 1))


@dataclass
class LoadResult:
    path: str
    text: str | None
    document: Document | None
    problems: list[Problem]
