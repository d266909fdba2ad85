"""A portal file extends a profile that does not exist.

`extends: [restrictive]` names `profiles/restrictive.yaml` (in a many-account repository,
the account's own `profiles/restrictive.yaml` first). A name with no such file is
reported at its line, with the closest existing name; so is a default that the config's
`extends:` names.

A portal file that names, after a profile of its own, one the config's `extends:` (or its
account's) already names is reported too: a profile applies once, at its first place, so
naming it again does not make it win over the portal's other profiles, as the list reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from portal_config.lint.document import Document
from portal_config.lint.rules.base import Context, Hit, closest
from portal_config.problems import Level

ID = "unknown-profile"
LEVEL = Level.ERROR
NEEDS = ("extends",)  # the key it reads


def check(document: Document, context: Context) -> Iterator[Hit]:
    named = document.data.get("extends")
    if context.profiles is None or not isinstance(named, list):
        return  # not a lint of files (a saved plan's entry), or nothing extended
    own_before = False  # a profile of the portal's own named before: order then misleads
    for index, name in enumerate(named):
        if isinstance(name, str) and name not in context.profiles:
            yield Hit(document, ("extends", index), message(name, context.profiles))
        elif isinstance(name, str) and name in context.defaults:
            if own_before:  # alone or first, naming a default again changes no order
                said = (
                    f"profile '{name}' is extended by every portal already, first (the "
                    "config's extends:); named here it does not come later: remove it"
                )
                yield Hit(document, ("extends", index), said)
        else:
            own_before = True


def message(name: str, known: Sequence[str]) -> str:
    close = closest(name, list(known))
    hint = f"; did you mean '{close}'?" if close else ""
    return f"unknown profile '{name}'{hint}"
