"""The accounts of a run: one task run once per account, each account's result a value.

An installer keeps every customer's portals in one repository (``accounts:`` in
portal-config.yaml). Each account is an ordinary run on the config as that account
sees it (`Config.for_account`): its portals, its catalog, its token. A one-account
repository is a run of one (its account is None): the same path, run on the main
thread with the command's own console, so its output streams and its failure is the
command's. This module only fans out and collects; render/ shows the results:

* reads (diff, drift, pull) run ``parallel`` accounts at once on threads, and their
  results come back in config order, as soon as an account's turn comes, so memory
  stays flat in the number of accounts;
* one account failing (a refused token, an API outage, invalid files) never stops the
  others: its result holds the failure, and the exit code is `ExitCode.PARTIAL`.

apply over many accounts (plan every one, ask once, write in turn) is `fleet_apply`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from portal_config.errors import PortalConfigError, UsageError
from portal_config.lint.profiles import read_once
from portal_config.project.accounts import select
from portal_config.project.config import Config
from portal_config.project.history import one_look
from portal_config.run.console import Console, count_portals
from portal_config.run.outcomes import AccountResult, Finished

DEFAULT_PARALLEL = 16  # accounts at once; each account's requests follow its concurrency

T = TypeVar("T", bound=Finished)
Task = Callable[[Config, Console, list[Path]], T]


def selection(
    config: Config, names: Sequence[str], paths: Sequence[Path]
) -> dict[str | None, list[Path]]:
    """The accounts to run, each with the paths given under its directory (none: all);
    a one-account repository's one account is None."""
    if not config.is_fleet:
        config.select_accounts(names)  # refuses --account: there is one account
        return {None: list(paths)}
    return {name: chosen for name, chosen in select(config, names, paths).items()}


def run_accounts(
    config: Config,
    selected: dict[str | None, list[Path]],
    task: Task[T],
    console: Console,
    parallel: int | None = None,
) -> Iterator[AccountResult[T]]:
    """``task`` on each account's view of the config, ``parallel`` at a time; the results
    come back in the order given, each once it and all before it are done.

    At most twice ``parallel`` accounts are started ahead of the one being handed back,
    so a thousand accounts never sit in memory at once.
    """
    if None in selected:  # the repository's one account: here, writing as it goes
        value = task(config, console, selected[None])
        yield AccountResult(None, value.code, value)
        return
    parallel = parallel or DEFAULT_PARALLEL
    pool = ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="account")
    pending: deque[Future[AccountResult[T]]] = deque()
    try:
        # git's answers (HEAD, status) and the profiles are the same for every account
        with one_look(), read_once():
            for name, paths in selected.items():
                assert name is not None
                if len(pending) >= 2 * parallel:
                    yield pending.popleft().result()
                pending.append(pool.submit(run_one, config, name, paths, task, console))
            while pending:
                yield pending.popleft().result()
    finally:
        # An interrupt (or a consumer that stops early) must not wait for every account.
        pool.shutdown(wait=True, cancel_futures=True)


def run_one(
    config: Config, name: str, paths: list[Path], task: Task[T], console: Console
) -> AccountResult[T]:
    """One account of many: what it writes is kept for its group, its failure is its
    result (the other accounts go on)."""
    out: list[str] = []
    err: list[str] = []
    # A fleet asks once, before any account writes; no account says what it reads.
    captured = replace(console, out=out.append, err=err.append, confirm=None, watched=False)
    try:
        value = task(config.for_account(name), captured, paths)
    except PortalConfigError as exc:
        printed, said = "".join(out), "".join(err)
        return AccountResult(name, exc.exit_code, None, exc.render(), printed, said, exc.problems)
    return AccountResult(name, value.code, value, None, "".join(out), "".join(err))


def per_account_path(path: Path | None, account: str | None) -> Path | None:
    """``--out plans/{account}.json``: one account's file (``{account}`` filled in)."""
    if path is None or account is None:
        return path
    return Path(str(path).replace("{account}", account))


def check_paths(files: Sequence[tuple[str, Path | None]], many: bool) -> None:
    """Path options, before any request: one path for several accounts is refused."""
    for option, path in files:
        if path is not None and many and "{account}" not in str(path):
            raise UsageError(
                f"{option} {path}: with more than one account, put {{account}} in the path "
                f"({option} plans/{{account}}.json)"
            )


def fleet_refusal(config: Config, changed: dict[str, int]) -> str | None:
    """Why apply would refuse these accounts' plans together (safety.fleet_max_portals)."""
    total, limit = sum(changed.values()), config.safety.fleet_max_portals
    if total <= limit:
        return None
    limit_name = f"safety.fleet_max_portals ({limit})"
    return f"the accounts' plans change {count_portals(total)}, more than {limit_name}"
