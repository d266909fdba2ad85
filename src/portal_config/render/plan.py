"""Plan and apply-result renderers: text (terraform-like), markdown (PR comments), json."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from portal_config.plan import Change, FieldChange, Plan, PortalPlan, WorkTypesChange
from portal_config.results import Outcome, PortalResult
from portal_config.storage import json_text

WIDENS = "widens guest access"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def render_text(plan: Plan, header: str, color: bool) -> str:
    def paint(text: str, **style: Any) -> str:
        return click.style(text, **style) if color else text

    lines = [header, ""]
    for portal in plan.changed:
        lines.append(
            paint(f"~ {portal.portal}", fg="yellow", bold=True)
            + f"  ({portal.file}, revision {portal.live.revision})"
        )
        for change in portal.changes:
            lines.extend("    " + line for line in _text_change(change, paint))
        lines.append("")
    for name in plan.unmanaged:
        lines.append(
            paint(f"? {name}", dim=True) + "  unmanaged: exists in OutSmart, no file; never touched"
        )
    if plan.unmanaged:
        lines.append("")
    lines.append(plan.summary())
    return "\n".join(lines) + "\n"


def _text_change(change: Change, paint: Callable[..., str]) -> list[str]:
    mark = "  " + paint(f"! {WIDENS}", fg="red", bold=True) if change.widens else ""
    if isinstance(change, FieldChange):
        return [f"~ {change.field}: {_value(change.old)} -> {_value(change.new)}{mark}"]
    assert isinstance(change, WorkTypesChange)
    lines = [f"~ {change.field}:"]
    lines += [
        paint(f"    + {name}", fg="green") + ("  " + paint(f"! {WIDENS}", fg="red", bold=True))
        for name in change.added
    ]
    lines += [paint(f"    - {name}", fg="red") for name in change.removed]
    return lines


def render_markdown(plan: Plan, header: str, color: bool = False) -> str:
    lines = [f"**{plan.summary()}**", "", f"`{header}`", ""]
    if not plan.has_changes:
        lines += ["No changes.", ""]
    for portal in plan.changed:
        badge = f" ⚠️ {WIDENS}" if portal.widens else ""
        count = len(portal.changes)
        lines += [
            "<details>",
            f"<summary><code>{portal.portal}</code>: {count} change{'s' if count != 1 else ''}"
            f"{badge}</summary>",
            "",
            f"File `{portal.file}`, live revision {portal.live.revision}.",
            "",
            "```diff",
            *_markdown_change_lines(portal),
            "```",
            "</details>",
            "",
        ]
    if plan.unmanaged:
        names = ", ".join(f"`{n}`" for n in plan.unmanaged)
        lines += [f"Unmanaged (in OutSmart, no file; not touched): {names}", ""]
    return "\n".join(lines)


def _markdown_change_lines(portal: PortalPlan) -> list[str]:
    lines: list[str] = []
    for change in portal.changes:
        note = f"  # {WIDENS}" if change.widens else ""
        if isinstance(change, FieldChange):
            lines += [
                f"- {change.field}: {_value(change.old)}",
                f"+ {change.field}: {_value(change.new)}{note}",
            ]
        else:
            lines += [f"+ work_types: {name}  # {WIDENS}" for name in change.added]
            lines += [f"- work_types: {name}" for name in change.removed]
    return lines


def render_json(plan: Plan, header: str, color: bool = False) -> str:
    return json_text(plan.to_json())


PLAN_FORMATS: dict[str, Callable[[Plan, str, bool], str]] = {
    "text": render_text,
    "markdown": render_markdown,
    "json": render_json,
}


_OUTCOME_COLORS = {
    Outcome.APPLIED: "green",
    Outcome.UNCHANGED: None,
    Outcome.FAILED: "red",
    Outcome.SKIPPED: "yellow",
    Outcome.UNKNOWN: "red",
}


def render_result(result: PortalResult, width: int, color: bool) -> str:
    """One portal's apply result as a line, the name padded to ``width``."""
    label = result.outcome.value.ljust(9)
    if color and _OUTCOME_COLORS[result.outcome]:
        label = click.style(label, fg=_OUTCOME_COLORS[result.outcome], bold=True)
    revision = ""
    if result.outcome is Outcome.APPLIED:
        revision = f"revision {result.revision_before} -> {result.revision_after}"
    return f"  {result.portal.ljust(width)}  {label} {result.reason or revision}".rstrip() + "\n"
