"""Apply: execute a Plan against the API and say, per portal, what really happened.

Each write carries the revision the plan read. A conflict is never "resolved" by
writing again: the portal's current state (from the 409 answer) is compared, and only if
it already holds exactly the
desired settings (our own earlier write whose answer was lost, or the same
change made in the UI) is it reported as applied. Any other failure that leaves
the outcome unknown is also settled by a re-read, so "applied" always means
"seen in OutSmart".

Ctrl-C or SIGTERM stops new writes; writes in flight are waited for, so each is
reported as what really happened. A second interrupt stops the waiting (as
terraform's does): those portals are reported "unknown", never "skipped".
"""

from __future__ import annotations

import datetime as dt
import enum
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from portal_config.api import ApiError, ConflictError, OutSmartClient
from portal_config.errors import ExitCode
from portal_config.model import LivePortal
from portal_config.plan import Plan, PortalPlan


class Outcome(str, enum.Enum):
    APPLIED = "applied"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    SKIPPED = "skipped"  # never attempted: nothing was sent for this portal
    UNKNOWN = "unknown"  # a write was in flight when the run stopped waiting for it


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
        return any(r.outcome not in (Outcome.APPLIED, Outcome.UNCHANGED) for r in self.results)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    def summary(self) -> str:
        # "unknown" only appears when it happened: it is rare and must stand out.
        shown = [o for o in Outcome if o is not Outcome.UNKNOWN or self.count(o)]
        parts = [f"{self.count(o)} {o.value}" for o in shown]
        return f"Apply: {', '.join(parts)}."


REPORT_FORMAT = "portal-config-report"
REPORT_VERSION = 2
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

    started_at: str = field(default_factory=lambda: _now())
    target: str | None = None
    base_url: str | None = None
    plan: Plan | None = None
    run: ApplyRun | None = None

    def to_json(self, exit_code: int, reason: str = "") -> dict[str, object]:
        results = self._results(reason)
        counts = {o.value: sum(1 for r in results if r.outcome is o) for o in Outcome}
        interrupted = exit_code == ExitCode.INTERRUPTED
        outcome = OUTCOMES_BY_EXIT.get(exit_code, "failed")
        if outcome == "applied" and self.plan is not None and not self.plan.has_changes:
            outcome = "nothing-to-apply"
        return {
            "format": REPORT_FORMAT,
            "version": REPORT_VERSION,
            "target": {"name": self.target, "base_url": self.base_url},
            "started_at": self.started_at,
            "finished_at": _now(),
            "outcome": outcome,
            "reason": reason,
            "exit_code": exit_code,
            "summary": counts | {"ok": exit_code == ExitCode.OK, "interrupted": interrupted},
            "results": [r.to_json() for r in results],
        }

    def _results(self, reason: str) -> list[PortalResult]:
        if self.run is not None:
            return self.run.results
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


def apply_plan(
    plan: Plan,
    client: OutSmartClient,
    *,
    on_result: Callable[[PortalResult], None] | None = None,
    note: Callable[[str], None] | None = None,
) -> ApplyRun:
    """Write every changed portal; every portal of the plan gets a result, even on Ctrl-C.

    ``on_result`` hears of each write's result as it completes (progress output);
    ``note`` gets one-line messages about interrupts.
    """
    started = _now()
    stop = threading.Event()  # set after an authentication failure: nothing else can work
    settled: dict[str, PortalResult] = {}

    def write(portal_plan: PortalPlan) -> PortalResult:
        if stop.is_set():
            reason = "not attempted after an authentication failure"
            return PortalResult(portal_plan.portal, Outcome.SKIPPED, reason)
        try:
            return _write_one(portal_plan, client, stop)
        except Exception as exc:  # a bug must not hide the other portals' results
            reason = f"unexpected error ({exc.__class__.__name__}); run diff to see its state"
            return PortalResult(portal_plan.portal, Outcome.FAILED, reason)

    def record(future: Future[PortalResult]) -> None:
        result = future.result()  # write() never raises
        if result.portal in settled:  # recorded already, just before an interrupt landed
            return
        settled[result.portal] = result
        if on_result is not None:
            on_result(result)

    workers = max(1, client.settings.concurrency)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="portal-config-apply")
    futures = {pool.submit(write, p): p.portal for p in plan.changed}
    pending = set(futures)
    interrupted = False
    try:
        _collect(pending, record)
    except KeyboardInterrupt:
        interrupted = True
        _drain(pending, record, note)
    finally:
        # Never block here: after a second interrupt the caller reports and exits.
        pool.shutdown(wait=False, cancel_futures=True)
    for portal_plan in plan.portals:
        name, revision = portal_plan.portal, portal_plan.live.revision
        if name in settled:
            continue
        if not portal_plan.changed:
            settled[name] = PortalResult(name, Outcome.UNCHANGED, "", revision, revision)
            continue
        in_flight = any(futures[f] == name and not f.cancelled() for f in pending)
        if in_flight:
            reason = "outcome unknown: the write was in flight when the run stopped; run diff"
            settled[name] = PortalResult(name, Outcome.UNKNOWN, reason, revision)
        else:
            reason = "interrupted before it was written"
            settled[name] = PortalResult(name, Outcome.SKIPPED, reason, revision)
    results = sorted(settled.values(), key=lambda r: r.portal)
    return ApplyRun(plan, results, started, _now(), interrupted)


_Record = Callable[[Future[PortalResult]], None]


def _collect(pending: set[Future[PortalResult]], record: _Record) -> None:
    """Record results as they complete. A future leaves ``pending`` only once recorded,
    so an interrupt at any moment leaves exactly the unrecorded ones behind."""
    while pending:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            record(future)
            pending.discard(future)


def _drain(
    pending: set[Future[PortalResult]], record: _Record, note: Callable[[str], None] | None
) -> None:
    """After an interrupt: cancel what has not started, wait for what is in flight.

    ``pending`` is left holding the writes still running when a second interrupt ended
    the wait (and the cancelled ones, which never started).
    """
    for future in pending:
        future.cancel()  # only succeeds for writes not yet started
    running = {f for f in pending if not f.cancelled() and not f.done()}
    if running and note is not None:
        note(
            f"interrupt received: finishing {len(running)} write(s) in flight; "
            "interrupt again to stop waiting (their outcome will be unknown)"
        )
    unstarted = {f for f in pending if f.cancelled()}
    pending -= unstarted
    try:
        _collect(pending, record)
    except KeyboardInterrupt:
        # Second interrupt: stop waiting. Whatever finished meanwhile is still recorded.
        for future in [f for f in pending if f.done()]:
            record(future)
            pending.discard(future)
    pending |= unstarted


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
