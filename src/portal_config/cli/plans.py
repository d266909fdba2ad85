"""The commands that show plans: diff (alias plan), drift and show."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from portal_config.cli.group import cli
from portal_config.cli.options import (
    account_run_options,
    color_option,
    config_option,
    cut_only_text,
    file_option,
    make_console,
    max_chars_option,
    plan_format_option,
    project_option,
    run_options,
    target_option,
)
from portal_config.errors import ExitCode
from portal_config.run.options import RunOptions

if TYPE_CHECKING:
    from portal_config.cli.runs import Shown
    from portal_config.project.config import Config
    from portal_config.run.console import Console
    from portal_config.run.workflow import Planned

# Each command imports what it runs inside its body: `lint` runs on every commit and must
# start fast, without the HTTP client (urllib3), deepdiff or the plan model.


@cli.command("diff", short_help="Show what applying would change in OutSmart (alias: plan).")
@run_options
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@target_option
@plan_format_option("for PR comments")
@file_option(
    "Also save the plan as JSON, for `portal-config apply PLAN.json`.", "--out", "out_file"
)
@click.option(
    "--base",
    "base_ref",
    metavar="REF",
    envvar="GITHUB_BASE_REF",
    help="Three-way plan against the files at the merge-base of HEAD and REF: each change "
    "is this branch's, or drift (a live edit the merge reverts), or both. "
    "Default: $GITHUB_BASE_REF (set in pull request jobs).",
)
@max_chars_option
@account_run_options
def diff_command(
    paths: tuple[Path, ...],
    output_format: str,
    out_file: Path | None,
    base_ref: str | None,
    max_chars: int | None,
    config_path: Path | None,
    project_dir: Path | None,
    color: bool | None,
    quiet: bool,
    verbose: bool,
    options: RunOptions,
) -> None:
    """Show what applying the portal files would change in OutSmart (alias: plan).

    Refuses to run on files that fail lint. Reads live state in one bulk
    read, compares field by field (work types as a set) and marks every
    change that widens guest access.

    Work types are checked against the live account's too, and the plan says
    when apply would refuse it without --allow-large-change.

    \b
    Exit codes: 0 no changes, 3 changes present, 1 invalid files (or a work
                type the live account lacks), 2 usage/config/git error, 4 API error,
                7 some accounts failed (a many-account repository).
    \b
    Examples:
      portal-config diff                          # the default target
      portal-config diff --target production --format markdown
      portal-config diff --base main              # this branch's changes apart from drift
      portal-config diff --out plan.json          # save for `apply plan.json`
    """
    from portal_config.cli.runs import (
        run_and_show,  # start-up: lint never loads the fleet runner (~45 ms)
    )
    from portal_config.project.config_reader import (
        load_config,  # start-up: --version skips the config reader (~30 ms)
    )
    from portal_config.run.workflow import (
        diff,  # start-up: lint never loads urllib3 and the plan (~115 ms)
    )

    options = replace(options, out_file=out_file, base_ref=base_ref or None)

    def run(config: Config, console: Console, chosen: list[Path]) -> Planned:
        return diff(config, chosen, _own(options, config), console)

    config = load_config(config_path, project=project_dir)
    console = make_console(color, quiet, verbose)
    shown = _shown(output_format, cut_only_text(output_format, max_chars), console.color, True)
    files = (("--out", out_file),)
    sys.exit(
        run_and_show("diff", config, paths, options, run, shown, console, output_format, files)
    )


cli.add_command(diff_command, "plan")


@cli.command("drift", short_help="Show live edits made outside git (exit 3 if any).")
@run_options
@target_option
@plan_format_option("for an issue")
@max_chars_option
@file_option("Also save the report as plan JSON (for `portal-config show`).")
@account_run_options
def drift_command(
    output_format: str,
    max_chars: int | None,
    out_file: Path | None,
    config_path: Path | None,
    project_dir: Path | None,
    color: bool | None,
    quiet: bool,
    verbose: bool,
    options: RunOptions,
) -> None:
    """Show where live OutSmart settings differ from the files of this checkout.

    Meant for the main branch, on a schedule: every difference is an edit
    made outside git, which the next apply would revert. Each drifted portal
    comes with both ways to settle it: accept the edit (`pull --portal ID`
    on a branch, then a pull request) or revert it (`apply`).

    \b
    Exit codes: 0 no drift, 3 drift, 1 invalid files (or a work type the
                live account lacks), 2 usage/config error, 4 API error,
                7 some accounts failed (a many-account repository).
    \b
    Examples:
      portal-config drift --target production
      portal-config drift --target production --format markdown > drift.md
    """
    from portal_config.cli.runs import (
        run_and_show,  # start-up: lint never loads the fleet runner (~45 ms)
    )
    from portal_config.project.config_reader import (
        load_config,  # start-up: --version skips the config reader (~30 ms)
    )
    from portal_config.run.workflow import (
        drift,  # start-up: lint never loads urllib3 and the plan (~115 ms)
    )

    options = replace(options, out_file=out_file)

    def run(config: Config, console: Console, chosen: list[Path]) -> Planned:
        return drift(config, _own(options, config), console)

    config = load_config(config_path, project=project_dir)
    console = make_console(color, quiet, verbose)
    shown = _shown(output_format, cut_only_text(output_format, max_chars), console.color, False)
    files = (("--out", out_file),)
    sys.exit(run_and_show("drift", config, (), options, run, shown, console, output_format, files))


@cli.command("show")
@click.argument(
    "plan_files", metavar="PLAN.json...", nargs=-1, required=True, type=click.Path(path_type=Path)
)
@plan_format_option("for PR comments")
@max_chars_option
@config_option
@project_option
@color_option
def show_command(
    plan_files: tuple[Path, ...],
    output_format: str,
    max_chars: int | None,
    config_path: Path | None,
    project_dir: Path | None,
    color: bool | None,
) -> None:
    """Render saved plans (`diff --out`) without asking the API.

    Each plan is checked as `apply PLAN.json` checks it, then shown as diff
    showed it: one live read can give the full plan for a job summary and a
    shortened one (--max-chars) for a pull request comment. Several plans
    (one per account) are shown in turn, each headed by its account.

    \b
    Exit codes: 0 shown, 2 invalid plan or usage error.
    \b
    Examples:
      portal-config diff --format json --out plan.json > /dev/null
      portal-config show plan.json --format markdown --max-chars 60000
    """
    from portal_config.project.config_reader import (
        load_config,  # start-up: --version skips the config reader (~30 ms)
    )
    from portal_config.render.fleet import (  # start-up: lint skips it (~2 ms)
        account_group,
        fleet_headline,
        fleet_json,
    )
    from portal_config.render.plan import (
        PLAN_FORMATS,  # start-up: lint never loads the plan model (~25 ms)
    )
    from portal_config.run.fleet import (
        fleet_refusal,  # start-up: lint never loads the fleet runner (~45 ms)
    )
    from portal_config.run.workflow import (
        show,  # start-up: lint never loads urllib3 and the plan (~115 ms)
    )
    from portal_config.storage import json_text  # start-up: as render.fleet above

    cut = cut_only_text(output_format, max_chars)
    config = load_config(config_path, project=project_dir)
    console = make_console(color)
    results = show(config, plan_files)  # all checked first
    if output_format == "json" and len(results) > 1:
        # Several accounts' plans: the fleet's JSON, as diff of those accounts prints it.
        plans = [(r, r.value.plan) for r in results if r.value is not None]
        done = [(replace(r, value=None), plan.to_json()) for r, plan in plans]
        reaches = [reach for _, plan in plans for reach in plan.fan_out()]
        changed = {str(r.account): len(plan.changed) for r, plan in plans}
        shown = fleet_json("show", done, ExitCode.OK, reaches)
        console.out(json_text(shown | {"apply_refusal": fleet_refusal(config, changed)}))
        sys.exit(ExitCode.OK)
    markdown = output_format == "markdown"
    # Several accounts' three-way plans: what each profile edit reaches over all of them
    # comes first, and each account's detail is folded under it.
    reaches = [reach for r in results if r.value for reach in r.value.plan.fan_out()]
    fanned = fleet_headline(reaches, markdown)
    if len(results) > 1 and fanned:
        console.out(fanned)
        cut = cut - len(fanned) if cut is not None else None
    share = cut // len(results) if cut is not None else None  # each plan an equal share
    for result in results:
        assert result.value is not None
        plan, header = result.value.plan, result.value.header
        rendered = PLAN_FORMATS[output_format](plan, header, console.color, share)
        if len(results) > 1:  # several plans' json: printed whole, above
            rendered = account_group(result, rendered, markdown, folded=bool(fanned))[0]
        console.out(rendered)
    sys.exit(ExitCode.OK)


def _own(options: RunOptions, config: Config) -> RunOptions:
    """The options as one account's run uses them: its own --out (``{account}`` filled in)."""
    from portal_config.run.fleet import (
        per_account_path,  # start-up: lint never loads the fleet runner (~45 ms)
    )

    return replace(options, out_file=per_account_path(options.out_file, config.account))


def _shown(output_format: str, max_chars: int | None, color: bool, diff: bool) -> Shown[Planned]:
    """A plan shown in the chosen format; in a fleet's JSON, as the plan's JSON."""
    from portal_config.cli.runs import Shown  # start-up: lint never loads the fleet runner (~45 ms)
    from portal_config.render.plan import (
        PLAN_FORMATS,  # start-up: lint never loads the plan model (~25 ms)
    )

    render = PLAN_FORMATS[output_format]
    return Shown(
        text=lambda planned: render(planned.plan, planned.header, color, max_chars),
        json=lambda planned: planned.plan.to_json(),
        changed=(lambda planned: len(planned.plan.changed)) if diff else None,
        reach=(lambda planned: planned.plan.fan_out()) if diff else None,
    )
