"""Apply: execute a Plan against the API and say, per portal, what really happened.

Each write carries the revision the plan read. A conflict is never "resolved" by
writing again: the portal's current state (from the 409 answer) is compared, and only if
it already holds exactly the desired settings (our own earlier write whose answer was
lost, or the same change made in the UI) is it reported as applied. Any other failure
that leaves the outcome open (a 5xx, a dropped connection, no answer) is settled by a
re-read; if that read fails too, the portal is reported "unknown", never "failed": the
server may have stored it. A definite refusal (an envelope code or HTTP status below 500,
not 429) is "failed"; a write that never left (every attempt failed to connect) is
"skipped".

After the writes, one bulk read (the list diff reads) checks every portal reported
applied, as terraform checks a provider's result after apply: one that does not hold the
planned settings is "failed" ("acknowledged but not stored", or changed again since it
was written), and if that read fails, the written portals are "unknown". The read has a
deadline of its own (the target's deadline bounds each stage of requests), so writes that
used most of theirs cannot leave it none. Only the managed settings are compared, so a UI
edit to anything else in between (the portal's name) passes; a UI edit to the same
settings does not, and that is true: OutSmart does not hold the plan. So "applied" always
means "read back from OutSmart".

Ctrl-C or SIGTERM stops new writes; writes in flight are waited for, so each is
reported as what really happened. A second interrupt stops the waiting (as
terraform's does): those portals are reported "unknown", never "skipped"; a second
interrupt during the read-back makes the portals it would have checked "unknown". After
a second interrupt during the writes there is no read-back: the portals written by then
are reported as their answers showed them. While the writes and the read-back run,
interrupts are counted by a signal handler instead of raised, so none can land between
two statements and lose a result; both run on daemon threads, so after a second
interrupt the process can exit without waiting for them.
"""

from __future__ import annotations

import queue
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import replace
from types import FrameType

from portal_config.live.api import ApiError, ConflictError, OutSmartClient
from portal_config.plan.results import ApplyRun, Outcome, PortalResult, describe_writes, now
from portal_config.plan.value import Plan, PortalPlan
from portal_config.settings.model import LivePortal, PortalSettings

POLL = 0.1  # seconds between checks for an interrupt while writes are in flight


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
    started = now()
    stop = threading.Event()  # set after an authentication failure: nothing else can work
    settled: dict[str, PortalResult] = {}

    def write(portal_plan: PortalPlan) -> PortalResult:
        if stop.is_set():
            reason = "not attempted after an authentication failure"
            return PortalResult(portal_plan.portal, Outcome.SKIPPED, reason)
        try:
            return _write_one(portal_plan, client, stop)
        except Exception as exc:  # a bug must not hide the other portals' results
            # It may have struck after the write was sent: what OutSmart holds is unknown.
            reason = f"outcome unknown: unexpected error ({exc.__class__.__name__}); run diff"
            return PortalResult(portal_plan.portal, Outcome.UNKNOWN, reason)

    jobs = [(Future[PortalResult](), p) for p in plan.changed]
    portal_of = {future: p.portal for future, p in jobs}
    pending = set(portal_of)
    # Each write reports itself here when done: waiting on the queue costs the same at
    # 5,000 portals as at 5, where wait() over every pending write grew with their number.
    completed: queue.SimpleQueue[Future[PortalResult]] = queue.SimpleQueue()
    for job in portal_of:
        job.add_done_callback(completed.put)
    with _counted_interrupts() as interrupts:
        _start_workers(jobs, write, max(1, client.settings.concurrency))
        draining = False
        while pending and interrupts() < 2:
            try:
                done: Future[PortalResult] | None = completed.get(timeout=POLL)
            except queue.Empty:
                done = None
            if done is not None and done in pending and not done.cancelled():
                result = done.result()  # write() never raises
                settled[result.portal] = result
                pending.discard(done)
                if on_result is not None:
                    on_result(result)
            if interrupts() and not draining:
                draining = True
                for future in pending:
                    future.cancel()  # only writes not yet started can be cancelled
                # Cancelled writes were never sent: they are reported skipped, below.
                pending = {f for f in pending if not f.cancelled()}
                if pending and note is not None:
                    note(
                        f"interrupt received: finishing {describe_writes(len(pending))} in "
                        "flight; interrupt again to stop waiting (their outcome will be unknown)"
                    )
        written = [r for r in settled.values() if r.outcome is Outcome.APPLIED]
        unread = 0
        if written and interrupts() < 2:
            desired = {p.portal: p.desired for p in plan.changed}
            checked, finished = _read_back(written, desired, client, interrupts, note)
            settled.update((result.portal, result) for result in checked)
            unread = 0 if finished else len(written)
        interrupted = interrupts() > 0
    in_flight = {portal_of[future] for future in pending}
    for portal_plan in plan.portals:
        name, revision = portal_plan.portal, portal_plan.live.revision
        if name in settled:
            continue
        if not portal_plan.changed:
            settled[name] = PortalResult(name, Outcome.UNCHANGED, "", revision, revision)
            continue
        if name in in_flight:
            reason = "outcome unknown: the write was in flight when the run stopped; run diff"
            settled[name] = PortalResult(name, Outcome.UNKNOWN, reason, revision)
        else:
            reason = "interrupted before it was written"
            settled[name] = PortalResult(name, Outcome.SKIPPED, reason, revision)
    results = sorted(settled.values(), key=lambda r: r.portal)
    return ApplyRun(plan, results, started, now(), interrupted, len(in_flight), unread)


def _read_back(
    written: list[PortalResult],
    desired: dict[str, PortalSettings],
    client: OutSmartClient,
    interrupts: Callable[[], int],
    note: Callable[[str], None] | None,
) -> tuple[list[PortalResult], bool]:
    """The results of the ``written`` portals once one bulk read has shown what OutSmart
    holds, and True; or, if a second interrupt comes first, all unknown and False."""
    reading = Future[list[LivePortal]]()
    # The read-back is a stage of its own, with a whole deadline (the target's `deadline`
    # bounds each stage: the plan's reads, the writes, this read): sharing what the writes
    # left of theirs, a long apply would find none left, and every acknowledged write
    # would be reported unknown for want of time, not for anything OutSmart did.
    client.restart_deadline()

    def read() -> None:
        try:
            reading.set_result(client.list_portals())
        except BaseException as exc:  # handed to the waiting thread, which judges it
            reading.set_exception(exc)

    threading.Thread(target=read, name="portal-config-read-back", daemon=True).start()
    heard = interrupts()
    while interrupts() < 2:
        try:
            live = {portal.portal: portal for portal in reading.result(timeout=POLL)}
        except TimeoutError:
            if interrupts() > heard and note is not None:
                note(
                    f"interrupt received: reading back {describe_writes(len(written))}; "
                    "interrupt again to stop waiting (their outcome will be unknown)"
                )
            heard = interrupts()
            continue
        except Exception as exc:
            why = str(exc) if isinstance(exc, ApiError) else exc.__class__.__name__
            return [_unknown(r, f"reading it back failed ({why})") for r in written], True
        return [_compare(r, desired[r.portal], live.get(r.portal)) for r in written], True
    return [_unknown(r, "the run stopped before reading it back") for r in written], False


def _unknown(written: PortalResult, why: str) -> PortalResult:
    answered = f" (OutSmart answered revision {written.revision_after})"
    reason = f"outcome unknown: written{answered}, but {why}; run diff"
    return PortalResult(written.portal, Outcome.UNKNOWN, reason, written.revision_before)


def _compare(
    written: PortalResult, desired: PortalSettings, live: LivePortal | None
) -> PortalResult:
    """A written portal's result, judged by what the read-back found."""
    name, before, answered = written.portal, written.revision_before, written.revision_after
    if live is None:
        reason = "acknowledged but not stored: OutSmart no longer lists the portal; run diff"
        return PortalResult(name, Outcome.FAILED, reason, before)
    if live.settings.same_as(desired):
        return replace(written, revision_after=live.revision)
    if answered is not None and live.revision > answered:
        reason = (
            f"changed in OutSmart after it was written (revision {answered} -> "
            f"{live.revision}): it does not hold the planned settings; run diff"
        )
    else:
        reason = (
            f"acknowledged but not stored: OutSmart answered revision {answered}, but holds "
            f"revision {live.revision} without the planned settings; run diff"
        )
    return PortalResult(name, Outcome.FAILED, reason, before, live.revision)


def _start_workers(
    jobs: list[tuple[Future[PortalResult], PortalPlan]],
    write: Callable[[PortalPlan], PortalResult],
    count: int,
) -> None:
    """Run the writes on ``count`` daemon threads, at most ``count`` in flight.

    Daemon threads, unlike a ThreadPoolExecutor's, do not hold the process open at exit:
    after a second interrupt the run reports what it knows and goes.
    """
    queue = deque(jobs)

    def work() -> None:
        while True:
            try:
                future, portal_plan = queue.popleft()  # deque.popleft is thread-safe
            except IndexError:
                return
            if future.set_running_or_notify_cancel():  # False: cancelled, never started
                future.set_result(write(portal_plan))

    for index in range(min(count, len(jobs))):
        threading.Thread(target=work, name=f"portal-config-apply-{index}", daemon=True).start()


@contextmanager
def _counted_interrupts() -> Iterator[Callable[[], int]]:
    """Count SIGINT and SIGTERM instead of raising KeyboardInterrupt, while writes run.

    Yields a function that tells how many have arrived. Outside the main thread (where
    signals cannot be handled) nothing is installed and the count stays 0.
    """
    received = 0

    def count(signum: int, frame: FrameType | None) -> None:
        nonlocal received
        received += 1

    if threading.current_thread() is not threading.main_thread():
        yield lambda: received
        return
    previous = {signum: signal.signal(signum, count) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: received
    finally:
        for signum, handler in previous.items():
            # None: the handler was not set from Python; the default is the honest restore.
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def _write_one(
    portal_plan: PortalPlan, client: OutSmartClient, stop: threading.Event
) -> PortalResult:
    name, before = portal_plan.portal, portal_plan.live.revision
    try:
        # Only the fields the file manages are sent: every other field keeps whatever OutSmart
        # holds, even one this version does not know.
        stored = client.replace_portal(portal_plan.desired, before)
    except ConflictError as conflict:
        # The 409 answer carries the portal as it is now: no need to ask again.
        why = "changed in OutSmart since it was read; not overwritten"
        return _settle(portal_plan, client, why, conflict.current)
    except ApiError as exc:
        if not exc.sent:
            return PortalResult(name, Outcome.SKIPPED, f"not attempted: {exc}", before)
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
            # The write may have been stored: only a read could tell, and it failed.
            reason = f"{why}; re-reading it failed too ({exc}); run diff"
            return PortalResult(name, Outcome.UNKNOWN, reason, before)
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
