"""An `acknowledged:` entry has nothing to acknowledge.

An acknowledgement explains why a guest permission is on (see
permissive-guest-access). When the flag is off, or guests are disabled, the reason
no longer describes the portal, and it would silently cover the flag the day it is
switched on again, unreviewed. Remove the entry, as ruff's RUF100 asks for unused
`noqa` comments.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.loader import Document
from portal_config.problems import Level
from portal_config.rules.base import Context, Hit

ID = "unused-acknowledgement"
LEVEL = Level.WARNING


def check(document: Document, context: Context) -> Iterator[Hit]:
    guest = document.data["guest_workorder"]
    for flag in document.data.get("acknowledged", {}):
        if not guest["enabled"]:
            why = "guests are disabled"
        elif not guest.get(flag, False):
            why = f"{flag} is false"
        else:
            continue
        message = f"acknowledged.{flag} has nothing to acknowledge: {why}; remove it"
        yield Hit(document, ("acknowledged", flag), message, on_key=True)
