"""The commands that write: apply (to OutSmart) and pull (to the portal files)."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from portal_config.cli.group import cli
from portal_config.cli.options import (
    account_option,
    account_run_options,
    concurrency_option,
    config_option,
    file_option,
    make_console,
    parallel_option,
    quiet_option,
    run_options,
    target_option,
    verbose_option,
)
from portal_config.run.options import RunOptions

if TYPE_CHECKING:
    from portal_config.project.config import Config
    from portal_config.run.console import Console
    from portal_config.run.outcomes import Code

# Each command imports what it runs inside its body: `lint` runs on every commit and must
# start fast, without the HTTP client (urllib3), deepdiff or the plan model.


@cli.command("apply")
@run_options
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@target_option
@click.option(
    "--yes",
    "-y",
    "assume_yes",
    is_flag=True,
    help="Apply without asking (required without a terminal).",
)
@click.option(
    "--allow-large-change",
    is_flag=True,
    help="Apply even if the plan exceeds the safety thresholds.",
)
@file_option("Write the per-portal results as JSON.", "--report", "report_file")
@click.option(
    "--require-tip",
    "require_tip",
    metavar="REF",
    help="Refuse (exit 5) unless HEAD, and a saved plan's commit, is the commit REF names: "
    "a re-run of an old apply job cannot put an older state back.",
)
@account_run_options
def apply_command(
    paths: tuple[Path, ...],
    assume_yes: bool,
    allow_large_change: bool,
    report_file: Path | None,
    require_tip: str | None,
    config_path: Path | None,
    project_dir: Path | None,
    color: bool | None,
    quiet: bool,
    verbose: bool,
    options: RunOptions,
) -> None:
    """Apply the portal files (or a saved PLAN.json) to OutSmart.

    Shows the plan, then asks on a terminal; without one it needs --yes.
    A saved plan is applied exactly, and refused if any of its portals
    changed in OutSmart since it was made. Every write carries the revision
    that was read, so a change made in the OutSmart UI meanwhile is reported,
    never overwritten.

    In a many-account repository every account (or each --account) is planned
    first, then applied in turn; saved plans name their account.

    \b
    Exit codes: 0 applied (or nothing to do), 1 invalid files, 2 usage, git error
                or invalid plan, 4 API error, 5 refused (stale plan, threshold, not
                confirmed, not the tip), 6 some portals failed, 7 some accounts
                failed, 130 interrupted (every portal still reported).
    \b
    Examples:
      portal-config apply
      portal-config diff --out plan.json && portal-config apply plan.json --yes
      portal-config apply --target production --yes --report apply-report.json
      portal-config apply plan.json --yes --require-tip origin/main
    """
    from portal_config.project.config_reader import (
        load_config,  # start-up: --version skips the config reader (~30 ms)
    )
    from portal_config.run.fleet_apply import (
        apply_accounts,  # start-up: lint never loads urllib3 and the plan (~100 ms)
    )

    config = load_config(config_path, project=project_dir)
    console = make_console(color, quiet, verbose)
    plans = [path for path in paths if path.suffix == ".json"]
    if plans and len(plans) != len(paths):
        # Either the reviewed plans or the files: mixing them would apply neither exactly.
        raise click.UsageError("give either saved PLAN.json files or portal files, not both")
    options = replace(
        options,
        assume_yes=assume_yes,
        allow_large_change=allow_large_change,
        report_file=report_file,
        require_tip=require_tip,
    )
    if not config.is_fleet and len(plans) > 1:
        from portal_config.plan.saved import (
            read_plan_files,  # start-up: lint never loads the saved plan's checks (~50 ms)
        )

        config.select_accounts(options.accounts)  # refuses --account: there is one account
        read_plan_files(plans, config)  # two for one target: say which two
        raise click.UsageError("give one saved PLAN.json: this repository holds one account")
    sys.exit(apply_accounts(config, paths, plans, options, console))


@cli.command("pull")
@run_options
@click.option("--portal", "-p", "portals", multiple=True, help="Only this portal (repeatable).")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write portal files (default: the configured portals directory).",
)
@click.option(
    "--catalog/--no-catalog",
    default=True,
    help="Also refresh the work-type catalog (default: yes).",
)
@click.option("--force", is_flag=True, help="Overwrite files even if they have local edits.")
@click.option(
    "--extends",
    "extends",
    metavar="PROFILE",
    multiple=True,
    help="Write each portal as the smallest override over this profile (repeatable, in "
    "order, as a portal file's extends:); it replaces the profiles a file extends.",
)
@target_option
@account_option
@parallel_option
@config_option
@concurrency_option
@quiet_option
@verbose_option
def pull_command(
    portals: tuple[str, ...],
    directory: Path | None,
    catalog: bool,
    force: bool,
    extends: tuple[str, ...],
    config_path: Path | None,
    quiet: bool,
    verbose: bool,
    options: RunOptions,
) -> None:
    """Write the live portal settings as portal files, and refresh the catalog.

    A portal without a file gets a new one, which acknowledges each guest
    permission it finds on ("as found in OutSmart on DATE (adopted by pull)"),
    so a fresh adoption passes lint --strict with the status quo reviewed in
    its first commit. An existing file only takes the live values: a
    permission switched on since is still reported by lint until someone
    writes its reason under acknowledged:.

    With --extends PROFILE (repeatable), adopt the account into a baseline: each
    file extends those profiles and holds only the values in which live differs
    from what it inherits, so diff then shows no changes.

    \b
    Exit codes: 0 written or unchanged, 1 a file refused (local edits, unsafe id),
                2 usage/config error (an --extends profile that does not exist:
                nothing is written), 4 API error, 7 some accounts failed (a
                many-account repository).
    \b
    Examples:
      portal-config pull                          # every portal of the default target
      portal-config pull --portal acme-facilities --target production
      portal-config pull --account new-customer   # a new account's portals and catalog
      portal-config pull --extends restrictive    # adopt the account into a baseline
    """
    from portal_config.cli.runs import (
        Shown,  # start-up: lint never loads the fleet runner (~45 ms)
        run_and_show,
    )
    from portal_config.project.config_reader import (
        load_config,  # start-up: --version skips the config reader (~30 ms)
    )
    from portal_config.run.fleet import (
        per_account_path,  # start-up: lint never loads the fleet runner (~45 ms)
    )
    from portal_config.run.pull import (
        check_extends,  # start-up: lint never loads urllib3 or ruamel.yaml (~90 ms)
        pull,
    )

    def run(config: Config, console: Console, chosen: list[Path]) -> Code:
        return pull(
            config,
            options.target,
            portals,
            per_account_path(directory, config.account),
            catalog=catalog,
            force=force,
            console=console,
            concurrency=options.concurrency,
            extends=extends,
        )

    config = load_config(config_path)
    if extends:
        check_extends(config, extends, options.accounts)
    console = make_console(None, quiet, verbose)
    printed: Shown[Code] = Shown(text=lambda code: "", read=False)  # pull prints as it goes
    files = (("--dir", directory),)
    sys.exit(run_and_show("pull", config, (), options, run, printed, console, "text", files))
