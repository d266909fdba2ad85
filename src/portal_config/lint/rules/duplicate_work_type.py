"""The same work type is listed twice.

Points at the second occurrence and names the first. Names that differ only
in upper/lower case count as the same: OutSmart work types are one list.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.lint.loader import Document
from portal_config.lint.rules.base import Context, Hit, work_types
from portal_config.problems import Level

ID = "duplicate-work-type"
LEVEL = Level.ERROR


def check(document: Document, context: Context) -> Iterator[Hit]:
    seen: dict[str, int] = {}
    for index, name in work_types(document):
        key = name.casefold()
        if key in seen:
            first = document.locate(("guest_workorder", "work_types", seen[key]))
            message = f"work type '{name}' is listed twice (first at {first})"
            yield Hit(document, ("guest_workorder", "work_types", index), message)
        else:
            seen[key] = index
