"""The portal JSON Schema and the OpenAPI section components, made from the settings table.

The committed files (schema/portal.schema.json, its packaged copy, the settings of
schema/plan.schema.json and the section components of openapi/portal-settings.yaml) are
for editors, `$schema` lines and API readers; lint checks files against what
`portal_schema()` makes from the active table, and a test fails when a committed file
differs from it. `python -m portal_config.settings.schemas` writes them anew.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

from portal_config.settings.baseline_schema import extends_schema, field_names, waivers_schema
from portal_config.settings.table import Field, Kind, Merge, Section, Table, active

PORTAL_ID_PATTERN = "^[a-z0-9]+(-[a-z0-9]+)*(?!\\n)$"
PORTAL_ID_MAX_LENGTH = 63
MAX_NAMES = 1000  # names in one field of a saved plan


def portal_schema(table: Table | None = None) -> dict[str, Any]:
    """The JSON Schema of a portal file."""
    table = table or active()
    first = table.primary
    properties: dict[str, Any] = {
        "portal": {
            "title": "Portal id",
            "description": (
                "The portal's id in OutSmart: a slug of lowercase letters, digits and single "
                "hyphens. It must equal the file name without .yaml."
            ),
            "type": "string",
            "pattern": PORTAL_ID_PATTERN,
            "minLength": 1,
            "maxLength": PORTAL_ID_MAX_LENGTH,
            "examples": ["acme-facilities", "woonstede-noord"],
        },
        "description": {
            "title": "Description",
            "description": (
                "Free text for reviewers: who uses this portal and why its settings are what "
                "they are. Not sent to OutSmart."
            ),
            "type": "string",
            "examples": ["Service portal for Acme Facilities' tenants"],
        },
    }
    for section in table.sections:
        properties[section.name] = section_schema(section)
    properties["acknowledged"] = _acknowledged(table)
    properties["extends"] = extends_schema(PROFILE_NAME_PATTERN)
    properties["waivers"] = waivers_schema(table)
    example: dict[str, Any] = {"portal": "acme-facilities"}
    if first.examples:
        example[first.name] = first.examples[0]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:portal-config:schema:portal:v1",
        "title": "OutSmart Klantportaal portal settings",
        "description": (
            "The settings of one OutSmart Klantportaal portal, section by section: "
            + ", ".join(f"{s.name} ({s.title})" for s in table.sections)
            + ". One portal per file, named portals/<portal>.yaml."
        ),
        "type": "object",
        "additionalProperties": False,
        "required": ["portal", *(s.name for s in table.sections if s.required)],
        "properties": properties,
        "examples": [example],
    }


PROFILE_NAME_PATTERN = PORTAL_ID_PATTERN


def profile_schema(table: Table | None = None) -> dict[str, Any]:
    """The JSON Schema of a profile: a portal file's sections, every field optional, a
    set of names also as an edit of what it inherits, and the fields it locks."""
    table = table or active()
    properties: dict[str, Any] = {
        "profile": {
            "title": "Profile name",
            "description": "The profile's name, as portal files name it in extends:. It must "
            "equal the file name without .yaml.",
            "type": "string",
            "pattern": PROFILE_NAME_PATTERN,
            "minLength": 1,
            "maxLength": PORTAL_ID_MAX_LENGTH,
            "examples": ["restrictive", "alarm-installer"],
        },
        "description": {
            "title": "Description",
            "description": "Free text for reviewers: what this profile is for.",
            "type": "string",
        },
    }
    for section in table.sections:
        schema = section_schema(section)
        schema.pop("required", None)  # a profile says only what it has an opinion on
        for one in section.fields:
            if one.merge_rule is Merge.EDIT:
                schema["properties"][one.name] = _editable(schema["properties"][one.name])
        properties[section.name] = schema
    properties["locked"] = {
        "title": "Locked fields",
        "description": "Fields (section.field) no later profile or portal file may widen "
        "beyond this profile's value without a waiver in the portal file.",
        "type": "array",
        "uniqueItems": True,
        "items": {
            "title": "Field",
            "description": "A field as section.field.",
            "type": "string",
            "enum": field_names(table),
        },
        "examples": [["guest_workorder.allow_new_relation"]],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:portal-config:schema:profile:v1",
        "title": "portal-config profile",
        "description": "Settings shared by the portal files that extend this profile "
        "(profiles/<profile>.yaml, or accounts/<account>/profiles/<profile>.yaml).",
        "type": "object",
        "additionalProperties": False,
        "required": ["profile"],
        "properties": properties,
    }


def _editable(names: dict[str, Any]) -> dict[str, Any]:
    """A set of names, or {add: [...], remove: [...]} to change the one inherited."""
    edit = {"type": "array", "uniqueItems": True, "items": names["items"]}
    add = {"title": "Names added", "description": "Added to the inherited names.", **edit}
    remove = {"title": "Names removed", "description": "Taken from the inherited names.", **edit}
    schema = dict(names)
    schema["description"] += (
        " In a profile, {add: [...], remove: [...]} changes the inherited list."
    )
    schema["type"] = ["array", "object"]
    schema["additionalProperties"] = False
    schema["properties"] = {"add": add, "remove": remove}
    return schema


def settings_schema(table: Table | None = None) -> dict[str, Any]:
    """The JSON Schema of one portal's settings as the model's `to_json` gives them: what a
    portal file can hold, and so what a saved plan may carry."""
    full = portal_schema(table)
    table = table or active()
    properties = {"portal": full["properties"]["portal"]}
    for section in table.sections:
        schema = copy.deepcopy(full["properties"][section.name])
        for one in section.fields:
            if one.kind is Kind.NAMES:  # a plan lists no more than a person can review
                schema["properties"][one.name]["maxItems"] = MAX_NAMES
        # A field a file may leave out with a default is always spelled out in settings:
        # left out of a saved plan, it would turn from the default into "not managed".
        spelled = [f.name for f in section.fields if f.required or f.managed_when_omitted]
        if spelled:
            schema["required"] = spelled
        properties[section.name] = schema
    return {
        "title": "Portal settings",
        "description": "The settings of one portal, section by section.",
        "type": "object",
        "additionalProperties": False,
        "required": ["portal", *(s.name for s in table.sections if s.required)],
        "properties": properties,
    }


def section_schema(section: Section, *, documented: bool = True) -> dict[str, Any]:
    """One section's JSON Schema; without ``documented``, the bare shape (for OpenAPI)."""
    schema: dict[str, Any] = {}
    if documented:
        schema |= {"title": section.title, "description": section.description}
    schema |= {"type": "object", "additionalProperties": False}
    required = [one.name for one in section.fields if one.required]
    if required:
        schema["required"] = required
    schema["properties"] = {
        one.name: field_schema(one, documented=documented) for one in section.fields
    }
    if documented and section.examples:
        schema["examples"] = list(section.examples)
    return schema


def field_schema(one: Field, *, documented: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {}
    if documented:
        schema |= {"title": one.title, "description": one.description}
    if one.kind in (Kind.SWITCH, Kind.BOOLEAN):
        schema["type"] = "boolean"
    elif one.kind is Kind.TEXT:
        schema |= {"type": "string", **one.constraints}
    elif one.kind is Kind.CHOICE:
        longest = max(len(choice) for choice in one.choices)
        schema |= {"type": "string", "maxLength": longest, "enum": list(one.choices)}
    else:
        item = dict(one.constraints) if documented else {"minLength": 1}
        schema |= {"type": "array"}
        if one.managed_when_omitted:
            schema["default"] = list(one.default)
        if documented:
            schema["uniqueItems"] = True
        schema["items"] = _ordered_item(item)
    if one.kind is not Kind.NAMES and one.managed_when_omitted:
        schema["default"] = one.default
    if documented and one.examples:
        schema["examples"] = list(one.examples)
    return schema


def _ordered_item(item: dict[str, Any]) -> dict[str, Any]:
    # Title and description first, then the type, as every other schema in the file.
    head: dict[str, Any] = {key: item[key] for key in ("title", "description") if key in item}
    return {**head, "type": "string", **{k: v for k, v in item.items() if k not in head}}


def _acknowledged(table: Table) -> dict[str, Any]:
    return {
        "title": "Acknowledged permissive settings",
        "description": (
            "Permissions of the primary section that are permissive on purpose, each with the "
            "reason. An entry silences the permissive-guest-access warning for that one flag "
            "in this file."
        ),
        "type": "object",
        "additionalProperties": False,
        "default": {},
        "properties": {
            one.name: {
                "title": one.acknowledgement.title,
                "description": one.acknowledgement.description,
                "type": "string",
                "minLength": 1,
            }
            for _, one in table.acknowledgeable()
            if one.acknowledgement is not None
        },
        "examples": [
            {one.name: one.acknowledgement.example}
            for _, one in table.acknowledgeable()
            if one.acknowledgement is not None and one.acknowledgement.example
        ][:1],
    }


def plan_definitions(defs: dict[str, Any], table: Table | None = None) -> dict[str, Any]:
    """The plan schema's definitions ``defs`` with the table's parts made anew: a portal's
    settings, and which fields a change may name (as plans name them) with which values."""
    table = table or active()
    defs = copy.deepcopy(defs)
    defs["settings"] = settings_schema(table)
    shown = [(table.shown_name(s.name, f.name), f) for s, f in table.fields()]
    names = [name for name, f in shown if f.kind is Kind.NAMES]
    others = [(name, f) for name, f in shown if f.kind is not Kind.NAMES]
    values: list[Any] = ["boolean"]
    if any(f.kind in (Kind.TEXT, Kind.CHOICE) for _, f in others):
        values.append("string")
    value = {"type": [*values, "null"]} if len(table.sections) > 1 else {"type": "boolean"}
    change = defs["field_change"]["properties"]
    change["field"]["enum"] = [name for name, _ in others]
    change["old"] = dict(value)
    change["new"] = dict(value)
    defs["work_types_change"]["properties"]["field"] = {"enum": names}
    # A portal changes each field at most once.
    defs["entry"]["properties"]["changes"]["maxItems"] = len(shown)
    defs["change"]["if"]["properties"]["field"] = {"enum": names}
    # Where each desired field was set: a field of the table, each at most once.
    source = defs["field_source"]["properties"]
    source["section"]["enum"] = section_names(table)
    source["field"]["enum"] = sorted({f.name for _, f in table.fields()})
    for entry in ("entry", "saved_entry"):
        defs[entry]["properties"]["sources"]["maxItems"] = len(shown)
    return defs


def section_names(table: Table | None = None) -> list[str]:
    """The sections a config's `sections:` may name."""
    return [section.name for section in (table or active()).sections]


def openapi_components(table: Table | None = None) -> dict[str, Any]:
    """The OpenAPI schema components of the sections (their bare shape, by section)."""
    table = table or active()
    return {_component_name(s): section_schema(s, documented=False) for s in table.sections}


def _component_name(section: Section) -> str:
    return "".join(part.capitalize() for part in section.name.split("_"))


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


_BEGIN = "    # BEGIN sections: generated from the settings table"
_END = "    # END sections\n"


def openapi_text(text: str, table: Table | None = None) -> str:
    """The OpenAPI document ``text`` with its section components made anew from the table
    (between its BEGIN and END sections lines; the rest of the file is written by hand)."""
    start = text.index("\n", text.index(_BEGIN)) + 1
    end = text.index(_END, start)
    lines = []
    for name, schema in openapi_components(table).items():
        lines += [f"    {name}:", "      type: object", "      additionalProperties: false"]
        if "required" in schema:
            lines.append(f"      required: {json.dumps(schema['required'])}")
        lines.append("      properties:")
        lines += [
            f"        {key}: {json.dumps(value, ensure_ascii=False)}"
            for key, value in schema["properties"].items()
        ]
    return text[:start] + "\n".join(lines) + "\n" + text[end:]


def main(argv: list[str]) -> int:
    """Write the committed portal schema and the OpenAPI components anew from the table."""
    root = Path(argv[0]) if argv else Path.cwd()
    schema = root / "schema" / "portal.schema.json"  # the package's copy links to it
    schema.write_text(schema_text(portal_schema()), encoding="utf-8")
    openapi = root / "openapi" / "portal-settings.yaml"
    openapi.write_text(openapi_text(openapi.read_text(encoding="utf-8")), encoding="utf-8")
    profile = root / "schema" / "profile.schema.json"
    profile.write_text(schema_text(profile_schema()), encoding="utf-8")
    plan = root / "schema" / "plan.schema.json"  # its settings are the table's
    document = json.loads(plan.read_text(encoding="utf-8"))
    document["$defs"] = plan_definitions(document["$defs"])
    plan.write_text(schema_text(document), encoding="utf-8")
    config = root / "schema" / "config.schema.json"  # `sections:` names the table's
    document = json.loads(config.read_text(encoding="utf-8"))
    document["properties"]["sections"]["items"]["enum"] = section_names()
    config.write_text(schema_text(document), encoding="utf-8")
    print(f"wrote {schema}, {profile}, {openapi}, {plan} and {config}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
