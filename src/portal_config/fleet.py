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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portal_config import TOOL
from portal_config.config import Config
from portal_config.errors import ExitCode, PortalConfigError, UsageError
from portal_config.history import one_look
from portal_config.plan import Plan, SavedPlan
from portal_config.workflow import Console

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
    heading = f"## Account `{run.account}`\n\n" if markdown else f"=== account {run.account} ===\n"
    body = run.text()
    console.out(heading + body + ("\n" if body else ""))
    for line in "".join(run.err).splitlines():
        console.err(f"[{run.account}] {line}\n")
    if run.error is not None:
        failure = f"account {run.account} failed (exit {run.code}): {run.error}"
        console.out(f"> [!CAUTION]\n> {failure}\n\n" if markdown else f"{failure}\n\n")


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
def read(
    command: str,
    config: Config,
    selected: dict[str, list[Path]],
    task: Callable[[Config, Console, list[Path]], int],
    output_format: str,
    console: Console,
    parallel: int,
    succeeded: Callable[[int], bool],
) -> int:
    """diff, drift or pull over ``selected`` accounts; grouped output, one exit code."""
    runs: list[AccountRun] = []
    markdown = output_format == "markdown"

    def one(view: Config, captured: Console) -> int:
        assert view.account is not None
        return task(view, captured, selected[view.account])

    for run in run_each(config, selected, one, console, parallel):
        if output_format != "json":
            show_text(run, console, markdown)
            run.out.clear()  # printed: a thousand accounts need not stay in memory
        runs.append(run)
    code = exit_code(runs, succeeded)
    if output_format == "json":
        from portal_config.storage import json_text

        console.out(json_text(fleet_json(command, runs, code)))
    else:
        console.out(
            ("**" + summary(runs, succeeded) + "**" if markdown else summary(runs, succeeded))
            + "\n"
        )
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
    from portal_config import workflow
    from portal_config.render.plan import render_text

    plans: dict[str, SavedPlan] = {}

    def plan_one(view: Config, captured: Console) -> int:
        assert view.account is not None
        plan, header = workflow.make_plan(
            view, selected[view.account], target_name, captured, concurrency
        )
        plans[view.account] = saved_plan(plan, config)
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
    console: Console,
    *,
    failed: Sequence[AccountRun] = (),
    target_name: str | None,
    assume_yes: bool,
    allow_large_change: bool,
    report_file: Path | None,
    concurrency: int | None,
    require_tip: str | None,
) -> int:
    """Apply each account's plan in turn, after the fleet-wide threshold and one question.

    ``failed`` are accounts whose planning failed already: reported, never applied.
    """
    from portal_config import workflow
    from portal_config.plan import RefusedError

    many = len(plans) + len(failed) > 1
    reports = {name: per_account_path(report_file, name, "--report", many) for name in plans}
    if require_tip is not None:
        for saved in plans.values():  # before any account writes
            workflow.check_tip(config.for_account(saved.account or ""), require_tip, saved)
    changed = {name: len(saved.as_recorded().changed) for name, saved in plans.items()}
    total = sum(changed.values())
    limit = config.safety.fleet_max_portals
    if total > limit and not allow_large_change:
        raise RefusedError(
            f"the accounts' plans change {total} portals, more than safety.fleet_max_portals "
            f"({limit}); re-run with --allow-large-change if this is intended"
        )
    accounts = sum(1 for count in changed.values() if count)
    if total and not assume_yes:
        if console.confirm is None:
            raise RefusedError(
                "no terminal to confirm on; review the plans and pass --yes to apply them"
            )
        if not console.confirm(f"Apply changes to {total} portals in {accounts} accounts?"):
            raise RefusedError("not confirmed; nothing was applied")
    runs = list(failed)
    # The plans were shown: each account now says only its results and failures.
    quiet = Console(console.out, console.err, console.color, None, True, console.verbose)
    for name, saved in plans.items():

        def apply_one(
            view: Config, captured: Console, saved: SavedPlan = saved, name: str = name
        ) -> int:
            return workflow.apply(
                view,
                (),
                None,
                target_name,
                assume_yes=True,
                allow_large_change=allow_large_change,
                report_file=reports[name],
                console=captured,
                concurrency=concurrency,
                saved=saved,
            )

        run = run_one(config, name, apply_one, quiet)
        show_text(run, console)
        runs.append(run)
        if run.code == ExitCode.INTERRUPTED:
            break  # Ctrl-C stops the fleet; the accounts after this one were not touched
    console.out(summary(runs, is_success) + "\n")
    return exit_code(runs, is_success)


def saved_plan(plan: Plan, config: Config) -> SavedPlan:
    """A plan made in this run, checked as a plan file is and kept as one (SavedPlan): the
    writes then refuse a portal that moved since the plan was shown."""
    from portal_config.plan_file import check_plan
    from portal_config.storage import json_text

    return check_plan(json.loads(json_text(plan.to_json())), f"plan of {plan.account}", config)
