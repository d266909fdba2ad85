"""apply over many accounts: plan every one, check them all, ask once, write in turn.

A fleet-wide threshold needs the whole picture, so every account is planned first (on
threads, as diff is) and shown; then the writes go account by account on the main
thread, where Ctrl-C is handled as in a one-account apply. Each account's writes are a
one-account apply of the plan made for it (`workflow.apply` with ``saved``), refused if
a portal moved since.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from portal_config.errors import ExitCode, PortalConfigError, UsageError
from portal_config.plan.inputs import PlanInputs
from portal_config.plan.results import ApplyReport
from portal_config.plan.saved import read_plan_files
from portal_config.plan.value import RefusedError, build_plan
from portal_config.project.config import Config
from portal_config.run import workflow
from portal_config.run.checks import check_plan_commit, check_tip
from portal_config.run.console import Console, confirm_apply, show_account
from portal_config.run.fleet import (
    check_paths,
    fleet_refusal,
    per_account_path,
    run_accounts,
    run_one,
    selection,
)
from portal_config.run.options import RunOptions
from portal_config.run.outcomes import AccountResult, Code, Finished, exit_code, is_read_success

Failed = AccountResult[Finished]


def apply_accounts(
    config: Config,
    paths: Sequence[Path],
    plan_files: Sequence[Path],
    options: RunOptions,
    console: Console,
) -> int:
    """apply on the selected accounts: from saved plans (each names its account), or
    every account planned from live state first and shown.

    A one-account repository's account is planned, asked for and written on one live
    read (a plan made in this run is not re-read before its writes): `workflow.apply`.
    """
    if not config.is_fleet:
        config.select_accounts(options.accounts)  # refuses --account: there is one account
        plan_file = plan_files[0] if plan_files else None
        return workflow.apply(config, () if plan_files else paths, plan_file, options, console)
    failed: list[Failed] = []
    if plan_files:
        plans = _saved_plans(config, plan_files, options.accounts)
    else:
        selected = selection(config, options.accounts, paths)
        check_paths((("--report", options.report_file),), len(selected) > 1)
        failed, plans = plan_accounts(config, selected, options, console)
    return apply(config, plans, options, console, failed=failed, from_files=bool(plan_files))


def _saved_plans(
    config: Config, plan_files: Sequence[Path], names: Sequence[str]
) -> dict[str, PlanInputs]:
    """The saved plans by account, in the order --account gives (or the files do)."""
    saved: dict[str, PlanInputs] = {}
    for path, plan in zip(plan_files, read_plan_files(plan_files, config), strict=True):
        assert plan.account is not None  # read_plan_file refused one without
        if plan.account in saved:
            raise UsageError(f"{path}: a second plan for account {plan.account}")
        saved[plan.account] = plan
    chosen = config.select_accounts(names) if names else list(saved)
    missing = [name for name in chosen if name not in saved]
    extra = [name for name in saved if name not in chosen]
    if missing or extra:  # a plan applied or skipped without saying would mislead
        detail = (f"no plan for {', '.join(missing)}" if missing else "") or (
            f"plans for {', '.join(extra)}, which --account leaves out"
        )
        raise UsageError(f"--account and the plans disagree: {detail}")
    return {name: saved[name] for name in chosen}


def plan_accounts(
    config: Config,
    selected: dict[str | None, list[Path]],
    options: RunOptions,
    console: Console,
) -> tuple[list[Failed], dict[str, PlanInputs]]:
    """Every account's plan from live state, shown grouped; the accounts that failed, and
    the plans, kept as plan files are (so the writes refuse a portal that moved since)."""
    failed: list[Failed] = []
    plans: dict[str, PlanInputs] = {}

    def plan_one(view: Config, captured: Console, chosen: list[Path]) -> workflow.Planned:
        return workflow.make_plan(view, chosen, options, captured)

    for result in run_accounts(config, selected, plan_one, console, options.parallel):
        assert result.account is not None
        body = result.printed
        if result.value is not None:
            plans[result.account] = result.value.plan.saved()  # applied exactly
            if not console.quiet:
                body += console.views.plan(result.value.plan, result.value.header, console.color)
        show_account(console, result, body)
        if not is_read_success(result.code):
            failed.append(result)
    return failed, plans


def apply(
    config: Config,
    plans: dict[str, PlanInputs],
    options: RunOptions,
    console: Console,
    *,
    failed: Sequence[Failed] = (),
    from_files: bool = False,
) -> int:
    """Apply each account's plan in turn, after every check and one question.

    Everything that can refuse does so before the question: the tip, each account's own
    thresholds (that account is refused, the others go on) and the fleet-wide one (the
    whole run is). ``failed`` are accounts whose planning failed: reported, never applied.
    Plans ``from_files`` were not shown yet, so they are shown before the question.
    """
    names = [str(result.account) for result in failed] + list(plans)
    check_paths((("--report", options.report_file),), len(names) > 1)
    reports = {name: per_account_path(options.report_file, name) for name in names}

    def report(name: str, code: int, reason: str) -> None:
        # As in one account, a report asked for is written whatever stopped the account.
        workflow.write_report(reports[name], ApplyReport(account=name), code, reason)

    for result in failed:
        report(str(result.account), result.code, result.error or "")
    try:
        return _apply_each(config, plans, options, console, failed, report, reports, from_files)
    except PortalConfigError as exc:  # the whole run refused: every account says why
        for name in plans:
            report(name, exc.exit_code, exc.render())
        raise


def _apply_each(
    config: Config,
    plans: dict[str, PlanInputs],
    options: RunOptions,
    console: Console,
    failed: Sequence[Failed],
    report: Callable[[str, int, str], None],
    reports: dict[str, Path | None],
    from_files: bool,
) -> int:
    for saved in plans.values() if from_files else ():  # before any account writes
        check_plan_commit(config, saved)
        workflow.check_plan_profiles(config.for_account(saved.account or ""), saved)
    if options.require_tip is not None:
        for saved in plans.values():  # before any account writes
            check_tip(config.for_account(saved.account or ""), options.require_tip, saved)
    results: list[Failed] = list(failed)
    recorded = {name: build_plan(saved) for name, saved in plans.items()}
    for name, plan in recorded.items():
        if from_files and not console.quiet:
            header = workflow.saved_header(config, plans[name])
            show_account(
                console, AccountResult(name), console.views.plan(plan, header, console.color)
            )
        reason = plan.refusal(config.safety)
        if reason and not options.allow_large_change:
            refusal = RefusedError(f"{reason}; re-run with --allow-large-change if intended")
            results.append(AccountResult(name, ExitCode.REFUSED, error=refusal.render()))
            report(name, ExitCode.REFUSED, refusal.render())
            show_account(console, results[-1])
    refused = {result.account for result in results}
    allowed = {name: plans[name] for name in plans if name not in refused}
    changed = {name: len(recorded[name].changed) for name in allowed}
    too_many = fleet_refusal(config, changed)
    if too_many and not options.allow_large_change:
        raise RefusedError(f"{too_many}; re-run with --allow-large-change if this is intended")
    if sum(changed.values()):
        accounts = sum(1 for name in allowed if recorded[name].has_changes)
        where = f"{accounts} account{'s' if accounts != 1 else ''}"
        confirm_apply(console, sum(changed.values()), where, options.assume_yes)
    order = list(allowed)
    for index, name in enumerate(order):

        def apply_one(view: Config, captured: Console, paths: list[Path], name: str = name) -> Code:
            # Asked once above, for every account; each writes its own report.
            own = replace(options, assume_yes=True, report_file=reports[name])
            saved = allowed[name]
            code = workflow.apply(view, (), None, own, captured, saved=saved, show_plan=False)
            return Code(code)

        result: Failed
        try:
            result = run_one(config, name, [], apply_one, console)
        except KeyboardInterrupt:  # outside the writes, where apply_plan counts them
            result = AccountResult(name, ExitCode.INTERRUPTED, error="interrupted")
            report(name, result.code, "interrupted")
        show_account(console, result, result.printed)
        results.append(result)
        if result.code == ExitCode.INTERRUPTED:
            # Ctrl-C stops the fleet: say which accounts were never touched.
            for untouched in order[index + 1 :]:
                reason = "not run: the fleet was interrupted before this account"
                results.append(AccountResult(untouched, ExitCode.INTERRUPTED, error=reason))
                report(untouched, ExitCode.INTERRUPTED, reason)
            break
    console.out(console.views.summary(results) + "\n")
    return exit_code(results, read=False)
