"""The vocabulary of the settings table: kinds of fields, widening, fields and sections.

`settings.table` declares the portal's sections with these; nothing here names a field.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


class Kind(enum.Enum):
    """What a field holds, which decides its schema, its wire form and how it compares."""

    SWITCH = "switch"  # the section's own on/off: a boolean other rules key on
    BOOLEAN = "boolean"
    TEXT = "text"
    CHOICE = "choice"  # one of `Field.choices`
    NAMES = "names"  # a set of names (its order in a file is for readers only)


class Widening(enum.Enum):
    """Which way of changing a field gives someone outside the office more."""

    ON = "on"  # false -> true
    OFF = "off"  # true -> false (a restriction ended)
    ADD = "add"  # a name added to the set


class Omitted(enum.Enum):
    """What a field a file leaves out means."""

    UNMANAGED = "unmanaged"  # no opinion: diff never shows it, apply never writes it


UNMANAGED = Omitted.UNMANAGED


class Merge(enum.Enum):
    """How a later layer (a profile, then the portal file) changes what it inherits."""

    REPLACE = "replace"  # the later value replaces the earlier one
    # A list replaces the inherited names; in a profile, `{add: [...], remove: [...]}`
    # changes them without copying them.
    EDIT = "edit"


# Compared by identity (a table declares each once): no generated __eq__/__hash__, which
# would cost every lint's start-up for nothing.
@dataclass(frozen=True, eq=False)
class Acknowledgement:
    """A field whose widening value a file may acknowledge with a reason (`acknowledged:`)."""

    title: str
    description: str
    example: str = ""  # a reason as a file might give it, for the schema's examples


@dataclass(frozen=True, eq=False)
class Field:
    name: str
    kind: Kind
    title: str
    description: str
    # The value a file that leaves the field out means; UNMANAGED: it is not managed then.
    default: Any = UNMANAGED
    widens: Widening | None = None
    required: bool = False
    choices: tuple[str, ...] = ()
    # Text: JSON Schema keywords for the value (a pattern, a length); names: the JSON
    # Schema of one name, its type aside.
    constraints: dict[str, Any] = field(default_factory=dict)
    # Names that must be work types of the account (the catalog's rules check them).
    work_types: bool = False
    acknowledgement: Acknowledgement | None = None
    examples: tuple[Any, ...] = ()
    # None: the kind's own (a set of names can be edited, anything else is replaced).
    merge: Merge | None = None

    @property
    def merge_rule(self) -> Merge:
        if self.merge is not None:
            return self.merge
        return Merge.EDIT if self.kind is Kind.NAMES else Merge.REPLACE

    @property
    def managed_when_omitted(self) -> bool:
        return self.default is not UNMANAGED

    def widened(self, old: Any, new: Any) -> bool:
        """Whether changing this field from ``old`` to ``new`` widens access.

        For a set of names, ``old`` and ``new`` are the names removed and added."""
        if self.widens is Widening.ON:
            return not old and bool(new)
        if self.widens is Widening.OFF:
            return bool(old) and not new
        if self.widens is Widening.ADD:
            return bool(new)
        return False

    def widens_from(self, old: Any, new: Any) -> bool:
        """Whether the value ``new`` gives more than ``old`` (whole values, names too)."""
        if self.kind is Kind.NAMES:
            if not isinstance(new, list):
                return False  # a value the schema refuses widens nothing
            return self.widened(None, [n for n in new if n not in set(old or ())])
        return self.widened(old, new)

    def more_restrictive(self, first: Any, second: Any) -> Any:
        """The value of the two that gives less; ``first`` when neither does.

        Names: those both allow, as a set of names widens by each name added."""
        if self.kind is Kind.NAMES:
            allowed = set(second or ())
            return [name for name in first or () if name in allowed]
        return first if not self.widens_from(second, first) else second

    def narrowed(self, old: Any, new: Any) -> bool:
        """Whether the change takes access away (the reverse of `widened`)."""
        if self.widens is Widening.ADD:
            return bool(old)
        return self.widened(new, old)


@dataclass(frozen=True, eq=False)
class Section:
    name: str
    title: str
    description: str
    fields: tuple[Field, ...]
    examples: tuple[Any, ...] = ()
    required: bool = False  # whether a portal file must have this section
    # Whose access a widening change of this section widens, as a plan's mark says it.
    audience: str = "access"

    def field(self, name: str) -> Field:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    @property
    def switch(self) -> Field | None:
        """The field that switches the section on or off, if it has one."""
        return next((f for f in self.fields if f.kind is Kind.SWITCH), None)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: caches key on it
class Table:
    sections: tuple[Section, ...]

    def section(self, name: str) -> Section:
        for section in self.sections:
            if section.name == name:
                return section
        raise KeyError(name)

    def fields(self) -> Iterator[tuple[Section, Field]]:
        for section in self.sections:
            for one in section.fields:
                yield section, one

    def acknowledgeable(self) -> tuple[tuple[Section, Field], ...]:
        """The fields a portal file may acknowledge under `acknowledged:`, by their own
        names: the primary section's only, so two sections' names cannot collide there."""
        return self._acknowledgeable

    @functools.cached_property
    def _acknowledgeable(self) -> tuple[tuple[Section, Field], ...]:
        # Asked once per file by rules: worked out once per table.
        primary = self.primary
        return tuple((s, f) for s, f in self.fields() if f.acknowledgement and s is primary)

    @functools.cached_property
    def work_type_fields(self) -> tuple[tuple[Section, Field], ...]:
        """The fields that list work types of the account, in every section."""
        return tuple((s, f) for s, f in self.fields() if f.work_types)

    @property
    def primary(self) -> Section:
        """The section every portal file has (the first, required one: the guest section).
        Plans name its fields by their own names, as they always have; any other
        section's as ``section.field``."""
        return next(s for s in self.sections if s.required)

    def shown_name(self, section: str, field: str) -> str:
        """A field as plans, reasons and messages name it (see `primary`)."""
        return field if section == self.primary.name else f"{section}.{field}"
