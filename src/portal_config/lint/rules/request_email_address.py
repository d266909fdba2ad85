"""The address that receives new requests is not an e-mail address.

New requests from the portal are announced at `general.request_email`; an address
without a mailbox and a domain (`planning@example.nl`) means nobody hears of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from portal_config.escaping import quote
from portal_config.lint.loader import Document
from portal_config.lint.rules.base import Context, Hit, section_of
from portal_config.problems import Level

ID = "request-email-address"
NEEDS = ("general",)  # the sections it reads
LEVEL = Level.ERROR
ON_PROFILES = True  # judges a value on its own: run on profiles too

# One mailbox at one domain with a dot in it: what every mail system accepts, not RFC 5322.
_ADDRESS = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def check(document: Document, context: Context) -> Iterator[Hit]:
    address = section_of(document, "general").get("request_email")
    if isinstance(address, str) and not _ADDRESS.fullmatch(address):
        message = (
            f"{quote(address)} is not an e-mail address (name@domain.tld); new requests "
            "would be announced to nobody"
        )
        yield Hit(document, ("general", "request_email"), message)
