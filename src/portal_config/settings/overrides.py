"""The smallest override: what a portal file must say over the profiles it extends.

Pure and over plain data, next to effective.py. Given what a portal inherits (its profiles
merged, portal-file shaped: `Resolution.data` of a portal file that says nothing itself)
and the values it should end up with (live's), it keeps the fields whose inherited value
differs. A field a file leaves out is what it inherits there; where nothing sets it, its
default when it has one (a guest permission: false), else it is not managed.

A section no profile sets is the portal's own, not an override over anything: it is kept
whole, as pull writes a file that extends nothing, so the file still manages it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from portal_config.settings.effective import as_file_value, same
from portal_config.settings.fields import Field, Section

Entry = tuple[Section, Field, Any]  # a field and the value it should have


def overrides(inherited: Mapping[str, Any], wanted: Iterable[Entry]) -> list[Entry]:
    """The entries of ``wanted`` a portal file must spell out over ``inherited``, in the
    order given."""
    return [entry for entry in wanted if not _inherited_as(inherited, *entry)]


def inherited(inherited: Mapping[str, Any], wanted: Iterable[Entry]) -> set[tuple[str, str]]:
    """The (section, field) of each entry of ``wanted`` a file may leave out: what it
    inherits there is the value wanted."""
    return {(s.name, f.name) for s, f, v in wanted if _inherited_as(inherited, s, f, v)}


def inherits_section(inherited: Mapping[str, Any], section: Section) -> bool:
    """Whether a profile sets some field of ``section`` (a file's own list then replaces
    what it inherits, so an empty one must be written, never left out)."""
    return isinstance(inherited.get(section.name), Mapping)


def _inherited_as(inherited: Mapping[str, Any], section: Section, one: Field, value: Any) -> bool:
    given = inherited.get(section.name)
    if not isinstance(given, Mapping):
        return False  # the portal's own section: written whole
    have = given.get(one.name)
    if have is None:
        if not one.managed_when_omitted:
            return False  # left out, nothing would manage it
        have = one.default
    return same(one, as_file_value(have), as_file_value(value))
