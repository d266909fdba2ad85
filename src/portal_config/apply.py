"""Apply: execute a Plan against the API and say, per portal, what really happened.

Each write carries the revision the plan read. A conflict is never "resolved" by
writing again: the portal's current state (from the 409 answer) is compared, and only if
it already holds exactly the
desired settings (our own earlier write whose answer was lost, or the same
change made in the UI) is it reported as applied. Any other failure that leaves
the outcome unknown is also settled by a re-read, so "applied" always means
"seen in OutSmart".
"""

from __future__ import annotations

import datetime as dt
import enum
import threading
from dataclasses import dataclass

from portal_config.api import ApiError, ConflictError, OutSmartClient
from portal_config.model import LivePortal
from portal_config.plan import Plan, PortalPlan


class Outcome(str, enum.Enum):
    APPLIED = "applied"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class PortalResult:
    portal: str
    outcome: Outcome
    reason: str = ""
    revision_before: int | None = None
    revision_after: int | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "portal": self.portal,
            "result": self.outcome.value,
            "reason": self.reason,
            "revision_before": self.revision_before,
            "revision_after": self.revision_after,
        }


@dataclass
class ApplyRun:
    plan: Plan
    results: list[PortalResult]
    started_at: str
    finished_at: str
    interrupted: bool = False

    @property
    def failed(self) -> bool:
        return any(r.outcome in (Outcome.FAILED, Outcome.SKIPPED) for r in self.results)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    def summary(self) -> str:
        parts = [f"{self.count(o)} {o.value}" for o in Outcome]
        return f"Apply: {', '.join(parts)}."

    def to_json(self) -> dict[str, object]:
        return {
            "version": 1,
            "target": {"name": self.plan.target, "base_url": self.plan.base_url},
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "summary": {o.value: self.count(o) for o in Outcome}
            | {"ok": not self.failed, "interrupted": self.interrupted},
            "results": [r.to_json() for r in self.results],
        }


def apply_plan(plan: Plan, client: OutSmartClient) -> ApplyRun:
    """Write every changed portal; every portal of the plan gets a result, even on Ctrl-C."""
    started = _now()
    stop = threading.Event()  # set after an authentication failure: nothing else can work
    settled: dict[str, PortalResult] = {}

    def write(portal_plan: PortalPlan) -> None:
        if stop.is_set():
            reason = "not attempted after an authentication failure"
            result = PortalResult(portal_plan.portal, Outcome.SKIPPED, reason)
        else:
            try:
                result = _write_one(portal_plan, client, stop)
            except Exception as exc:  # a bug must not hide the other portals' results
                reason = f"unexpected error ({exc.__class__.__name__}); run diff to see its state"
                result = PortalResult(portal_plan.portal, Outcome.FAILED, reason)
        settled[portal_plan.portal] = result

    interrupted = False
    try:
        client.map(write, plan.changed)
    except KeyboardInterrupt:
        interrupted = True
    for portal_plan in plan.portals:
        revision = portal_plan.live.revision
        if not portal_plan.changed:
            settled[portal_plan.portal] = PortalResult(
                portal_plan.portal, Outcome.UNCHANGED, "", revision, revision
            )
        elif portal_plan.portal not in settled:
            reason = "interrupted before it was written"
            settled[portal_plan.portal] = PortalResult(portal_plan.portal, Outcome.SKIPPED, reason)
    results = sorted(settled.values(), key=lambda r: r.portal)
    return ApplyRun(plan, results, started, _now(), interrupted)


def _write_one(
    portal_plan: PortalPlan, client: OutSmartClient, stop: threading.Event
) -> PortalResult:
    name, before = portal_plan.portal, portal_plan.live.revision
    try:
        stored = client.replace_portal(portal_plan.desired, before)
    except ConflictError as conflict:
        # The 409 answer carries the portal as it is now: no need to ask again.
        why = "changed in OutSmart since it was read; not overwritten"
        return _settle(portal_plan, client, why, conflict.current)
    except ApiError as exc:
        if exc.status == 401:
            stop.set()
            return PortalResult(name, Outcome.FAILED, str(exc), before)
        if exc.status is not None and exc.status < 500 and exc.status != 429:
            # A definite refusal (400/404/422): nothing was written.
            return PortalResult(name, Outcome.FAILED, str(exc), before)
        return _settle(portal_plan, client, f"outcome unknown ({exc})")
    if not stored.settings.same_as(portal_plan.desired):
        return PortalResult(
            name,
            Outcome.FAILED,
            "OutSmart stored different settings than sent",
            before,
            stored.revision,
        )
    return PortalResult(name, Outcome.APPLIED, "", before, stored.revision)


def _settle(
    portal_plan: PortalPlan, client: OutSmartClient, why: str, current: LivePortal | None = None
) -> PortalResult:
    """Report what is true of a portal whose write did not clearly succeed.

    ``current`` is the portal as a conflict answer showed it; without one it is re-read.
    """
    name, before = portal_plan.portal, portal_plan.live.revision
    if current is None:
        try:
            current = client.get_portal(name)
        except ApiError as exc:
            return PortalResult(
                name, Outcome.FAILED, f"{why}; re-reading it failed too ({exc})", before
            )
    if current.settings.same_as(portal_plan.desired):
        reason = "confirmed: OutSmart already holds these settings"
        return PortalResult(name, Outcome.APPLIED, reason, before, current.revision)
    if current.revision == before:
        return PortalResult(
            name,
            Outcome.FAILED,
            f"{why}; the portal is unchanged, re-run apply",
            before,
            current.revision,
        )
    reason = f"{why} (revision {before} -> {current.revision}); run diff again"
    return PortalResult(name, Outcome.FAILED, reason, before, current.revision)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
