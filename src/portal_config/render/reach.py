"""The fan-out headline of a three-way plan: what each profile edit of the branch reaches.

A reviewer of a profile edit needs its reach before its detail: one line per profile
file, first in the output, in text and markdown, for one account's plan and for a fleet.
"""

from __future__ import annotations

from collections.abc import Sequence

from portal_config.escaping import escape_markdown, escape_text
from portal_config.plan.reach import Reach


def reach_line(reach: Reach, markdown: bool) -> str:
    """``profiles/restrictive.yaml: 1 field changed (work_types) → 112 portals in 37
    accounts; 0 widen access``; the file is data, shown as such."""
    file = escape_markdown(reach.file) if markdown else escape_text(reach.file)
    fields, portals, accounts = len(reach.fields), len(reach.portals), reach.accounts
    widen = "widens" if reach.widen == 1 else "widen"
    text = (
        f"{file}: {_count(fields, 'field')} changed ({_names(reach.fields)}) → "
        f"{_count(portals, 'portal')} in {_count(accounts, 'account')}; "
        f"{reach.widen} {widen} access"
    )
    return f"- {text}" if markdown else text


def headline(reaches: Sequence[Reach], markdown: bool) -> list[str]:
    """The headline's lines and a blank line after them; nothing without a profile edit."""
    if not reaches:
        return []
    return [*(reach_line(reach, markdown) for reach in reaches), ""]


# More names than this make the headline a list; the detail below names every change.
NAMED_FIELDS = 4


def _names(fields: frozenset[str]) -> str:
    """The fields an edit changed, as plans name them, the first few in order (names of
    the settings table, plain words in text and markdown alike)."""
    names = sorted(fields)
    more = len(names) - NAMED_FIELDS
    return ", ".join(names[:NAMED_FIELDS]) + (f" and {more} more" if more > 0 else "")


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
