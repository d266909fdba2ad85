"""What an apply run says happened: a result per portal, the run, and the --report file.

A leaf of the pipeline (no HTTP, no deepdiff), so renderers can import it cheaply.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from portal_config import TOOL
from portal_config.errors import ExitCode

if TYPE_CHECKING:
    from portal_config.plan.inputs import PlanInputs
    from portal_config.plan.value import Plan


class Outcome(str, enum.Enum):
    """What is true of one portal after apply.

    ``applied``: OutSmart holds the planned settings, as read back after the writes.
    ``failed``: it does not: the write was refused, or answered and then not found stored.
    ``skipped``: nothing was sent. ``unknown``: a write was sent and neither its answer nor
    a read since can tell whether it was stored (a 5xx, a dropped connection or no answer,
    and then no successful read; or the run stopped waiting for it).
    """

    APPLIED = "applied"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNKNOWN = "unknown"


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
    # What a second interrupt stopped waiting for: writes in flight, or the read-back of
    # this many written portals.
    abandoned: int = 0
    unread: int = 0

    @property
    def failed(self) -> bool:
        return any(r.outcome not in (Outcome.APPLIED, Outcome.UNCHANGED) for r in self.results)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    def summary(self) -> str:
        # "unknown" only appears when it happened: it is rare and must stand out.
        shown = [o for o in Outcome if o is not Outcome.UNKNOWN or self.count(o)]
        parts = [f"{self.count(o)} {o.value}" for o in shown]
        return f"Apply: {', '.join(parts)}."


REPORT_FORMAT = "portal-config-report"
# Version 3: `outcome` can be `unknown` (version 2 said `failed` for every exit 6).
REPORT_VERSION = 3
# Which exit codes end a run with which outcome; the report's schema lists the same names.
OUTCOMES_BY_EXIT = {
    ExitCode.OK: "applied",
    ExitCode.PROBLEMS: "invalid-input",
    ExitCode.USAGE: "usage-error",
    ExitCode.API: "api-error",
    ExitCode.REFUSED: "refused",
    ExitCode.APPLY_FAILED: "failed",
    ExitCode.INTERRUPTED: "interrupted",
}


@dataclass
class ApplyReport:
    """What `apply --report FILE` writes: always, whatever ended the run.

    Filled in as the run learns things (target, plan, results), so a run that was
    refused or lost the API still leaves a report saying why and that nothing, or
    exactly what, was written.
    """

    started_at: str = field(default_factory=lambda: now())
    target: str | None = None
    base_url: str | None = None
    account: str | None = None  # in a many-account repository, whose portals these are
    plan: Plan | None = None
    saved: PlanInputs | None = None  # the plan file, known before live state is read
    run: ApplyRun | None = None

    def to_json(self, exit_code: int, reason: str = "") -> dict[str, object]:
        results = self._results(reason)
        counts = {o.value: sum(1 for r in results if r.outcome is o) for o in Outcome}
        interrupted = exit_code == ExitCode.INTERRUPTED
        outcome = OUTCOMES_BY_EXIT.get(exit_code, "failed")
        if outcome == "applied" and self.plan is not None and not self.plan.has_changes:
            outcome = "nothing-to-apply"
        if outcome == "failed" and unsure(results):
            outcome = "unknown"
        return {
            "format": REPORT_FORMAT,
            "version": REPORT_VERSION,
            "tool": TOOL,
            "target": {"name": self.target, "base_url": self.base_url},
            "account": self.account,
            "started_at": self.started_at,
            "finished_at": now(),
            "outcome": outcome,
            "reason": reason,
            "exit_code": exit_code,
            "summary": counts | {"ok": exit_code == ExitCode.OK, "interrupted": interrupted},
            "results": [r.to_json() for r in results],
        }

    def _results(self, reason: str) -> list[PortalResult]:
        if self.run is not None:
            return self.run.results
        if self.plan is None and self.saved is not None:
            # Refused before live state was read (stale plan, API down): nothing was sent
            # for any portal of the plan file.
            why = f"not attempted: {reason}" if reason else "not attempted"
            return [
                PortalResult(p.portal, Outcome.SKIPPED, why, p.live_revision)
                for p in self.saved.portals
            ]
        if self.plan is None:
            return []
        # The run ended before any write: say so for every portal the plan would change.
        why = f"not attempted: {reason}" if reason else "not attempted"
        return [
            PortalResult(p.portal, Outcome.SKIPPED, why, p.live.revision)
            if p.changed
            else PortalResult(p.portal, Outcome.UNCHANGED, "", p.live.revision, p.live.revision)
            for p in self.plan.portals
        ]


def interrupt_reason(run: ApplyRun) -> str:
    """The one line that says how an interrupted run ended: on stderr and in the report."""
    if run.abandoned:
        return (
            f"interrupted again: stopped waiting for {describe_writes(run.abandoned)} in flight; "
            "their outcome is unknown: run diff"
        )
    if run.unread:
        return (
            f"interrupted again: stopped reading back {describe_writes(run.unread)}; "
            "their outcome is unknown: run diff"
        )
    return "interrupted: writes in flight were finished; the rest were skipped"


def unsure(results: Sequence[PortalResult]) -> bool:
    """Whether some portals' outcome is unknown and every other one was applied or
    unchanged: the run may have stored everything, so "failed" would be a guess. One
    portal that certainly was not stored (failed, skipped) makes the run failed."""
    settled = (Outcome.APPLIED, Outcome.UNCHANGED, Outcome.UNKNOWN)
    return any(r.outcome is Outcome.UNKNOWN for r in results) and all(
        r.outcome in settled for r in results
    )


def describe_writes(count: int) -> str:
    return "1 write" if count == 1 else f"{count} writes"


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
