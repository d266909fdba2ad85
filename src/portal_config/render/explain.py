"""Explain's output: text for people, JSON (schema/explain.schema.json) for tools."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from portal_config import TOOL
from portal_config.escaping import escape_line, escape_text
from portal_config.plan.inputs import origin_json
from portal_config.run.explain import Explained
from portal_config.settings.effective import FieldKey, Origin, Setting, shown

EXPLAIN_FORMAT = "portal-config-explain"
EXPLAIN_VERSION = 1


def render_text(explained: Sequence[Explained]) -> str:
    lines: list[str] = []
    for one in explained:
        # A profile's name is its file's: data, as any path is.
        extends = ", ".join(map(escape_text, one.profiles)) if one.profiles else "no profiles"
        lines.append(f"{escape_text(one.portal)} ({escape_text(one.file)}): extends {extends}")
        for (section, name), setting in one.fields:
            # shown() spells the value as JSON (a line break is \n already): made safe once.
            value = escape_line(shown(setting.value))
            line = f"  {section}.{name}: {value}  ({_at(setting.origin)})"
            if setting.overrode is not None:
                before = setting.overrode
                line += f", over {escape_line(shown(before.value))} ({_at(before.origin)})"
            lock = one.lock((section, name))
            if lock is not None:
                line += f"; locked by {escape_text(lock.profile)} ({_at(lock.origin)})"
            waived = one.waivers.get(f"{section}.{name}")
            if waived is not None:
                until = "waiver expired" if waived.expired else "waived until"
                line += f"; {until} {escape_text(str(waived.written))}"
                line += f" ({escape_text(str(waived.owner))})" if waived.owner else ""
            lines.append(line)
    return "\n".join(lines) + "\n"


def _at(origin: Origin) -> str:
    return escape_text(str(origin))


def render_json(explained: Sequence[Explained]) -> dict[str, Any]:
    return {
        "format": EXPLAIN_FORMAT,
        "version": EXPLAIN_VERSION,
        "tool": TOOL,
        "portals": [
            {
                "portal": one.portal,
                "file": one.file,
                "extends": list(one.profiles),
                "fields": [
                    {"field": f"{section}.{name}", **_setting(setting)}
                    | _guard(one, (section, name))
                    for (section, name), setting in one.fields  # in the text's order
                ],
            }
            for one in explained
        ],
    }


def _setting(setting: Setting) -> dict[str, Any]:
    before = setting.overrode
    return {
        "value": setting.value,
        "set_in": _origin(setting.origin),
        "overrode": None if before is None else {"value": before.value, **_origin(before.origin)},
    }


def _guard(one: Explained, key: FieldKey) -> dict[str, Any]:
    """The lock on a field and the portal's waiver of it, each null when there is none."""
    lock = one.lock(key)
    waived = one.waivers.get(".".join(key))
    return {
        "locked": None
        if lock is None
        else {"profile": lock.profile, "value": lock.value, **_origin(lock.origin)},
        "waiver": None
        if waived is None
        else {
            "expires": None if waived.written is None else str(waived.written),
            "owner": waived.owner,
            "reason": waived.reason,
            "expired": waived.expired,
        },
    }


def _origin(origin: Origin) -> dict[str, Any]:
    # As a plan names a source, and the column too: explain points at the value itself.
    return origin_json(origin) | {"column": origin.position[1] if origin.position else None}
