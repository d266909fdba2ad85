"""Writing files that must never be seen half-written, or by other users."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from portal_config.errors import UsageError
from portal_config.escaping import escape_json
from portal_config.paths import display

if TYPE_CHECKING:
    from portal_config.file_access import Repository

PRIVATE = 0o600


def check_writable(path: Path, option: str, repository: Repository | None = None) -> None:
    """Refuse, before any request, an output file that could not be written later.

    Found after an apply, an unwritable --report would lose the record of what was
    written. The file is replaced by a rename (see write_atomically), so what matters is
    that it is not a directory and that its nearest existing directory takes new files.
    With a ``repository``, a path below its root may not go through a link out of it or
    into a hidden directory (``plans -> ../.git``): the name is the user's, but links in
    a checkout are a pull request's. A path outside the root is written as named.
    """
    refusal = repository.write_refusal(path) if repository is not None else None
    if refusal is not None:
        link, reason = refusal
        raise UsageError(f"{option} {path}: {display(Path(link))}: {reason}")
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a directory")
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: {parent} is not a directory")
    import tempfile  # as above: kept off lint's start-up path

    # A real probe, not os.access: root passes every access check, and read-only
    # file systems only show themselves on an actual write.
    try:
        handle, probe = tempfile.mkstemp(prefix=".portal-config-probe.", dir=parent)
    except OSError as exc:
        raise UsageError(
            f"{option} {path}: cannot create files in {parent} ({exc.strerror})"
        ) from None
    os.close(handle)
    os.unlink(probe)


def json_text(data: object) -> str:
    """The one JSON layout of every file and output portal-config writes."""
    # Readable names stay as written; the controls json.dumps leaves raw do not.
    return escape_json(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"


def write_atomically(
    path: Path, text: str, mode: int = PRIVATE, *, repository: Repository | None = None
) -> None:
    """Write ``text`` so readers see the old file or the new one, never a mix.

    The temp file is created 0600 by mkstemp and only then filled, so a plan or
    report is never readable by others, not even for a moment. With a ``repository``,
    a path below its root is refused (`RefusedWrite`, before any directory is made)
    when a link on the way leaves it: mkdir, mkstemp and the rename all follow links.
    """
    import tempfile  # start-up: lint imports json_text; tempfile costs it ~3 ms (shutil, random)

    if repository is not None:
        repository.check_write(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
