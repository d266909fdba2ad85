"""Fatal conditions: the few things that stop a whole run.

Everything else is a `Problem` value. The CLI catches `PortalConfigError` once,
prints its one-line message and exits with its code, never a traceback.
"""

from __future__ import annotations


class PortalConfigError(Exception):
    """A condition that ends the run with a clear message and a documented exit code."""

    exit_code = 2
    prefix = "error"

    def render(self) -> str:
        return f"{self.prefix}: {self}"


class ConfigError(PortalConfigError):
    """The project config file (or a config option) is invalid."""

    prefix = "invalid config"


class UsageError(PortalConfigError):
    """The command line asks for something that cannot be done."""
