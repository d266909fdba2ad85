"""Two profiles a portal extends lock one field with different values.

The more restrictive value wins (for a set of names: the names both allow), whatever the
order of the profiles; the warning names both locks so that one of them can be changed.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.lint.document import Document
from portal_config.lint.rules.base import Context, Hit
from portal_config.problems import Level
from portal_config.settings.effective import shown
from portal_config.text import clip

ID = "locked-fields-disagree"
LEVEL = Level.WARNING


def check(document: Document, context: Context) -> Iterator[Hit]:
    if document.resolution is None:
        return
    for found in document.resolution.disagreements:
        first, second = found.first, found.second
        message = (
            f"{'.'.join(found.key)}: profile '{second.profile}' locks "
            f"{clip(shown(second.value))}, profile '{first.profile}' locks "
            f"{clip(shown(first.value))} ({first.origin}); the more restrictive "
            f"{clip(shown(found.kept))} applies"
        )
        yield Hit(document, found.key, message, at=second.origin)
