"""An account's data as the sandbox keeps it, and which data and writes are valid.

The state file holds a version, the portals' records (``record_for``: the portal's id,
display name and revision, then each section by name) and the work types. A write
replaces whole sections of one record; ``valid_sections`` says why one is refused, as
OutSmart would, from the settings table's kinds and constraints.
"""

from __future__ import annotations

import re
from typing import Any

from portal_config.settings.model import WorkType
from portal_config.settings.table import Field, Kind, Section, active

STATE_VERSION = 1


def record_for(
    portal: str, name: str, sections: dict[str, Any], revision: int = 1
) -> dict[str, Any]:
    return {"portal_id": portal, "name": name, "revision": revision, **sections}


def section_of(field: str) -> str:
    """The first section (in the table's order) that has a field named ``field``."""
    return next(s.name for s, one in active().fields() if one.name == field)


def valid_sections(body: dict[str, Any], work_types: list[WorkType]) -> str | None:
    """Why a write's sections are unacceptable, or None if they are all fine."""
    for section in active().sections:
        if section.name in body:
            problem = valid_section(section, body[section.name], work_types)
            if problem:
                return problem
    return None


def valid_section(section: Section, body: Any, work_types: list[WorkType]) -> str | None:
    """Why one section of a write is unacceptable, or None if it is fine."""
    if not isinstance(body, dict):
        return f"{section.name} must be an object"
    active_names = {w.name: w.active for w in work_types}
    for one in section.fields:
        if one.name not in body and not one.required:
            continue
        value = body.get(one.name)
        where = f"{section.name}.{one.name}"
        if one.kind in (Kind.SWITCH, Kind.BOOLEAN) and not isinstance(value, bool):
            return f"{where} must be a boolean"
        if one.kind is Kind.TEXT and not _text(value, one):
            return f"{where} must be {_text_rule(one)}"
        if one.kind is Kind.CHOICE and value not in one.choices:
            return f"{where} must be one of {', '.join(one.choices)}"
        if one.kind is Kind.NAMES:
            if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
                return f"{where} must be a list of names"
            for name in value if one.work_types else ():
                if name not in active_names:
                    return f"unknown work type: {name}"
                if not active_names[name]:
                    return f"inactive work type: {name}"
    extra = set(body) - {one.name for one in section.fields}
    if extra:
        return f"unknown field: {sorted(extra)[0]}"
    return None


def _text(value: Any, one: Field) -> bool:
    """A text the table's constraints (a length, a pattern) accept."""
    if not isinstance(value, str):
        return False
    low, high = one.constraints.get("minLength", 0), one.constraints.get("maxLength")
    pattern = one.constraints.get("pattern")
    return (
        low <= len(value)
        and (high is None or len(value) <= high)
        and (pattern is None or re.search(pattern, value) is not None)
    )


def _text_rule(one: Field) -> str:
    high = one.constraints.get("maxLength")
    return (
        f"text of at most {high} characters"
        + (" in the documented form" if "pattern" in one.constraints else "")
        if high
        else "text"
    )


def work_types_of(data: dict[str, Any]) -> list[WorkType]:
    """Every work type of the account's ``data``, active ones first."""
    # From one version of the data: reading the two lists apart could mix two versions.
    return [WorkType(name) for name in data["work_types"]] + [
        WorkType(name, active=False) for name in data.get("inactive_work_types", [])
    ]


def shape_problem(data: Any) -> str | None:
    """Why ``data`` is not an account's state, or None if it is one."""
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        return "sandbox state has an unknown format"
    if not isinstance(data.get("portals"), dict) or not isinstance(data.get("work_types"), list):
        return "sandbox state needs 'portals' and 'work_types'"
    if not isinstance(data.get("inactive_work_types", []), list):
        return "sandbox state: 'inactive_work_types' must be a list"
    serial = data.get("serial", 0)
    if not isinstance(serial, int) or isinstance(serial, bool):
        return "sandbox state: 'serial' must be a whole number"
    return None
