"""What a run takes from the command line, as one value handed down whole.

The CLI builds it once from its options; the fleet hands each account a copy with that
account's own paths filled in (`dataclasses.replace`), never a longer parameter list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ApplyOptions:
    """apply's options: where it writes, how it may, and what it reports.

    ``report_file`` may hold ``{account}`` in a many-account repository (one report
    per account); ``parallel`` is how many accounts are planned at once.
    """

    target: str | None = None
    assume_yes: bool = False
    allow_large_change: bool = False
    report_file: Path | None = None
    require_tip: str | None = None
    concurrency: int | None = None
    parallel: int | None = None
    accounts: tuple[str, ...] = ()
