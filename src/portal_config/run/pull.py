"""pull as one account's run: live settings written as portal files, and the catalog.

Its lines are printed as it goes (the source first, before the live read): a pull says
whose settings it writes into git even when the read then fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from portal_config.errors import ExitCode, ReasonsError
from portal_config.escaping import escape_line, escape_text
from portal_config.files.pull import pull_catalog, pull_portals
from portal_config.lint.profiles import load_profiles
from portal_config.lint.rules import unknown_profile
from portal_config.live.api import OutSmartClient
from portal_config.paths import display
from portal_config.project.config import Config, Target
from portal_config.project.lint_scope import lint_scope
from portal_config.run.console import Console
from portal_config.run.outcomes import Code
from portal_config.run.targets import announce, open_client_for, resolve_target


def pull(
    config: Config,
    target_name: str | None,
    portals: Sequence[str],
    directory: Path | None,
    *,
    catalog: bool,
    force: bool,
    console: Console,
    concurrency: int | None = None,
    extends: Sequence[str] = (),
) -> Code:
    """Pull; with ``extends`` (checked first: `check_extends`), every portal file written
    extends these profiles, holding only its overrides over them."""
    target = resolve_target(config, target_name)
    with open_client_for(target, concurrency, console) as client:
        # Not progress: even with --quiet, a pull says whose settings it writes into git.
        console.out(escape_line(_pull_source(target, client)) + "\n")
        live = client.list_portals()
        work_types = client.list_work_types() if catalog else []
    schema_path = config.root / "schema" / "portal.schema.json"
    profiles = load_profiles(lint_scope(config))
    result = pull_portals(
        live,
        directory or config.portals_dir,
        schema_path,
        only=portals,
        force=force,
        ignore=config.ignore,
        sections=config.sections,
        root=config.root,
        # Files that extend profiles are brought to live by overrides over them.
        profiles=profiles if profiles else None,
        extends=tuple(extends) or None,
    )
    if catalog:
        catalog_result = pull_catalog(work_types, config.catalog, force, root=config.root)
        result.written += catalog_result.written
        result.unchanged += catalog_result.unchanged
        result.refused += catalog_result.refused
    for path in result.written:
        console.progress(f"wrote {escape_text(str(path))}\n")
    for reason in result.refused:
        console.err(f"refused: {escape_line(reason)}\n")
    console.out(
        f"Pull: {len(result.written)} written, {len(result.unchanged)} unchanged, "
        f"{len(result.refused)} refused.\n"
    )
    return Code(ExitCode.PROBLEMS if result.failed else ExitCode.OK)


def check_extends(config: Config, extends: Sequence[str], accounts: Sequence[str]) -> None:
    """Refuse (exit 2, one line per reason) a profile `pull --extends` names that a
    selected account does not have, or that fails its schema: before any request, so
    nothing is written."""
    views = [config.for_account(name) for name in config.select_accounts(accounts)]
    reasons = []
    for view in views or [config]:
        profiles = load_profiles(lint_scope(view))
        for name in dict.fromkeys(extends):
            file = profiles.file_of(name)
            if file is None:
                known = list(profiles.by_name)
                reasons.append(f"--extends: {unknown_profile.message(name, known)}")
            elif not profiles.usable(name):
                reasons.append(
                    f"--extends: profile '{name}' ({file}) has problems; "
                    "portal-config lint shows them"
                )
    if reasons:
        raise ReasonsError(*dict.fromkeys(reasons))


def _pull_source(target: Target, client: OutSmartClient) -> str:
    """Pull's first line: the target and whose account it reads.

    The in-process sandbox serves the built-in demo account; pulling it into portals/
    by accident (no config, default target) must not pass for OutSmart's settings.
    """
    if target.is_sandbox:
        state = display(target.sandbox_state) if target.sandbox_state else "memory"
        return (
            f"{announce(target, client)}: reading the sandbox's demo account, not OutSmart "
            f"(state in {state}; set a target with base_url for a real account)"
        )
    source = f"${target.token_env}" if target.token_command is None else target.token_origin
    return f"{announce(target, client)}: reading the account of the token in {source}"
