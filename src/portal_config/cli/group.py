"""The `portal-config` click group: every PortalConfigError becomes one line and its exit
code, and SIGTERM stops a run as Ctrl-C does."""

from __future__ import annotations

import importlib
import os
import signal
import sys
from typing import Any

import click

from portal_config import __version__
from portal_config.errors import ExitCode, PortalConfigError

# Importing render.plan here would add ~50 ms to every lint start-up (the plan model and
# its dependencies); tests keep this list equal to render.plan.PLAN_FORMATS.
PLAN_FORMAT_NAMES = ("text", "markdown", "json")


# Which module of this package defines each command. A command's module is imported when
# the command is asked for, so `lint` (on every commit) loads the lint commands' module
# only: start-up: the others cost `lint` ~10 ms and ~3 MiB.
COMMANDS = {
    "lint": "files",
    "fmt": "files",
    "rules": "files",
    "explain": "files",
    "diff": "plans",
    "plan": "plans",
    "drift": "plans",
    "show": "plans",
    "apply": "writes",
    "pull": "writes",
    "init": "project",
    "schema": "project",
    "accounts": "project",
    "sandbox": "sandbox",
    "report": "report",
}


class _Group(click.Group):
    """Turns every PortalConfigError into one clear line on stderr and its exit code, and
    loads a command's module when the command is asked for."""

    aliases = {"plan": "diff"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        # An alias is shown in its command's help line, not as a command of its own.
        return sorted(name for name in COMMANDS if name not in self.aliases)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            importlib.import_module(f"portal_config.cli.{module}")  # registers its commands
        return super().get_command(ctx, cmd_name)

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


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="portal-config")
def cli() -> None:
    """Keep OutSmart Klantportaal portal settings in git, reviewed.

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


def main() -> None:
    # A cancelled CI job sends SIGTERM: stop like Ctrl-C, so apply still reports its results.
    signal.signal(signal.SIGTERM, _terminate)
    cli(prog_name="portal-config")


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
