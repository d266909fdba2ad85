"""A profile or portal file sets a field to exactly the value it inherits.

Such a copy hides whether the value is a deliberate exception, and it stays behind when
the profile changes. Remove it, and the field follows the profile.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.lint.document import Document
from portal_config.lint.rules.base import Context, Hit
from portal_config.problems import Level
from portal_config.settings.effective import shown
from portal_config.text import clip

ID = "redundant-override"
LEVEL = Level.WARNING


def check(document: Document, context: Context) -> Iterator[Hit]:
    if document.resolution is None:
        return
    for found in document.resolution.redundant:
        before = found.setting.overrode
        if before is None:
            continue
        message = (
            f"{'.'.join(found.key)} is {clip(shown(found.setting.value))}, as it already "
            f"is from {before.origin}; remove the override"
        )
        yield Hit(document, found.key, message, at=found.setting.origin)
