"""What a rule receives (`Context`) and what it yields (`Hit`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from portal_config.lint.loader import Document, JsonPath
from portal_config.settings.effective import Origin
from portal_config.settings.table import active

if TYPE_CHECKING:
    from portal_config.lint.catalog import Catalog


@dataclass(frozen=True)
class Hit:
    """A rule's finding before config decides its level: which file, where, and why."""

    document: Document
    path: JsonPath
    message: str
    on_key: bool = False
    # Where to point instead of ``path`` (a profile's `locked:` entry, say).
    at: Origin | None = None


@dataclass
class Context:
    """What rules may consult besides the document itself."""

    catalog: Catalog | None = None
    project: Sequence[Document] = field(default_factory=list)
    # The profiles portal files may extend, by name; None where no files are linted.
    profiles: Sequence[str] | None = None
    # The profiles every portal extends first (the config's `extends:`, the account's).
    defaults: Sequence[str] = ()


def section_of(document: Document, name: str) -> Mapping[str, Any]:
    """A section's mapping; empty where the schema refused it or it is missing."""
    section = document.data.get(name)
    return section if isinstance(section, dict) else {}


def guest(document: Document) -> Mapping[str, Any]:
    """The guest_workorder mapping; empty where the schema refused it or it is missing."""
    return section_of(document, "guest_workorder")


def known(value: Any) -> bool | None:
    """A flag as true or false, or None where the schema refused it or it is missing:
    a rule that depends on it then says nothing."""
    return value if isinstance(value, bool) else None


def work_type_lists(document: Document) -> Iterator[list[tuple[JsonPath, str]]]:
    """Each list of work types in the file (every field the settings table marks as work
    types, in every section), as its names with their paths, minus the names the schema
    refused."""
    for section, one in active().work_type_fields:
        fields = document.data.get(section.name)
        listed = fields.get(one.name) if isinstance(fields, dict) else None
        at: JsonPath = (section.name, one.name)
        if isinstance(listed, list):
            yield _named_at(at, listed)
        elif isinstance(listed, dict):
            # A profile's edit: the names it adds and removes, as one list (a name both
            # added and removed is listed twice: which one holds, no reader can tell).
            yield [
                named
                for verb in ("add", "remove")
                if isinstance(listed.get(verb), list)
                for named in _named_at((*at, verb), listed[verb])
            ]


def _named_at(at: JsonPath, listed: list[Any]) -> list[tuple[JsonPath, str]]:
    return [((*at, index), name) for index, name in enumerate(listed) if isinstance(name, str)]


def work_types(document: Document) -> Iterator[tuple[JsonPath, str]]:
    """Every listed work type with its path (see `work_type_lists`)."""
    for listed in work_type_lists(document):
        yield from listed


def refused(document: Document, path: JsonPath) -> bool:
    """Whether the schema refused the value at ``path`` (it is None in a rule's data)."""
    value: Any = document.data
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            return False  # not there at all: an unknown key, dropped
    return value is None


def closest(name: str, candidates: Sequence[str]) -> str | None:
    """The candidate a reader most likely meant: same letters in another case first, then
    the nearest spelling (difflib's 0.6 ratio), else None."""
    folded = {candidate.casefold(): candidate for candidate in candidates}
    if name.casefold() in folded:
        return folded[name.casefold()]
    import difflib  # start-up: only a misspelt name asks; every lint imports this module

    matches = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None
