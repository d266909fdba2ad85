"""What `pull` last wrote into each file, so it can tell its own text from a local edit.

Git answers "are there local edits?" only for files it tracks: in a git-ignored
directory or outside any repository, a file pull wrote and a file someone edited look
alike. So pull keeps, per directory it writes into, the SHA-256 of each file's bytes as it
wrote them, in the project's local state (``.portal-config/``, git-ignored):

    .portal-config/pulled/<first 16 hex of sha256(real directory path)>.json
    {"directory": "/abs/real/path", "files": {"acme.yaml": "<sha256 hex>"}}

A file whose bytes hash to what pull wrote holds no local edit and may be replaced. A
lost or damaged record only makes pull ask for ``--force`` (or git) again: it never
lets an edit be overwritten. One record per directory keeps accounts pulled in parallel
(each its own directory) from writing the same record.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from portal_config.file_access import RefusedWrite, Repository, UnreadableFile, read_bounded
from portal_config.storage import json_text, write_atomically

STATE_DIR = ".portal-config"
# A name and a hash are about 100 bytes: room for far more files than a directory holds.
MAX_BYTES = 16 * 1024 * 1024


class PullRecord:
    """The hashes pull wrote into one directory; `save` keeps them for the next pull."""

    def __init__(self, root: Path, directory: Path) -> None:
        self.directory = os.path.realpath(directory)
        key = hashlib.sha256(self.directory.encode("utf-8")).hexdigest()[:16]
        self.path = root / STATE_DIR / "pulled" / f"{key}.json"
        self._repository = Repository(root)
        self.files = self._read()
        self._changed = False

    def wrote(self, name: str, data: bytes) -> bool:
        """Whether ``data`` is exactly what pull last wrote to ``name``."""
        return self.files.get(name) == _digest(data)

    def note(self, name: str, data: bytes) -> None:
        """``name`` holds ``data`` as pull writes it (just written, or already so)."""
        digest = _digest(data)
        if self.files.get(name) != digest:
            self.files[name] = digest
            self._changed = True

    def save(self) -> None:
        if not self._changed:
            return
        record = {"directory": self.directory, "files": dict(sorted(self.files.items()))}
        try:
            write_atomically(self.path, json_text(record), repository=self._repository)
        except (OSError, RefusedWrite):
            # The files are written; an unsaved record only makes the next pull ask git,
            # or for --force, again: stricter, never a lost edit. Not worth failing for.
            # (A committed .portal-config linking out of the checkout is not followed.)
            return
        self._changed = False

    def _read(self) -> dict[str, str]:
        try:
            raw = read_bounded(self.path, MAX_BYTES, self._repository)
            data = json.loads(raw) if len(raw) <= MAX_BYTES else None
        except (OSError, UnreadableFile, ValueError):
            return {}  # none yet, or unusable: pull then asks git, or for --force
        if not isinstance(data, dict) or data.get("directory") != self.directory:
            return {}
        files = data.get("files")
        if not isinstance(files, dict):
            return {}
        return {k: v for k, v in files.items() if isinstance(k, str) and isinstance(v, str)}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
