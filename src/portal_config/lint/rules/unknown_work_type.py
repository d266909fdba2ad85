"""A work type is not in the account's work-type catalog.

When the catalog file (`worktypes.yaml` by default) exists, every work type
must be spelled exactly as the OutSmart account names it; OutSmart would not
offer a misspelled one to guests. So must each name a profile adds or removes
(`{add: [...], remove: [...]}`): a misspelled removal removes nothing. The
message suggests the nearest name. Without a catalog file this rule does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.lint.loader import Document
from portal_config.lint.rules.base import Context, Hit, closest, work_types
from portal_config.problems import Level

ID = "unknown-work-type"
LEVEL = Level.ERROR
ON_PROFILES = True  # judges a value on its own: run on profiles too


def check(document: Document, context: Context) -> Iterator[Hit]:
    catalog = context.catalog
    if catalog is None:
        return
    known = set(catalog.known)  # inactive ones are known: inactive-work-type reports them
    for path, name in work_types(document):
        if name in known:
            continue
        close = closest(name, catalog.names)
        hint = f"; did you mean '{close}'?" if close else ""
        message = f"work type '{name}' is not in {catalog.described}{hint}"
        yield Hit(document, path, message)
