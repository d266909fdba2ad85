"""Paths as messages show them: relative to where the user stands.

A root leaf: lint, the files' writers, the plan and the CLI all name files in messages,
and each must name one the same way.
"""

from __future__ import annotations

import os
from pathlib import Path


def display(path: Path | str) -> str:
    """The path as users should read it: relative to the cwd, unless they share no directory.

    A project's files above the cwd (its config found by walking up, the git root) read
    as ``../portals/a.yaml``; a file elsewhere on the machine keeps its absolute path.
    """
    if isinstance(path, str):
        if not os.path.isabs(path):
            return os.path.normpath(path)  # the usual case, without a Path (lint's walk)
        path = Path(path)
    if path.is_absolute():
        cwd = Path.cwd()
        try:
            return str(path.relative_to(cwd))
        except ValueError:
            pass
        try:
            shared = os.path.commonpath([path, cwd])
        except ValueError:  # another drive
            return str(path)
        return os.path.relpath(path, cwd) if shared != path.anchor else str(path)
    return os.path.normpath(str(path))
