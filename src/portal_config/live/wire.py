"""Record shapes on the wire: OutSmart's portal and work-type records to the model and back.

Everything here is pure: a record in, a model value out, or a `WireError` whose text is
the one line the user sees (api.py turns it into an ApiError). The bounds are what a
server may claim before its answer counts as nonsense, or hostile: believing more would
mean millions of requests or exhausting memory.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from portal_config.escaping import quote
from portal_config.settings.model import LivePortal, PortalSettings, WorkType
from portal_config.settings.table import Field, Kind, Section, active
from portal_config.text import clip, encodable

MAX_ITEMS = 10_000  # work types in an account or in one portal
MAX_TEXT = 100_000  # characters of one text field (a welcome text is long, not endless)
MAX_REVISION = 2**53  # the largest integer every JSON parser reads exactly
# A portal id longer than this is nonsense; a saved plan lists any shorter id (plan.schema.json's
# other_id, kept equal by a test), however far it is from the ids a portal file can use.
MAX_PORTAL_ID = 1000

# OutSmart sends strings; accept the numbers a future version might send instead.
_ACTIVE: dict[Any, bool] = {"1": True, "0": False, 1: True, 0: False}


class WireError(ValueError):
    """A record the API sent cannot be read; the text is the whole message."""


def portal_from_wire(item: Any) -> LivePortal:
    try:
        table = active()
        # Required sections first: a record without one is not a portal record at all.
        given = {s.name: item[s.name] if s.required else item.get(s.name) for s in table.sections}
        portal = _portal_id(item["portal_id"])
        values = {
            section.name: _section(section, given[section.name], portal, table.primary)
            for section in table.sections
            if given[section.name] is not None
        }
        return LivePortal(
            settings=PortalSettings.of(portal, values),
            revision=_revision(item["revision"]),
            name=str(item.get("name", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise WireError(
            f"unexpected portal record from the API ({exc.__class__.__name__}: {exc})"
        ) from None


def work_type_from_wire(item: Any) -> WorkType:
    name = item.get("wrt_name") if isinstance(item, dict) else None
    if not _is_name(name):
        raise WireError("GET worktypes/: a work type has no wrt_name")
    active = item.get("wrt_active", "1")
    if not isinstance(active, (str, int)) or active not in _ACTIVE:
        # The name is a string (quoted); wrt_active any JSON value, its type shown by repr.
        raise WireError(
            f"GET worktypes/: work type {quote(name)} has wrt_active {active!r}, not 1 or 0"
        )
    return WorkType(name, _ACTIVE[active])


def sections_to_wire(settings: PortalSettings) -> dict[str, Any]:
    """The sections of ``settings`` as a write sends them: the fields it manages."""
    return {name: fields for name, fields in settings.to_json().items() if name != "portal"}


def is_whole(value: Any, low: int, high: int) -> bool:
    """An integer (not a bool, not a float) from ``low`` to ``high``."""
    return is_integer(value) and low <= value <= high


def is_integer(value: Any) -> bool:
    # JSON true is a Python int too, and 200.0 compares equal to 200.
    return isinstance(value, int) and not isinstance(value, bool)


# The helpers below raise plain ValueError: portal_from_wire names the class in its
# message ("ValueError: ..."), as users have always seen it.
def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true/false, got {value!r}")
    return value


def _portal_id(value: Any) -> str:
    # str() would turn null into a portal called "None", and 7 into "7".
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_PORTAL_ID or not encodable(value):
        shown = clip(repr(value), 80)
        raise ValueError(f"portal_id {shown} is not text of 1 to {MAX_PORTAL_ID} characters")
    return value


def _revision(value: Any) -> int:
    if not is_whole(value, 0, MAX_REVISION):
        raise ValueError(f"revision {value!r} is not a whole number from 0 to 2**53")
    return int(value)


def _section(section: Section, given: Any, portal: str, primary: Section) -> dict[str, Any]:
    """One section of a record: its fields read by kind, an omitted one as the table says.

    A field of another section than the primary one is named with its section and portal
    in a refusal: the one line must say where to look in OutSmart."""
    try:
        if not isinstance(given, dict):
            raise ValueError(f"is {type(given).__name__}, not an object")
        values: dict[str, Any] = {}
        for one in section.fields:
            if one.required or one.name in given:
                values[one.name] = _value(one, given[one.name])
            elif one.managed_when_omitted:
                values[one.name] = one.default
        return values
    except ValueError as exc:
        if section is primary:
            raise
        raise ValueError(f"portal {quote(portal)}: {section.name}: {exc}") from None


def _value(one: Field, value: Any) -> Any:
    if one.kind in (Kind.SWITCH, Kind.BOOLEAN):
        return _bool(value)
    if one.kind is Kind.NAMES:
        # null is an empty set, as OutSmart writes one; any other non-list is refused.
        return _names(one.name, [] if value is None else value)
    # A choice is read as text: a value this version does not know (a language OutSmart
    # added) blocks only a plan whose file manages the field (live_values), not the account.
    if not isinstance(value, str) or len(value) > MAX_TEXT or not encodable(value):
        shown = clip(repr(value), 80)
        raise ValueError(
            f"{one.name} {shown} is not text of at most {MAX_TEXT} characters that UTF-8 can encode"
        )
    return value


def _names(field: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise ValueError(f"{field} must be a list of at most {MAX_ITEMS} names")
    for name in value:
        # As work_type_from_wire: str() would turn null into a work type called "None".
        if not _is_name(name):
            raise ValueError(f"work type {name!r} is not a name")
    return tuple(value)


def _is_name(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value.strip()) and encodable(value)
