"""The `portal-config` command line: parse options, call one function, pick the exit code.

No YAML, schema or HTTP logic lives here. Heavy modules are imported inside the
commands that need them, so `lint` (run on every commit) starts fast and never
loads the HTTP client or deepdiff.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from portal_config import __version__
from portal_config.errors import ExitCode, PortalConfigError, UsageError
from portal_config.escaping import escape_text
from portal_config.render.lint import FORMATS as LINT_FORMATS

if TYPE_CHECKING:
    from portal_config.project.config import Config
    from portal_config.run.console import Console

# Importing render.plan here would add ~50 ms to every lint start-up (the plan model and
# its dependencies); tests keep this list equal to render.plan.PLAN_FORMATS.
PLAN_FORMAT_NAMES = ("text", "markdown", "json")


class _Group(click.Group):
    """Turns every PortalConfigError into one clear line on stderr and its exit code."""

    aliases = {"plan": "diff"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        # An alias is shown in its command's help line, not as a command of its own.
        return [name for name in super().list_commands(ctx) if name not in self.aliases]

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PortalConfigError as exc:
            click.echo(exc.render(), err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(ExitCode.INTERRUPTED)


def use_color(flag: bool | None, stream: Any = None) -> bool:
    """Colour only on a terminal, never with NO_COLOR set, unless forced by --color."""
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


_account_option = click.option(
    "--account",
    "-a",
    "accounts",
    multiple=True,
    metavar="NAME",
    help="Only this account of a many-account repository (repeatable; default: every one).",
)
_config_option = click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Project config file. Default: the nearest portal-config.yaml above the cwd.",
)

# Only on the commands the pull request recipes run with tokens (diff, drift, show, apply).
_project_option = click.option(
    "--project",
    "project_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    metavar="DIR",
    help="Read the portal files (portals_dir, catalog, accounts/) and git history in DIR; "
    "the config's token commands and ca_bundle stay relative to the config file and must "
    "not be in DIR. Default: the config file's directory. CI on a pull request: "
    "--config <base branch's tree>/portal-config.yaml --project .",
)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="portal-config")
def cli() -> None:
    """Keep OutSmart Klantportaal guest work order settings in git, reviewed.

    \b
    Examples:
      portal-config lint                  # check portals/ (or the configured dir)
      portal-config lint portals/acme.yaml --format json
      portal-config fmt --check           # files not in the canonical form
      portal-config diff                  # what merging would change (sandbox by default)
      portal-config diff --base main      # this branch's changes apart from live edits
      portal-config diff --out plan.json && portal-config apply plan.json
      portal-config show plan.json --format markdown --max-chars 60000
      portal-config drift --target production   # live edits made outside git
      portal-config pull --portal acme-facilities
      portal-config sandbox               # a local OutSmart-compatible API
      portal-config rules                 # what each rule checks
    """


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "-f",
    "output_format",
    type=click.Choice(list(LINT_FORMATS)),
    default=None,
    help="Output format. Default: text, or github when GITHUB_ACTIONS=true.",
)
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
@click.option(
    "--errors-only",
    "--no-warnings",
    "--quiet",
    "-q",
    "errors_only",
    is_flag=True,
    help="Show only errors (text and github formats): warnings are still counted in the "
    "summary and the per-rule table, and still fail --strict. json and sarif always list "
    "every problem.",
)
@_config_option
@click.option(
    "--catalog",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Work-type catalog file. Default: worktypes.yaml next to the config.",
)
@click.option(
    "--color/--no-color",
    default=None,
    help="Force colour on or off (default: on a tty, unless NO_COLOR).",
)
@_account_option
def lint(
    paths: tuple[Path, ...],
    output_format: str | None,
    strict: bool,
    errors_only: bool,
    config_path: Path | None,
    catalog: Path | None,
    color: bool | None,
    accounts: tuple[str, ...],
) -> None:
    """Check portal files against the schema and the rules.

    PATHS are files or directories (searched recursively for *.yaml and
    *.yml); the default is the configured portals directory. Text output ends
    with the number of problems per rule and level, most frequent first.

    --errors-only hides warnings from what is printed and changes nothing
    else, as in yamllint: the summary counts them and --strict still fails on
    them, so the exit code never depends on it.

    \b
    Exit codes: 0 clean, 1 problems found (warnings only with --strict),
                2 usage or config error.
    \b
    Examples:
      portal-config lint
      portal-config lint portals/acme-facilities.yaml --strict
      portal-config lint -q                   # errors, and warnings per rule
      portal-config lint --format github      # GitHub Actions annotations
    """
    from dataclasses import replace

    from portal_config.escaping import escape_text
    from portal_config.lint.check import lint as run_lint
    from portal_config.lint.check import require_portals_dir
    from portal_config.lint.loader import display
    from portal_config.project.config import load_config
    from portal_config.render.lint import FORMATS, Style

    config = load_config(config_path)
    if catalog is not None:
        if config.is_fleet:
            raise UsageError("--catalog: each account has its own, accounts/<name>/worktypes.yaml")
        if not catalog.is_file():
            raise PortalConfigError(f"--catalog {catalog}: file not found")
        config = replace(config, catalog=catalog.resolve(), catalog_origin="--catalog")
    chosen = output_format or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    if config.is_fleet:
        from portal_config.project.accounts import lint_accounts

        run, views = lint_accounts(config, accounts, paths)
    else:
        config.select_accounts(accounts)  # refuses --account: there is one account
        if not paths:
            require_portals_dir(config)
        run, views = run_lint(list(paths) or [config.portals_dir], config), [config]
    for view in views:
        if view.catalog_origin is None and not view.catalog.is_file():
            # Said, not failed: a project may have no catalog, but should know what it misses.
            shown = escape_text(display(view.catalog))
            click.echo(
                f"note: no work-type catalog ({shown}) found; work types not checked", err=True
            )
    style = Style(
        color=use_color(color) and chosen == "text",
        strict=strict,
        errors_only=errors_only,
        statistics=True,
    )
    click.echo(FORMATS[chosen](run.report, run.sources, style), nl=False, color=style.color)
    sys.exit(ExitCode.PROBLEMS if run.report.failed(strict) else ExitCode.OK)


@cli.command("fmt")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--check", is_flag=True, help="Write nothing; list the files fmt would change.")
@_config_option
def fmt_command(paths: tuple[Path, ...], check: bool, config_path: Path | None) -> None:
    """Rewrite portal files in the canonical form pull writes, keeping comments.

    Keys in schema order, booleans as true/false, block lists, strings quoted
    only where YAML 1.1 would misread them. Never changes what lint reads: a
    file with values lint reads as numbers or null, or that does not load, is
    reported and left alone. PATHS default to the configured portals directory.

    \b
    Exit codes: 0 formatted (or, with --check, nothing to change),
                1 with --check some file would change, or some file could not
                  be formatted (its problem is printed), 2 usage or config error.
    \b
    Examples:
      portal-config fmt
      portal-config fmt --check               # in CI or pre-commit
    """
    from portal_config.files.canonical import format_paths
    from portal_config.lint.check import require_portals_dir
    from portal_config.project.config import load_config

    config = load_config(config_path)
    views = [config.for_account(name) for name in config.accounts] or [config]
    if not paths:
        for view in views:  # with many accounts, every account's portals
            require_portals_dir(view)
    run = format_paths(list(paths) or [view.portals_dir for view in views], config, check=check)
    click.echo(run.render(), nl=False)
    sys.exit(run.exit_code)


@cli.command("init")
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite the files init writes if they exist.")
@click.option(
    "--accounts",
    metavar="NAMES",
    help="Lay out a fleet: these accounts (comma-separated), accounts/NAME/ each.",
)
def init_command(directory: Path, force: bool, accounts: str | None) -> None:
    """Set up a repository for portal-config: config, schema, portals/, hooks and CI.

    Files that exist are kept (reported "exists, kept") unless --force; .gitignore only
    gains missing lines and an existing .pre-commit-config.yaml is never changed. When
    this copy was installed from git (https, ssh or file://), the CI recipes and the
    pre-commit hook are pinned to its commit, and to its release tag when it was installed
    at one (`@v1.2.0`); otherwise set PORTAL_CONFIG_SOURCE and PORTAL_CONFIG_REV in them.
    Every run lists the files that still name placeholders.

    With --accounts, a repository for many accounts: an accounts: section in
    portal-config.yaml with each account's token variable, accounts/NAME/portals/, and the
    fleet CI recipes (one job per account) instead of diff, apply and drift. In a
    repository that holds one account, its portals/ and worktypes.yaml become the first
    named account's (accounts/NAME/), portal-config.yaml gains the accounts: section and
    the one-account recipes are removed; where that cannot be done safely, nothing changes
    and init prints the steps. Without --accounts, a fleet's repository stays a fleet.

    \b
    Exit codes: 0 written or kept, 2 usage error (DIR cannot be written, a bad name,
                a one-account repository init cannot convert).
    \b
    Examples:
      portal-config init
      portal-config init settings --force
      portal-config init --accounts acme,beta,north-west
    """
    from portal_config.files.scaffold import account_names, installed_pin, scaffold

    try:
        names = account_names(accounts) if accounts is not None else ()
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'--accounts'") from None
    pin = installed_pin()
    done = scaffold(directory, force=force, pin=pin, accounts=names)
    for outcome in done.outcomes:
        # A path names the user's files (the accounts, the portals moved): data, escaped.
        click.echo(f"{escape_text(outcome.path)}: {outcome.status}")
    if done.pre_commit_snippet is not None:
        click.echo("\nAdd the published hook to .pre-commit-config.yaml:\n")
        click.echo(done.pre_commit_snippet, nl=False)
    if done.placeholders:
        if pin is None:
            why = (
                "This portal-config was not installed from a git commit, so these files name"
                " <your-org> and <commit-sha>: replace them with the https URL of the"
                " repository portal-config is installed from and the full commit SHA of a"
                " release tag"
            )
        elif pin.source is None:
            why = (
                "This portal-config was installed from a file:// URL (or one CI cannot use):"
                " in these files, replace <your-org> with the https URL of its repository"
            )
        else:  # kept from an earlier init
            why = (
                "These files still name <your-org> or <commit-sha>: `portal-config init"
                " --force` pins them to this copy, or fill them in by hand"
            )
        click.echo(f"\n{why}:\n  " + "\n  ".join(map(escape_text, done.placeholders)))
    if not done.has_portals:  # the hint only for a new repository
        click.echo("\nNext: portal-config pull --target sandbox, then portal-config lint.")


# The JSON Schemas this package ships, by what they describe: its KIND.schema.json files
# (package data), so a schema added to the package is offered with no list to update.
SCHEMAS = tuple(
    sorted(p.name.removesuffix(".schema.json") for p in Path(__file__).parent.glob("*.schema.json"))
)


@cli.command("schema")
@click.argument("kind", type=click.Choice(SCHEMAS), required=False)
@click.option(
    "--plan", "plan", is_flag=True, help="The saved plan's schema (same as: schema plan)."
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the schema to this file instead of printing it.",
)
def schema_command(kind: str | None, plan: bool, out_file: Path | None) -> None:
    """Print a JSON Schema (draft 2020-12) this portal-config checks with.

    KIND: portal (a portal file, the default), config (portal-config.yaml), plan
    (`diff --out`), lint (`lint --format json`) or report (`apply --report`). Editors
    that read JSON Schema (VS Code's YAML extension, JetBrains) complete and check
    files against them; write them next to the files they describe.

    \b
    Exit codes: 0 printed or written, 2 --out cannot be written, or KIND with --plan.
    \b
    Examples:
      portal-config schema > schema/portal.schema.json
      portal-config schema config --out schema/config.schema.json
      portal-config schema plan
    """
    from importlib.resources import files

    if plan and kind is not None:
        # Printing one of the two would silently ignore the other.
        raise UsageError(f"give KIND ({kind}) or --plan, not both: --plan is KIND plan")
    chosen = "plan" if plan else kind or "portal"
    text = files("portal_config").joinpath(f"{chosen}.schema.json").read_text(encoding="utf-8")
    if out_file is None:
        click.echo(text, nl=False)
        return
    from portal_config.storage import check_writable, write_atomically

    check_writable(out_file, "--out")
    write_atomically(out_file, text, mode=0o644)  # a file to commit, not a secret


@cli.command("rules")
@click.argument("rule_ids", metavar="[RULE]...", nargs=-1)
@_config_option
def rules_command(rule_ids: tuple[str, ...], config_path: Path | None) -> None:
    """List the lint rules: the level in effect here, the default, and the documentation.

    \b
    Exit codes: 0 listed, 2 unknown rule or invalid config.
    \b
    Examples:
      portal-config rules
      portal-config rules permissive-guest-access
    """
    import inspect

    from portal_config.lint.rules import RULES
    from portal_config.lint.rules.base import closest
    from portal_config.project.config import load_config

    config = load_config(config_path)
    for rule_id in rule_ids:
        if rule_id not in RULES:
            close = closest(rule_id, list(RULES))
            hint = f"; did you mean '{close}'?" if close else ""
            raise PortalConfigError(f"unknown rule '{rule_id}'{hint}")
    for rule_id in rule_ids or tuple(RULES):
        rule = RULES[rule_id]
        level = config.level_of(rule_id)
        effective = level.value if level is not None else "disabled"
        default = rule.LEVEL.value
        origin = (
            f"set in the config; default {default}" if rule_id in config.rule_levels else "default"
        )
        click.echo(f"{rule_id} ({effective}; {origin})")
        for line in inspect.cleandoc(rule.__doc__ or "").splitlines():
            click.echo(f"    {line}".rstrip())
        click.echo()


def _console(color: bool | None, quiet: bool = False, verbose: bool = False) -> Console:
    from portal_config.run.console import Console

    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose cannot be used together")
    confirm = None
    if sys.stdin.isatty():

        def confirm(question: str) -> bool:
            return click.confirm(question, default=False, err=True)

    painted = use_color(color)
    return Console(
        out=_unbreakable(lambda text: click.echo(text, nl=False, color=painted), sys.stdout),
        err=_unbreakable(
            lambda text: click.echo(text, nl=False, err=True, color=painted), sys.stderr
        ),
        color=painted,
        confirm=confirm,
        quiet=quiet,
        verbose=verbose,
        watched=sys.stderr.isatty() or os.environ.get("GITHUB_ACTIONS") == "true",
    )


def _unbreakable(write: Callable[[str], None], stream: Any) -> Callable[[str], None]:
    """``write``, but a closed pipe (`apply | head -1`) silences it instead of raising.

    Output is a courtesy; the writes to OutSmart, their results and the --report file are
    not. A BrokenPipeError raised from a progress line would abort apply mid-run, so the
    stream is pointed at /dev/null (as Python's docs advise) and the run goes on.
    """

    def guarded(text: str) -> None:
        try:
            write(text)
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)

    return guarded


_target_option = click.option(
    "--target", "-t", "target", help="Target from the config (default: default_target)."
)
_concurrency_option = click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=None,
    help="Requests in flight at once (default: the target's, 8).",
)
_color_option = click.option("--color/--no-color", default=None, help="Force colour on or off.")
_parallel_option = click.option(
    "--parallel",
    type=click.IntRange(1, 256),
    default=None,
    help="Accounts handled at once in a many-account repository (default 16); each "
    "account's requests keep --concurrency.",
)


def _own(path: Path | None, account: str | None, option: str, many: bool) -> Path | None:
    """A path option as one account's run uses it (``{account}`` filled in)."""
    if account is None:
        return path
    from portal_config.run.fleet import per_account_path

    return per_account_path(path, account, option, many)


def _each_account(
    config: Config,
    accounts: tuple[str, ...],
    paths: tuple[Path, ...],
    command: str,
    output_format: str,
    console: Console,
    parallel: int | None,
    run: Callable[[Config, Console, list[Path], bool], int],
    files: tuple[tuple[str, Path | None], ...] = (),
) -> int:
    """``run`` once, or once per account of a many-account repository (fleet.py)."""
    if not config.is_fleet:
        config.select_accounts(accounts)  # refuses --account: there is one account
        return run(config, console, list(paths), False)
    from portal_config.run import fleet

    return fleet.each_account(
        command, config, accounts, paths, output_format, console, parallel, run, files
    )


_quiet_option = click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="Only results, failures and errors: no progress, plan preview or retry lines.",
)
_verbose_option = click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="Also log every request and answer on stderr (tokens redacted).",
)


def _plan_format_option(markdown_for: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--format",
        "-f",
        "output_format",
        type=click.Choice(PLAN_FORMAT_NAMES),
        default="text",
        help=f"text (terraform-like), markdown ({markdown_for}) or json.",
    )


def _cut_only_text(output_format: str, max_chars: int | None) -> int | None:
    # JSON is read by programs, whole; silently ignoring the option would hide a mistake.
    if max_chars is not None and output_format == "json":
        raise click.BadParameter(
            "cuts text and markdown; json is never cut", None, None, "--max-chars"
        )
    return max_chars


_max_chars_option = click.option(
    "--max-chars",
    "max_chars",
    type=click.IntRange(min=1000),
    metavar="N",
    help="Cut text or markdown at a portal boundary to stay under N characters, ending "
    "with how many portals were left out (a GitHub comment holds 65,536).",
)


@cli.command("diff", short_help="Show what applying would change in OutSmart (alias: plan).")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@_target_option
@_plan_format_option("for PR comments")
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also save the plan as JSON, for `portal-config apply PLAN.json`.",
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
@_max_chars_option
@_account_option
@_parallel_option
@_config_option
@_project_option
@_concurrency_option
@_color_option
@_quiet_option
@_verbose_option
def diff_command(
    paths: tuple[Path, ...],
    target: str | None,
    output_format: str,
    out_file: Path | None,
    base_ref: str | None,
    max_chars: int | None,
    accounts: tuple[str, ...],
    parallel: int | None,
    config_path: Path | None,
    project_dir: Path | None,
    concurrency: int | None,
    color: bool | None,
    quiet: bool,
    verbose: bool,
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
    from portal_config.project.config import load_config
    from portal_config.run.workflow import diff

    cut = _cut_only_text(output_format, max_chars)
    changed: dict[str | None, int] = {}  # per account: the fleet-wide threshold's count

    def run(config: Config, console: Console, chosen: list[Path], many: bool) -> int:
        return diff(
            config,
            chosen,
            target,
            output_format,
            _own(out_file, config.account, "--out", many),
            console,
            concurrency,
            base_ref=base_ref or None,
            max_chars=cut,
            on_plan=lambda plan: changed.__setitem__(config.account, len(plan.changed)),
        )

    config = load_config(config_path, project=project_dir)
    console = _console(color, quiet, verbose)
    if not config.is_fleet:
        config.select_accounts(accounts)  # refuses --account: there is one account
        sys.exit(run(config, console, list(paths), False))
    from portal_config.run.fleet import each_account, fleet_refusal

    code = each_account(
        "diff",
        config,
        accounts,
        paths,
        output_format,
        console,
        parallel,
        run,
        (("--out", out_file),),
        lambda: fleet_refusal(config, {str(k): v for k, v in changed.items()}),
    )
    sys.exit(code)


cli.add_command(diff_command, "plan")


@cli.command("drift", short_help="Show live edits made outside git (exit 3 if any).")
@_target_option
@_plan_format_option("for an issue")
@_max_chars_option
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also save the report as plan JSON (for `portal-config show`).",
)
@_account_option
@_parallel_option
@_config_option
@_project_option
@_concurrency_option
@_color_option
@_quiet_option
@_verbose_option
def drift_command(
    target: str | None,
    output_format: str,
    max_chars: int | None,
    out_file: Path | None,
    accounts: tuple[str, ...],
    parallel: int | None,
    config_path: Path | None,
    project_dir: Path | None,
    concurrency: int | None,
    color: bool | None,
    quiet: bool,
    verbose: bool,
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
    from portal_config.project.config import load_config
    from portal_config.run.workflow import drift

    cut = _cut_only_text(output_format, max_chars)

    def run(config: Config, console: Console, chosen: list[Path], many: bool) -> int:
        out = _own(out_file, config.account, "--out", many)
        return drift(
            config, target, output_format, console, concurrency, max_chars=cut, out_file=out
        )

    config = load_config(config_path, project=project_dir)
    console = _console(color, quiet, verbose)
    files = (("--out", out_file),)
    sys.exit(
        _each_account(config, accounts, (), "drift", output_format, console, parallel, run, files)
    )


@cli.command("show")
@click.argument(
    "plan_files", metavar="PLAN.json...", nargs=-1, required=True, type=click.Path(path_type=Path)
)
@_plan_format_option("for PR comments")
@_max_chars_option
@_config_option
@_project_option
@_color_option
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
    from portal_config.project.config import load_config
    from portal_config.run.workflow import show

    cut = _cut_only_text(output_format, max_chars)
    if output_format == "json" and len(plan_files) > 1:
        raise click.UsageError("--format json shows one plan: the plan file itself")
    config = load_config(config_path, project=project_dir)
    sys.exit(show(config, plan_files, output_format, _console(color), cut))


@cli.command("apply")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@_target_option
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
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the per-portal results as JSON.",
)
@click.option(
    "--require-tip",
    "require_tip",
    metavar="REF",
    help="Refuse (exit 5) unless HEAD, and a saved plan's commit, is the commit REF names: "
    "a re-run of an old apply job cannot put an older state back.",
)
@_account_option
@_parallel_option
@_config_option
@_project_option
@_concurrency_option
@_color_option
@_quiet_option
@_verbose_option
def apply_command(
    paths: tuple[Path, ...],
    target: str | None,
    assume_yes: bool,
    allow_large_change: bool,
    report_file: Path | None,
    require_tip: str | None,
    accounts: tuple[str, ...],
    parallel: int | None,
    config_path: Path | None,
    project_dir: Path | None,
    concurrency: int | None,
    color: bool | None,
    quiet: bool,
    verbose: bool,
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
    from portal_config.project.config import load_config
    from portal_config.run.options import ApplyOptions
    from portal_config.run.workflow import apply

    config = load_config(config_path, project=project_dir)
    console = _console(color, quiet, verbose)
    plans = [path for path in paths if path.suffix == ".json"]
    if plans and len(plans) != len(paths):
        # Either the reviewed plans or the files: mixing them would apply neither exactly.
        raise click.UsageError("give either saved PLAN.json files or portal files, not both")
    options = ApplyOptions(
        target=target,
        assume_yes=assume_yes,
        allow_large_change=allow_large_change,
        report_file=report_file,
        require_tip=require_tip,
        concurrency=concurrency,
        parallel=parallel,
        accounts=accounts,
    )
    if config.is_fleet:
        from portal_config.run.fleet import apply_accounts

        sys.exit(apply_accounts(config, paths, plans, options, console))
    config.select_accounts(accounts)  # refuses --account: there is one account
    if len(plans) > 1:
        from portal_config.plan.saved import read_plan_files

        read_plan_files(plans, config)  # two for one target: say which two
        raise click.UsageError("give one saved PLAN.json: this repository holds one account")
    sys.exit(apply(config, () if plans else paths, plans[0] if plans else None, options, console))


@cli.command("pull")
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
@_target_option
@_account_option
@_parallel_option
@_config_option
@_concurrency_option
@_quiet_option
@_verbose_option
def pull_command(
    portals: tuple[str, ...],
    directory: Path | None,
    catalog: bool,
    force: bool,
    target: str | None,
    accounts: tuple[str, ...],
    parallel: int | None,
    config_path: Path | None,
    concurrency: int | None,
    quiet: bool,
    verbose: bool,
) -> None:
    """Write the live portal settings as portal files, and refresh the catalog.

    A portal without a file gets a new one, which acknowledges each guest
    permission it finds on ("as found in OutSmart on DATE (adopted by pull)"),
    so a fresh adoption passes lint --strict with the status quo reviewed in
    its first commit. An existing file only takes the live values: a
    permission switched on since is still reported by lint until someone
    writes its reason under acknowledged:.

    \b
    Exit codes: 0 written or unchanged, 1 a file refused (local edits, unsafe id),
                2 usage/config error, 4 API error, 7 some accounts failed (a
                many-account repository).
    \b
    Examples:
      portal-config pull                          # every portal of the default target
      portal-config pull --portal acme-facilities --target production
      portal-config pull --account new-customer   # a new account's portals and catalog
    """
    from portal_config.project.config import load_config
    from portal_config.run.workflow import pull

    def run(config: Config, console: Console, chosen: list[Path], many: bool) -> int:
        return pull(
            config,
            target,
            portals,
            _own(directory, config.account, "--dir", many),
            catalog=catalog,
            force=force,
            console=console,
            concurrency=concurrency,
        )

    config = load_config(config_path)
    console = _console(None, quiet, verbose)
    files = (("--dir", directory),)
    sys.exit(_each_account(config, accounts, (), "pull", "text", console, parallel, run, files))


@cli.command("accounts")
@click.option(
    "--shards",
    type=click.IntRange(1, 256),
    default=None,
    help="Spread the accounts over N jobs (GitHub allows 256 per matrix).",
)
@_config_option
def accounts_command(shards: int | None, config_path: Path | None) -> None:
    """Print the accounts as a GitHub Actions matrix (JSON, one line).

    One entry per account, {"name": ..., "accounts": ...}; with --shards N,
    N entries whose "accounts" are space-separated names, spread round-robin
    in name order. A one-account repository prints one entry whose
    "accounts" is empty.

    \b
    Exit codes: 0 printed, 2 usage or config error.
    \b
    Examples:
      portal-config accounts
      portal-config accounts --shards 4
    """
    import json

    from portal_config.project.config import load_config

    names = sorted(load_config(config_path).accounts)
    if not names:
        matrix = [{"name": "default", "accounts": ""}]
    elif shards is None:
        matrix = [{"name": name, "accounts": name} for name in names]
    else:
        count = min(shards, len(names))  # an empty shard would run every account
        matrix = [
            {"name": f"shard-{i + 1}-of-{count}", "accounts": " ".join(names[i::count])}
            for i in range(count)
        ]
    click.echo(json.dumps(matrix, separators=(",", ":")))


_SHARE = click.FloatRange(0, 1)
# The sandbox's faults as flags: (flag, field of sandbox.faults.Faults, type, help).
_FAULT_FLAGS: tuple[tuple[str, str, click.ParamType[Any], str], ...] = (
    ("--latency", "latency_ms", click.FLOAT, "Add this many ms to every answer."),
    ("--error-rate", "error_rate", _SHARE, "Share of requests answered 500/502/503."),
    (
        "--envelope-error-rate",
        "envelope_error_rate",
        _SHARE,
        "Share of requests answered HTTP 200 with envelope code 1007 (uncaught error).",
    ),
    (
        "--rate-limit",
        "rate_limit",
        click.FloatRange(0),
        "Requests per second before 429 + Retry-After.",
    ),
    ("--throttle-rate", "throttle_rate", _SHARE, "Share of requests answered 429."),
    ("--drop-rate", "drop_rate", _SHARE, "Share of connections closed mid-response."),
    ("--lost-write-rate", "lost_write_rate", _SHARE, "Share of writes applied but never answered."),
    (
        "--conflict-rate",
        "conflict_rate",
        _SHARE,
        "Share of writes preceded by a concurrent UI edit.",
    ),
    (
        "--unstored-write-rate",
        "unstored_write_rate",
        _SHARE,
        "Share of writes answered as stored but not stored.",
    ),
    (
        "--applied-error-rate",
        "applied_error_rate",
        _SHARE,
        "Share of writes stored, then answered 500.",
    ),
    (
        "--gone-after-writes",
        "gone_after_writes",
        click.IntRange(0),
        "Stop answering (and refuse connections) after this many stored writes.",
    ),
)


def _fault_options(command: Callable[..., None]) -> Callable[..., None]:
    """One option per fault of _FAULT_FLAGS, in its order, each passed by its field name."""
    for flag, field, kind, text in reversed(_FAULT_FLAGS):
        command = click.option(flag, field, type=kind, help=text)(command)
    return command


@cli.command("sandbox")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on."
)
@click.option(
    "--port",
    default=8808,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="0 picks a free port.",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(".portal-config/sandbox.json"),
    show_default=True,
    help="JSON state file; with --accounts, each account's is named after it "
    "(sandbox-account-001.json, ...).",
)
@click.option(
    "--accounts",
    type=click.IntRange(1),
    metavar="N",
    help="Serve N accounts (account-001, ...), each seeded as --from says and with "
    "its own token (sandbox-token-account-001, ...).",
)
@click.option(
    "--from",
    "seed",
    default="demo",
    show_default=True,
    help="Seed a new state file from 'demo' or from a directory of portal files.",
)
@_fault_options
@click.option("--random-seed", "random_seed", type=int, help="Seed for the fault dice.")
@click.option(
    "--http-status-errors",
    is_flag=True,
    default=None,
    help="Send errors with the HTTP status of their code, as a proxy might, instead of "
    "OutSmart's HTTP 200 + envelope code (also: SANDBOX_HTTP_STATUS_ERRORS=1).",
)
def sandbox_command(
    host: str,
    port: int,
    state_file: Path,
    accounts: int | None,
    seed: str,
    random_seed: int | None,
    http_status_errors: bool | None,
    **faults: float | None,
) -> None:
    """Run a local OutSmart-compatible API with a demo account, on loopback.

    Tokens: OUTSMART_TOKEN and OUTSMART_SOFTWARE_TOKEN if set, else
    sandbox-token / sandbox-software-token. Faults are off unless asked for
    (flags here, or SANDBOX_* environment variables).

    With --accounts N it serves N accounts instead, as OutSmart serves an installer's
    customers: account-001 answers to the token sandbox-token-account-001 and keeps its
    state in sandbox-account-001.json beside --state (OUTSMART_TOKEN is not used); the
    software token is shared, as above.

    \b
    Exit codes: 0 stopped (Ctrl-C or SIGTERM), 2 usage error (address, state file).
    \b
    Examples:
      portal-config sandbox                       # http://127.0.0.1:8808/openapi/8/
      portal-config sandbox --from portals --state /tmp/state.json
      portal-config sandbox --latency 50 --error-rate 0.1 --random-seed 1
      portal-config sandbox --accounts 3          # account-001 ... account-003
    """
    from portal_config.project.config import url_problem
    from portal_config.run.seed import account_from_directory
    from portal_config.sandbox.demo import demo_account
    from portal_config.sandbox.runner import serve
    from portal_config.sandbox.tokens import account_names, account_state_path

    if url_problem(f"http://{host}:{port or 1}/"):
        raise UsageError(f"--host {host}: the sandbox only listens on loopback addresses")
    if seed != "demo":
        if not Path(seed).is_dir():
            raise UsageError(f"--from {seed}: no such directory")
        state_files = (
            [state_file]
            if accounts is None
            else [account_state_path(state_file, name) for name in account_names(accounts)]
        )
        existing = next((path for path in state_files if path.exists()), None)
        if existing is not None:
            # --from only seeds a new state file; silently serving the old one would
            # make the user believe the sandbox holds their files.
            raise UsageError(
                f"--from {seed}: the state file {existing} already exists and would be "
                "served as it is; delete it or pass another --state"
            )
    serve(
        host,
        port,
        state_file,
        demo_account if seed == "demo" else lambda: account_from_directory(Path(seed)),
        {**faults, "seed": random_seed},
        lambda line: click.echo(line, err=True),
        http_status_errors=http_status_errors,
        accounts=accounts,
    )


def main() -> None:
    # A cancelled CI job sends SIGTERM: stop like Ctrl-C, so apply still reports its results.
    signal.signal(signal.SIGTERM, _terminate)
    cli(prog_name="portal-config")


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
