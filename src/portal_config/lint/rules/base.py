"""What a rule receives (`Context`) and what it yields (`Hit`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from portal_config.lint.loader import Document, JsonPath

if TYPE_CHECKING:
    from portal_config.lint.catalog import Catalog


@dataclass(frozen=True)
class Hit:
    """A rule's finding before config decides its level: which file, where, and why."""

    document: Document
    path: JsonPath
    message: str
    on_key: bool = False


@dataclass
class Context:
    """What rules may consult besides the document itself."""

    catalog: Catalog | None = None
    project: Sequence[Document] = field(default_factory=list)


def guest(document: Document) -> Mapping[str, Any]:
    """The guest_workorder mapping; empty where the schema refused it or it is missing."""
    section = document.data.get("guest_workorder")
    return section if isinstance(section, dict) else {}


def known(value: Any) -> bool | None:
    """A flag as true or false, or None where the schema refused it or it is missing:
    a rule that depends on it then says nothing."""
    return value if isinstance(value, bool) else None


def work_types(document: Document) -> Iterator[tuple[int, str]]:
    """The listed work types with their index, minus the names the schema refused."""
    listed = guest(document).get("work_types")
    for index, name in enumerate(listed if isinstance(listed, list) else ()):
        if isinstance(name, str):
            yield index, name


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
