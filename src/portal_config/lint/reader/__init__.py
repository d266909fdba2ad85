"""How lint reads a project: its files, their ids and their documents, fast.

The rest of lint sees Documents and Problems (loader.LoadResult) through one call,
`batch.open_project`; what makes reading and checking them fast stays behind this
package: forked workers, the paused garbage collector and slim outcomes (`batch`), str
paths and the id index (`project`, `tree`, `id_index`), and `read`, which takes
libyaml's composer for an ordinary file (`composer`) and the event builder (loader)
for everything else.
"""

from __future__ import annotations

from pathlib import Path

from portal_config.file_access import Repository, UnreadableFile, read_bounded
from portal_config.lint.loader import MAX_BYTES, MAX_LINE, LoadResult, load_bytes, unreadable
from portal_config.lint.reader.composer import compose


def read(path: Path | str, shown: str, repository: Repository | None) -> LoadResult:
    """loader.load_file's result for the file, by the fastest way that gives the same."""
    data = read_raw(path, shown, repository)
    return data if isinstance(data, LoadResult) else parse(data, shown)


def read_raw(path: Path | str, shown: str, repository: Repository | None) -> bytes | LoadResult:
    """The file's bytes, or the LoadResult that says why it cannot be read: for a caller
    that remembers what it made of the same bytes before (lint.profiles)."""
    try:
        return read_bounded(path, MAX_BYTES, repository)
    except (OSError, UnreadableFile) as exc:
        return LoadResult(shown, None, None, [unreadable(shown, exc)])


def parse(data: bytes, shown: str) -> LoadResult:
    """``read``'s result for a file holding ``data``."""
    text = _plain_text(data)
    if text is not None:
        document = compose(text, shown)
        if document is not None:
            return LoadResult(shown, text, document, [])
    return load_bytes(data, shown)


def _plain_text(data: bytes) -> str | None:
    """The text load_bytes would decode, when none of its own checks (size, UTF-8, line
    length) fails; else None, and load_bytes words what is wrong."""
    if len(data) > MAX_BYTES:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if len(text) > MAX_LINE and max(map(len, text.split("\n"))) > MAX_LINE:
        return None
    return text
