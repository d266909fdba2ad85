"""A portal file or a later profile widens a field a profile locks.

A profile's `locked:` lists fields no later profile and no portal file may widen beyond
the profile's value (for a set of names: add a name to). The problem points at the line
that widens it and names the profile's `locked:` line. A deliberate exception is a
waiver in the portal file, with who owns it, why, and until when:

    waivers:
      - field: guest_workorder.allow_new_relation
        owner: jan@example.nl
        reason: New tenants register through the guest form.
        expires: "2027-03-31"

A lock holds the value its profile (or one before it) gives the field. A profile that
locks a field nothing up to it sets holds nothing, and would let any value through: that
is reported too, at its `locked:` line.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.lint.document import Document
from portal_config.lint.rules.base import Context, Hit
from portal_config.lint.waivers import waivers
from portal_config.problems import Level
from portal_config.settings.effective import shown
from portal_config.text import clip

ID = "locked-field-widened"
LEVEL = Level.ERROR


def check(document: Document, context: Context) -> Iterator[Hit]:
    if document.resolution is None:
        return
    waived = {waiver.field for waiver in waivers(document)}
    for widening in document.resolution.widenings:
        name = ".".join(widening.key)
        if name in waived:
            continue
        lock = widening.lock
        message = (
            f"{name} is {clip(shown(widening.setting.value))}, wider than profile "
            f"'{lock.profile}' locks it ({clip(shown(lock.value))}, locked at {lock.origin}); "
            "add a waiver with owner, reason and expires to the portal file if intended"
        )
        yield Hit(document, widening.key, message, at=widening.setting.origin)
    for hollow in document.resolution.hollow:
        message = (
            f"{'.'.join(hollow.key)} is locked by profile '{hollow.profile}', but neither it "
            "nor a profile before it sets the field: the lock holds nothing; set the value "
            "it locks in the profile"
        )
        yield Hit(document, hollow.key, message, at=hollow.origin)
