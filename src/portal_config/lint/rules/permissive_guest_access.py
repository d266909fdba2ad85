"""A guest permission is switched on while guests are enabled.

Guest access is usually kept restricted: guests are not logged in, so
`allow_new_relation`, `allow_address_change` and `allow_requests_for_others`
let anyone create customer records, redirect visits or file requests in
someone else's name. Each flag is reported separately. When a portal needs
one on purpose, acknowledge it in the file with the reason, and the warning
for that flag goes away:

    acknowledged:
      allow_new_relation: "New tenants register through the guest form."

A file `portal-config pull` creates acknowledges each permission it finds on with the
reason "as found in OutSmart on 2026-12-04 (adopted by pull)", so adopting an account passes
`lint --strict` and the status quo is reviewed in its first commit; replace those reasons
with real ones. A pull that refreshes an existing file never adds one.
"""

from __future__ import annotations

from collections.abc import Iterator

from portal_config.lint.loader import Document
from portal_config.lint.rules.base import Context, Hit, guest, known
from portal_config.problems import Level
from portal_config.settings.table import active

ID = "permissive-guest-access"
LEVEL = Level.WARNING


def check(document: Document, context: Context) -> Iterator[Hit]:
    section = guest(document)
    acknowledged = document.data.get("acknowledged", {})
    if not known(section.get("enabled")) or not isinstance(acknowledged, dict):
        return  # guests disabled, or what is enabled or acknowledged is unknown
    # The permissions a file may acknowledge are the settings table's to declare.
    for _, field in active().acknowledgeable():
        flag = field.name
        if known(section.get(flag)) and flag not in acknowledged:
            message = (
                f"{flag} is true while guests are enabled; guest access is usually kept "
                f"restricted (acknowledge it under 'acknowledged: {flag}: <reason>' if intended)"
            )
            yield Hit(document, ("guest_workorder", flag), message)
