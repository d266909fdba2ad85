"""The commands on the portal files themselves: lint, fmt, rules and explain."""

from __future__ import annotations

import inspect
import os
import sys
from dataclasses import replace
from pathlib import Path

import click

from portal_config.cli.group import cli, use_color
from portal_config.cli.options import account_option, config_option
from portal_config.errors import ExitCode, PortalConfigError, UsageError
from portal_config.escaping import escape_text
from portal_config.paths import display
from portal_config.render.fmt import render_format_run
from portal_config.render.lint import FORMATS, Style

# Every command module is imported at start-up, so what only one command runs is imported
# in its body: the lint pipeline (yaml, the config reader, the rules) adds about 25 ms to
# `--version`, `init` and `schema`, which never read a portal file, and fmt's ruamel.yaml
# (~35 ms more) is never loaded by lint.


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "-f",
    "output_format",
    type=click.Choice(list(FORMATS)),
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
@config_option
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
@account_option
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
    from portal_config.project.config_reader import (
        load_config,  # start-up: --version skips the lint pipeline (~25 ms)
    )

    config = load_config(config_path)
    if catalog is not None:
        if config.is_fleet:
            raise UsageError("--catalog: each account has its own, accounts/<name>/worktypes.yaml")
        if not catalog.is_file():
            raise PortalConfigError(f"--catalog {catalog}: file not found")
        config = replace(config, catalog=catalog.resolve(), catalog_origin="--catalog")
    chosen = output_format or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    from portal_config.project.accounts import (
        lint_accounts,  # start-up: --version skips the lint pipeline (~25 ms)
    )

    run, views = lint_accounts(config, accounts, paths)
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
@config_option
def fmt_command(paths: tuple[Path, ...], check: bool, config_path: Path | None) -> None:
    """Rewrite portal files in the canonical form pull writes, keeping comments.

    Keys in schema order, booleans as true/false, block lists, strings quoted
    only where YAML 1.1 would misread them; in a portal file, a value equal to
    what it inherits from its profiles (redundant-override) is taken out. Never
    changes the settings lint reads: a file with values lint reads as numbers
    or null, or that does not load, is reported and left alone. PATHS default
    to the configured portals directory.

    \b
    Exit codes: 0 formatted (or, with --check, nothing to change),
                1 with --check some file would change, or some file could not
                  be formatted (its problem is printed), 2 usage or config error.
    \b
    Examples:
      portal-config fmt
      portal-config fmt --check               # in CI or pre-commit
    """
    from portal_config.files.canonical import (
        format_paths,  # start-up: lint never loads ruamel.yaml (~35 ms)
    )
    from portal_config.lint.check import (
        require_portals_dir,  # start-up: --version skips the lint pipeline (~25 ms)
    )
    from portal_config.project.config_reader import (
        load_config,  # start-up: --version skips the lint pipeline (~25 ms)
    )
    from portal_config.project.lint_scope import (
        existing_profile_dirs,  # start-up: --version skips the lint pipeline (~25 ms)
        lint_scope,
    )

    config = load_config(config_path)
    views = [config.for_account(name) for name in config.accounts] or [config]
    if not paths:
        for view in views:  # with many accounts, every account's portals
            require_portals_dir(lint_scope(view))
    defaults = [view.portals_dir for view in views] + existing_profile_dirs(views)
    run = format_paths(list(paths) or defaults, config, check=check)
    click.echo(render_format_run(run), nl=False)
    sys.exit(run.exit_code)


@cli.command("rules")
@click.argument("rule_ids", metavar="[RULE]...", nargs=-1)
@config_option
def rules_command(rule_ids: tuple[str, ...], config_path: Path | None) -> None:
    """List the lint rules: the level in effect here, the default, and the documentation.

    \b
    Exit codes: 0 listed, 2 unknown rule or invalid config.
    \b
    Examples:
      portal-config rules
      portal-config rules permissive-guest-access
    """
    from portal_config.lint.rules import (
        RULES,  # start-up: --version skips the rule registry (~15 ms)
    )
    from portal_config.lint.rules.base import (
        closest,  # start-up: --version skips the rule registry (~15 ms)
    )
    from portal_config.project.config_reader import (
        load_config,  # start-up: --version skips the lint pipeline (~25 ms)
    )
    from portal_config.project.lint_scope import (
        lint_scope,  # start-up: --version skips the lint pipeline (~25 ms)
    )

    config = load_config(config_path)
    for rule_id in rule_ids:
        if rule_id not in RULES:
            close = closest(rule_id, list(RULES))
            hint = f"; did you mean '{close}'?" if close else ""
            raise PortalConfigError(f"unknown rule '{rule_id}'{hint}")
    for rule_id in rule_ids or tuple(RULES):
        rule = RULES[rule_id]
        level = lint_scope(config).level_of(rule_id)
        effective = level.value if level is not None else "disabled"
        default = rule.LEVEL.value
        origin = (
            f"set in the config; default {default}" if rule_id in config.rule_levels else "default"
        )
        click.echo(f"{rule_id} ({effective}; {origin})")
        for line in inspect.cleandoc(rule.__doc__ or "").splitlines():
            click.echo(f"    {line}".rstrip())
        click.echo()


@cli.command("explain")
@click.argument(
    "portals", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: schema/explain.schema.json.",
)
@config_option
def explain_command(
    portals: tuple[Path, ...], output_format: str, config_path: Path | None
) -> None:
    """Show each effective field of PORTAL files: its value, the file and line that set
    it (a profile's or the portal file's), and the value it overrode.

    \b
    Exit codes: 0 shown, 2 usage or config error, or a file or a profile it
                extends that cannot be read or resolved.
    \b
    Examples:
      portal-config explain portals/acme-facilities.yaml
      portal-config explain portals/*.yaml --format json
    """
    from portal_config.project.config_reader import (
        load_config,  # start-up: --version skips the lint pipeline (~25 ms)
    )
    from portal_config.render.explain import (
        render_json,  # start-up: --version skips the lint pipeline (~25 ms)
        render_text,
    )
    from portal_config.run.explain import (
        explain,  # start-up: --version skips the lint pipeline (~25 ms)
    )
    from portal_config.storage import json_text  # start-up: as render.explain above

    explained = explain(load_config(config_path), portals)
    if output_format == "json":
        # The one JSON layout of every output: a bidi or C1 control in a value escaped.
        click.echo(json_text(render_json(explained)), nl=False)
    else:
        click.echo(render_text(explained), nl=False)
