"""What one profile edit reaches: the value a three-way plan's fan-out is made of.

`value.fan_out` finds, in the branch's changes, each profile file that set a new value;
a fleet's accounts' reaches are merged into one per file (`merge_reach`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reach:
    """What one profile file's edit reaches in a three-way plan (or a fleet of them): the
    fields it changed (named as plans name them), the portals (by account) it changes,
    and how many of those portals a change of it widens access in."""

    file: str
    fields: frozenset[str]
    portals: frozenset[tuple[str | None, str]]
    widen: int

    @property
    def accounts(self) -> int:
        return len({account for account, _ in self.portals})

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": self.file,
            "fields": len(self.fields),
            "portals": len(self.portals),
            "accounts": self.accounts,
            "widen": self.widen,
        }


def merge_reach(reaches: Iterable[Reach]) -> tuple[Reach, ...]:
    """Reaches of several plans (a fleet's accounts) as one per profile file."""
    merged: dict[str, Reach] = {}
    for reach in reaches:
        had = merged.get(reach.file)
        if had is not None:
            reach = Reach(
                reach.file,
                had.fields | reach.fields,
                had.portals | reach.portals,
                had.widen + reach.widen,
            )
        merged[reach.file] = reach
    return tuple(merged[file] for file in sorted(merged))
