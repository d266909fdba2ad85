"""Guests are enabled but no work types are listed.

A guest must pick a work type to submit a request, so an enabled Gast-werkbon
with an empty (or missing) `work_types` list accepts nothing. Either list the
work types guests may use or set `enabled: false`.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.loader import Document
from portal_config.problems import Level
from portal_config.rules.base import Context, Hit

ID = "guests-without-work-types"
LEVEL = Level.ERROR


def check(document: Document, context: Context) -> Iterator[Hit]:
    guest = document.data["guest_workorder"]
    if guest["enabled"] and not guest.get("work_types"):
        path = ("guest_workorder", "work_types") if "work_types" in guest else ("guest_workorder",)
        message = (
            "guests are enabled but no work types are listed, so guests cannot submit anything"
        )
        yield Hit(document, path, message, on_key=True)
