"""A file that failed to load, said as a Problem: YAML's own errors, bytes that are not
UTF-8, tags portal files do not use. One rule id, ``yaml``, for all of them.
"""

from __future__ import annotations

from typing import Any

import yaml

from portal_config.lint.document import CORE, short_tag
from portal_config.problems import Level, Position, Problem

RULE = "yaml"


def position_of(mark: Any) -> Position:
    """A YAML mark as a Position: the one place 0-based marks become 1-based."""
    return Position(mark.line + 1, mark.column + 1)


def problem(path: str, position: Position | None, message: str) -> Problem:
    return Problem(path, position, Level.ERROR, RULE, message)


def tag_message(tag: str, value: str | None) -> str:
    short = short_tag(tag)
    if tag == CORE + "timestamp" and value is not None:
        return f'`{value}` was read as a timestamp; quote it if you meant text: "{value}"'
    return (
        f"tag {short} is not allowed; portal files use only strings, numbers, "
        "booleans, null, lists and mappings"
    )


def syntax_problem(display: str, text: str, exc: yaml.MarkedYAMLError, max_depth: int) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    message = exc.problem or exc.context or "invalid YAML"
    where = position_of(mark) if mark is not None else None
    if "maximum nesting depth" in message:  # libyaml's own limit, far above ours
        message = f"nesting is deeper than {max_depth} levels"
    elif mark is not None and _char_at(text, mark.line, mark.column) == "\t":
        message = "tab character where YAML expects spaces (indent with spaces only)"
    elif exc.context and exc.problem and exc.context_mark is not None:
        message = f"{message} ({exc.context} at {position_of(exc.context_mark)})"
    return problem(display, where, f"syntax error: {message}")


def reader_problem(display: str, text: str, exc: yaml.YAMLError) -> Problem:
    position = getattr(exc, "position", None)
    where = None
    if isinstance(position, int):
        line = text.count("\n", 0, position)
        column = position - (text.rfind("\n", 0, position) + 1)
        where = Position(line + 1, column + 1)
    reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
    return problem(display, where, f"syntax error: {reason}")


def _char_at(text: str, line0: int, column0: int) -> str:
    lines = text.split("\n")
    if 0 <= line0 < len(lines) and 0 <= column0 < len(lines[line0]):
        return lines[line0][column0]
    return ""


def byte_position(data: bytes, offset: int) -> Position:
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset)
    column = len(data[line_start:offset].decode("utf-8", errors="replace"))
    return Position(line + 1, column + 1)
