"""A profile edits a set of names ({add, remove}) that a profile after it replaces whole.

The edit then changes nothing: the later profile's list is what the portal gets. It
happens when a portal file's own `extends:` names a shared profile that the account's
default profiles edit, since the account's defaults come first and the shared list then
replaces their edit. Extend the shared profile earlier (in the repository's or the
account's `extends:`), or make the later profile an edit too.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.lint.document import Document
from portal_config.lint.rules.base import Context, Hit
from portal_config.problems import Level

ID = "discarded-edit"
LEVEL = Level.WARNING


def check(document: Document, context: Context) -> Iterator[Hit]:
    if document.resolution is None:
        return
    for key, setting in document.resolution.settings.items():
        later = setting
        while later.overrode is not None:
            earlier = later.overrode
            # A portal file replacing an edit is an override of its own, not a mistake.
            if earlier.edit and not later.edit and later.origin.file != document.path:
                message = (  # where the edit is; lint names the portal it is effective in
                    f"{'.'.join(key)}: this edit changes nothing: {later.origin}, extended "
                    "after it, replaces the whole list; extend that profile first, or make "
                    "it an edit too"
                )
                yield Hit(document, key, message, at=earlier.origin)
            later = earlier
