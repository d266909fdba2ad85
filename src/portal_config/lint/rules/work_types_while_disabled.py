"""Work types are listed while guests are disabled.

With `enabled: false` the list has no effect. It is often left over from an
earlier setup, or a sign that `enabled` was switched off by mistake.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.lint.loader import Document
from portal_config.lint.rules.base import Context, Hit, guest, known
from portal_config.problems import Level

ID = "work-types-while-disabled"
LEVEL = Level.WARNING


def check(document: Document, context: Context) -> Iterator[Hit]:
    section = guest(document)
    if known(section.get("enabled")) is False and section.get("work_types"):
        message = "work types are listed but guests are disabled, so the list has no effect"
        yield Hit(document, ("guest_workorder", "work_types"), message, on_key=True)
