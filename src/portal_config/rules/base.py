"""What a rule receives (`Context`) and what it yields (`Hit`)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from portal_config.loader import Document, JsonPath

if TYPE_CHECKING:
    from portal_config.catalog import Catalog


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


def closest(name: str, candidates: Sequence[str]) -> str | None:
    """The candidate a reader most likely meant: same letters in another case first, then
    the nearest spelling (difflib's 0.6 ratio), else None."""
    folded = {candidate.casefold(): candidate for candidate in candidates}
    if name.casefold() in folded:
        return folded[name.casefold()]
    matches = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None
