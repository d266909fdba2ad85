"""Explain's output: text for people, JSON (schema/explain.schema.json) for tools."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from portal_config import TOOL
from portal_config.escaping import escape_line, escape_text
from portal_config.run.explain import Explained
from portal_config.settings.effective import Origin, Setting, shown

EXPLAIN_FORMAT = "portal-config-explain"
EXPLAIN_VERSION = 1


def render_text(explained: Sequence[Explained]) -> str:
    lines: list[str] = []
    for one in explained:
        extends = ", ".join(one.profiles) if one.profiles else "no profiles"
        lines.append(f"{escape_text(one.portal)} ({escape_text(one.file)}): extends {extends}")
        for (section, name), setting in one.fields:
            # shown() spells the value as JSON (a line break is \n already): made safe once.
            value = escape_line(shown(setting.value))
            line = f"  {section}.{name}: {value}  ({_at(setting.origin)})"
            if setting.overrode is not None:
                before = setting.overrode
                line += f", over {escape_line(shown(before.value))} ({_at(before.origin)})"
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
                    for (section, name), setting in one.resolution.settings.items()
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


def _origin(origin: Origin) -> dict[str, Any]:
    position = origin.position
    return {
        "file": origin.file,
        "line": position[0] if position else None,
        "column": position[1] if position else None,
    }
