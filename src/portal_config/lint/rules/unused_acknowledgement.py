"""An `acknowledged:` entry has nothing to acknowledge.

An acknowledgement explains why a guest permission is on (see
permissive-guest-access). When the flag is off, or guests are disabled, the reason
no longer describes the portal, and it would silently cover the flag the day it is
switched on again, unreviewed. Remove the entry, as ruff's RUF100 asks for unused
`noqa` comments.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.lint.loader import Document
from portal_config.lint.rules.base import Context, Hit, guest, known
from portal_config.problems import Level

ID = "unused-acknowledgement"
LEVEL = Level.WARNING


def check(document: Document, context: Context) -> Iterator[Hit]:
    section = guest(document)
    enabled = known(section.get("enabled"))
    acknowledged = document.data.get("acknowledged", {})
    for flag in acknowledged if isinstance(acknowledged, dict) and enabled is not None else ():
        if not enabled:
            why = "guests are disabled"
        elif known(section.get(flag, False)) is False:
            why = f"{flag} is false"
        else:
            continue  # acknowledged as it should be, or the flag is unknown
        message = f"acknowledged.{flag} has nothing to acknowledge: {why}; remove it"
        yield Hit(document, ("acknowledged", flag), message, on_key=True)
