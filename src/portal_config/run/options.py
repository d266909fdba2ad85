"""What a run takes from the command line, as one value handed down whole.

The CLI builds it once from its options; the fleet hands each account a copy with that
account's own paths filled in (`dataclasses.replace`), never a longer parameter list.
How the results are shown (format, --max-chars, colour) is not here: run returns
values, and the CLI renders them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunOptions:
    """diff's, drift's, pull's and apply's options: where a run reads and writes, how
    it may, and what it saves.

    ``out_file`` and ``report_file`` may hold ``{account}`` in a many-account repository
    (one file per account); ``parallel`` is how many accounts run at once.
    """

    target: str | None = None
    concurrency: int | None = None
    parallel: int | None = None
    accounts: tuple[str, ...] = ()
    out_file: Path | None = None  # diff and drift: the plan saved as JSON
    base_ref: str | None = None  # diff: the three-way plan's base
    assume_yes: bool = False
    allow_large_change: bool = False
    report_file: Path | None = None
    require_tip: str | None = None
