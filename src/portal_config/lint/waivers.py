"""A portal file's waivers (`waivers:`): exceptions to a profile's locks, each with an owner,
a reason and an expiry date, as the guard-rail rules read them."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass

from portal_config.lint.document import Document

EXPIRING_DAYS = 14  # a waiver this close to its expiry is reported, to be renewed or ended
# The schema's pattern for `expires`: a date it takes that the calendar has not (2027-02-30)
# is the rules' to report, or the waiver would never expire.
_DATE_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Waiver:
    index: int
    field: str  # section.field
    expires: datetime.date | None  # None: no date (see `impossible_date`)
    written: object = None  # `expires` as the file gives it
    owner: str | None = None
    reason: str | None = None

    @property
    def impossible_date(self) -> bool:
        """Whether `expires` has a date's shape (the schema took it) but names no day."""
        return (
            self.expires is None
            and isinstance(self.written, str)
            and _DATE_SHAPE.fullmatch(self.written) is not None
        )

    def days_left(self, today: datetime.date | None = None) -> int | None:
        if self.expires is None:
            return None
        return (self.expires - (today or datetime.date.today())).days

    @property
    def expired(self) -> bool:
        """Whether it waives nothing any more (what waiver-expired reports): its day has
        passed, or it names no day."""
        left = self.days_left()
        return self.impossible_date or (left is not None and left < 0)


def waivers(document: Document) -> Iterator[Waiver]:
    listed = document.data.get("waivers")
    for index, entry in enumerate(listed if isinstance(listed, list) else []):
        if not isinstance(entry, dict) or not isinstance(entry.get("field"), str):
            continue
        try:
            expires: datetime.date | None = datetime.date.fromisoformat(str(entry.get("expires")))
        except ValueError:
            expires = None
        owner, reason = entry.get("owner"), entry.get("reason")
        yield Waiver(
            index,
            entry["field"],
            expires,
            entry.get("expires"),
            owner if isinstance(owner, str) else None,
            reason if isinstance(reason, str) else None,
        )


def locked_fields(document: Document) -> set[str]:
    """The fields a profile this portal extends locks (section.field)."""
    if document.resolution is None:
        return set()
    return {".".join(key) for key in document.resolution.locks}


def widened_fields(document: Document) -> set[str]:
    """The locked fields this portal's settings widen (section.field)."""
    if document.resolution is None:
        return set()
    return {".".join(w.key) for w in document.resolution.widenings}
