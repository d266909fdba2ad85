"""A section is set on a portal that is switched off.

With `general.enabled: false` nobody reaches the portal, so its other sections have no
effect: they are often left over, or a sign the portal was switched off by mistake. A
section whose own switch is off (`guest_workorder: {enabled: false}`) says nothing and is
not reported. This is `work-types-while-disabled` for the whole portal.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.lint.loader import Document
from portal_config.lint.rules.base import Context, Hit, section_of
from portal_config.problems import Level
from portal_config.settings.table import active

ID = "settings-while-portal-disabled"
NEEDS = ("general",)  # the sections it reads
LEVEL = Level.WARNING

_PORTAL = "general"


def check(document: Document, context: Context) -> Iterator[Hit]:
    if section_of(document, _PORTAL).get("enabled") is not False:
        return
    for section in active().sections:
        fields = section_of(document, section.name)
        if section.name == _PORTAL or not fields:
            continue
        switch = section.switch
        if switch is not None and fields.get(switch.name) is not True:
            continue  # switched off itself (or unknown): nothing it says takes effect anyway
        message = f"{section.name} is set but the portal is switched off, so it has no effect"
        yield Hit(document, (section.name,), message, on_key=True)
