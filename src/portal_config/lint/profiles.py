"""Profiles as lint reads them, and the one place a portal file becomes its effective settings.

A profile (profiles/<name>.yaml, or accounts/<account>/profiles/<name>.yaml, which wins)
holds partial settings in a portal file's shape, checked against the profile schema with
positions. `Profiles.effective` turns a portal Document into one whose data is its
effective settings (settings.effective), keeping the file's own positions and recording
per field which file and line set it; lint, and so diff, apply and explain, which plan from
lint's documents, all go through it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from portal_config.file_access import Repository
from portal_config.lint import schema
from portal_config.lint.document import Document, JsonPath, LoadResult
from portal_config.lint.reader import read
from portal_config.lint.rules import profile_name_matches_filename, unknown_profile
from portal_config.lint.scope import Scope
from portal_config.paths import display
from portal_config.problems import Level, Position, Problem
from portal_config.settings.effective import FieldKey, Layer, Resolution, resolve
from portal_config.settings.schemas import profile_schema
from portal_config.settings.table import Table, active

if TYPE_CHECKING:
    from portal_config.lint.schema import Validator


@dataclass(frozen=True)
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

    def __bool__(self) -> bool:
        """Whether there is anything to extend (a profile, or a default naming one)."""
        return bool(self.by_name or self.defaults)

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
        layers = [profile.layer for profile in self.chain(own)]
        layers.append(Layer(document.path, document.data, *_positions(document)))
        return resolve(layers, active())

    def effective_data(self, data: Any, path: str) -> Any:
        """A portal file's effective settings from its data alone (what pull compares live
        with): its own data when it extends nothing."""
        if not isinstance(data, dict):
            return data
        return self.effective(Document(path, data)).data

    def chain(self, own: object) -> list[Profile]:
        """The profiles a portal extends, in order: the defaults, then its own."""
        found = [self.by_name.get(name) for name in dict.fromkeys(self.named(own))]
        return [profile for profile in found if profile is not None and profile.valid]

    def named(self, own: object) -> list[str]:
        """The names a portal extends, the defaults first: only strings (an entry of
        another kind is the schema's to report, and cannot be looked up)."""
        names = list(self.defaults) + (list(own) if isinstance(own, list) else [])
        return [name for name in names if isinstance(name, str)]

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


def load_profiles(scope: Scope, repository: Repository | None = None) -> Profiles:
    """Every profile in the scope's profile directories, each checked on its own."""
    found = [
        read(path, display(path), repository)
        for directory in scope.profile_dirs
        for path in _profile_files(directory)
    ]
    origin = display(scope.config_file) if scope.config_file is not None else None
    return profiles_from(found, scope.extends, origin, scope.extends_at)


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
        name = PurePath(result.path.partition("@")[0]).stem  # a base's files are path@ref
        used = profiles.file_of(name)
        if used is not None:
            # An account's own shadows a shared one by design; a twin in one directory
            # (x.yaml beside x.yml) would be silently ignored, its edits with it.
            if PurePath(used).parent == PurePath(result.path).parent:
                profiles.problems.append(_twin(result, name, used))
            continue
        profiles.problems.extend(result.problems)
        if result.document is None:
            profiles.unreadable[name] = result.path
            continue
        problems, part = schema.check_parts(result.document, profile_validator())
        profiles.problems.extend(problems)
        checked = replace(result.document, data=part) if part is not None else None
        profiles.by_name[name] = Profile(name, result.document, not problems, checked)
    return profiles


def _twin(result: LoadResult, name: str, used: str) -> Problem:
    """A second file for one profile in one directory, at its `profile:` name."""
    document = result.document
    named = document is not None and ("profile",) in document.values
    at = document.locate(("profile",)) if document is not None and named else Position(1, 1)
    message = f"profile '{name}' is also in {used}, the file used; remove or rename this one"
    return Problem(result.path, at, Level.ERROR, profile_name_matches_filename.ID, message)


def _profile_files(directory: Path) -> Sequence[Path]:
    if not directory.is_dir():
        return ()
    # A directory, FIFO or dangling link named as a profile too: reading it says what it
    # is, where skipping it would call the profile unknown.
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))


def _positions(
    document: Document,
) -> tuple[Mapping[FieldKey, Position], Mapping[FieldKey, Position]]:
    """Where each field's value is, and where each `locked:` entry is, by (section, field)."""
    values: dict[FieldKey, Position] = {}
    for section, one in active().fields():
        path: JsonPath = (section.name, one.name)
        if path in document.values:
            values[(section.name, one.name)] = document.values[path]
    locked: dict[FieldKey, Position] = {}
    entries = document.data.get("locked") if isinstance(document.data, dict) else None
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        part, dot, name = str(entry).partition(".")
        if dot:
            locked[(part, name)] = document.locate(("locked", index))
    return values, locked
