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
from portal_config.lint.rules import profile_name_matches_filename, unknown_profile
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
    # A name whose file does not load (its problems say why): it exists, so a portal
    # extending it is not told it names an unknown profile, and no other file takes it over.
    unreadable: dict[str, str] = field(default_factory=dict)
    defaults: tuple[str, ...] = ()  # extended by every portal, before its own extends:
    default_origin: str | None = None  # where defaults are named (the config file)
    default_positions: Mapping[str, Position] = field(default_factory=dict)  # in it
    # Each `extends:` seen, merged (by the table and the names): most portals share a few.
    _chains: dict[tuple[object, ...], Partial] = field(default_factory=dict, compare=False)

    def add(
        self, name: str, shown: str, problems: Sequence[Problem], profile: Profile | None
    ) -> None:
        """A profile file's problems, and the profile by its name if it loaded (else the
        name is known, as unreadable). A second file for a name already taken is an
        account's own shadowing a shared one, by design, unless the two share a directory
        (x.yaml beside x.yml), where the other would be ignored silently, edits and all."""
        used = self.file_of(name)
        if used is not None:
            if os.path.dirname(used) == os.path.dirname(shown):
                self.problems.append(_twin(shown, profile, name, used))
            return
        self.problems.extend(problems)
        if profile is not None:
            self.by_name[name] = profile
        else:
            self.unreadable[name] = shown

    @property
    def names(self) -> tuple[str, ...]:
        """Every profile that exists, whether or not its file is usable."""
        return (*self.by_name, *self.unreadable)

    def file_of(self, name: str) -> str | None:
        """The file of the profile ``name``, whether or not it is usable; None: no such."""
        found = self.by_name.get(name)
        return found.document.path if found is not None else self.unreadable.get(name)

    def usable(self, name: str) -> bool:
        """Whether the profile ``name`` exists, loads and passes its schema."""
        found = self.by_name.get(name)
        return found is not None and found.valid

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

    def unusable(self, document: Document) -> list[str]:
        """The profiles ``document`` extends (itself or by default) that do not exist, do
        not load or fail their schema: what it inherits is not known without them."""
        own = document.data.get("extends") if isinstance(document.data, dict) else None
        return [name for name in self.named(own) if not self.usable(name)]

    def default_problems(self, level: Level | None) -> Iterator[Problem]:
        """A problem for each default profile the config names that does not exist (once,
        at the config, not in every portal); none when ``level`` says the rule is off."""
        for name in self.defaults:
            if self.file_of(name) is None and level is not None:
                where = self.default_origin or "extends"
                message = unknown_profile.message(name, list(self.by_name))
                at = self.default_positions.get(name)
                yield Problem(where, at, level, unknown_profile.ID, message)


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
    profiles = Profiles(
        defaults=scope.extends, default_origin=origin, default_positions=scope.extends_at
    )
    top = repository.root if repository is not None else None
    for directory in scope.profile_dirs:
        paths = _remembered((str(directory),), functools.partial(_profile_files, directory))
        shown_directory = display(directory) if paths else ""
        for path in paths:
            shown = os.path.normpath(os.path.join(shown_directory, os.path.basename(path)))
            name = file_stem(shown)
            reading = functools.partial(read_raw, path, shown, repository)
            raw = _remembered((path, shown, top), reading)
            if isinstance(raw, LoadResult):
                profiles.add(name, shown, *_checked(name, raw))
            else:
                profiles.add(name, shown, *_parsed(active(), name, shown, raw))
    return profiles


def profiles_from(
    loaded: Sequence[LoadResult],
    defaults: tuple[str, ...],
    default_origin: str | None = None,
    default_positions: Mapping[str, Position] | None = None,
) -> Profiles:
    """The profiles of loaded files (a name's first file wins: an account's own), checked."""
    profiles = Profiles(
        defaults=defaults,
        default_origin=default_origin if defaults else None,
        default_positions=default_positions or {},
    )
    for result in loaded:
        profiles.add(file_stem(result.path), result.path, *_checked(file_stem(result.path), result))
    return profiles


def _twin(shown: str, profile: Profile | None, name: str, used: str) -> Problem:
    """A second file for one profile in one directory, at its `profile:` name."""
    document = profile.document if profile is not None else None
    named = document is not None and ("profile",) in document.values
    at = document.locate(("profile",)) if document is not None and named else Position(1, 1)
    message = f"profile '{name}' is also in {used}, the file used; remove or rename this one"
    return Problem(shown, at, Level.ERROR, profile_name_matches_filename.ID, message)


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
        # A directory, FIFO or dangling link named as a profile too: reading it says what
        # it is, where skipping it would call the profile unknown.
        return sorted(
            entry.path for entry in entries if os.path.splitext(entry.name)[1] in (".yaml", ".yml")
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
