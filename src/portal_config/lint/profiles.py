"""Profiles as lint reads them, and the one place a portal file becomes its effective settings.

A profile (profiles/<name>.yaml, or accounts/<account>/profiles/<name>.yaml, which wins)
holds partial settings in a portal file's shape, checked against the profile schema with
positions. `Profiles.effective` turns a portal Document into one whose data is its
effective settings (settings.effective), keeping the file's own positions and recording
per field which file and line set it; lint, and so diff, apply and explain, which plan from
lint's documents, all go through it.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portal_config.file_access import Repository
from portal_config.lint import schema
from portal_config.lint.document import Document, JsonPath, LoadResult, file_stem
from portal_config.lint.reader import parse, read_raw
from portal_config.lint.rules import unknown_profile
from portal_config.lint.scope import Scope
from portal_config.paths import display
from portal_config.problems import Level, Position, Problem
from portal_config.settings.effective import FieldKey, Layer, Partial, Resolution, merge_partial
from portal_config.settings.schemas import profile_schema
from portal_config.settings.table import Table, active

if TYPE_CHECKING:
    from portal_config.lint.schema import Validator


# eq=False: a profile is itself (hashed by identity), so a chain of them can key a cache.
@dataclass(frozen=True, eq=False)
class Profile:
    name: str
    document: Document  # whole, with every position
    valid: bool  # whether the profile schema accepted it
    # What the schema did not refuse, for the rules (see schema.check_parts); None: nothing.
    checked: Document | None = None

    @functools.cached_property  # made once, used by every portal that extends it
    def layer(self) -> Layer:
        return Layer(self.document.path, self.document.data, *_positions(self.document), self.name)


@dataclass
class Profiles:
    """The profiles a lint may use, by name, and the problems in their files."""

    by_name: dict[str, Profile] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    defaults: tuple[str, ...] = ()  # extended by every portal, before its own extends:
    default_origin: str | None = None  # where defaults are named (the config file)
    # Each `extends:` seen, merged (by the table and the names): most portals share a few.
    _chains: dict[tuple[object, ...], Partial] = field(default_factory=dict, compare=False)

    def add(self, name: str, problems: Sequence[Problem], profile: Profile | None) -> None:
        """A profile file's problems, and the profile by its name if it loaded."""
        self.problems.extend(problems)
        if profile is not None:
            self.by_name[name] = profile

    def __bool__(self) -> bool:
        """Whether there is anything to extend (a profile, or a default naming one)."""
        return bool(self.by_name or self.defaults)

    @property
    def files(self) -> list[str]:
        return [profile.document.path for profile in self.by_name.values()]

    def effective(self, document: Document) -> Document:
        """``document`` with its effective settings as data, and how they were merged
        (itself when it extends nothing: its data is its settings)."""
        data = document.data if isinstance(document.data, dict) else {}
        if not self.defaults and "extends" not in data and "waivers" not in data:
            return document
        resolution = self.resolve(document)
        return replace(document, data=resolution.data, resolution=resolution)

    def resolve(self, document: Document) -> Resolution:
        """The portal's settings merged over the profiles it extends, with provenance."""
        own = document.data.get("extends") if isinstance(document.data, dict) else None
        table = active()
        key = _chain_key(table, own)
        inherited = self._chains.get(key) if key is not None else None
        if inherited is None:
            inherited = _merged(table, tuple(self.chain(own)))
            if key is not None:
                self._chains[key] = inherited
        return inherited.resolve(Layer(document.path, document.data, *_positions(document)))

    def effective_data(self, data: Any, path: str) -> Any:
        """A portal file's effective settings from its data alone (what pull compares live
        with): its own data when it extends nothing."""
        if not isinstance(data, dict):
            return data
        return self.effective(Document(path, data)).data

    def named(self, own: object) -> list[str]:
        """The profile names a portal extends, in order: the defaults, then those of its
        own ``extends:`` (``own``, as the file gives it: anything but names is left out)."""
        names = list(self.defaults) + (list(own) if isinstance(own, list) else [])
        return [name for name in names if isinstance(name, str)]

    def chain(self, own: object) -> list[Profile]:
        """The profiles a portal extends that exist and pass their schema, in order."""
        found = [self.by_name.get(name) for name in dict.fromkeys(self.named(own))]
        return [profile for profile in found if profile is not None and profile.valid]

    def missing(self, document: Document) -> list[str]:
        """The profiles ``document`` extends (itself or by default) that do not exist."""
        own = document.data.get("extends") if isinstance(document.data, dict) else None
        return [name for name in self.named(own) if name not in self.by_name]

    def default_problems(self, level: Level | None) -> Iterator[Problem]:
        """A problem for each default profile the config names that does not exist (once,
        at the config, not in every portal); none when ``level`` says the rule is off."""
        for name in self.defaults:
            if name not in self.by_name and level is not None:
                where = self.default_origin or "extends"
                message = unknown_profile.message(name, list(self.by_name))
                yield Problem(where, None, level, unknown_profile.ID, message)


def _chain_key(table: Table, own: object) -> tuple[object, ...] | None:
    """What a portal's chain depends on besides the Profiles: the table and its own
    `extends:` (anything but a list extends nothing of its own); None if unhashable."""
    if not isinstance(own, list):
        return (table,)
    return (table, *own) if all(type(name) is str for name in own) else None


@functools.lru_cache(maxsize=64)
def _merged(table: Table, chain: tuple[Profile, ...]) -> Partial:
    """A chain of profiles merged once for every portal that extends it: a fleet's
    portals share a few chains, and its accounts share the profiles (see `_parsed`)."""
    return merge_partial([profile.layer for profile in chain], table)


def profile_validator() -> Validator:
    """The profile schema's validator (compiled when it can be, as the portal's)."""
    return _profile_validator(active())


@functools.lru_cache(maxsize=2)
def _profile_validator(table: Table) -> Validator:
    from portal_config.lint.compiled_validator import (
        compile_validator,  # start-up: only a project with profiles needs it
    )

    profile = profile_schema(table)
    compiled = compile_validator(profile)
    if compiled is not None:
        return compiled
    from jsonschema import Draft202012Validator  # start-up: as lint.schema's own

    return Draft202012Validator(profile)


# Within one run over many accounts (`read_once`): each profile directory's listing and
# each profile file's bytes, by where they are and how they are shown; None outside one.
_seen: dict[tuple[str | None, ...], Any] | None = None


@contextlib.contextmanager
def read_once() -> Iterator[None]:
    """Read each profile directory and file once until the block ends: every account of a
    fleet run loads the repository's profiles, and they do not change while it lasts (the
    accounts' threads would otherwise take turns over a few dozen system calls each)."""
    global _seen
    outer = _seen
    _seen = {} if outer is None else outer
    try:
        yield
    finally:
        _seen = outer


def _remembered(key: tuple[str | None, ...], read: Callable[[], Any]) -> Any:
    seen = _seen
    if seen is None:
        return read()
    if key not in seen:  # two threads may both read it: the same answer, kept once
        seen[key] = read()
    return seen[key]


def load_profiles(scope: Scope, repository: Repository | None = None) -> Profiles:
    """Every profile in the scope's profile directories, each checked on its own.

    What a file's bytes make is remembered for the process: a fleet's lint loads the
    repository's profiles once per account, and they are the same files every time.
    """
    config = scope.config_file
    origin = display(config) if config is not None and scope.extends else None
    profiles = Profiles(defaults=scope.extends, default_origin=origin)
    top = repository.root if repository is not None else None
    for directory in scope.profile_dirs:
        paths = _remembered((str(directory),), functools.partial(_profile_files, directory))
        shown_directory = display(directory) if paths else ""
        for path in paths:
            shown = os.path.normpath(os.path.join(shown_directory, os.path.basename(path)))
            name = file_stem(shown)
            if name in profiles.by_name:
                continue  # an account's own, read first, wins
            reading = functools.partial(read_raw, path, shown, repository)
            raw = _remembered((path, shown, top), reading)
            if isinstance(raw, LoadResult):
                profiles.add(name, *_checked(name, raw))
            else:
                profiles.add(name, *_parsed(active(), name, shown, raw))
    return profiles


def profiles_from(
    loaded: Sequence[LoadResult], defaults: tuple[str, ...], default_origin: str | None = None
) -> Profiles:
    """The profiles of loaded files (a name's first file wins: an account's own), checked."""
    profiles = Profiles(defaults=defaults, default_origin=default_origin if defaults else None)
    for result in loaded:
        name = file_stem(result.path)
        if name not in profiles.by_name:
            profiles.add(name, *_checked(name, result))
    return profiles


@functools.lru_cache(maxsize=256)
def _parsed(
    table: Table, name: str, shown: str, data: bytes
) -> tuple[tuple[Problem, ...], Profile | None]:
    """``_checked`` of a file's bytes; the table in use is part of what it depends on."""
    return _checked(name, parse(data, shown))


def _checked(name: str, result: LoadResult) -> tuple[tuple[Problem, ...], Profile | None]:
    """A loaded profile's problems (loading, then its schema), and the profile if it loaded."""
    if result.document is None:
        return tuple(result.problems), None
    refusals, part = schema.check_parts(result.document, profile_validator())
    checked = replace(result.document, data=part) if part is not None else None
    profile = Profile(name, result.document, not refusals, checked)
    return (*result.problems, *refusals), profile


def _profile_files(directory: Path) -> list[str]:
    """The YAML files in ``directory`` (none if there is no such directory), sorted; as
    strings, which the ~1,000 accounts of a fleet's lint each list again."""
    try:
        entries = os.scandir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    with entries:
        return sorted(
            entry.path
            for entry in entries
            if os.path.splitext(entry.name)[1] in (".yaml", ".yml") and entry.is_file()
        )


def _positions(
    document: Document,
) -> tuple[Mapping[FieldKey, Position], Mapping[FieldKey, Position]]:
    """Where each field's value is, and where each `locked:` entry is, by (section, field)."""
    values: dict[FieldKey, Position] = {}
    data = document.data if isinstance(document.data, dict) else {}
    for section in active().sections:
        given = data.get(section.name)
        if not isinstance(given, dict):
            continue  # a value no file holds has no position: spare the look-ups
        for one in section.fields:
            if one.name in given:
                path: JsonPath = (section.name, one.name)
                where = document.values.get(path)  # one look-up: a composed file's is lazy
                if where is not None:
                    values[(section.name, one.name)] = where
    locked: dict[FieldKey, Position] = {}
    entries = data.get("locked")
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        part, dot, name = str(entry).partition(".")
        if dot:
            locked[(part, name)] = document.locate(("locked", index))
    return values, locked
