"""Two portal files must not configure the same portal id.

Checked across the whole project: the configured portals directory is read
even when only some files are linted (as in a pre-commit run), so a new file
that reuses an existing id is caught. Each file names the other's position.
Without this, whichever file applies last would silently win.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from portal_config.lint.loader import Document
from portal_config.lint.rules.base import Context, Hit
from portal_config.problems import Level

ID = "duplicate-portal-id"
LEVEL = Level.ERROR


def check_project(documents: Sequence[Document], context: Context) -> Iterator[Hit]:
    owners: dict[str, list[Document]] = {}
    for document in context.project:
        owners.setdefault(document.data["portal"], []).append(document)
    for document in documents:
        portal = document.data["portal"]
        for other in owners.get(portal, []):
            if other.path != document.path:
                where = f"{other.path}:{other.locate(('portal',))}"
                yield Hit(document, ("portal",), f"portal id '{portal}' is also used in {where}")
