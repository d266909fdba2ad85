"""The plan: what applying the files would change in the live portals.

Built from valid portal Documents and one bulk read of live state; compared
field by field (work types as a set, revisions ignored). A plan
can be saved (`diff --out`) with the live revision and fingerprint of every
portal it read, so `apply plan.json` can refuse if anything moved since.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from portal_config import TOOL
from portal_config.errors import ExitCode, PortalConfigError, ReasonsError
from portal_config.lint.loader import Document
from portal_config.plan.live_values import is_file_id, not_ignored, refusal, unrepresentable
from portal_config.plan.results import now
from portal_config.problems import Level, Problem
from portal_config.project.config import NOTHING_IGNORED, Ignore, Safety
from portal_config.settings.compare import BOTH, DRIFT, Change, compute_changes
from portal_config.settings.model import LivePortal, PortalSettings

PLAN_FORMAT = "portal-config-plan"
# Version 2: `tool` replaced `tool_version`, and `summary` became counts instead of a line.
# Version 3: three-way plans: `base`, `commit`, `live_read_at`, `apply_refusal`, each
# portal's `base` settings, each change's `origin`, and the summary's `drift`.
# Version 4: live values held to the portal file's constraints, and unmanaged portals whose
# ids no file can use listed apart, in `unmanaged_other_ids`.
PLAN_VERSION = 4
MISSING_RULE = "missing-portal"
LIVE_VALUE_RULE = "live-value"  # live settings of a managed portal that no file can hold
IGNORED_RULE = "ignored-portal"  # a file for a portal the config's ignore: leaves alone


class RefusedError(PortalConfigError):
    """Apply will not go ahead: stale plan, safety threshold, or no confirmation."""

    exit_code = ExitCode.REFUSED
    prefix = "refused"


class PlanFileError(ReasonsError):
    """A saved plan that cannot be trusted; one reason per argument, one line each."""

    prefix = "invalid plan"


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
    # A three-way plan's base settings of this portal; None when the base had no file
    # for it (a new file) or the plan is two-way.
    base: PortalSettings | None = None

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    @property
    def widens(self) -> bool:
        return any(change.widens for change in self.changes)

    def of_origin(self, *origins: str) -> tuple[Change, ...]:
        return tuple(change for change in self.changes if change.origin in origins)

    @property
    def drifted(self) -> bool:
        return bool(self.of_origin(DRIFT, BOTH))

    def to_json(self, account: str | None = None) -> dict[str, Any]:
        return {
            "portal": self.portal,
            "account": account,
            "file": self.file,
            "action": "update" if self.changed else "none",
            "widens_guest_access": self.widens,
            "live_revision": self.live.revision,
            "live_fingerprint": self.live.settings.fingerprint(),
            "live": self.live.settings.to_json(),
            "desired": self.desired.to_json(),
            "base": self.base.to_json() if self.base is not None else None,
            "changes": [change.to_json() for change in self.changes],
            "acknowledged": dict(self.acknowledged),
            "disabled_rules": list(self.disabled_rules),
        }


@dataclass(frozen=True)
class BaseRef:
    """What a three-way plan compared with: the ref asked for and the commit it gave.

    The drift command's base is the checkout itself (``ref`` "HEAD"): every difference
    from live is then an edit made outside git.
    """

    ref: str
    commit: str | None

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "commit": self.commit}


DIFF = "diff"
DRIFT_REPORT = "drift"


@dataclass
class Plan:
    target: str
    base_url: str
    portals: list[PortalPlan]
    unmanaged: list[str] = field(default_factory=list)
    # Portals of a saved plan that live already holds as planned (see SavedPlan.replan).
    already_applied: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=now)
    kind: str = DIFF  # or DRIFT_REPORT: live against the files of the checkout
    base: BaseRef | None = None  # set: a three-way plan, every change has an origin
    commit: str | None = None  # the commit of the files planned, when in a git checkout
    live_read_at: str | None = None
    # Why `apply` would refuse this plan without --allow-large-change; None: it would not.
    apply_refusal: str | None = None
    account: str | None = None  # in a many-account repository, whose portals these are

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
            opened = sum(1 for p in self.changed if any(c.narrows for c in p.changes))
            if opened:
                text += f"; {opened} live edit{'s' if opened != 1 else ''} widened guest access"
            return text + "."
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
            "kind": self.kind,
            "target": {"name": self.target, "base_url": self.base_url},
            "account": self.account,
            "created_at": self.created_at,
            "commit": self.commit,
            "base": self.base.to_json() if self.base is not None else None,
            "live_read_at": self.live_read_at,
            "has_changes": self.has_changes,
            "apply_refusal": self.apply_refusal,
            "summary": plan_summary(
                len(self.portals),
                len(changed),
                sum(p.widens for p in changed),
                self.unmanaged,
                sum(p.drifted for p in changed),
            ),
            "portals": [p.to_json(self.account) for p in self.portals],
            # Ids a file could use are held to the file's pattern; the others only bounded.
            "unmanaged": [name for name in self.unmanaged if is_file_id(name)],
            "unmanaged_other_ids": [name for name in self.unmanaged if not is_file_id(name)],
        }

    def saved(self) -> SavedPlan:
        """This plan as a saved plan is read back: applied exactly, refused if stale."""
        portals = tuple(
            SavedPortal(
                p.portal,
                p.file,
                p.live.revision,
                p.live.settings.fingerprint(),
                p.desired,
                p.live.settings,
                p.base,
                dict(p.acknowledged),
                p.disabled_rules,
            )
            for p in self.portals
        )
        return SavedPlan(
            self.target,
            self.base_url,
            TOOL,
            portals,
            kind=self.kind,
            base=self.base,
            commit=self.commit,
            live_read_at=self.live_read_at,
            apply_refusal=self.apply_refusal,
            created_at=self.created_at,
            unmanaged=tuple(self.unmanaged),
            account=self.account,
        )

    def refusal(self, safety: Safety) -> str | None:
        """Why apply would refuse this plan without --allow-large-change, or None."""
        return safety.violation(len(self.changed), len(self.portals))

    def raise_if_unsafe(self, safety: Safety, override: bool) -> None:
        """Refuse plans that touch more portals than the configured threshold allows."""
        reason = self.refusal(safety)
        if reason and not override:
            raise RefusedError(f"{reason}; re-run with --allow-large-change if this is intended")


def _portals(count: int) -> str:
    return f"{count} portal{'s' if count != 1 else ''}"


def plan_summary(
    portals: int, updates: int, widening: int, unmanaged: Sequence[str], drift: int
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
        "drift": drift,
        "ok": updates == 0,
    }


def build_plan(
    documents: Sequence[Document],
    live: Sequence[LivePortal],
    target: str,
    base_url: str,
    base: Mapping[str, PortalSettings] | None = None,
    ignore: Ignore = NOTHING_IGNORED,
) -> tuple[Plan, list[Problem]]:
    """The plan, plus a Problem for every file whose portal does not exist live, is
    ignored by the config, or holds live settings no file can (live_values.py).

    With ``base`` (the base's settings by portal id) the plan is three-way: every
    change gets its origin. Portals are matched by id, so a renamed file still finds
    its base. Live portals ``ignore`` names are left out, unmanaged ones included.
    """
    by_id = not_ignored(live, ignore)
    plans: list[PortalPlan] = []
    problems: list[Problem] = []
    managed: set[str] = set()
    three_way = base is not None
    for document in documents:
        desired = PortalSettings.from_file_data(document.data)
        managed.add(desired.portal)
        current = by_id.get(desired.portal)
        reasons = _unplannable(desired.portal, current, target, ignore)
        if current is None or reasons:
            problems.extend(
                Problem(document.path, document.locate(("portal",)), Level.ERROR, rule, message)
                for rule, message in reasons
            )
            continue
        before = base.get(desired.portal) if base is not None else None
        changes = compute_changes(current.settings, desired, before, three_way=three_way)
        plans.append(
            PortalPlan(
                desired.portal,
                document.path,
                desired,
                current,
                changes,
                dict(document.data.get("acknowledged", {})),
                tuple(sorted(document.disabled_rules)),
                before,
            )
        )
    plans.sort(key=lambda p: p.portal)
    unmanaged = sorted(set(by_id) - managed)
    return Plan(target, base_url, plans, unmanaged), problems


def _unplannable(
    portal: str, current: LivePortal | None, target: str, ignore: Ignore
) -> list[tuple[str, str]]:
    """Why a file's portal cannot be planned, each with its rule: nothing live to plan
    against, the config ignores it, or its live settings hold a value no file can."""
    ignored = ignore.why(portal)
    if ignored is not None:
        return [(IGNORED_RULE, f"portal '{portal}' is {ignored}, but has a file; remove one")]
    if current is None:
        return [
            (
                MISSING_RULE,
                f"portal '{portal}' does not exist in target {target}; "
                "portals are created in OutSmart, not by portal-config",
            )
        ]
    reasons = unrepresentable(current.settings)
    return [(LIVE_VALUE_RULE, refusal(portal, reasons))] if reasons else []


# -- saved plans --------------------------------------------------------------------------
@dataclass(frozen=True)
class SavedPortal:
    portal: str
    file: str
    live_revision: int
    live_fingerprint: str
    desired: PortalSettings
    live: PortalSettings
    base: PortalSettings | None = None
    acknowledged: dict[str, str] = field(default_factory=dict)
    disabled_rules: tuple[str, ...] = ()

    def planned(self, live: LivePortal, three_way: bool) -> PortalPlan:
        changes = compute_changes(live.settings, self.desired, self.base, three_way=three_way)
        return PortalPlan(
            self.portal,
            self.file,
            self.desired,
            live,
            changes,
            self.acknowledged,
            self.disabled_rules,
            self.base,
        )


@dataclass(frozen=True)
class SavedPlan:
    target: str
    base_url: str
    tool: str
    portals: tuple[SavedPortal, ...]
    kind: str = DIFF
    base: BaseRef | None = None
    commit: str | None = None
    live_read_at: str | None = None
    apply_refusal: str | None = None
    created_at: str = ""
    unmanaged: tuple[str, ...] = ()
    account: str | None = None

    def as_recorded(self) -> Plan:
        """The plan as it was made, against the live state it read (`portal-config show`)."""
        portals = [
            saved.planned(
                LivePortal(saved.live, saved.live_revision), three_way=self.base is not None
            )
            for saved in self.portals
        ]
        return self._plan(portals, list(self.unmanaged))

    def _plan(self, portals: list[PortalPlan], unmanaged: list[str]) -> Plan:
        return Plan(
            self.target,
            self.base_url,
            sorted(portals, key=lambda p: p.portal),
            unmanaged,
            created_at=self.created_at or now(),
            kind=self.kind,
            base=self.base,
            commit=self.commit,
            live_read_at=self.live_read_at,
            apply_refusal=self.apply_refusal,
            account=self.account,
        )

    def replan(self, live: Sequence[LivePortal], ignore: Ignore = NOTHING_IGNORED) -> Plan:
        """The saved plan against current live state; refuses if any portal moved since.

        A portal that moved to exactly the planned settings is not stale but already
        applied (a re-run apply job): it needs no write, and the plan says so. Live
        portals ``ignore`` names are not listed as unmanaged (plan_file refuses a plan
        that plans one).
        """
        by_id = not_ignored(live, ignore)
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
            plans.append(saved.planned(current, three_way=self.base is not None))
        if stale:
            raise RefusedError(
                "plan is stale: changed in OutSmart since the plan was made: "
                + ", ".join(stale)
                + "; run diff again and review the new plan"
            )
        plan = self._plan(plans, sorted(set(by_id) - {s.portal for s in self.portals}))
        plan.live_read_at = now()
        plan.already_applied = sorted(applied)
        return plan
