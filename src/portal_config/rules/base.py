"""What a rule receives (`Context`) and what it yields (`Hit`)."""

from __future__ import annotations

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
