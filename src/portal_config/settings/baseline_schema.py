"""The schema parts of baselines a portal file holds: the profiles it extends, and the
waivers of the fields they lock (named as `section.field`)."""

from __future__ import annotations

from typing import Any

from portal_config.settings.table import Table, active

DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}(?!\\n)$"


def field_names(table: Table | None = None) -> list[str]:
    """Every field as `section.field`, as locked: and waivers name them."""
    return [f"{s.name}.{f.name}" for s, f in (table or active()).fields()]


def extends_schema(name_pattern: str) -> dict[str, Any]:
    """A portal file's extends: the profiles it starts from, named as ``name_pattern`` says."""
    return {
        "title": "Profiles extended",
        "description": "The profiles this portal's settings start from, in order (a later "
        "one wins); the file's own values win last.",
        "type": "array",
        "uniqueItems": True,
        "items": {
            "title": "Profile name",
            "description": "A profile in profiles/ (or the account's own profiles/).",
            "type": "string",
            "pattern": name_pattern,
            "minLength": 1,
        },
        "examples": [["restrictive", "alarm-installer"]],
    }


def waivers_schema(table: Table) -> dict[str, Any]:
    """A portal file's waivers: the locked fields it may widen, each owned and dated."""

    def text(title: str, description: str) -> dict[str, Any]:
        # Blank is no owner and no reason: a character that shows, somewhere.
        return {
            "title": title,
            "description": description,
            "type": "string",
            "minLength": 1,
            "pattern": "\\S",
        }

    return {
        "title": "Waivers",
        "description": "Fields this portal may widen beyond what a profile locks, each with "
        "who owns the exception, why, and until when.",
        "type": "array",
        "items": {
            "title": "Waiver",
            "description": "One field this portal may widen beyond a profile's lock.",
            "type": "object",
            "additionalProperties": False,
            "required": ["field", "owner", "reason", "expires"],
            "properties": {
                "field": {
                    "title": "Field",
                    "description": "The locked field, as section.field.",
                    "type": "string",
                    "enum": field_names(table),
                },
                "owner": text("Owner", "Who answers for the exception (a person or a team)."),
                "reason": text("Reason", "Why this portal needs it."),
                "expires": {
                    "title": "Expiry date",
                    "description": "The last day the waiver holds: YYYY-MM-DD, quoted.",
                    "type": "string",
                    "pattern": DATE_PATTERN,
                },
            },
        },
    }
