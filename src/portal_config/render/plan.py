"""Plan and apply-result renderers: text (terraform-like), markdown (PR comments), json."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

import click

from portal_config.escaping import (
    code_span,
    escape_html,
    escape_line,
    escape_markdown,
    escape_text,
    quote,
)
from portal_config.plan.inputs import DRIFT_REPORT
from portal_config.plan.live_values import shown_id
from portal_config.plan.results import Outcome, PortalResult
from portal_config.plan.value import Plan, PortalPlan
from portal_config.render.reach import headline
from portal_config.settings.compare import BOTH, CHANGE, DRIFT, Change, FieldChange, NamesChange
from portal_config.settings.model import PortalSettings
from portal_config.storage import json_text

# What a change of a three-way plan does to an edit made in OutSmart since the base.
_ORIGIN_NOTES = {DRIFT: "reverts a live edit", BOTH: "overwrites a live edit"}


def _widens(change: Change) -> str:
    """The mark of a widening change: whose access it widens (guests', portal users',
    what customers see)."""
    return f"widens {change.audience}"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    return escape_text(json.dumps(value, ensure_ascii=False))


class _Block(NamedTuple):
    """One portal's part of a section: cut only between blocks, never inside one."""

    portal: str
    lines: list[str]


class _Section(NamedTuple):
    title: list[str]  # nothing for a plan without sections
    blocks: list[_Block]


def render_text(plan: Plan, header: str, color: bool, max_chars: int | None = None) -> str:
    def paint(text: str, **style: Any) -> str:
        return click.style(text, **style) if color else text

    def block(portal: PortalPlan, changes: Sequence[Change]) -> _Block:
        lines = [
            paint(f"~ {escape_text(portal.portal)}", fg="yellow", bold=True)
            + f"  ({escape_text(portal.file)}, revision {portal.live.revision})"
        ]
        for change in changes:
            lines.extend("    " + line for line in _text_change(change, paint, portal))
        if plan.kind == DRIFT_REPORT:
            lines += [
                f"    {label}: {escape_text(command)}  ({note})"
                for label, command, note in _settle(portal, plan)
            ]
        return _Block(portal.portal, [*lines, ""])

    sections = [
        _Section(
            [paint(title, bold=True), ""] if title else [],
            [block(portal, changes) for portal, changes in members],
        )
        for title, members in _sections(plan)
    ]
    # A terminal reader ran it just now; which base and commit matter once there is a base.
    context = _context(plan, escape_text) if plan.base is not None else []
    head = [*headline(plan.fan_out(), False), escape_text(header), *context, ""]
    tail = [
        paint(f"? {shown_id(name)}", dim=True)
        + "  unmanaged: exists in OutSmart, no file; never touched"
        for name in plan.unmanaged
    ]
    tail += [""] if plan.unmanaged else []
    if plan.apply_refusal:
        tail += [paint(f"! {_refusal(plan.apply_refusal)}", fg="red", bold=True), ""]
    tail.append(plan.summary())
    return _assemble(head, sections, tail, max_chars) + "\n"


def _text_change(change: Change, paint: Callable[..., str], portal: PortalPlan) -> list[str]:
    mark = "  " + paint(f"! {_widens(change)}", fg="red", bold=True) if change.widens else ""
    notes = [*_origin_notes(change), *_source(portal, change)]
    note = "".join(f"  ({text})" for text in notes)
    if isinstance(change, FieldChange):
        return [f"~ {change.name}: {_value(change.old)} -> {_value(change.new)}{mark}{note}"]
    assert isinstance(change, NamesChange)
    edited = _edited_live(change, portal.base)
    lines = [f"~ {change.name}:{note}"]
    for sign, names, color in (("+", change.added, "green"), ("-", change.removed, "red")):
        for name in names:
            adds = sign == "+" and change.widens  # a name added to a set that widens when added
            widen = "  " + paint(f"! {_widens(change)}", fg="red", bold=True) if adds else ""
            item = "".join(f"  ({text})" for text in _item_notes(name, sign, edited))
            lines.append(paint(f"    {sign} {escape_text(name)}", fg=color) + widen + item)
    return lines


def _source(portal: PortalPlan, change: Change) -> list[str]:
    """The note naming the file and line that set ``change``'s new value (a path is data):
    the portal's own file or a profile; none for a field only its default manages."""
    origin = portal.source(change)
    return [] if origin is None else [escape_text(str(origin))]


def _origin_notes(change: Change) -> list[str]:
    """What a change does to an edit made outside git, when the plan knows its base.

    ``widens`` says what applying does; for a reverted edit the reader also needs the
    edit's own direction: a live edit that gave guests more is the one to look at.
    """
    note = _ORIGIN_NOTES.get(change.origin or "")
    if note is None:
        return []
    if isinstance(change, FieldChange) and change.narrows:
        note += f" that widened {change.audience}"
    return [note]


def _edited_live(change: NamesChange, base: PortalSettings | None) -> set[str]:
    """The names of a work-types change that only undo a live edit: all of a drift change;
    of a change of origin both, those in the base and the files but gone live, or added
    live to neither."""
    if change.origin == DRIFT:
        return {*change.added, *change.removed}
    if change.origin != BOTH or base is None:
        return set()
    held = set(base.value(change.section, change.field, ()))
    return {t for t in change.added if t in held} | {t for t in change.removed if t not in held}


def _item_notes(name: str, sign: str, edited: set[str]) -> list[str]:
    if name not in edited:
        return []
    # The edit's direction, not apply's: a work type added live widened access.
    return ["removed by a live edit"] if sign == "+" else ["added by a live edit, widening access"]


def _sections(plan: Plan) -> list[tuple[str, list[tuple[PortalPlan, tuple[Change, ...]]]]]:
    """The portals to show, grouped: one untitled group, or this branch's and drift.

    A change of origin both is in both groups: the branch changes it, and the merge
    overwrites an edit made in OutSmart since the base.
    """
    if plan.base is None or plan.kind == DRIFT_REPORT:
        return [("", [(portal, portal.changes) for portal in plan.changed])]
    groups = [(CHANGES_TITLE, (CHANGE, BOTH)), (DRIFT_TITLE, (DRIFT, BOTH))]
    return [
        (title, [(p, p.of_origin(*origins)) for p in plan.changed if p.of_origin(*origins)])
        for title, origins in groups
    ]


def _settle(portal: PortalPlan, plan: Plan) -> list[tuple[str, str, str]]:
    """The two ways to settle a drifted portal: (label, command, note); the command names
    the portal, so each renderer shows it as a value."""
    # The target and account spelled out: a drift issue is read far from the run's config.
    whose = f" --target {plan.target}"
    whose += f" --account {plan.account}" if plan.account is not None else ""
    return [
        ("accept", f"portal-config pull{whose} --portal {portal.portal}", _ACCEPT_NOTE),
        ("revert", f"portal-config apply{whose}", "the files win"),
    ]


_ACCEPT_NOTE = "on a branch, then a pull request"


def _context(plan: Plan, code: Callable[[str], str]) -> list[str]:
    """Which commit the plan reflects and when live state was read: a PR comment that
    names them cannot pass for the plan of a later push."""
    parts: list[str] = []
    if plan.commit:
        parts.append(f"Files at {code(plan.commit[:12])}")
    if plan.base is not None and plan.kind != DRIFT_REPORT:
        at = f" at {code(plan.base.commit[:12])}" if plan.base.commit else ""
        parts.append(f"base {code(plan.base.ref)}{at}")
    if plan.live_read_at:
        parts.append(f"live state read {escape_text(plan.live_read_at)}")
    return ["; ".join(parts)] if parts else []


def _refusal(reason: str) -> str:
    return f"apply will refuse this without --allow-large-change: {reason}"


def _assemble(
    head: list[str], sections: list[_Section], tail: list[str], max_chars: int | None
) -> str:
    """Head, sections and tail; past ``max_chars``, whole portal blocks are left out and
    counted per section, so a cut comment never shows half a portal (GitHub refuses
    comments over 65,536 characters).

    The budget goes to the last section first: in a three-way plan that is the drift,
    the part a reviewer would otherwise never see; every section keeps its title.
    """

    def cost(lines: Sequence[str]) -> int:
        return sum(len(line) + 1 for line in lines)

    shown = [section for section in sections if section.blocks]
    more = len(_MORE) + 8  # one "N more portals" line per section at most
    budget = None
    if max_chars is not None:
        budget = max_chars - cost(head) - cost(tail) - sum(cost(s.title) + more for s in shown)
    kept: set[tuple[int, int]] = set()
    for index in reversed(range(len(shown))):
        for position, block in enumerate(shown[index].blocks):
            if budget is not None and cost(block.lines) > budget:
                break  # in order: a later portal never shows while an earlier one is cut
            kept.add((index, position))
            budget = budget - cost(block.lines) if budget is not None else None
    lines = list(head)
    for index, section in enumerate(shown):
        lines += section.title
        blocks = section.blocks
        lines += [
            line for p, block in enumerate(blocks) if (index, p) in kept for line in block.lines
        ]
        left_out = sum(1 for p in range(len(blocks)) if (index, p) not in kept)
        if left_out:
            lines += [_MORE.format(count=left_out, s="" if left_out == 1 else "s"), ""]
    return "\n".join([*lines, *tail])


_MORE = "{count} more portal{s}: see the job summary"
CHANGES_TITLE = "Changes in this pull request:"
DRIFT_TITLE = "Drift: merging reverts these live edits:"


def render_markdown(
    plan: Plan, header: str, color: bool = False, max_chars: int | None = None
) -> str:
    context = _context(plan, escape_markdown)
    # What each profile edit reaches comes first: a reviewer reads it before any detail.
    head = [*headline(plan.fan_out(), True), f"**{plan.summary()}**", ""]
    head += [escape_markdown(header), ""]
    head += [*context, ""] if context else []
    if plan.apply_refusal:
        head += [f"> [!WARNING]\n> {_refusal(plan.apply_refusal)}", ""]
    if not plan.has_changes:
        head += ["No drift." if plan.kind == DRIFT_REPORT else "No changes.", ""]
    sections = [
        _Section(
            [f"### {title.rstrip(':')}", ""] if title else [],
            [_markdown_block(plan, portal, changes) for portal, changes in members],
        )
        for title, members in _sections(plan)
    ]
    tail: list[str] = []
    if plan.unmanaged:
        names = ", ".join(code_span(shown_id(n)) for n in plan.unmanaged)
        tail += [f"Unmanaged (in OutSmart, no file; not touched): {names}", ""]
    return _assemble(head, sections, tail, max_chars)


def _markdown_block(plan: Plan, portal: PortalPlan, changes: Sequence[Change]) -> _Block:
    widens = any(change.widens for change in changes)
    whose = list(dict.fromkeys(change.audience for change in changes if change.widens))
    badge = f" ⚠️ widens {', '.join(whose)}" if widens else ""
    count = len(changes)
    lines = [
        # Widening access is what a reviewer must not miss: shown open, not folded.
        "<details open>" if widens else "<details>",
        # Raw HTML, where markdown is not parsed: the id HTML-escaped, inside <code> so that
        # GitHub makes no @mention or link of it.
        f"<summary><code>{escape_html(portal.portal)}</code>: "
        f"{count} change{'s' if count != 1 else ''}{badge}</summary>",
        "",
        f"File {escape_markdown(portal.file)}, live revision {portal.live.revision}.",
        "",
        "```diff",
        *_markdown_change_lines(changes, portal),
        "```",
    ]
    if plan.kind == DRIFT_REPORT:
        lines += [
            "",
            *(
                f"- {label}: {escape_markdown(command)}  ({note})"
                for label, command, note in _settle(portal, plan)
            ),
        ]
    return _Block(portal.portal, [*lines, "</details>", ""])


def _markdown_change_lines(changes: Sequence[Change], portal: PortalPlan) -> list[str]:
    lines: list[str] = []
    for change in changes:
        source = _source(portal, change)
        if isinstance(change, FieldChange):
            notes = ([_widens(change)] if change.widens else []) + _origin_notes(change)
            lines += [
                f"- {change.name}: {_value(change.old)}",
                f"+ {change.name}: {_value(change.new)}{_comment([*notes, *source])}",
            ]
            continue
        # No field line in a diff block: each name says what it does itself.
        edited = _edited_live(change, portal.base)
        widening = [_widens(change)] if change.widens else []
        lines += [
            f"+ {change.name}: {escape_text(name)}"
            f"{_comment([*widening, *_item_notes(name, '+', edited), *source])}"
            for name in change.added
        ]
        lines += [
            f"- {change.name}: {escape_text(name)}"
            f"{_comment([*_item_notes(name, '-', edited), *source])}"
            for name in change.removed
        ]
    return lines


def _comment(notes: list[str]) -> str:
    return f"  # {', '.join(notes)}" if notes else ""


def render_json(plan: Plan, header: str, color: bool = False, max_chars: int | None = None) -> str:
    return json_text(plan.to_json())  # a machine reads it whole; nothing is cut


class PlanRenderer(Protocol):
    def __call__(
        self, plan: Plan, header: str, color: bool, max_chars: int | None = None
    ) -> str: ...


PLAN_FORMATS: dict[str, PlanRenderer] = {
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


def render_result(result: PortalResult, width: int, color: bool, progress: bool = False) -> str:
    """One portal's apply result as a line, the name padded to ``width``.

    A ``progress`` line is printed when a write is answered, before apply reads it back:
    an answered write says ``written``, as only the read-back can say it was applied.
    """
    label = result.outcome.value
    if progress and result.outcome is Outcome.APPLIED:
        label = "written"
    label = label.ljust(9)
    if color and _OUTCOME_COLORS[result.outcome]:
        label = click.style(label, fg=_OUTCOME_COLORS[result.outcome], bold=True)
    revision = ""
    if result.outcome is Outcome.APPLIED:
        revision = f"revision {result.revision_before} -> {result.revision_after}"
    portal = escape_text(result.portal).ljust(width)
    # A reason is a composed line (it may quote a value already): escaped as a line.
    return f"  {portal}  {label} {escape_line(result.reason) or revision}".rstrip() + "\n"
