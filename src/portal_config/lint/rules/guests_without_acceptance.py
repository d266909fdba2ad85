"""Guest requests are switched on while the portal does not require acceptance.

With `general.required_to_accept: false`, a new request becomes a work order without the
office's approval. For a registered user that may be fine; for a guest, who is not logged
in, it means anonymous requests go straight into planning. Require acceptance, or switch
guest requests off.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.lint.loader import Document
from portal_config.lint.rules.base import Context, Hit, guest, known, section_of
from portal_config.problems import Level

ID = "guests-without-acceptance"
NEEDS = ("general",)  # the sections it reads
LEVEL = Level.WARNING


def check(document: Document, context: Context) -> Iterator[Hit]:
    general = section_of(document, "general")
    if known(guest(document).get("enabled")) and general.get("required_to_accept") is False:
        message = (
            "guest requests are on but the portal does not require acceptance, so anonymous "
            "requests would go straight into planning"
        )
        yield Hit(document, ("general", "required_to_accept"), message)
