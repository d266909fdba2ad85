"""Guests may do what the portal's registered users may not.

Guests are not logged in, so OutSmart's knowledge base asks "Moet gasttoegang beperkter
zijn? Meestal wel": guest access should usually be narrower than a registered user's.
This warns when, in the same portal file and with guests enabled,

- a work type is offered to guests but not to portal users (`user_settings.work_types`
  lists the users' work types and leaves it out), or
- guests may change addresses (`guest_workorder.allow_address_change`) while portal users
  may not change customer details (`user_settings.allow_customer_details_change: false`).

A file that does not manage the users' side says nothing about it, and neither does this
rule.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.escaping import quote
from portal_config.lint.loader import Document
from portal_config.lint.rules.base import Context, Hit, guest, known, section_of
from portal_config.problems import Level

ID = "guest-wider-than-users"
NEEDS = ("user_settings",)  # the sections it reads
LEVEL = Level.WARNING

_ASK = "Moet gasttoegang beperkter zijn? Meestal wel"


def check(document: Document, context: Context) -> Iterator[Hit]:
    guests, users = guest(document), section_of(document, "user_settings")
    if not known(guests.get("enabled")) or not users:
        return
    offered, allowed = guests.get("work_types"), users.get("work_types")
    if isinstance(offered, list) and isinstance(allowed, list):
        for index, name in enumerate(offered):
            if isinstance(name, str) and name not in allowed:
                message = (
                    f"work type {quote(name)} is offered to guests but not to the portal's "
                    f"users ({_ASK})"
                )
                yield Hit(document, ("guest_workorder", "work_types", index), message)
    users_may = users.get("allow_customer_details_change")
    if known(guests.get("allow_address_change")) and users_may is False:
        message = (
            "guests may change addresses while the portal's users may not change customer "
            f"details ({_ASK})"
        )
        yield Hit(document, ("guest_workorder", "allow_address_change"), message)
