"""The `portal-config` command line: parse options, call one function, pick the exit code.

No YAML, schema or HTTP logic lives here. Heavy modules are imported inside the
commands that need them, so `lint` (run on every commit) starts fast and never
loads the HTTP client or deepdiff.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from portal_config import __version__
from portal_config.errors import PortalConfigError

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
FORMAT_NAMES = ("text", "json", "github")


class _Group(click.Group):
    """Turns every PortalConfigError into one clear line on stderr and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PortalConfigError as exc:
            click.echo(exc.render(), err=True)
            ctx.exit(exc.exit_code)


def use_color(flag: bool | None, stream: Any = None) -> bool:
    """Colour only on a terminal, never with NO_COLOR set, unless forced by --color."""
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="portal-config")
def cli() -> None:
    """Keep OutSmart Klantportaal guest work order settings in git, reviewed.

    \b
    Examples:
      portal-config lint                  # check portals/ (or the configured dir)
      portal-config lint portals/acme.yaml --format json
      portal-config rules                 # what each rule checks
      portal-config schema > portal.schema.json
    """


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "-f",
    "output_format",
    type=click.Choice(FORMAT_NAMES),
    default=None,
    help="Output format. Default: text, or github when GITHUB_ACTIONS=true.",
)
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
@click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Project config file. Default: the nearest portal-config.yaml above the cwd.",
)
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
def lint(
    paths: tuple[Path, ...],
    output_format: str | None,
    strict: bool,
    config_path: Path | None,
    catalog: Path | None,
    color: bool | None,
) -> None:
    """Check portal files against the schema and the rules.

    PATHS are files or directories (searched recursively for *.yaml and
    *.yml); the default is the configured portals directory.

    \b
    Exit codes: 0 clean, 1 problems found (warnings only with --strict),
                2 usage or config error.
    \b
    Examples:
      portal-config lint
      portal-config lint portals/acme-facilities.yaml --strict
      portal-config lint --format github      # GitHub Actions annotations
    """
    from dataclasses import replace

    from portal_config.config import load_config
    from portal_config.lint import lint as run_lint
    from portal_config.render import FORMATS, Style

    config = load_config(config_path)
    if catalog is not None:
        config = replace(config, catalog=catalog.resolve(), catalog_required=True)
    chosen = output_format or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    targets = list(paths) or [config.portals_dir]
    if not paths and not config.portals_dir.is_dir():
        raise PortalConfigError(
            f"portals directory {config.portals_dir} not found; pass PATHS or set portals_dir"
        )
    run = run_lint(targets, config)
    style = Style(color=use_color(color) and chosen == "text", strict=strict)
    click.echo(FORMATS[chosen](run.report, run.sources, style), nl=False, color=style.color)
    sys.exit(EXIT_PROBLEMS if run.report.failed(strict) else EXIT_OK)


@cli.command("schema")
def schema_command() -> None:
    """Print the portal file JSON Schema (draft 2020-12)."""
    from portal_config.schema import schema_text

    click.echo(schema_text(), nl=False)


@cli.command("rules")
def rules_command() -> None:
    """List the lint rules with their default level and documentation."""
    import inspect

    from portal_config.rules import RULES

    for rule_id, rule in RULES.items():
        click.echo(f"{rule_id} ({rule.LEVEL.value})")
        for line in inspect.cleandoc(rule.__doc__ or "").splitlines():
            click.echo(f"    {line}".rstrip())
        click.echo()


def main() -> None:
    cli(prog_name="portal-config")
