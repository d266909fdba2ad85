"""One account's part of a run, as a value: what it made, its exit code, its failure.

A one-account repository is a run of one (``account`` None); render/ turns these into
text, markdown and JSON, so nothing a run prints is read back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from portal_config.errors import ExitCode
from portal_config.problems import Problem


class Finished(Protocol):
    """What one account's task returns: a value that knows its exit code."""

    @property
    def code(self) -> int: ...


T = TypeVar("T", bound=Finished, covariant=True)


@dataclass(frozen=True)
class AccountResult(Generic[T]):
    """One account's part of a run.

    ``printed`` is what it wrote on stdout as it went (apply's lines, pull's source), kept
    to be shown in its group; ``diagnostics`` its stderr; ``error`` the one failure that
    stopped it, as the user sees it. ``value`` is None when it failed.
    """

    account: str | None
    code: int = ExitCode.OK
    value: T | None = None
    error: str | None = None
    printed: str = ""
    diagnostics: str = ""
    problems: tuple[Problem, ...] = ()  # the findings behind ``error``, where it has some


@dataclass(frozen=True)
class Code:
    """A task's value when its exit code is all there is to it (apply's account runs)."""

    code: int


def is_read_success(code: int) -> bool:
    """diff and drift: changes found is a result, not a failure."""
    return code in (ExitCode.OK, ExitCode.CHANGES)


def is_success(code: int) -> bool:
    return code == ExitCode.OK


def exit_code(results: Sequence[AccountResult[Finished]], read: bool) -> int:
    """One exit code for the run: every account's own if all agree on failing, PARTIAL
    if some failed and others did not, else the most telling success (3 over 0)."""
    succeeded = is_read_success if read else is_success
    failed = [result for result in results if not succeeded(result.code)]
    if any(result.code == ExitCode.INTERRUPTED for result in results):
        return ExitCode.INTERRUPTED  # as in one account: Ctrl-C is what happened
    if not failed:
        return max((result.code for result in results), default=ExitCode.OK)
    if len(failed) == len(results) and len({result.code for result in failed}) == 1:
        return failed[0].code
    return ExitCode.PARTIAL
