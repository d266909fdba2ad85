"""The live loop as one account's calls: diff, drift, show and apply, from files to values.

The CLI parses options into a `RunOptions` and hands them here; this module strings the
pipeline together (lint -> target -> live read -> plan -> apply) and returns what it
made (a `Planned`, an exit code), which render/ shows. What must stream while it runs
(retries, the plan before the question, each portal as its write is answered) goes
through the `Console` it is given, so it never touches click's globals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from portal_config.errors import ExitCode, PortalConfigError
from portal_config.escaping import escape_text
from portal_config.file_access import Repository
from portal_config.lint import schema
from portal_config.lint.loader import Document, load_bytes
from portal_config.live.api import OutSmartClient
from portal_config.plan.inputs import DIFF, DRIFT_REPORT, BaseRef, PlanInputs, gather
from portal_config.plan.profile_digests import (
    ProfileDigest,
    edited_profiles,
    record_profiles,
    stale_profiles,
)
from portal_config.plan.results import (
    ApplyReport,
    Outcome,
    PortalResult,
    interrupt_reason,
    now,
    unsure,
)
from portal_config.plan.saved import read_plan_file, read_plan_files
from portal_config.plan.value import Plan, RefusedError, build_plan, replan
from portal_config.project.base_profiles import BaseFile, base_profile_files, base_profiles
from portal_config.project.config import Config, Ignore, Safety, Target
from portal_config.project.history import base_files
from portal_config.run.checks import (
    check_live_work_types,
    check_plan_commit,
    check_tip,
    files_commit,
    refuse_unplannable,
    valid_documents,
)
from portal_config.run.console import Console, confirm_apply, count_portals
from portal_config.run.options import RunOptions
from portal_config.run.outcomes import AccountResult
from portal_config.run.targets import announce, open_client_for, resolve_target, target_line
from portal_config.settings.model import PortalSettings
from portal_config.storage import check_writable, json_text, write_atomically

# A three-way plan's base: what was compared with, and its settings by portal id.
Base = tuple[BaseRef, Mapping[str, PortalSettings]]


@dataclass(frozen=True)
class Planned:
    """A plan to show, with the line saying where it was read (and whose account)."""

    plan: Plan
    header: str

    @property
    def code(self) -> int:
        """diff's and drift's exit code: whether anything would change."""
        return ExitCode.CHANGES if self.plan.has_changes else ExitCode.OK


def diff(config: Config, paths: Sequence[Path], options: RunOptions, console: Console) -> Planned:
    """The plan applying the files would carry out, saved to ``options.out_file`` too."""
    if options.out_file is not None:
        check_writable(options.out_file, "--out", Repository(config.root))  # before any request
    planned = make_plan(config, paths, options, console, base_ref=options.base_ref)
    _save(planned.plan, options.out_file)
    return planned


def drift(config: Config, options: RunOptions, console: Console) -> Planned:
    """Live against the files of the checkout: every difference is an edit made outside git.

    The files are their own base, so each change's origin is drift; each drifted portal
    is shown with the two ways to settle it (pull it into git, or apply the files).
    """
    if options.out_file is not None:
        check_writable(options.out_file, "--out", Repository(config.root))  # before any request
    planned = make_plan(config, (), options, console, drift=True)
    _save(planned.plan, options.out_file)
    return planned


def _save(plan: Plan, out_file: Path | None) -> None:
    if out_file is not None:
        write_atomically(out_file, json_text(plan.saved().to_json()))


def make_plan(
    config: Config,
    paths: Sequence[Path],
    options: RunOptions,
    console: Console,
    *,
    base_ref: str | None = None,
    drift: bool = False,
) -> Planned:
    """The plan diff (or, with ``drift``, the drift report) shows, and the line saying
    where it was read: no output, no file."""
    documents = valid_documents(config, paths, console)
    target = resolve_target(config, options.target)
    commit = files_commit(config)
    base: Base | None = None
    edited: tuple[str, ...] = ()
    if drift:  # the checkout is its own base: every difference was made outside git
        files = {d.data["portal"]: PortalSettings.from_file_data(d.data) for d in documents}
        base = (BaseRef("HEAD", commit), files)
    elif base_ref:  # git is asked before the API: a wrong --base must not cost a live read
        profile_files = base_profile_files(config, base_ref)
        base = _base_settings(config, base_ref, console, profile_files)
        edited = edited_profiles(config, profile_files)
    with open_client_for(target, options.concurrency, console) as client:
        _say_reading(console, target, client, len(documents))
        plan = _plan(
            documents,
            bool(paths),
            target,
            client,
            console,
            config.ignore,
            base,
            kind=DRIFT_REPORT if drift else DIFF,
            commit=commit,
            account=config.account,
            safety=config.safety,
            # Read by `apply plan.json` only: a plan that is not saved spares the digests.
            profiles=record_profiles(config, documents) if options.out_file else (),
            edited_profiles=edited,
        )
        header = _with_account(announce(target, client), config.account)
    return Planned(plan, header)


def show(config: Config, plan_files: Sequence[Path]) -> list[AccountResult[Planned]]:
    """Saved plans as diff showed them, with no request: the PR comment and the job
    summary can then come from one live read. All are checked before any is shown; each
    is its account's result, as diff's are."""
    return [
        AccountResult(saved.account, ExitCode.OK, Planned(build_plan(saved), header))
        for saved, header in _saved_plans(config, plan_files)
    ]


def _saved_plans(config: Config, plan_files: Sequence[Path]) -> list[tuple[PlanInputs, str]]:
    """The saved plans, checked as apply checks them, each with the line diff printed."""
    return [(saved, saved_header(config, saved)) for saved in read_plan_files(plan_files, config)]


def apply(
    config: Config,
    paths: Sequence[Path],
    plan_file: Path | None,
    options: RunOptions,
    console: Console,
    *,
    saved: PlanInputs | None = None,
    show_plan: bool = True,
) -> int:
    """Apply the files, a plan file, or ``saved``: a plan made in this process (a fleet
    run plans every account before it writes to any, and has shown the plans already:
    ``show_plan`` False)."""
    report_file = options.report_file
    if report_file is not None:
        # Before any request, not after the writes.
        check_writable(report_file, "--report", Repository(config.root))
    report = ApplyReport()
    try:
        code = _apply(config, paths, plan_file, options, console, report, saved, show_plan)
    except PortalConfigError as exc:
        write_report(report_file, report, exc.exit_code, exc.render())
        raise
    except KeyboardInterrupt:
        # Outside the writes (apply_plan counts interrupts instead of raising them): before
        # them, nothing was written; after them, the run's results are in the report.
        reason = interrupt_reason(report.run) if report.run else "interrupted before any write"
        write_report(report_file, report, ExitCode.INTERRUPTED, reason)
        raise
    if code == ExitCode.INTERRUPTED and report.run is not None:
        reason = interrupt_reason(report.run)
    elif code == ExitCode.APPLY_FAILED and report.run is not None and unsure(report.run.results):
        reason = "the outcome of some writes is unknown: OutSmart may have stored them; run diff"
    elif code == ExitCode.APPLY_FAILED:
        reason = "some portals were not applied; see their results"
    else:
        reason = ""
    write_report(report_file, report, code, reason)
    return code


def _apply(
    config: Config,
    paths: Sequence[Path],
    plan_file: Path | None,
    options: RunOptions,
    console: Console,
    report: ApplyReport,
    saved: PlanInputs | None,
    show_plan: bool,
) -> int:
    if plan_file is not None:
        saved = read_plan_file(plan_file, config)
        if saved.account is not None:  # its account's token, catalog and sandbox state
            config = config.for_account(saved.account)
    report.saved = saved
    report.account = config.account
    if plan_file is not None and saved is not None:
        check_plan_commit(config, saved)
        check_plan_profiles(config, saved)
    if options.require_tip is not None:
        check_tip(config, options.require_tip, saved)
    documents = [] if saved is not None else valid_documents(config, paths, console)
    target = resolve_target(config, options.target or (saved.target if saved else None))
    report.target = target.name
    if saved is not None and saved.target != target.name:
        raise RefusedError(f"the plan was made for target {saved.target}, not {target.name}")
    views, color = console.views, console.color
    with open_client_for(target, options.concurrency, console) as client:
        _say_reading(console, target, client, len(saved.portals) if saved else len(documents))
        report.base_url = client.display_url
        if saved is not None:
            if not target.is_sandbox and saved.base_url != client.display_url:
                raise RefusedError(
                    f"the plan was made for {saved.base_url}, not {client.display_url}"
                )
            plan = replan(saved, client.list_portals(), now(), config.ignore)
        else:
            plan = _plan(documents, bool(paths), target, client, console, config.ignore)
        report.plan = plan
        if show_plan:
            console.progress(views.plan(plan, announce(target, client), color))
        if plan.already_applied:
            names = ", ".join(escape_text(name) for name in plan.already_applied)
            console.out(f"already applied: live equals the plan for {names}\n")
        if not plan.has_changes:
            console.out("Nothing to apply.\n")
            return ExitCode.OK
        plan.raise_if_unsafe(config.safety, options.allow_large_change)
        confirm_apply(console, len(plan.changed), f"target {target.name}", options.assume_yes)
        client.restart_deadline()  # time spent reading the plan at the prompt is not the API's
        width = max(len(escape_text(p.portal)) for p in plan.changed)
        shown: dict[str, PortalResult] = {}

        def show(result: PortalResult) -> None:
            shown[result.portal] = result
            line = views.result(result, width, color, True)
            # Failures show even with --quiet: they are results, not progress.
            (console.out if result.outcome is not Outcome.APPLIED else console.progress)(line)

        from portal_config.live.apply import apply_plan  # the writes: not on diff's start-up path

        run = apply_plan(plan, client, on_result=show, note=console.note)
        report.run = run
    for result in run.results:
        # What no progress line told (skipped, unknown), or told otherwise: a write's
        # answer said applied, and the read-back found it was not stored.
        if result.outcome is not Outcome.UNCHANGED and shown.get(result.portal) != result:
            console.out(views.result(result, width, color, False))
    console.out(run.summary() + "\n")
    if run.interrupted:
        console.err(interrupt_reason(run) + "\n")
        return ExitCode.INTERRUPTED
    return ExitCode.APPLY_FAILED if run.failed else ExitCode.OK


def check_plan_profiles(config: Config, saved: PlanInputs) -> None:
    """Refuse a saved plan whose portals a profile edit made since now resolve otherwise
    (before any request: the files alone tell)."""
    planned = {p.portal: (p.file, p.desired) for p in saved.portals}
    reasons = stale_profiles(config, saved.profiles, planned)
    if reasons:
        raise RefusedError(
            "plan is stale: " + "; ".join(reasons) + "; run diff again and review the new plan"
        )


def saved_header(config: Config, saved: PlanInputs) -> str:
    """The line diff printed above this plan, as diff printed it (sandbox or not)."""
    known = config.targets.get(saved.target)
    line = target_line(saved.target, known is not None and known.is_sandbox, saved.base_url)
    return _with_account(line, saved.account)


def _with_account(header: str, account: str | None) -> str:
    return f"{header} (account {account})" if account is not None else header


def _say_reading(console: Console, target: Target, client: OutSmartClient, count: int) -> None:
    """Said before the live read, on stderr: a server that does not answer is then a
    known wait (up to the target's timeout), not silence. stdout stays the plan alone."""
    if not console.watched:
        return
    where = announce(target, client).removeprefix("Target: ")
    console.note(f"reading {count_portals(count)} from {where}")


def write_report(path: Path | None, report: ApplyReport, code: int, reason: str) -> None:
    if path is not None:
        write_atomically(path, json_text(report.to_json(code, reason)))


def _plan(
    documents: list[Document],
    subset: bool,
    target: Target,
    client: OutSmartClient,
    console: Console,
    ignore: Ignore,
    base: Base | None = None,
    *,
    kind: str = DIFF,
    commit: str | None = None,
    account: str | None = None,
    safety: Safety | None = None,
    profiles: tuple[ProfileDigest, ...] = (),
    edited_profiles: tuple[str, ...] = (),
) -> Plan:
    """The plan from one read of live portals, after checking the files' work types
    against the live account's (a second read): a name OutSmart does not know would
    otherwise fail only at apply, after review. Without ``safety`` the plan shows no
    apply refusal (apply from files judges the thresholds at its prompt)."""
    live_read_at = now()
    live, work_types = client.read_account()
    check_live_work_types(documents, work_types, target, console)
    portals, unmanaged, problems = gather(
        documents, live, target.name, base[1] if base else None, ignore
    )
    refuse_unplannable(problems, target.name, console)
    inputs = PlanInputs(
        target.name,
        client.display_url,
        portals,
        created_at=now(),
        live_read_at=live_read_at,
        unmanaged=() if subset else unmanaged,  # with a subset, "no file" cannot be judged
        kind=kind,
        base=base[0] if base else None,
        commit=commit,
        account=account,
        safety=safety,
        profiles=profiles,
        edited_profiles=edited_profiles,
    )
    return build_plan(inputs)


def _base_settings(
    config: Config, ref: str, console: Console, profile_files: Sequence[BaseFile]
) -> Base:
    """The base's portal settings by id, from the files under the portals directory at
    the merge-base of HEAD and ``ref``. A base file that is not a valid portal file gives
    no base for its portal: its changes then count as this branch's."""
    found = base_files(config.root, ref, config.portals_dir)
    if found.tip != found.commit:
        # The branch forked from an older ref: a change merged since is in neither the
        # base nor these files, and would read as drift. CI plans the merge commit instead.
        console.note(
            f"note: {ref} has moved on since this branch forked ({found.commit[:12]} -> "
            f"{found.tip[:12]}); merge {ref} into the branch for the plan a merge would give"
        )
    settings: dict[str, PortalSettings] = {}
    profiles = base_profiles(config, profile_files, ref)
    for path, data in found.files:
        loaded = load_bytes(data, f"{path}@{ref}")
        # Its settings then, with the profiles of then: a profile's edit is this branch's.
        document = loaded.document
        effective = profiles.effective(document) if document is not None else None
        if effective is None or bool(profiles.unusable(effective)) or list(schema.check(effective)):
            console.note(f"base: {path} at {ref} is not a valid portal file; compared as new")
            continue
        desired = PortalSettings.from_file_data(effective.data)
        settings[desired.portal] = desired
    return BaseRef(ref, found.commit), settings
