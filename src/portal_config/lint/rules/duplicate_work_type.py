"""The same work type is listed twice.

Points at the second occurrence and names the first. Names that differ only
in upper/lower case count as the same: OutSmart work types are one list. In a
profile's `{add: [...], remove: [...]}`, a name both added and removed is listed
twice: which of the two holds, no reader can tell.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.lint.loader import Document, JsonPath
from portal_config.lint.rules.base import Context, Hit, work_type_lists
from portal_config.problems import Level

ID = "duplicate-work-type"
LEVEL = Level.ERROR
ON_PROFILES = True  # judges a value on its own: run on profiles too


def check(document: Document, context: Context) -> Iterator[Hit]:
    for listed in work_type_lists(document):
        seen: dict[str, JsonPath] = {}
        for path, name in listed:
            key = name.casefold()
            if key in seen:
                first = document.locate(seen[key])
                message = f"work type '{name}' is listed twice (first at {first})"
                yield Hit(document, path, message)
            else:
                seen[key] = path
