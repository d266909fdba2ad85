"""The one problem type every stage reports, and the report that collects them.

Loading, schema checks, rules and config validation all speak `Problem`; only
conditions that stop the whole run raise `Fatal` (see `errors.py`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple


class Level(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


class Position(NamedTuple):
    """A 1-based line and column in a source file."""

    # A NamedTuple, not a dataclass: the loader makes one per node, thousands per run.
    # YAML marks are 0-based; the loader adds 1 where it reads them (_mark_position).
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One finding: where it is, how bad it is, which check said so, and why."""

    path: str
    position: Position | None
    level: Level
    rule: str
    message: str

    def sort_key(self) -> tuple[str, int, int, str, str]:
        pos = self.position or Position(0, 0)
        return (self.path, pos.line, pos.column, self.rule, self.message)

    def location(self) -> str:
        return f"{self.path}:{self.position}" if self.position else self.path


@dataclass
class Report:
    """All problems of one lint run, plus which files were checked."""

    files: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def extend(self, problems: Iterable[Problem]) -> None:
        self.problems.extend(problems)

    def sorted_problems(self) -> list[Problem]:
        return sorted(self.problems, key=Problem.sort_key)

    def count(self, level: Level) -> int:
        return sum(1 for p in self.problems if p.level is level)

    def failed(self, strict: bool) -> bool:
        if self.count(Level.ERROR):
            return True
        return strict and self.count(Level.WARNING) > 0
