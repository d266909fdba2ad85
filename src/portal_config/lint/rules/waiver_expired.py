"""A waiver's expiry date has passed.

An expired waiver no longer excuses what it waived: renew it (a new date, reviewed) or
end the exception by removing both the waiver and the widening value. A date the calendar
does not have (2027-02-30) is an error too: such a waiver would never expire.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.lint.document import Document
from portal_config.lint.rules.base import Context, Hit
from portal_config.lint.waivers import waivers
from portal_config.problems import Level

ID = "waiver-expired"
LEVEL = Level.ERROR
NEEDS = ("waivers",)  # the key it reads


def check(document: Document, context: Context) -> Iterator[Hit]:
    for waiver in waivers(document):
        if waiver.impossible_date:
            message = (
                f"the waiver for {waiver.field} expires on {waiver.written}, which is no date; "
                "give the last day it holds as YYYY-MM-DD"
            )
            yield Hit(document, ("waivers", waiver.index, "expires"), message)
            continue
        if waiver.expired:
            message = f"the waiver for {waiver.field} expired on {waiver.expires}; renew or end it"
            yield Hit(document, ("waivers", waiver.index, "expires"), message)
