"""The plan: what applying the files would change in the live portals.

One frozen value, made only by `build_plan` from its inputs (`inputs.PlanInputs`), compared
field by field (work types as a set, revisions ignored). A saved plan (`diff --out`) is
the inputs: `show` builds the plan again, `apply plan.json` against current live state
(`replan`), refusing if anything moved since."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from portal_config.errors import ExitCode, PortalConfigError, ReasonsError
from portal_config.plan.inputs import (
    DRIFT_REPORT,
    BaseRef,
    PlanInputs,
    PortalInputs,
    origin_json,
)
from portal_config.plan.reach import Reach
from portal_config.project.config import NOTHING_IGNORED, Ignore, Safety
from portal_config.settings.compare import BOTH, CHANGE, DRIFT, Change, compute_changes
from portal_config.settings.effective import Origin
from portal_config.settings.model import LivePortal, PortalSettings
from portal_config.settings.table import active


class RefusedError(PortalConfigError):
    """Apply will not go ahead: stale plan, safety threshold, or no confirmation."""

    exit_code = ExitCode.REFUSED
    prefix = "refused"


class PlanFileError(ReasonsError):
    """A saved plan that cannot be trusted; one reason per argument, one line each."""

    prefix = "invalid plan"


@dataclass(frozen=True)
class PortalPlan:
    """One portal's inputs and the changes the builder derived from them."""

    inputs: PortalInputs
    changes: tuple[Change, ...]

    @property
    def portal(self) -> str:
        return self.inputs.portal

    @property
    def file(self) -> str:
        return self.inputs.file

    @property
    def desired(self) -> PortalSettings:
        return self.inputs.desired

    @property
    def live(self) -> LivePortal:
        return self.inputs.live

    @property
    def base(self) -> PortalSettings | None:
        return self.inputs.base

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    @property
    def widens(self) -> bool:
        """Applying gives someone more: guests, portal users or customers."""
        return any(change.widens for change in self.changes)

    @property
    def widens_guests(self) -> bool:
        """Applying gives guests more (the JSON's `widens_guest_access`, as it always was);
        each change says for itself whether it widens, in any section."""
        guests = active().primary.name
        return any(change.widens and change.section == guests for change in self.changes)

    def of_origin(self, *origins: str) -> tuple[Change, ...]:
        return tuple(change for change in self.changes if change.origin in origins)

    @property
    def drifted(self) -> bool:
        return bool(self.of_origin(DRIFT, BOTH))

    def source(self, change: Change) -> Origin | None:
        """The file and line that set the desired value ``change`` applies; None when no
        file names the field (its default applies)."""
        return self.inputs.sources.get((change.section, change.field))

    def to_json(self, account: str | None = None) -> dict[str, Any]:
        derived = {
            "account": account,
            "action": "update" if self.changed else "none",
            "widens_guest_access": self.widens_guests,
            "live_fingerprint": self.inputs.compared().fingerprint(),
            "changes": [change.to_json() | self._source_json(change) for change in self.changes],
        }
        return _shown(self.inputs.to_json() | derived, SHOWN_ENTRY)

    def _source_json(self, change: Change) -> dict[str, Any]:
        source = self.source(change)
        return {"source": origin_json(source) if source is not None else None}


def fan_out(plans: Iterable[Plan]) -> tuple[Reach, ...]:
    """The branch's changes (origin change or both) of the three-way diffs ``plans``, by
    the profile file whose edit made them, in file order: a profile edit is one edit that
    reaches many portals, not many portal edits. A change reaches a portal through every
    line its new value comes from (the one that set it, and what that one edits), and is
    credited to those of them the branch edited. A portal that overrides the field sets
    it in its own file, so the profile does not reach it."""
    found: dict[str, tuple[set[str], set[tuple[str | None, str]], set[tuple[str | None, str]]]]
    found = {}
    for plan in plans:
        if plan.base is None or plan.kind == DRIFT_REPORT:
            continue
        edited = set(plan.inputs.edited_profiles)
        for portal in plan.portals:
            reached = (plan.account, portal.portal)
            for change in portal.of_origin(CHANGE, BOTH):
                made_by = portal.inputs.made_by((change.section, change.field))
                for file in {origin.file for origin in made_by if origin.file in edited}:
                    fields, portals, widen = found.setdefault(file, (set(), set(), set()))
                    fields.add(change.name)
                    portals.add(reached)
                    if change.widens:
                        widen.add(reached)
    return tuple(
        Reach(file, frozenset(fields), frozenset(portals), len(widen))
        for file, (fields, portals, widen) in sorted(found.items())
    )


@dataclass(frozen=True)
class Plan:
    """The plan `build_plan` derives from ``inputs``; what every renderer and apply read."""

    inputs: PlanInputs
    portals: tuple[PortalPlan, ...]
    # Why `apply` would refuse this plan without --allow-large-change; None: it would not.
    apply_refusal: str | None = None

    @property
    def target(self) -> str:
        return self.inputs.target

    @property
    def base_url(self) -> str:
        return self.inputs.base_url

    @property
    def unmanaged(self) -> tuple[str, ...]:
        return self.inputs.unmanaged

    @property
    def already_applied(self) -> tuple[str, ...]:
        return self.inputs.already_applied

    @property
    def created_at(self) -> str:
        return self.inputs.created_at

    @property
    def kind(self) -> str:
        return self.inputs.kind

    @property
    def base(self) -> BaseRef | None:
        return self.inputs.base

    @property
    def commit(self) -> str | None:
        return self.inputs.commit

    @property
    def live_read_at(self) -> str | None:
        return self.inputs.live_read_at

    @property
    def account(self) -> str | None:
        return self.inputs.account

    @property
    def changed(self) -> list[PortalPlan]:
        return [p for p in self.portals if p.changed]

    @property
    def drifted(self) -> list[PortalPlan]:
        return [p for p in self.portals if p.drifted]

    @property
    def has_changes(self) -> bool:
        return any(p.changed for p in self.portals)

    def summary(self) -> str:
        changed = len(self.changed)
        total = len(self.portals)
        if self.kind == DRIFT_REPORT:
            text = (
                f"Drift: {changed} of {_portals(total)} differ from the files"
                if changed
                else f"No drift. {_portals(total)} as the files say"
            )
        elif not changed:
            text = f"No changes. {_portals(total)} up to date"
        else:
            reverting = len(self.drifted)  # of the portals to update, not the unchanged
            text = f"Plan: {changed} to update"
            if self.base is not None and reverting:
                text += f" ({reverting} revert{'s' if reverting == 1 else ''} live edits)"
            text += f", {total - changed} unchanged"
        if self.unmanaged:
            text += f", {len(self.unmanaged)} unmanaged"
        if self.kind == DRIFT_REPORT:
            # A drift report is about the edits: which of them gave guests more.
            opened = [c for p in self.changed for c in p.changes if c.narrows]
            edits = len({p.portal for p in self.changed if any(c.narrows for c in p.changes)})
            if edits:
                whose = _whose(opened)
                text += f"; {edits} live edit{'s' if edits != 1 else ''} widened {whose}"
            return text + "."
        widening = [p for p in self.changed if p.widens]
        if widening:
            whose = _whose([c for p in widening for c in p.changes if c.widens])
            count = len(widening)
            text += f"; {count} widen{'s' if count == 1 else ''} {whose}"
        return text + "."

    def to_json(self) -> dict[str, Any]:
        """The plan as `diff --format json` shows it: inputs and everything derived."""
        changed = self.changed
        derived = {
            "has_changes": self.has_changes,
            "apply_refusal": self.apply_refusal,
            "summary": plan_summary(
                len(self.portals),
                len(changed),
                sum(p.widens_guests for p in changed),
                self.unmanaged,
                sum(p.drifted for p in changed),
            ),
            "portals": [p.to_json(self.account) for p in self.portals],
            "fan_out": [reach.to_json() for reach in self.fan_out()],
        }
        return _shown(self.inputs.to_json() | derived, SHOWN_PLAN)

    def fan_out(self) -> tuple[Reach, ...]:
        """What each profile edit of this branch reaches (empty without a base)."""
        return fan_out([self])

    def saved(self) -> PlanInputs:
        """What `diff --out` saves: the inputs, from which `show` and `apply` rebuild it."""
        return self.inputs

    def refusal(self, safety: Safety) -> str | None:
        """Why apply would refuse this plan without --allow-large-change, or None."""
        return safety.violation(len(self.changed), len(self.portals))

    def raise_if_unsafe(self, safety: Safety, override: bool) -> None:
        """Refuse plans that touch more portals than the configured threshold allows."""
        reason = self.refusal(safety)
        if reason and not override:
            raise RefusedError(f"{reason}; re-run with --allow-large-change if this is intended")


def _whose(changes: Sequence[Change]) -> str:
    """Whose access ``changes`` widen: one audience by name (guest access), else access."""
    audiences = {change.audience for change in changes}
    return audiences.pop() if len(audiences) == 1 else "access"


def build_plan(inputs: PlanInputs) -> Plan:
    """The plan of ``inputs``: each portal's changes (with origins when the inputs have a
    base) and, for a diff with thresholds, why apply would refuse it. The one place a
    plan is made."""
    three_way = inputs.base is not None
    portals = tuple(
        PortalPlan(
            portal,
            compute_changes(portal.live.settings, portal.desired, portal.base, three_way=three_way),
        )
        for portal in sorted(inputs.portals, key=lambda p: p.portal)
    )
    refusal = None
    if inputs.safety is not None and inputs.kind != DRIFT_REPORT:
        changed = sum(1 for p in portals if p.changed)
        refusal = inputs.safety.violation(changed, len(portals))
    return Plan(inputs, portals, refusal)


def replan(
    saved: PlanInputs, live: Sequence[LivePortal], read_at: str, ignore: Ignore = NOTHING_IGNORED
) -> Plan:
    """The saved plan against current live state; refuses if any portal moved since."""
    current, stale = saved.replan(live, read_at, ignore)
    if stale:
        raise RefusedError(
            "plan is stale: changed in OutSmart since the plan was made: "
            + ", ".join(stale)
            + "; run diff again and review the new plan"
        )
    return build_plan(current)


# The order of the keys diff shows: the saved plan's (what the file is first, then where it
# went), with what is derived from them among them; the thresholds are the saved plan's own.
SHOWN_PLAN = (
    *("format", "version", "tool", "kind", "target", "account", "created_at", "commit"),
    *("base", "live_read_at", "has_changes", "apply_refusal", "summary", "fan_out"),
    *("portals", "unmanaged", "unmanaged_other_ids"),
)
SHOWN_ENTRY = (
    *("portal", "account", "file", "action", "widens_guest_access", "live_revision"),
    *("live_fingerprint", "live", "desired", "base", "changes", "acknowledged"),
    *("disabled_rules", "sources"),
)


def _shown(merged: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: merged[key] for key in keys}


def _portals(count: int) -> str:
    return f"{count} portal{'s' if count != 1 else ''}"


def plan_summary(
    portals: int, updates: int, widening: int, unmanaged: Sequence[str], drift: int
) -> dict[str, Any]:
    """The plan JSON's summary.

    ``ok`` is true exactly when diff exits 0 (nothing to change), as lint's and the apply
    report's ``ok`` are true exactly when their command exits 0.
    """
    return {
        "portals": portals,
        "update": updates,
        "unchanged": portals - updates,
        "unmanaged": len(unmanaged),
        "widens_guest_access": widening,
        "drift": drift,
        "ok": updates == 0,
    }
