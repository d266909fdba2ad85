"""Lint report renderers: text (with source snippets), json (stable shape), github, sarif.

Each renderer takes the Report, the sources for snippets, and the `Style` (colour,
--strict, --errors-only, the per-rule table), and returns the whole output as one string.
`FORMATS` feeds the CLI's ``--format`` choice. --errors-only hides warnings from the two
formats people read (text, github) but never from the count, the verdict or the machine
formats (json, sarif), which always hold every problem.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import click

from portal_config import TOOL
from portal_config.escaping import escape_line, escape_text
from portal_config.problems import Level, Problem, Report
from portal_config.storage import json_text

JSON_FORMAT = "portal-config-lint"
# Version 2: `format` added, summary.passed renamed to summary.ok (the name the plan and
# the apply report use).
JSON_VERSION = 2


@dataclass(frozen=True)
class Style:
    color: bool
    strict: bool = False
    # Warnings are left out of the lines shown, as yamllint's --no-warnings does, but still
    # counted in the summary and still failing --strict: hiding them changes no verdict.
    errors_only: bool = False
    # The per-rule counts before the summary line (lint's own text output; the errors diff
    # and apply print before refusing are few, and stay as they were).
    statistics: bool = False

    def shows(self, problem: Problem) -> bool:
        return not self.errors_only or problem.level is Level.ERROR

    def paint(self, text: str, **styles: object) -> str:
        return click.style(text, **styles) if self.color else text  # type: ignore[arg-type]


_LEVEL_COLORS = {Level.ERROR: "red", Level.WARNING: "yellow"}


def render_text(report: Report, sources: Mapping[str, str], style: Style) -> str:
    lines: list[str] = []
    split_sources = {path: text.split("\n") for path, text in sources.items()}
    for problem in report.sorted_problems():
        if style.shows(problem):
            lines.append(problem_line(problem, style))
            lines.extend(_snippet(problem, split_sources.get(problem.path), style))
    if style.statistics and report.problems:
        # Set apart from the last snippet, whose lines also start with spaces.
        lines.extend(([""] if lines else []) + rule_statistics(report, style))
    lines.append(summarize(report, style.strict, style.errors_only))
    return "\n".join(lines) + "\n"


def rule_statistics(report: Report, style: Style) -> list[str]:
    """One line per rule and level, most frequent first, as ``ruff --statistics`` prints:
    the shape of a thousand problems in a few lines. Hidden warnings are counted too, so
    --errors-only still says what it leaves out."""
    counts = Counter((problem.rule, problem.level) for problem in report.problems)

    def most_first(item: tuple[tuple[str, Level], int]) -> tuple[int, bool, str]:
        (rule, level), count = item
        return (-count, level is not Level.ERROR, rule)  # ties: errors first, then by name

    order = sorted(counts.items(), key=most_first)
    width = len(str(max(counts.values())))
    level_width = max(len(level.value) for level in Level)
    lines = []
    for (rule, level), count in order:
        # Padded outside the colour codes, so the column lines up by what is seen.
        shown = style.paint(level.value, fg=_LEVEL_COLORS[level])
        padding = " " * (level_width - len(level.value))
        lines.append(f"  {count:>{width}}  {shown}{padding}  {escape_text(rule)}")
    return lines


def problem_line(problem: Problem, style: Style) -> str:
    """One problem as a line of text: its path and message (a file's keys and values) are
    data, shown escaped, so neither can start a line of its own or drive the terminal."""
    level = style.paint(problem.level.value, fg=_LEVEL_COLORS[problem.level], bold=True)
    location = style.paint(escape_text(problem.location()), bold=True)
    return f"{location}: {level} [{problem.rule}] {escape_line(problem.message)}"


def summarize(report: Report, strict: bool = False, errors_only: bool = False) -> str:
    files = len(report.files)
    noun = "file" if files == 1 else "files"
    errors, warnings = report.count(Level.ERROR), report.count(Level.WARNING)
    if not errors and not warnings:
        return f"{files} {noun} checked: no problems"
    hidden = " not shown" if errors_only and warnings else ""
    parts = [_plural(errors, "error"), _plural(warnings, "warning") + hidden]
    verdict = "failed" if report.failed(strict) else "passed"
    return f"{files} {noun} checked: {', '.join(parts)} ({verdict})"


def render_json(report: Report, sources: Mapping[str, str], style: Style) -> str:
    per_file = {path: {"path": path, "errors": 0, "warnings": 0} for path in report.files}
    for problem in report.problems:
        entry = per_file.setdefault(
            problem.path, {"path": problem.path, "errors": 0, "warnings": 0}
        )
        entry["errors" if problem.level is Level.ERROR else "warnings"] += 1  # type: ignore[operator]
    payload = {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "tool": TOOL,
        "summary": {
            "files": len(report.files),
            "errors": report.count(Level.ERROR),
            "warnings": report.count(Level.WARNING),
            "strict": style.strict,
            "ok": not report.failed(style.strict),
        },
        "files": sorted(per_file.values(), key=lambda entry: str(entry["path"])),
        "problems": [problem_json(p) for p in report.sorted_problems()],
    }
    return json_text(payload)


def render_github(report: Report, sources: Mapping[str, str], style: Style) -> str:
    lines = []
    for problem in filter(style.shows, report.sorted_problems()):
        props = [f"file={_escape_property(problem.path)}"]
        if problem.position:
            props += [f"line={problem.position.line}", f"col={problem.position.column}"]
        props.append(f"title={_escape_property('portal-config ' + problem.rule)}")
        lines.append(f"::{problem.level.value} {','.join(props)}::{_escape_data(problem.message)}")
    lines.append(summarize(report, style.strict, style.errors_only))
    return "\n".join(lines) + "\n"


def render_sarif(report: Report, sources: Mapping[str, str], style: Style) -> str:
    from portal_config.render.sarif import (
        render_sarif as sarif_log,  # start-up: --version skips its rule registry (~15 ms)
    )

    return sarif_log(report)


Renderer = Callable[[Report, Mapping[str, str], Style], str]
FORMATS: dict[str, Renderer] = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
    "sarif": render_sarif,
}


def _snippet(problem: Problem, lines: list[str] | None, style: Style) -> list[str]:
    if problem.position is None or lines is None or problem.position.line > len(lines):
        return []
    number = problem.position.line
    source = lines[number - 1].replace("\t", " ")
    if len(source) > 160:  # long lines: show the part around the caret
        start = max(0, problem.position.column - 80)
        source, offset = source[start : start + 160], start
    else:
        offset = 0
    # The line is the file's: shown escaped, with the caret under the escaped column.
    column = len(escape_text(source[: max(0, problem.position.column - 1 - offset)]))
    source = escape_text(source)
    gutter = " " * len(str(number))
    caret = " " * column + "^"
    return [
        f" {number} | {source}",
        f" {gutter} | {style.paint(caret, fg=_LEVEL_COLORS[problem.level], bold=True)}",
    ]


def problem_json(problem: Problem) -> dict[str, object]:
    return {
        "path": problem.path,
        "line": problem.position.line if problem.position else None,
        "column": problem.position.column if problem.position else None,
        "level": problem.level.value,
        "rule": problem.rule,
        "message": problem.message,
    }


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _escape_data(text: str) -> str:
    # GitHub's own escapes for the line breaks it decodes; every other control character
    # would reach the log raw, so it is made visible.
    return escape_line(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")
