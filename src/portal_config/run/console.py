"""Where a run writes: results on ``out``, diagnostics on ``err``, and the one question.

A value the CLI builds once from its options and the terminal; the run below it never
touches click's globals, and a test (or a fleet's account) can hand it lists to write to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from portal_config.escaping import escape_line
from portal_config.plan.value import RefusedError

if TYPE_CHECKING:
    from portal_config.plan.results import PortalResult
    from portal_config.plan.value import Plan
    from portal_config.problems import Report
    from portal_config.run.outcomes import AccountResult


class Views(Protocol):
    """What a run shows while it runs, as text: the plan before the question, each
    portal as its write is answered, the problems that refuse the files, an account's
    group in a many-account apply. render/ gives them (`render.views.VIEWS`): run/ sits
    below render/ and is handed them in its Console."""

    def plan(self, plan: Plan, header: str, color: bool) -> str: ...

    def result(self, result: PortalResult, width: int, color: bool, progress: bool) -> str: ...

    def problems(self, report: Report, sources: Mapping[str, str], color: bool) -> str: ...

    def account(self, result: AccountResult[Any], body: str) -> tuple[str, str, str]:
        """An account's group in a many-account run, in the order shown: its heading
        and ``body`` (stdout), its diagnostics (stderr), its failure (stdout)."""
        ...

    def summary(self, results: list[AccountResult[Any]]) -> str: ...


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
    views: Views
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


def show_account(console: Console, result: AccountResult[Any], body: str = "") -> None:
    """An account's group of a many-account run, as it happened: output, stderr, failure."""
    group, diagnostics, failure = console.views.account(result, body)
    console.out(group)
    if diagnostics:
        console.err(diagnostics)
    if failure:
        console.out(failure)
