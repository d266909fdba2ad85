"""Fatal conditions: the few things that stop a whole run.

Everything else is a `Problem` value. The CLI catches `PortalConfigError` once,
prints its one-line message and exits with its code, never a traceback.
"""

from __future__ import annotations

from portal_config.escaping import escape_line
from portal_config.problems import Problem


class PortalConfigError(Exception):
    """A condition that ends the run with a clear message and a documented exit code."""

    exit_code = 2
    prefix = "error"
    # The findings behind it, as values, where there are some (a file's lint errors), so a
    # run that keeps its failure (a fleet's account) can show them without reading its text.
    problems: tuple[Problem, ...] = ()

    def render(self) -> str:
        # A message quotes paths, config values and server messages: one line, escaped.
        # Values it quotes are escaped already (`quote`): escape_line leaves them so.
        return f"{self.prefix}: {escape_line(str(self))}"


class ReasonsError(PortalConfigError):
    """A condition with one reason per argument, each its own ``PREFIX: reason`` line, so
    one run reports every mistake and each line still reads (and greps) on its own."""

    def __str__(self) -> str:
        return "\n".join(str(reason) for reason in self.args)

    def render(self) -> str:
        return "\n".join(f"{self.prefix}: {escape_line(str(reason))}" for reason in self.args)


class ConfigError(ReasonsError):
    """The project config file (or a config option) is invalid; one reason per argument:
    ``invalid config: FILE:LINE:COL: ...``."""

    prefix = "invalid config"


class UsageError(PortalConfigError):
    """The command line asks for something that cannot be done."""


class ExitCode:
    """Every exit code portal-config uses; the table in docs/reference/exit-codes.md
    mirrors this (a test keeps them equal)."""

    OK = 0  # success; diff: no changes
    PROBLEMS = 1  # lint found problems; diff/apply/pull refused invalid or unsafe input files
    USAGE = 2  # bad option or config, or an invalid plan file (click uses 2 for usage errors too)
    CHANGES = 3  # diff: changes present
    API = 4  # the API could not be used: unreachable, unauthorized, refused, rate limited
    REFUSED = 5  # apply refused: stale plan, safety threshold, or no confirmation
    APPLY_FAILED = 6  # apply ran, and at least one portal failed or was skipped
    PARTIAL = 7  # many accounts: some failed (token, API, files, refused), the rest completed
    INTERRUPTED = 130  # Ctrl-C or SIGTERM (128 + SIGINT, as shells report it)
