"""Many accounts: one command run once per account, its output grouped, one exit code.

An installer keeps every customer's portals in one repository (``accounts:`` in
portal-config.yaml). Each account is an ordinary one-account run on the config as that
account sees it (`Config.for_account`): its portals, its catalog, its token. This
module only fans out, collects and sums up:

* reads (diff, drift, pull) run ``parallel`` accounts at once on threads, and their
  output is printed per account, in config order, as soon as an account's turn comes,
  so memory stays flat in the number of accounts;
* apply plans every account first (a fleet-wide threshold needs the whole picture),
  asks once, then writes account by account on the main thread, where Ctrl-C is
  handled as in a one-account apply;
* one account failing (a refused token, an API outage, invalid files) never stops the
  others: it is reported in its group, and the exit code is `ExitCode.PARTIAL`.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from portal_config import TOOL
from portal_config.errors import ExitCode, PortalConfigError, UsageError
from portal_config.escaping import code_span, escape_line, escape_text
from portal_config.plan.saved import read_plan_files
from portal_config.plan.value import SavedPlan
from portal_config.project.accounts import select
from portal_config.project.config import Config
from portal_config.project.history import one_look
from portal_config.run.console import Console, confirm_apply, count_portals
from portal_config.run.options import ApplyOptions

FLEET_FORMAT = "portal-config-fleet"
FLEET_VERSION = 1
DEFAULT_PARALLEL = 16  # accounts at once; each account's requests follow its concurrency

Task = Callable[[Config, Console], int]


@dataclass
class AccountRun:
    """One account's part of a fleet run: its exit code and everything it printed."""

    account: str
    code: int = ExitCode.OK
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    error: str | None = None  # the one failure that stopped it, as the user sees it

    def text(self) -> str:
        return "".join(self.out)


def run_each(
    config: Config,
    accounts: Iterable[str],
    task: Task,
    console: Console,
    parallel: int = DEFAULT_PARALLEL,
) -> Iterator[AccountRun]:
    """``task`` on each account's view of the config, ``parallel`` at a time; the runs
    come back in the order given, each once it and all before it are done.

    At most twice ``parallel`` accounts are started ahead of the one being handed back,
    so a thousand accounts never sit in memory at once.
    """
    pool = ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="account")
    pending: deque[Future[AccountRun]] = deque()
    try:
        with one_look():  # git's answers (HEAD, status) are the same for every account
            for name in accounts:
                if len(pending) >= 2 * parallel:
                    yield pending.popleft().result()
                pending.append(pool.submit(run_one, config, name, task, console))
            while pending:
                yield pending.popleft().result()
    finally:
        # An interrupt (or a consumer that stops early) must not wait for every account.
        pool.shutdown(wait=True, cancel_futures=True)


def run_one(config: Config, name: str, task: Task, console: Console) -> AccountRun:
    run = AccountRun(name)
    captured = Console(
        run.out.append,
        run.err.append,
        console.color,
        confirm=None,  # a fleet asks once, before any account writes
        quiet=console.quiet,
        verbose=console.verbose,
    )
    try:
        run.code = task(config.for_account(name), captured)
    except PortalConfigError as exc:
        run.code, run.error = exc.exit_code, exc.render()
    return run


def exit_code(runs: Sequence[AccountRun], succeeded: Callable[[int], bool]) -> int:
    """One exit code for the fleet: every account's own if all agree on failing, PARTIAL
    if some failed and others did not, else the most telling success (3 over 0)."""
    failed = [run for run in runs if not succeeded(run.code)]
    if any(run.code == ExitCode.INTERRUPTED for run in runs):
        return ExitCode.INTERRUPTED  # as in one account: Ctrl-C is what happened
    if not failed:
        return max((run.code for run in runs), default=ExitCode.OK)
    if len(failed) == len(runs) and len({run.code for run in failed}) == 1:
        return failed[0].code
    return ExitCode.PARTIAL


# -- output, grouped per account ------------------------------------------------------------
def show_text(run: AccountRun, console: Console, markdown: bool = False) -> None:
    """One account's group: a heading, what it printed, and its failure if it failed.

    Its diagnostics (retries, the verbose log) go to stderr, each line marked with the
    account, so a CI log of many accounts stays readable.
    """
    from portal_config.render.plan import account_heading

    body = run.text()
    console.out(account_heading(run.account, markdown) + body + ("\n" if body else ""))
    show_diagnostics(run, console)
    if run.error is not None:
        failure = f"account {escape_text(run.account)} failed (exit {run.code})"
        if markdown:  # the error quotes servers and paths: each of its lines as code
            # run.error is rendered (escaped) already: its values are not escaped again,
            # and escape_line (idempotent) keeps any control out all the same.
            lines = "\n> ".join(code_span(escape_line(line)) for line in run.error.splitlines())
            console.out(f"> [!CAUTION]\n> {failure}:\n> {lines}\n\n")
        else:
            console.out(f"{failure}: {run.error}\n\n")


def show_diagnostics(run: AccountRun, console: Console) -> None:
    for line in "".join(run.err).splitlines():
        # The account's console escaped its lines as it wrote them.
        console.err(f"[{escape_text(run.account)}] {escape_line(line)}\n")


def summary(runs: Sequence[AccountRun], succeeded: Callable[[int], bool]) -> str:
    failed = [run for run in runs if not succeeded(run.code)]
    text = f"Accounts: {len(runs)} run"
    if succeeded is is_read_success:  # diff and drift: which accounts would change
        text += f", {sum(1 for run in runs if run.code == ExitCode.CHANGES)} with changes"
    else:
        text += f", {len(runs) - len(failed)} done"
    text += f", {len(failed)} failed"
    if failed:
        text += ": " + ", ".join(f"{run.account} (exit {run.code})" for run in failed)
    return text + "."


def fleet_json(command: str, runs: Sequence[AccountRun], code: int) -> dict[str, Any]:
    """The fleet's JSON: each account's own JSON output (a plan, say) under its name."""
    accounts = []
    for run in runs:
        result = json.loads(run.text()) if run.error is None and run.text().strip() else None
        accounts.append(
            {"account": run.account, "exit_code": run.code, "error": run.error, "result": result}
        )
    return {
        "format": FLEET_FORMAT,
        "version": FLEET_VERSION,
        "tool": TOOL,
        "command": command,
        "exit_code": code,
        "summary": {
            "accounts": len(runs),
            "failed": sum(1 for entry in accounts if entry["error"] is not None),
            "ok": code == ExitCode.OK,
        },
        "accounts": accounts,
    }


def per_account_path(path: Path | None, account: str, option: str, many: bool) -> Path | None:
    """``--out plans/{account}.json``: one file per account; one path for many is refused."""
    if path is None:
        return None
    if "{account}" in str(path):
        return Path(str(path).replace("{account}", account))
    if many:
        raise UsageError(
            f"{option} {path}: with more than one account, put {{account}} in the path "
            f"({option} plans/{{account}}.json)"
        )
    return path


# -- the commands ----------------------------------------------------------------------------
def each_account(
    command: str,
    config: Config,
    names: Sequence[str],
    paths: Sequence[Path],
    output_format: str,
    console: Console,
    parallel: int | None,
    run: Callable[[Config, Console, list[Path], bool], int],
    files: Sequence[tuple[str, Path | None]] = (),
    refusal: Callable[[], str | None] = lambda: None,
) -> int:
    """A read command (diff, drift, pull) on the selected accounts; ``run`` gets an
    account's view, its console, its paths and whether several accounts run; ``files``
    are path options, which then need ``{account}`` (checked before any request)."""
    selected = select(config, names, paths)
    many = len(selected) > 1
    for option, path in files:
        per_account_path(path, "", option, many)
    succeeded = is_success if command == "pull" else is_read_success  # pull writes files
    return read(
        command,
        config,
        selected,
        lambda view, captured, chosen: run(view, captured, chosen, many),
        output_format,
        console,
        parallel or DEFAULT_PARALLEL,
        succeeded,
        refusal,
    )


def fleet_refusal(config: Config, changed: dict[str, int]) -> str | None:
    """Why apply would refuse these accounts' plans together (safety.fleet_max_portals)."""
    total, limit = sum(changed.values()), config.safety.fleet_max_portals
    if total <= limit:
        return None
    limit_name = f"safety.fleet_max_portals ({limit})"
    return f"the accounts' plans change {count_portals(total)}, more than {limit_name}"


def apply_accounts(
    config: Config,
    paths: Sequence[Path],
    plan_files: Sequence[Path],
    options: ApplyOptions,
    console: Console,
) -> int:
    """apply on the selected accounts: from saved plans (each names its account), or
    every account planned from live state first and shown."""
    failed: list[AccountRun] = []
    if plan_files:
        plans = _saved_plans(config, plan_files, options.accounts)
    else:
        selected = select(config, options.accounts, paths)
        per_account_path(options.report_file, "", "--report", len(selected) > 1)
        failed, plans = plan_accounts(
            config,
            selected,
            console,
            target_name=options.target,
            concurrency=options.concurrency,
            parallel=options.parallel or DEFAULT_PARALLEL,
        )
    return apply(config, plans, options, console, failed=failed, from_files=bool(plan_files))


def _saved_plans(
    config: Config, plan_files: Sequence[Path], names: Sequence[str]
) -> dict[str, SavedPlan]:
    """The saved plans by account, in the order --account gives (or the files do)."""
    saved: dict[str, SavedPlan] = {}
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


def read(
    command: str,
    config: Config,
    selected: dict[str, list[Path]],
    task: Callable[[Config, Console, list[Path]], int],
    output_format: str,
    console: Console,
    parallel: int,
    succeeded: Callable[[int], bool],
    refusal: Callable[[], str | None] = lambda: None,
) -> int:
    """diff, drift or pull over ``selected`` accounts; grouped output, one exit code.

    ``refusal`` says, once every account is done, why apply would refuse the whole run
    (the fleet-wide threshold), so the pull request shows it as it shows an account's.
    """
    runs: list[AccountRun] = []
    markdown = output_format == "markdown"

    def one(view: Config, captured: Console) -> int:
        assert view.account is not None
        return task(view, captured, selected[view.account])

    for run in run_each(config, selected, one, console, parallel):
        if output_format != "json":
            show_text(run, console, markdown)
            run.out.clear()  # printed: a thousand accounts need not stay in memory
        else:
            show_diagnostics(run, console)  # the JSON on stdout is printed whole, below
        runs.append(run)
    code = exit_code(runs, succeeded)
    refused = refusal()
    if output_format == "json":
        from portal_config.storage import json_text

        console.out(json_text(fleet_json(command, runs, code) | {"apply_refusal": refused}))
        return code
    if refused is not None:
        warning = f"apply will refuse this without --allow-large-change: {refused}"
        console.out(f"> [!WARNING]\n> {warning}\n\n" if markdown else f"! {warning}\n\n")
    text = summary(runs, succeeded)
    console.out((f"**{text}**" if markdown else text) + "\n")
    return code


def is_read_success(code: int) -> bool:
    return code in (ExitCode.OK, ExitCode.CHANGES)


def is_success(code: int) -> bool:
    return code == ExitCode.OK


def plan_accounts(
    config: Config,
    selected: dict[str, list[Path]],
    console: Console,
    *,
    target_name: str | None,
    concurrency: int | None,
    parallel: int,
) -> tuple[list[AccountRun], dict[str, SavedPlan]]:
    """Every account's plan from live state, shown grouped; the runs that failed, and the
    plans, kept as plan files are (so the writes refuse a portal that moved since)."""
    from portal_config.render.plan import render_text
    from portal_config.run import workflow

    plans: dict[str, SavedPlan] = {}

    def plan_one(view: Config, captured: Console) -> int:
        assert view.account is not None
        plan, header = workflow.make_plan(
            view, selected[view.account], target_name, captured, concurrency
        )
        plans[view.account] = plan.saved()  # applied exactly; refused if it goes stale
        captured.progress(render_text(plan, header, captured.color))
        return ExitCode.CHANGES if plan.has_changes else ExitCode.OK

    failed = []
    for run in run_each(config, selected, plan_one, console, parallel):
        show_text(run, console)
        run.out.clear()
        if not is_read_success(run.code):
            failed.append(run)
    return failed, {name: plans[name] for name in selected if name in plans}


def apply(
    config: Config,
    plans: dict[str, SavedPlan],
    options: ApplyOptions,
    console: Console,
    *,
    failed: Sequence[AccountRun] = (),
    from_files: bool = False,
) -> int:
    """Apply each account's plan in turn, after every check and one question.

    Everything that can refuse does so before the question: the tip, each account's own
    thresholds (that account is refused, the others go on) and the fleet-wide one (the
    whole run is). ``failed`` are accounts whose planning failed: reported, never applied.
    Plans ``from_files`` were not shown yet, so they are shown before the question.
    """
    from portal_config.plan.results import ApplyReport
    from portal_config.run import workflow

    names = [run.account for run in failed] + list(plans)
    reports = {
        name: per_account_path(options.report_file, name, "--report", len(names) > 1)
        for name in names
    }

    def report(name: str, code: int, reason: str) -> None:
        # As in one account, a report asked for is written whatever stopped the account.
        workflow.write_report(reports[name], ApplyReport(account=name), code, reason)

    for run in failed:
        report(run.account, run.code, run.error or "")
    try:
        return _apply_each(config, plans, options, console, failed, report, reports, from_files)
    except PortalConfigError as exc:  # the whole run refused: every account says why
        for name in plans:
            report(name, exc.exit_code, exc.render())
        raise


def _apply_each(
    config: Config,
    plans: dict[str, SavedPlan],
    options: ApplyOptions,
    console: Console,
    failed: Sequence[AccountRun],
    report: Callable[[str, int, str], None],
    reports: dict[str, Path | None],
    from_files: bool,
) -> int:
    from portal_config.plan.value import RefusedError
    from portal_config.render.plan import render_text
    from portal_config.run import workflow

    for saved in plans.values() if from_files else ():  # before any account writes
        workflow.check_plan_commit(config, saved)
    if options.require_tip is not None:
        for saved in plans.values():  # before any account writes
            view = config.for_account(saved.account or "")
            workflow.check_tip(view, options.require_tip, saved)
    runs = list(failed)
    recorded = {name: saved.as_recorded() for name, saved in plans.items()}
    for name, plan in recorded.items():
        if from_files and not console.quiet:
            header = workflow.saved_header(config, plans[name])
            show_text(AccountRun(name, out=[render_text(plan, header, console.color)]), console)
        reason = plan.refusal(config.safety)
        if reason and not options.allow_large_change:
            refusal = RefusedError(f"{reason}; re-run with --allow-large-change if intended")
            runs.append(AccountRun(name, ExitCode.REFUSED, error=refusal.render()))
            report(name, ExitCode.REFUSED, refusal.render())
            show_text(runs[-1], console)
    allowed = {name: plans[name] for name in plans if name not in {r.account for r in runs}}
    changed = {name: len(recorded[name].changed) for name in allowed}
    total = sum(changed.values())
    too_many = fleet_refusal(config, changed)
    if too_many and not options.allow_large_change:
        raise RefusedError(f"{too_many}; re-run with --allow-large-change if this is intended")
    accounts = sum(1 for name in allowed if recorded[name].has_changes)
    if total:
        where = f"{accounts} account{'s' if accounts != 1 else ''}"
        confirm_apply(console, total, where, options.assume_yes)
    order = list(allowed)
    for index, name in enumerate(order):

        def apply_one(
            view: Config, captured: Console, saved: SavedPlan = allowed[name], name: str = name
        ) -> int:
            # Asked once above, for every account; each writes its own report.
            own = replace(options, assume_yes=True, report_file=reports[name])
            return workflow.apply(view, (), None, own, captured, saved=saved, show_plan=False)

        try:
            run = run_one(config, name, apply_one, console)
        except KeyboardInterrupt:  # outside the writes, where apply_plan counts them
            run = AccountRun(name, ExitCode.INTERRUPTED, error="interrupted")
            report(name, run.code, "interrupted")
        show_text(run, console)
        runs.append(run)
        if run.code == ExitCode.INTERRUPTED:
            # Ctrl-C stops the fleet: say which accounts were never touched.
            for untouched in order[index + 1 :]:
                reason = "not run: the fleet was interrupted before this account"
                runs.append(AccountRun(untouched, ExitCode.INTERRUPTED, error=reason))
                report(untouched, ExitCode.INTERRUPTED, reason)
            break
    console.out(summary(runs, is_success) + "\n")
    return exit_code(runs, is_success)
