"""A work type is inactive in the OutSmart account.

OutSmart keeps work types that were switched off, and `worktypes/` still lists
them (with `wrt_active` "0"); `portal-config pull` records them under
`inactive_work_types` in the catalog. Guests must not be offered one: the request
form would show a work type the office no longer plans. Switch it on again in
OutSmart, or offer an active one; the message suggests the nearest active name.
Without a catalog file this rule does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.lint.loader import Document
from portal_config.lint.rules.base import Context, Hit, closest, work_types
from portal_config.problems import Level

ID = "inactive-work-type"
LEVEL = Level.ERROR
ON_PROFILES = True  # judges a value on its own: run on profiles too


def check(document: Document, context: Context) -> Iterator[Hit]:
    catalog = context.catalog
    if catalog is None or not catalog.inactive:
        return
    inactive = set(catalog.inactive)
    for path, name in work_types(document):
        if name not in inactive:
            continue
        close = closest(name, catalog.names)
        hint = f"; did you mean '{close}'?" if close else ""
        message = f"work type '{name}' is inactive in the OutSmart account ({catalog.path}){hint}"
        yield Hit(document, path, message)
