"""The portal's URL name is not one word.

OutSmart puts `general.url_name` into the portal's web address, and its knowledge base
asks for one word without spaces: a URL name with a space (or a slash, or a `?`) gives a
portal nobody can open by its link. Use letters, digits, hyphens or underscores.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from portal_config.escaping import quote
from portal_config.lint.loader import Document
from portal_config.lint.rules.base import Context, Hit, section_of
from portal_config.problems import Level

ID = "url-name-one-word"
NEEDS = ("general",)  # the sections it reads
LEVEL = Level.ERROR
ON_PROFILES = True  # judges a value on its own: run on profiles too

_ONE_WORD = re.compile(r"[A-Za-z0-9_-]+")


def check(document: Document, context: Context) -> Iterator[Hit]:
    name = section_of(document, "general").get("url_name")
    if isinstance(name, str) and not _ONE_WORD.fullmatch(name):
        message = (
            f"the URL name {quote(name)} is not one word; OutSmart puts it in the portal's "
            "address: use letters, digits, hyphens or underscores, without spaces"
        )
        yield Hit(document, ("general", "url_name"), message)
