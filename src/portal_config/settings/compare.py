"""Comparing settings field by field: the changes a plan shows, and where each comes from.

Only the fields the desired settings manage are compared: a field a file does not name
has no opinion, so diff never shows it and apply never writes it. Sets of names compare
as sets. Whether a change widens access is the table's to say (`Field.widens`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portal_config.settings.model import PortalSettings
from portal_config.settings.table import Field, Kind, Table, active

# Where a change comes from, when the plan knows the base (the files last reviewed):
CHANGE = "change"  # this branch changes the field; live still holds the base's value
DRIFT = "drift"  # live was edited outside git; the branch keeps the base's value: a revert
BOTH = "both"  # the branch changes it and live was edited too: the edit is overwritten
ORIGINS = (CHANGE, DRIFT, BOTH)


def _field(section: str, name: str) -> Field:
    return active().section(section).field(name)


def shown_name(section: str, name: str, table: Table | None = None) -> str:
    """A field as plans name it (`Table.shown_name`)."""
    return (table or active()).shown_name(section, name)


def audience(section: str) -> str:
    """Whose access a widening change of ``section`` widens, as a plan's mark says it."""
    return active().section(section).audience


class _Named:
    """What every change is: a field of a section, named as plans name it, and whether
    applying it widens or narrows access, as the table declares for that field."""

    section: str
    field: str

    @property
    def name(self) -> str:
        return shown_name(self.section, self.field)

    @property
    def audience(self) -> str:
        return audience(self.section)

    def _before_after(self) -> tuple[Any, Any]:
        raise NotImplementedError

    @property
    def widens(self) -> bool:
        return _field(self.section, self.field).widened(*self._before_after())

    @property
    def narrows(self) -> bool:
        """Applying takes access away: for drift, the live edit had given more."""
        return _field(self.section, self.field).narrowed(*self._before_after())


@dataclass(frozen=True)
class FieldChange(_Named):
    """One field's value replaced."""

    section: str
    field: str
    old: Any
    new: Any
    origin: str | None = None  # None: a two-way plan, where no base says who changed what

    def _before_after(self) -> tuple[Any, Any]:
        return self.old, self.new

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.name,
            "old": self.old,
            "new": self.new,
            "widens": self.widens,
            "origin": self.origin,
        }


@dataclass(frozen=True)
class NamesChange(_Named):
    """Names added to and removed from a set of names (work types)."""

    section: str
    field: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    origin: str | None = None

    def _before_after(self) -> tuple[Any, Any]:
        # For a set of names, `Field.widened` compares what went and what came.
        return self.removed, self.added

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.name,
            "added": list(self.added),
            "removed": list(self.removed),
            "widens": self.widens,
            "origin": self.origin,
        }


Change = FieldChange | NamesChange


def compute_changes(
    live: PortalSettings,
    desired: PortalSettings,
    base: PortalSettings | None = None,
    *,
    three_way: bool = False,
) -> tuple[Change, ...]:
    """Field-level changes from live to desired, for the fields desired manages.

    Fields of known kinds compare directly; a generic differ (deepdiff, which tests use as
    the oracle for this function) cost 0.2-0.4 ms a portal and ~40 ms of imports on every
    diff. A three-way plan gives each change its origin against ``base`` (None: the base
    had no file for this portal, so all of it is this branch's).
    """
    changes: list[Change] = []
    for section, one, new in desired.managed():
        old = live.value(section.name, one.name)
        # A base that does not manage the field (no file, or a file without it) says the
        # whole change is this branch's.
        before = base.value(section.name, one.name) if base is not None else None
        if one.kind is Kind.NAMES:
            change = _names_change(section.name, one.name, old or (), new, before, three_way)
            if change is not None:
                changes.append(change)
        elif old != new:
            origin = _origin(old, new, before, before is None) if three_way else None
            changes.append(FieldChange(section.name, one.name, old, new, origin))
    return tuple(changes)


def _names_change(
    section: str,
    name: str,
    old: tuple[str, ...],
    new: tuple[str, ...],
    base: tuple[str, ...] | None,
    three_way: bool,
) -> NamesChange | None:
    before, after = set(old), set(new)
    added = tuple(t for t in new if t not in before)
    removed = tuple(t for t in old if t not in after)
    if not (added or removed):
        return None
    origin = None
    if three_way:  # the field as a set, as every other field: one origin for the change
        held = frozenset(base) if base is not None else None
        origin = _origin(frozenset(before), frozenset(after), held, held is None)
    return NamesChange(section, name, added, removed, origin)


def _origin(live: Any, desired: Any, base: Any, no_base: bool) -> str:
    if no_base or base == live:
        return CHANGE
    return DRIFT if base == desired else BOTH
