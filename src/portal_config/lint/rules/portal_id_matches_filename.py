"""The portal id must equal the file name without its extension.

`portals/acme-facilities.yaml` must say `portal: acme-facilities`. Reviewers find
a portal by its file name; a mismatch means the file silently configures
another portal than the one its name promises.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePath
from typing import TYPE_CHECKING

from portal_config.lint.rules.base import Context, Hit
from portal_config.problems import Level

if TYPE_CHECKING:
    from portal_config.lint.loader import Document

ID = "portal-id-matches-filename"
LEVEL = Level.ERROR


def check(document: Document, context: Context) -> Iterator[Hit]:
    stem = PurePath(document.path).stem
    portal = document.data.get("portal")
    if isinstance(portal, str) and portal != stem:
        message = f"portal id '{portal}' does not match the file name '{stem}'; rename one of them"
        yield Hit(document, ("portal",), message)
