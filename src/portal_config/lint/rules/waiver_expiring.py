"""A waiver expires within 14 days.

Said ahead of time, so that its owner can renew it or end the exception before lint
starts failing on it.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.lint.document import Document
from portal_config.lint.rules.base import Context, Hit
from portal_config.lint.waivers import EXPIRING_DAYS, waivers
from portal_config.problems import Level

ID = "waiver-expiring"
LEVEL = Level.WARNING
NEEDS = ("waivers",)  # the key it reads


def check(document: Document, context: Context) -> Iterator[Hit]:
    for waiver in waivers(document):
        left = waiver.days_left()
        if left is not None and 0 <= left <= EXPIRING_DAYS:
            days = "today" if left == 0 else f"in {left} day{'s' if left != 1 else ''}"
            message = f"the waiver for {waiver.field} expires {days} ({waiver.expires})"
            yield Hit(document, ("waivers", waiver.index, "expires"), message)
