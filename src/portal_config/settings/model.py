"""The portal settings model shared by files, plans, the API adapter and the sandbox.

`PortalSettings` holds, for one portal, the value of every field it manages, section by
section, as the settings table declares them. A field a file leaves out is not managed
unless the table gives it a default (the guest section's permissions: restrictive by
default). Live settings hold every field the server sent. Sets of names compare as sets:
their order in a file is for readers, not for OutSmart.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from portal_config.settings.table import Field, Kind, Section, active

Values = Mapping[str, Mapping[str, Any]]


def _held(one: Field, value: Any) -> Any:
    """A value as the model holds it: sets of names as a tuple, in their given order."""
    return tuple(value) if one.kind is Kind.NAMES else value


def _plain(one: Field, value: Any, *, ordered: bool) -> Any:
    if one.kind is not Kind.NAMES:
        return value
    return list(value) if ordered else sorted(value)


@dataclass(frozen=True, eq=False)
class PortalSettings:
    portal: str
    values: Values

    @classmethod
    def of(cls, portal: str, values: Values) -> PortalSettings:
        """Settings from section -> field -> value; sections and fields in table order."""
        table = active()
        held: dict[str, dict[str, Any]] = {}
        for section in table.sections:
            given = values.get(section.name)
            if given is None:
                continue
            held[section.name] = {
                one.name: _held(one, given[one.name]) for one in section.fields if one.name in given
            }
        return cls(portal, held)

    @classmethod
    def from_file_data(cls, data: Mapping[str, Any]) -> PortalSettings:
        """From a schema-valid portal file: what it names, and the defaults of what it omits."""
        values: dict[str, dict[str, Any]] = {}
        for section in active().sections:
            given = data.get(section.name)
            if isinstance(given, Mapping):
                values[section.name] = with_defaults(section, given)
        return cls.of(data["portal"], values)

    # -- reading ------------------------------------------------------------------------
    def value(self, section: str, name: str, default: Any = None) -> Any:
        """One field's value, or ``default`` where it is not managed."""
        return self.values.get(section, {}).get(name, default)

    def manages(self, section: str, name: str) -> bool:
        return name in self.values.get(section, {})

    def managed(self) -> Iterator[tuple[Section, Field, Any]]:
        """Every managed field with its value, in table order."""
        for section in active().sections:
            held = self.values.get(section.name)
            if held is None:
                continue
            for one in section.fields:
                if one.name in held:
                    yield section, one, held[one.name]

    def acknowledgeable_on(self) -> tuple[str, ...]:
        """The acknowledgeable fields that widen access as set, in a section switched on:
        what permissive-guest-access warns about unless the file acknowledges it."""
        on = []
        for section, one, value in self.managed():
            switch = section.switch
            if one.acknowledgement is None or switch is None:
                continue
            if self.value(section.name, switch.name) and one.widened(False, value):
                on.append(one.name)
        return tuple(on)

    # -- comparing ----------------------------------------------------------------------
    def comparable(self) -> dict[str, Any]:
        """The managed fields as plain data, for comparisons and fingerprints."""
        return {
            section.name: {
                one.name: _plain(one, self.values[section.name][one.name], ordered=False)
                for one in section.fields
                if one.name in self.values[section.name]
            }
            for section in active().sections
            if section.name in self.values
        }

    def same_as(self, other: PortalSettings) -> bool:
        """Whether every field managed on both sides holds the same value (live settings
        hold every field; desired ones only what they manage)."""
        mine, theirs = self.comparable(), other.comparable()
        return all(
            mine[section][name] == theirs[section][name]
            for section in mine.keys() & theirs.keys()
            for name in mine[section].keys() & theirs[section].keys()
        )

    def fingerprint(self) -> str:
        """A stable hash of the managed fields: detects live changes even without revisions."""
        text = json.dumps(self.comparable(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def only(self, sections: Iterable[str]) -> PortalSettings:
        """These settings without the sections not named in ``sections``."""
        keep = set(sections)
        return PortalSettings(self.portal, {k: v for k, v in self.values.items() if k in keep})

    def managed_by(self, other: PortalSettings) -> PortalSettings:
        """These settings, only the fields ``other`` manages: what of a live portal a plan
        compares with a file's desired settings (and shows, and saves)."""
        return PortalSettings(
            self.portal,
            {
                section: {k: v for k, v in fields.items() if other.manages(section, k)}
                for section, fields in self.values.items()
                if section in other.values
            },
        )

    # -- as data ------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "portal": self.portal,
            **{
                section.name: {
                    one.name: _plain(one, value, ordered=True)
                    for one in section.fields
                    if (value := self.values[section.name].get(one.name, _MISSING)) is not _MISSING
                }
                for section in active().sections
                if section.name in self.values
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PortalSettings:
        return cls.of(data["portal"], {k: v for k, v in data.items() if k != "portal"})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PortalSettings):
            return NotImplemented
        return self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_json(), sort_keys=True))


_MISSING = object()


def with_defaults(section: Section, given: Mapping[str, Any]) -> dict[str, Any]:
    """A section's named fields, plus the default of each field it omits that has one."""
    values = {}
    for one in section.fields:
        if one.name in given:
            values[one.name] = given[one.name]
        elif one.managed_when_omitted:
            values[one.name] = one.default
    return values


@dataclass(frozen=True)
class LivePortal:
    """A portal as the API reports it: its settings plus the server-managed revision."""

    settings: PortalSettings
    revision: int
    name: str = ""

    @property
    def portal(self) -> str:
        return self.settings.portal


@dataclass(frozen=True)
class WorkType:
    """A work type of the OutSmart account (`GET worktypes/`): its name and whether it is
    active. OutSmart keeps inactive work types; guests cannot be offered them."""

    name: str
    active: bool = True
