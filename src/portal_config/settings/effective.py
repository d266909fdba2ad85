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
from typing import Any

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
    settings: dict[FieldKey, Setting] = {}
    locks: dict[FieldKey, Lock] = {}
    widenings: list[Widening] = []
    disagreements: list[Disagreement] = []
    redundant: list[Redundant] = []
    hollow: list[HollowLock] = []
    for layer in layers:
        for section, one in table.fields():
            given = layer.data.get(section.name)
            if not isinstance(given, Mapping) or given.get(one.name) is None:
                continue
            key = (section.name, one.name)
            before = settings.get(key)
            value = given[one.name]
            if layer.profile is not None:  # only a profile may edit names ({add, remove})
                value = merged(one, before.value if before else None, value)
            setting = Setting(value, Origin(layer.file, layer.positions.get(key)), before)
            if before is not None and same(one, before.value, value):
                redundant.append(Redundant(key, setting))
            settings[key] = setting
            lock = locks.get(key)
            if lock is not None and key not in layer.locked and one.widens_from(lock.value, value):
                widenings.append(Widening(key, lock, setting))
        for key, where in layer.locked.items():
            current = settings.get(key)
            if layer.profile is None:
                continue  # a portal file (its schema has no locked:)
            if current is None:  # a guard that guards nothing must not pass for one
                hollow.append(HollowLock(key, Origin(layer.file, where), layer.profile))
                continue
            one = table.section(key[0]).field(key[1])
            lock = Lock(current.value, Origin(layer.file, where), layer.profile)
            prior = locks.get(key)
            if prior is not None and not same(one, prior.value, current.value):
                kept = one.more_restrictive(prior.value, current.value)
                disagreements.append(Disagreement(key, prior, lock, kept))
                if not same(one, kept, current.value):
                    settings[key] = Setting(kept, prior.origin, current)
                lock = Lock(kept, lock.origin, layer.profile)
            locks[key] = lock
    return Resolution(
        _portal_shaped(layers[-1].data, settings, table),
        settings,
        locks,
        tuple(widenings),
        tuple(disagreements),
        tuple(redundant),
        tuple(hollow),
    )


def merged(one: Field, inherited: Any, given: Any) -> Any:
    """``given`` applied to ``inherited`` by the field's merge rule."""
    if one.merge_rule is Merge.EDIT and isinstance(given, Mapping):
        removed = set(given.get("remove") or ())
        kept = [name for name in inherited or one_default(one) if name not in removed]
        return kept + [name for name in given.get("add") or () if name not in kept]
    return list(given) if isinstance(given, list) else given


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
    for section in table.sections:
        own = portal.get(section.name)
        values = {
            one.name: settings[(section.name, one.name)].value
            for one in section.fields
            if (section.name, one.name) in settings
        }
        if not values and not isinstance(own, Mapping):
            continue
        extra = (
            {k: v for k, v in own.items() if k not in values} if isinstance(own, Mapping) else {}
        )
        data[section.name] = {**values, **extra}
    return data


def shown(value: Any) -> str:
    """A value as a file spells it (true, "text", ["a", "b"]), for messages and explain."""
    import json  # start-up: only a message about an effective value asks

    return json.dumps(value, ensure_ascii=False)
