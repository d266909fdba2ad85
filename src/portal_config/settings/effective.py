"""A portal's effective settings: its profiles and its own file merged, with provenance.

Pure and over plain data: the layers come in order (the repository's default profiles, the
account's, those the portal file `extends:`, the portal file itself), each with where its
values and locks are. The merge follows each field's rule in the settings table
(`Field.merge_rule`). What comes out is portal-file shaped (`Resolution.data`), so
everything that takes a portal file's data takes it unchanged, plus, per field, the
line that set it and what it overrode, and what the guard rails need: the locks, where a
later layer widened a locked field, where two locks disagree, and overrides that change
nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from portal_config.settings.fields import Field, Merge, Table

# A 1-based (line, column); lint's Position is one (settings/ imports nothing of ours).
Position = tuple[int, int]

FieldKey = tuple[str, str]  # (section, field)
EDIT_KEYS = ("add", "remove")


@dataclass(frozen=True)
class Origin:
    """Where a value or a lock was written: a file and, where known, the line in it."""

    file: str
    position: Position | None

    def __str__(self) -> str:
        return f"{self.file}:{self.position[0]}" if self.position else self.file


@dataclass(frozen=True)
class Layer:
    """One file's part in a portal's settings: a profile, or the portal file itself."""

    file: str
    data: Mapping[str, Any]
    # Where each field's value is, by (section, field); where each `locked:` entry is.
    positions: Mapping[FieldKey, Position] = field(default_factory=dict)
    locked: Mapping[FieldKey, Position] = field(default_factory=dict)
    profile: str | None = None  # None: the portal file


@dataclass(frozen=True)
class Setting:
    """A field's value after one layer, where it was set, and what it replaced."""

    value: Any
    origin: Origin
    overrode: Setting | None = None
    # An {add, remove} edit of what it overrode: its value keeps part of that one's.
    edit: bool = False

    def made_by(self) -> tuple[Origin, ...]:
        """Every line the value comes from, earliest first: the one that set it whole,
        then each edit of it (a profile edit reaches a portal through any of them)."""
        chain = [self.origin]
        setting = self
        while setting.edit and setting.overrode is not None:
            setting = setting.overrode
            chain.append(setting.origin)
        return tuple(reversed(chain))


@dataclass(frozen=True)
class Lock:
    value: Any
    origin: Origin  # the `locked:` entry
    profile: str


@dataclass(frozen=True)
class Widening:
    """A layer after a lock gives more than the locked value."""

    key: FieldKey
    lock: Lock
    setting: Setting


@dataclass(frozen=True)
class HollowLock:
    """A profile locks a field that nothing up to it sets: the lock holds no value."""

    key: FieldKey
    origin: Origin  # the `locked:` entry
    profile: str


@dataclass(frozen=True)
class Disagreement:
    """Two profiles lock one field with different values; ``kept`` is the more restrictive."""

    key: FieldKey
    first: Lock
    second: Lock
    kept: Any


@dataclass(frozen=True)
class Redundant:
    """A layer sets a field to exactly what it inherits."""

    key: FieldKey
    setting: Setting


@dataclass(frozen=True)
class Resolution:
    data: dict[str, Any]  # portal-file shaped
    settings: Mapping[FieldKey, Setting]
    locks: Mapping[FieldKey, Lock]
    widenings: tuple[Widening, ...] = ()
    disagreements: tuple[Disagreement, ...] = ()
    redundant: tuple[Redundant, ...] = ()
    hollow: tuple[HollowLock, ...] = ()


def resolve(layers: Sequence[Layer], table: Table) -> Resolution:
    """Merge ``layers`` in order (later wins); the last one is the portal file."""
    return merge_partial(layers[:-1], table).resolve(layers[-1])


def merge_partial(layers: Sequence[Layer], table: Table) -> Partial:
    """``layers`` merged in order, for portal files to be resolved over (`Partial.resolve`):
    a fleet's portals share a few chains of profiles, each merged once."""
    merging = Partial(table)
    for layer in layers:
        merging.add(layer)
    return merging


class Partial:
    """Where a merge stands after some layers: each field's setting, the locks, and what
    the guard rails found so far."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.settings: dict[FieldKey, Setting] = {}
        self.locks: dict[FieldKey, Lock] = {}
        self.widenings: list[Widening] = []
        self.disagreements: list[Disagreement] = []
        self.redundant: list[Redundant] = []
        self.hollow: list[HollowLock] = []
        # What a portal file that sets no field inherits as it is (made on first use).
        self._inherited: Resolution | None = None

    def resolve(self, portal: Layer) -> Resolution:
        """The merge so far with ``portal`` (the portal file) last; this one is unchanged."""
        if not self._sets_any(portal):  # most of a fleet's portals: only their id and extends
            if self._inherited is None:
                self._inherited = self._resolution({})
            shared = self._inherited  # its parts are read-only, as every Resolution's
            return Resolution(
                _portal_shaped(portal.data, shared.settings, self.table),
                shared.settings,
                shared.locks,
                shared.widenings,
                shared.disagreements,
                shared.redundant,
                shared.hollow,
            )
        last = Partial(self.table)
        last.settings, last.locks = dict(self.settings), dict(self.locks)
        last.widenings, last.disagreements = list(self.widenings), list(self.disagreements)
        last.redundant, last.hollow = list(self.redundant), list(self.hollow)
        last.add(portal)
        return last._resolution(portal.data)

    def _resolution(self, portal: Mapping[str, Any]) -> Resolution:
        return Resolution(
            _portal_shaped(portal, self.settings, self.table),
            dict(self.settings),
            dict(self.locks),
            tuple(self.widenings),
            tuple(self.disagreements),
            tuple(self.redundant),
            tuple(self.hollow),
        )

    def _sets_any(self, layer: Layer) -> bool:
        """Whether ``layer`` gives any field a value (or, as a profile, locks one)."""
        if layer.locked and layer.profile is not None:
            return True
        for section in self.table.sections:
            given = layer.data.get(section.name)
            if _is_mapping(given) and any(given.get(f.name) is not None for f in section.fields):
                return True
        return False

    def add(self, layer: Layer) -> None:
        """``layer`` merged over what came before it."""
        self._inherited = None
        settings, locks = self.settings, self.locks
        for section in self.table.sections:
            given = layer.data.get(section.name)
            if not _is_mapping(given):
                continue
            for one in section.fields:
                value = given.get(one.name)
                if value is None:
                    continue
                key = (section.name, one.name)
                before = settings.get(key)
                edit = False
                if layer.profile is not None:  # only a profile may edit names ({add, remove})
                    edit = _is_edit(one, value)
                    value = merged(one, before.value if before else None, value)
                origin = Origin(layer.file, layer.positions.get(key))
                setting = Setting(value, origin, before, edit)
                if before is not None and same(one, before.value, value):
                    self.redundant.append(Redundant(key, setting))
                settings[key] = setting
                lock = locks.get(key)
                if (
                    lock is not None
                    and key not in layer.locked
                    and one.widens_from(lock.value, value)
                ):
                    self.widenings.append(Widening(key, lock, setting))
        for key, where in layer.locked.items():
            current = settings.get(key)
            if layer.profile is None:
                continue  # a portal file (its schema has no locked:)
            if current is None:  # a guard that guards nothing must not pass for one
                self.hollow.append(HollowLock(key, Origin(layer.file, where), layer.profile))
                continue
            one = self.table.section(key[0]).field(key[1])
            lock = Lock(current.value, Origin(layer.file, where), layer.profile)
            prior = locks.get(key)
            if prior is not None and not same(one, prior.value, current.value):
                kept = one.more_restrictive(prior.value, current.value)
                self.disagreements.append(Disagreement(key, prior, lock, kept))
                if not same(one, kept, current.value):
                    settings[key] = Setting(kept, prior.origin, current)
                lock = Lock(kept, lock.origin, layer.profile)
            locks[key] = lock


def merged(one: Field, inherited: Any, given: Any) -> Any:
    """``given`` applied to ``inherited`` by the field's merge rule."""
    if _is_edit(one, given):
        removed = set(given.get("remove") or ())
        kept = [name for name in inherited or one_default(one) if name not in removed]
        return kept + [name for name in given.get("add") or () if name not in kept]
    return list(given) if isinstance(given, list) else given


def _is_edit(one: Field, given: Any) -> bool:
    """Whether ``given`` edits the names it inherits ({add, remove}) rather than replacing."""
    return one.merge_rule is Merge.EDIT and _is_mapping(given)


def one_default(one: Field) -> list[Any]:
    """What an edit of names starts from when nothing before it set them."""
    return list(one.default) if one.managed_when_omitted else []


def same(one: Field, first: Any, second: Any) -> bool:
    if isinstance(first, list) and isinstance(second, list):
        return sorted(map(str, first)) == sorted(map(str, second))  # a set of names
    return bool(first == second and type(first) is type(second))


def _portal_shaped(
    portal: Mapping[str, Any], settings: Mapping[FieldKey, Setting], table: Table
) -> dict[str, Any]:
    """The portal file's data with each section's effective fields, in table order; what
    the file holds besides (its id, unknown keys the schema reports) stays as it is."""
    data = dict(portal)
    named = {section for section, _ in settings}  # a fleet's portals set one section or two
    for section in table.sections:
        own = portal.get(section.name)
        values: dict[str, Any] = {}
        for one in section.fields if section.name in named else ():
            setting = settings.get((section.name, one.name))
            if setting is not None:
                values[one.name] = setting.value
        if not _is_mapping(own):
            if values:
                data[section.name] = values
            continue
        data[section.name] = {**values, **{k: v for k, v in own.items() if k not in values}}
    return data


def _is_mapping(value: object) -> TypeGuard[Mapping[str, Any]]:
    # A file's data is plain dicts, or None where a section is absent: the ABC's check
    # (slower by far, and the merge asks once per section and layer) is left for the rest.
    if type(value) is dict:
        return True
    return value is not None and isinstance(value, Mapping)


def as_file_value(value: Any) -> Any:
    """A model value as a file holds it: the model keeps a set of names as a tuple, a
    file (and JSON, and `same`) as a list."""
    return list(value) if isinstance(value, tuple) else value


def shown(value: Any) -> str:
    """A value as a file spells it (true, "text", ["a", "b"]), for messages and explain."""
    import json  # start-up: only a message about an effective value asks

    return json.dumps(value, ensure_ascii=False)
