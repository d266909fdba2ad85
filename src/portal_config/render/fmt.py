"""What `portal-config fmt` prints: each file it (would) rewrite, each problem that stopped
one, and a summary line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from portal_config.escaping import escape_text
from portal_config.render.lint import Style, problem_line

if TYPE_CHECKING:
    from portal_config.files.canonical import FormatRun


def render_format_run(run: FormatRun) -> str:
    """The run as text; a path is data, shown escaped, and a problem as lint shows one."""
    verb = "would reformat" if run.check else "reformatted"
    lines = [f"{verb} {escape_text(file.path)}" for file in run.changed]
    lines += [
        problem_line(problem, Style(color=False))
        for file in run.failed
        for problem in file.problems
    ]
    unchanged = len(run.files) - len(run.changed) - len(run.failed)
    done = "would be reformatted" if run.check else "reformatted"
    lines.append(
        f"fmt: {len(run.changed)} {done}, {unchanged} already formatted, {len(run.failed)} failed."
    )
    return "\n".join(lines) + "\n"
