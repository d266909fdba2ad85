"""The accounts a run covers (a one-account repository is an account of one), and linting them.

Kept apart from fleet.py, which runs the live commands: lint must start without the
HTTP client, so what lint needs of accounts lives here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from portal_config.errors import UsageError
from portal_config.lint.check import LintRun, lint, require_portals_dir
from portal_config.lint.profiles import read_once
from portal_config.problems import Report
from portal_config.project.config import ACCOUNTS_DIR, CONFIG_NAME, Config
from portal_config.project.lint_scope import lint_scope


def select(config: Config, names: Sequence[str], paths: Sequence[Path]) -> dict[str, list[Path]]:
    """The accounts to run, each with the paths given under its directory (none: all).

    A path must lie inside one account's directory: a fleet has no portals elsewhere.
    """
    chosen = config.select_accounts(names)
    if not paths:
        return {name: [] for name in chosen}
    by_account: dict[str, list[Path]] = {}
    home = (config.root / ACCOUNTS_DIR).resolve()
    for path in paths:
        try:
            parts = path.resolve().relative_to(home).parts
        except ValueError:
            raise UsageError(
                f"{path}: not in an account's directory ({ACCOUNTS_DIR}/<account>/)"
            ) from None
        if not parts:  # accounts/ itself: every selected account, whole
            return {name: [] for name in chosen}
        if parts[0] not in config.accounts:
            raise UsageError(
                f"{path}: {ACCOUNTS_DIR}/{parts[0]} is not a declared account "
                f"(accounts: in {CONFIG_NAME})"
            )
        by_account.setdefault(parts[0], []).append(path)
    left_out = sorted(set(by_account) - set(chosen))
    if left_out:  # silently skipping a named file would read as "no changes"
        raise UsageError(f"--account leaves out {', '.join(left_out)}, whose files are given")
    return {name: by_account[name] for name in chosen if name in by_account}


def views(
    config: Config, names: Sequence[str], paths: Sequence[Path]
) -> list[tuple[Config, list[Path]]]:
    """Each account a run covers, as the config it sees, with the paths given for it (none:
    all its portals). A one-account repository is an account of one: itself (and --account
    is refused there)."""
    if not config.is_fleet:
        config.select_accounts(names)
        return [(config, list(paths))]
    return [
        (config.for_account(name), chosen) for name, chosen in select(config, names, paths).items()
    ]


def lint_accounts(
    config: Config, names: Sequence[str], paths: Sequence[Path]
) -> tuple[LintRun, list[Config]]:
    """Each account's files linted against its own catalog, duplicate ids checked within
    the account; one report, whose paths (accounts/<name>/...) group it by account.
    Also returns each account's view, so the caller can note a missing catalog."""
    merged = LintRun(Report())
    covered = []
    # The repository's profiles are linted with every account: reported once.
    seen: set[object] = set()
    with read_once():  # the repository's profiles: read for the first account only
        for view, chosen in views(config, names, paths):
            if not chosen:
                require_portals_dir(lint_scope(view))
            run = lint(chosen or [view.portals_dir], lint_scope(view))
            merged.report.files.extend(f for f in run.report.files if not _seen_before(f, seen))
            merged.report.extend(p for p in run.report.problems if not _seen_before(p, seen))
            merged.sources.update(run.sources)
            merged.documents.extend(run.documents)
            covered.append(view)
    if len(covered) == 1:
        return run, covered  # one account: its run as it is
    return merged, covered


def _seen_before(item: object, seen: set[object]) -> bool:
    """Whether ``item`` was seen before; it is seen from now on."""
    if item in seen:
        return True
    seen.add(item)
    return False
