"""pull as one account's run: live settings written as portal files, and the catalog.

Its lines are printed as it goes (the source first, before the live read): a pull says
whose settings it writes into git even when the read then fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from portal_config.errors import ExitCode
from portal_config.escaping import escape_line, escape_text
from portal_config.files.pull import pull_catalog, pull_portals
from portal_config.lint.profiles import load_profiles
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
) -> Code:
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
        effective=(lambda data: profiles.effective_data(data, "pulled")) if profiles else None,
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
