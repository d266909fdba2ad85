"""The `portal-config` click group: every PortalConfigError becomes one line and its exit
code, and SIGTERM stops a run as Ctrl-C does."""

from __future__ import annotations

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
