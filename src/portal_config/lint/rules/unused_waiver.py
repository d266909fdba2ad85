"""A waiver waives nothing: no locked field of this portal is widened.

Said apart when no profile the portal extends locks the field at all. Left in place, it
would silently excuse a widening added later, unreviewed. Remove it.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.lint.document import Document
from portal_config.lint.rules.base import Context, Hit
from portal_config.lint.waivers import locked_fields, waivers, widened_fields
from portal_config.problems import Level

ID = "unused-waiver"
LEVEL = Level.WARNING
NEEDS = ("waivers",)  # the key it reads


def check(document: Document, context: Context) -> Iterator[Hit]:
    widened, locked = widened_fields(document), locked_fields(document)
    for waiver in waivers(document):
        if waiver.field not in locked:
            message = (
                f"the waiver for {waiver.field} waives nothing: no profile this portal "
                "extends locks it; remove it"
            )
            yield Hit(document, ("waivers", waiver.index, "field"), message)
        elif waiver.field not in widened:
            message = (
                f"the waiver for {waiver.field} waives nothing (no profile's lock on it is "
                "widened); remove it"
            )
            yield Hit(document, ("waivers", waiver.index, "field"), message)
