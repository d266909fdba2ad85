"""Guests are enabled but no work types are listed.

A guest must pick a work type to submit a request, so an enabled Gast-werkbon
with an empty (or missing) `work_types` list accepts nothing. Either list the
work types guests may use or set `enabled: false`.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.lint.loader import Document
from portal_config.lint.rules.base import Context, Hit, guest, known
from portal_config.problems import Level

ID = "guests-without-work-types"
LEVEL = Level.ERROR


def check(document: Document, context: Context) -> Iterator[Hit]:
    section = guest(document)
    listed = section.get("work_types", [])  # None: refused by the schema, so unknown
    if known(section.get("enabled")) and listed is not None and not listed:
        path = (
            ("guest_workorder", "work_types") if "work_types" in section else ("guest_workorder",)
        )
        message = (
            "guests are enabled but no work types are listed, so guests cannot submit anything"
        )
        yield Hit(document, path, message, on_key=True)
