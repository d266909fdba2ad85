"""The plan: what applying the files would change in the live portals.

Built from valid portal Documents and one bulk read of live state; compared
field by field (work types as a set, revisions ignored). A plan
can be saved (`diff --out`) with the live revision and fingerprint of every
portal it read, so `apply plan.json` can refuse if anything moved since.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from portal_config import TOOL
from portal_config.config import Safety
from portal_config.errors import ExitCode, PortalConfigError
from portal_config.loader import Document
from portal_config.model import FIELDS, FLAGS, LivePortal, PortalSettings
from portal_config.problems import Level, Problem

PLAN_FORMAT = "portal-config-plan"
# Version 2: `tool` replaced `tool_version`, and `summary` became counts instead of a line.
PLAN_VERSION = 2
MISSING_RULE = "missing-portal"


class RefusedError(PortalConfigError):
    """Apply will not go ahead: stale plan, safety threshold, or no confirmation."""

    exit_code = ExitCode.REFUSED
    prefix = "refused"


class PlanFileError(PortalConfigError):
    """A saved plan that cannot be trusted; one reason per argument, one line each."""

    prefix = "invalid plan"

    def __str__(self) -> str:
        return "\n".join(str(reason) for reason in self.args)

    def render(self) -> str:
        return "\n".join(f"{self.prefix}: {reason}" for reason in self.args)


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any

    @property
    def widens(self) -> bool:
        # Switching guests on, or any guest permission on, gives guests more.
        return self.field in ("enabled", *FLAGS) and not self.old and bool(self.new)

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new, "widens": self.widens}


@dataclass(frozen=True)
class WorkTypesChange:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    field: str = "work_types"

    @property
    def widens(self) -> bool:
        return bool(self.added)

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "added": list(self.added),
            "removed": list(self.removed),
            "widens": self.widens,
        }


Change = FieldChange | WorkTypesChange


@dataclass(frozen=True)
class PortalPlan:
    portal: str
    file: str
    desired: PortalSettings
    live: LivePortal
    changes: tuple[Change, ...]
    # What lint honoured in the file besides the settings, so that `apply plan.json`
    # checks each desired state exactly as lint checked its file.
    acknowledged: dict[str, str] = field(default_factory=dict)
    disabled_rules: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    @property
    def widens(self) -> bool:
        return any(change.widens for change in self.changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "portal": self.portal,
            "file": self.file,
            "action": "update" if self.changed else "none",
            "widens_guest_access": self.widens,
            "live_revision": self.live.revision,
            "live_fingerprint": self.live.settings.fingerprint(),
            "live": self.live.settings.to_json(),
            "desired": self.desired.to_json(),
            "changes": [change.to_json() for change in self.changes],
            "acknowledged": dict(self.acknowledged),
            "disabled_rules": list(self.disabled_rules),
        }


@dataclass
class Plan:
    target: str
    base_url: str
    portals: list[PortalPlan]
    unmanaged: list[str] = field(default_factory=list)
    # Portals of a saved plan that live already holds as planned (see SavedPlan.replan).
    already_applied: list[str] = field(default_factory=list)
    created_at: str = field(
        default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    )

    @property
    def changed(self) -> list[PortalPlan]:
        return [p for p in self.portals if p.changed]

    @property
    def has_changes(self) -> bool:
        return any(p.changed for p in self.portals)

    def summary(self) -> str:
        changed = len(self.changed)
        if not changed:
            total = len(self.portals)
            text = f"No changes. {total} portal{'s' if total != 1 else ''} up to date"
        else:
            text = f"Plan: {changed} to update, {len(self.portals) - changed} unchanged"
        if self.unmanaged:
            text += f", {len(self.unmanaged)} unmanaged"
        widening = sum(1 for p in self.changed if p.widens)
        if widening:
            text += f"; {widening} widen{'s' if widening == 1 else ''} guest access"
        return text + "."

    def to_json(self) -> dict[str, Any]:
        changed = self.changed
        return {  # what the file is first, as in every JSON output; then where it went
            "format": PLAN_FORMAT,
            "version": PLAN_VERSION,
            "tool": TOOL,
            "target": {"name": self.target, "base_url": self.base_url},
            "created_at": self.created_at,
            "has_changes": self.has_changes,
            "summary": plan_summary(
                len(self.portals), len(changed), sum(p.widens for p in changed), self.unmanaged
            ),
            "portals": [p.to_json() for p in self.portals],
            "unmanaged": list(self.unmanaged),
        }

    def raise_if_unsafe(self, safety: Safety, override: bool) -> None:
        """Refuse plans that touch more portals than the configured threshold allows."""
        reason = safety.violation(len(self.changed), len(self.portals))
        if reason and not override:
            raise RefusedError(f"{reason}; re-run with --allow-large-change if this is intended")


def plan_summary(
    portals: int, updates: int, widening: int, unmanaged: Sequence[str]
) -> dict[str, Any]:
    """The plan JSON's summary; `apply plan.json` recomputes it from the entries to compare.

    ``ok`` is true exactly when diff exits 0 (nothing to change), as lint's and the apply
    report's ``ok`` are true exactly when their command exits 0.
    """
    return {
        "portals": portals,
        "update": updates,
        "unchanged": portals - updates,
        "unmanaged": len(unmanaged),
        "widens_guest_access": widening,
        "ok": updates == 0,
    }


def compute_changes(live: PortalSettings, desired: PortalSettings) -> tuple[Change, ...]:
    """Field-level changes from live to desired; work types compared as a set.

    Five fields of known types compare directly; a generic differ (deepdiff, which
    tests use as the oracle for this function) cost 0.2-0.4 ms a portal and ~40 ms of
    imports on every diff.
    """
    changes: list[Change] = []
    for name in FIELDS:
        if name == "work_types":
            before, after = set(live.work_types), set(desired.work_types)
            added = tuple(t for t in desired.work_types if t not in before)
            removed = tuple(t for t in live.work_types if t not in after)
            if added or removed:
                changes.append(WorkTypesChange(added, removed))
        elif getattr(live, name) != getattr(desired, name):
            changes.append(FieldChange(name, getattr(live, name), getattr(desired, name)))
    return tuple(changes)


def build_plan(
    documents: Sequence[Document], live: Sequence[LivePortal], target: str, base_url: str
) -> tuple[Plan, list[Problem]]:
    """The plan, plus a Problem for every file whose portal does not exist live."""
    by_id = {portal.portal: portal for portal in live}
    plans: list[PortalPlan] = []
    problems: list[Problem] = []
    managed: set[str] = set()
    for document in documents:
        desired = PortalSettings.from_file_data(document.data)
        managed.add(desired.portal)
        current = by_id.get(desired.portal)
        if current is None:
            message = (
                f"portal '{desired.portal}' does not exist in target {target}; "
                "portals are created in OutSmart, not by portal-config"
            )
            problems.append(
                Problem(
                    document.path, document.locate(("portal",)), Level.ERROR, MISSING_RULE, message
                )
            )
            continue
        changes = compute_changes(current.settings, desired)
        plans.append(
            PortalPlan(
                desired.portal,
                document.path,
                desired,
                current,
                changes,
                dict(document.data.get("acknowledged", {})),
                tuple(sorted(document.disabled_rules)),
            )
        )
    plans.sort(key=lambda p: p.portal)
    unmanaged = sorted(set(by_id) - managed)
    return Plan(target, base_url, plans, unmanaged), problems


# -- saved plans --------------------------------------------------------------------------
@dataclass(frozen=True)
class SavedPortal:
    portal: str
    file: str
    live_revision: int
    live_fingerprint: str
    desired: PortalSettings


@dataclass(frozen=True)
class SavedPlan:
    target: str
    base_url: str
    tool: str
    portals: tuple[SavedPortal, ...]

    def replan(self, live: Sequence[LivePortal]) -> Plan:
        """The saved plan against current live state; refuses if any portal moved since.

        A portal that moved to exactly the planned settings is not stale but already
        applied (a re-run apply job): it needs no write, and the plan says so.
        """
        by_id = {portal.portal: portal for portal in live}
        stale: list[str] = []
        plans: list[PortalPlan] = []
        applied: list[str] = []
        for saved in self.portals:
            current = by_id.get(saved.portal)
            if current is None:
                stale.append(f"{saved.portal} (no longer exists)")
                continue
            moved = (
                current.revision != saved.live_revision
                or current.settings.fingerprint() != saved.live_fingerprint
            )
            if moved and current.settings.same_as(saved.desired):
                applied.append(saved.portal)
            elif moved:
                stale.append(
                    f"{saved.portal} (revision {saved.live_revision} -> {current.revision})"
                )
                continue
            changes = compute_changes(current.settings, saved.desired)
            plans.append(PortalPlan(saved.portal, saved.file, saved.desired, current, changes))
        if stale:
            raise RefusedError(
                "plan is stale: changed in OutSmart since the plan was made: "
                + ", ".join(stale)
                + "; run diff again and review the new plan"
            )
        unmanaged = sorted(set(by_id) - {s.portal for s in self.portals})
        plan = Plan(self.target, self.base_url, sorted(plans, key=lambda p: p.portal), unmanaged)
        plan.already_applied = sorted(applied)
        return plan
