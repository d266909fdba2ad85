"""Live values the files cannot name: which live portal ids and settings a portal file can hold.

OutSmart may hold what no portal file can say: a portal id such as ``Acme_Legacy`` (or one
with spaces, capitals, markup or control characters), a work type with a trailing space,
the same work type twice. None of these is ever changed into something a file can hold:
trimming ``'Storing '`` to ``Storing`` would make a file claim a work type OutSmart does not
have, and the next diff would show a change nobody made. Instead:

- an unmanaged portal whose id no file can use is listed apart (a saved plan's
  ``unmanaged_other_ids``) and shown quoted (`shown_id`);
- a managed portal whose live settings no file can hold stops diff, drift and apply with
  one line naming its file and the value (it is fixed in OutSmart, where it was made);
- pull does not write such a portal, and says which value it cannot write.

"What a file can hold" is the settings table's schema of a portal's settings (the portal
schema's sections): a value that passes here passes lint's schema check, and a
saved plan holding it passes ``show`` and ``apply``. The clean case is decided by the
precheck, so diff does not import jsonschema for it.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from portal_config.escaping import quote
from portal_config.lint.loader import Document
from portal_config.lint.precheck import Check, compile_precheck
from portal_config.lint.schema import check
from portal_config.project.config import Ignore
from portal_config.settings.model import LivePortal, PortalSettings
from portal_config.settings.schemas import PORTAL_ID_MAX_LENGTH, PORTAL_ID_PATTERN, settings_schema
from portal_config.settings.table import Kind, Table, active


def is_file_id(portal: str) -> bool:
    """Whether a portal file could be named after ``portal``: the portal schema's slug."""
    return len(portal) <= PORTAL_ID_MAX_LENGTH and _file_id().fullmatch(portal) is not None


@functools.lru_cache(maxsize=1)
def _file_id() -> re.Pattern[str]:
    return re.compile(PORTAL_ID_PATTERN)


def shown_id(portal: str) -> str:
    """A live portal id as a line of text can show it: a file id as it is; any other id
    quoted (`quote`: a space at an end, a control character or a bidi override shows)."""
    return portal if is_file_id(portal) else quote(portal)


def not_ignored(live: Iterable[LivePortal], ignore: Ignore) -> dict[str, LivePortal]:
    """The live portals by id, without those the config ignores: what a plan or a pull
    sees of the target."""
    return {p.portal: p for p in live if ignore.pattern_for(p.portal) is None}


def unrepresentable(settings: PortalSettings) -> list[str]:
    """Why no portal file (and so no saved plan) can hold these live settings; [] if one can.

    Each reason names the field and shows the value escaped, as lint would.
    """
    data = settings.to_json()
    quick = _precheck()
    if quick is not None and quick(data):
        return []
    from jsonschema import Draft202012Validator  # start-up: ~60 ms, only if the precheck refuses

    # Each part on its own, so a reason names the field as the section's own (work_types,
    # not guest_workorder.work_types), as lint's messages about one section do.
    schema = _settings_schema()["properties"]
    reasons = []
    for key, value in data.items():
        part = {key: value} if key == "portal" else value
        against = (
            {"type": "object", "properties": {key: schema[key]}} if key == "portal" else schema[key]
        )
        found = check(Document("live", part), Draft202012Validator(against))
        # Named as plans name the field: the primary section's by its own name.
        prefix = "" if key in ("portal", active().primary.name) else f"{key}."
        reasons += [prefix + problem.message for problem in found]
    # uniqueItems is left to lint's duplicate-work-type rule, which live data does not meet.
    for section, one, value in settings.managed():
        if one.kind is Kind.NAMES:
            twice = sorted(name for name, count in Counter(value).items() if count > 1)
            shown = active().shown_name(section.name, one.name)
            reasons += [f"{shown}: {quote(name)} is listed twice" for name in twice]
    return reasons


def refusal(portal: str, reasons: Sequence[str]) -> str:
    """The one line diff, drift, apply and pull give for a live portal no file can hold."""
    return (
        f"live portal '{portal}' holds what no portal file can: {'; '.join(reasons)}; "
        "change it in OutSmart (portal-config never rewrites a live value silently)"
    )


def _settings_schema() -> dict[str, Any]:
    return _settings_schema_of(active())


@functools.lru_cache(maxsize=2)
def _settings_schema_of(table: Table) -> dict[str, Any]:
    return settings_schema(table)


def _precheck() -> Check | None:
    return _precheck_of(active())


@functools.lru_cache(maxsize=2)
def _precheck_of(table: Table) -> Check | None:
    return compile_precheck(_settings_schema_of(table))
