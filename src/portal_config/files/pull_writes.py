"""Pull's writes into one directory: what it wrote, left alone or refused, and the check
before each overwrite that no local edit is lost."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from portal_config.file_access import RefusedWrite, Repository, UnreadableFile, read_bounded
from portal_config.files.pull_record import PullRecord
from portal_config.lint.loader import MAX_BYTES, unreadable
from portal_config.paths import display
from portal_config.storage import write_atomically

PUBLIC = 0o644


@dataclass
class PullResult:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # one reason per refused file

    @property
    def failed(self) -> bool:
        return bool(self.refused)


def link_line(link: str, reason: str) -> str:
    """A refused link as lint positions a file-level problem: at 1:1 of the link."""
    return f"{display(Path(link))}:1:1: {reason}"


class PullFiles:
    """Pull's writes into one directory, and the overwrite check before each.

    A file that differs from what pull would write may hold a local edit. It is replaced
    only when its bytes are what pull last wrote there (`PullRecord`: this works in
    git-ignored and non-git directories too), when git tracks it unmodified, or with
    ``--force``. Otherwise it is refused, never silently lost.
    """

    def __init__(self, root: Path, directory: Path, force: bool, result: PullResult) -> None:
        # Read as lint reads: bounded, regular files only, links kept inside the project.
        self.repository = Repository(root)
        self.record = PullRecord(root, directory)
        self.force = force
        self.result = result

    def write(self, path: Path, text: str | None) -> None:
        """Write ``text`` unless it is None (settings match live) or equals the file."""
        shown = display(path)
        if text is None:
            self.result.unchanged.append(shown)  # not rewritten: its bytes and mtime stay
            return
        wanted = text.encode("utf-8")
        if os.path.lexists(path):
            try:
                current = read_bounded(path, MAX_BYTES, self.repository)
            except (OSError, UnreadableFile) as exc:
                problem = unreadable(shown, exc)
                self.result.refused.append(f"{problem.location()}: {problem.message}")
                return
            if current == wanted:
                self.record.note(path.name, current)  # as pull writes it: no edit to keep
                self.result.unchanged.append(shown)
                return
            edits = None
            if not self.force and not self.record.wrote(path.name, current):
                edits = local_edits(path)
            if edits:
                self.result.refused.append(
                    f"{shown}: {edits}; commit or stash them, or pass --force"
                )
                return
        try:
            write_atomically(path, text, mode=PUBLIC, repository=self.repository)
        except RefusedWrite as exc:
            self.result.refused.append(link_line(exc.link, exc.reason))
            return
        self.record.note(path.name, wanted)
        self.result.written.append(shown)


def local_edits(path: Path) -> str | None:
    """Why overwriting this existing file could lose work, or None if git has it all."""
    try:
        done = subprocess.run(
            # --ignored: an ignored file is listed ("!!") instead of passing for clean.
            ["git", "status", "--porcelain", "--ignored", "--", path.name],
            cwd=path.parent,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "git is not available to check it for local edits"
    if done.returncode != 0:
        return "it is not in a git repository, so local edits cannot be ruled out"
    if done.stdout.startswith("!!"):
        return "it is ignored by git, so local edits cannot be ruled out"
    return "it has uncommitted local edits" if done.stdout.strip() else None
