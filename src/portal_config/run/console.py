"""Where a run writes: results on ``out``, diagnostics on ``err``, and the one question.

A value the CLI builds once from its options and the terminal; the run below it never
touches click's globals, and a test (or a fleet's account) can hand it lists to write to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from portal_config.escaping import escape_line
from portal_config.plan.value import RefusedError


@dataclass(frozen=True)
class Console:
    """Where a workflow writes: ``out`` for results, ``err`` for diagnostics.

    ``quiet`` drops progress (the plan before apply, each portal as it completes,
    retry lines); results, failures and errors always show. ``verbose`` adds a
    redacted log of every request on stderr.
    """

    out: Callable[[str], None]
    err: Callable[[str], None]
    color: bool
    confirm: Callable[[str], bool] | None  # None: there is no terminal to ask on
    quiet: bool = False
    verbose: bool = False
    # Say what is read from where before a live read: where someone watches the wait (a
    # terminal, a CI log), as git shows progress; pipes and captured output stay as they were.
    watched: bool = False

    def progress(self, text: str) -> None:
        if not self.quiet:
            self.out(text)

    def note(self, line: str) -> None:
        """One line of diagnostics (a retry, an interrupt) on stderr, unless quiet.

        It quotes servers' answers and paths: escaped, so it stays one line of text."""
        if not self.quiet:
            self.err(escape_line(line) + "\n")

    def trace(self, line: str) -> None:
        if self.verbose:
            self.err(escape_line(line) + "\n")


def count_portals(count: int) -> str:
    """``1 portal``, ``3 portals``: as the question, the wait and the fleet's limit say it."""
    return f"{count} portal{'s' if count != 1 else ''}"


def confirm_apply(console: Console, count: int, where: str, assume_yes: bool) -> None:
    """The one question before any write (one account's target, or a fleet's accounts):
    refused without a terminal to ask on, and unless the answer is yes."""
    if assume_yes:
        return
    if console.confirm is None:
        raise RefusedError("no terminal to confirm on; review the plan and pass --yes to apply it")
    if not console.confirm(f"Apply changes to {count_portals(count)} in {where}?"):
        raise RefusedError("not confirmed; nothing was applied")
