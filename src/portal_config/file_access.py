"""The one way portal-config reads a file a repository (or a pull request) can plant.

Every read goes through `read_bounded`, which:

* reads at most ``limit + 1`` bytes (the caller tells "too large" by the extra byte),
  never trusting a size: a FIFO or ``/dev/zero`` has none;
* reads only regular files, found by one ``fstat`` on the open descriptor. The file is
  opened with O_NONBLOCK, so opening a FIFO returns at once instead of waiting for a
  writer, and it is closed unread;
* with a `Repository`, follows a symbolic link below its root only to a YAML file inside
  it that is not under a hidden directory (see `_link_refusal` for why each condition).

The refusals are `UnreadableFile`, whose text is one line for the caller's own format;
any other I/O failure stays an OSError.

Writes below the root are held to the same links (`Repository.write_refusal`): a pull
request can commit ``portals`` as a link to any directory on the runner, and a write
follows the links on its way as surely as a read does.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

YAML_SUFFIXES = (".yaml", ".yml")

# O_NOCTTY: a terminal device opened by mistake must not become the controlling one.
# O_CLOEXEC: a token command started meanwhile inherits no descriptor of ours.
_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CHUNK = 64 * 1024  # reads after the first, sized by fstat: only a file that grew needs them

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


OUTSIDE = "symbolic link leads outside the repository; refusing to follow it"
HIDDEN = "symbolic link leads into a hidden directory; refusing to follow it"


class UnreadableFile(Exception):
    """A file portal-config refuses to read; the text is the reason, one line."""


class RefusedWrite(Exception):
    """A write refused: ``link`` (as spelled) is the link below the root it would follow."""

    def __init__(self, link: str, reason: str) -> None:
        super().__init__(reason)
        self.link = link
        self.reason = reason


class Repository:
    """The project's top, and what is known about the directories read below it.

    One per run: the real path of each directory is asked once (lint reads thousands of
    files from a few directories), and forgotten with the run, so a directory replaced
    by a link later (in a long-lived process) is seen again. What this guards against is
    what a pull request can commit; a local process swapping directories while a run
    reads them is not (it could as well edit the files).
    """

    def __init__(self, root: Path | str) -> None:
        self.root = os.path.realpath(root)
        self._directories: dict[str, str] = {}

    def resolve(self, where: str) -> str:
        """The path to open for ``where`` (absolute): itself when no link is on the way to
        its directory, else its target once `_link_refusal` allows it."""
        if self._real_directory(os.path.dirname(where)) == os.path.dirname(where):
            return where  # a link as the file itself shows when it is opened (ELOOP)
        return self.follow(where)

    def below(self, where: str) -> bool:
        """Whether ``where`` (absolute) is the repository's to guard.

        Decided by the real path of its directory, not by how it is spelled: through an
        alias of the repository (``/tmp/plink -> /tmp/proj``) a committed link is as much
        a pull request's as through the repository's own name. The last part is not
        followed: a link there is the repository's content, which the caller checks.
        """
        if _inside(where, self.root):
            return True  # the common case, without a syscall
        directory, name = os.path.split(where)
        return _inside(os.path.join(self._real_directory(directory), name), self.root)

    def write_refusal(self, path: Path | str) -> tuple[str, str] | None:
        """The link (as spelled) and why, if writing ``path`` would go through a link of
        the repository's that leaves it or leads into a hidden directory; else None.

        Only links whose own directory is in the repository are its content: a link above
        it (``/tmp -> /private/tmp``, an alias of the whole checkout) is the machine's or
        the caller's. The file itself may be a link: a write replaces it (os.replace),
        never writes through it. A path outside the repository is the caller's own.
        """
        return self.directory_refusal(os.path.dirname(os.path.abspath(path)))

    def directory_refusal(self, directory: Path | str) -> tuple[str, str] | None:
        """As `write_refusal`, for every file written into ``directory``."""
        where = os.path.abspath(directory)
        if self._real_directory(where) == where:
            return None  # no link on the way: nothing to follow
        spelled, real_parent = os.sep, os.sep
        for part in where.split(os.sep)[1:]:
            spelled = os.path.join(spelled, part)
            real = os.path.realpath(spelled)
            if real != os.path.join(real_parent, part) and _inside(real_parent, self.root):
                if not _inside(real, self.root):
                    return spelled, OUTSIDE
                if _hidden_beyond(real, real_parent, self.root):
                    return spelled, HIDDEN
            real_parent = real
        return None

    def check_write(self, path: Path | str) -> None:
        """Raise `RefusedWrite` where `write_refusal` finds a reason."""
        refusal = self.write_refusal(path)
        if refusal is not None:
            raise RefusedWrite(*refusal)

    def _real_directory(self, directory: str) -> str:
        real = self._directories.get(directory)
        if real is None:
            real = self._directories[directory] = os.path.realpath(directory)
        return real

    def follow(self, where: str) -> str:
        """The target of the links on the way to ``where``, if they may be followed."""
        real = os.path.realpath(where)
        refusal = _link_refusal(real, self.root)
        if refusal is not None:
            raise UnreadableFile(refusal)
        return real


def read_bounded(path: Path | str, limit: int, repository: Repository | None = None) -> bytes:
    """At most ``limit + 1`` bytes of the regular file at ``path``.

    With a ``repository``, every symbolic link on the way below its root must stay among
    its YAML files: those links are content a pull request can commit. A path outside the
    root (a file named on the command line, a plan in the runner's temp directory, or any
    path without a ``repository``) is the caller's own: its links are followed, but the
    file must still be a regular one.
    """
    where = os.path.abspath(path)
    if repository is None or not repository.below(where):
        return _read(where, _FLAGS, limit)
    # O_NOFOLLOW: a link as the last part fails to open (ELOOP) instead of being followed,
    # so finding a link costs no stat per file. Its target is then checked and opened
    # link-free (realpath resolved every link), so O_NOFOLLOW still holds.
    try:
        return _read(repository.resolve(where), _FLAGS | _NOFOLLOW, limit)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
    return _read(repository.follow(where), _FLAGS | _NOFOLLOW, limit)


def _read(where: str, flags: int, limit: int) -> bytes:
    try:
        handle = os.open(where, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # opening a socket: say what it is
            raise UnreadableFile(_not_regular(os.stat(where).st_mode)) from None
        raise
    try:
        status = os.fstat(handle)
        mode = status.st_mode
        if stat.S_ISDIR(mode):  # as open() says it: each caller words this one already
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), where)
        if not stat.S_ISREG(mode):
            raise UnreadableFile(_not_regular(mode))
        # The size only sizes the first read: os.read allocates the whole request up front
        # (256 KiB for a 300-byte file cost ~30 us a file). It is never trusted as the end:
        # a file that grew meanwhile is read on, to limit + 1 bytes at most.
        left = limit + 1
        want = min(left, status.st_size + 1)
        chunks = []
        while left > 0:
            chunk = os.read(handle, want)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
            want = min(left, _CHUNK)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(handle)


def _link_refusal(real: str, root: str) -> str | None:
    """Why a symbolic link leading to ``real`` is not followed, or None.

    Inside the repository a link may stay (a portal file shared by two names is
    legitimate, and the file it leads to is as reviewable as any other). It may not
    leave the repository (``/proc/self/environ``, a home directory's secrets), nor lead
    into a hidden directory: ``.git/config`` holds the CI checkout's token and
    ``.portal-config/`` local state. And it must lead to a YAML file, as a portal file
    is one: a git-ignored key file beside the checkout is not.
    """
    if not _inside(real, root):
        return OUTSIDE
    if _hidden(real, root):
        return HIDDEN
    if os.path.isdir(real):
        # A walk does not enter it (files reached two ways would be checked twice).
        return "symbolic link leads to a directory; refusing to follow it (link the files)"
    if not real.endswith(YAML_SUFFIXES):
        return "symbolic link leads to a file that is not .yaml or .yml; refusing to follow it"
    return None


def leads_outside(directory: Path, root: Path) -> bool:
    """Whether a link below ``root`` on the way to ``directory`` leads out of it: then it
    is not walked (a link to / would walk the machine), and reading it says why."""
    where = os.path.abspath(directory)
    repository = Repository(root)
    if not repository.below(where):
        return False  # not the repository's: named by the caller, as read_bounded says
    return not _inside(os.path.realpath(where), repository.root)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _hidden_beyond(real: str, start: str, root: str) -> bool:
    """Whether a link in ``start`` leads into a hidden directory it is not already in.

    Within the tool's own ``.portal-config/`` a link may stay; from anywhere into
    ``.git`` (hooks, the checkout's token in its config) it may not.
    """
    target = Path(os.path.relpath(real, root)).parts
    shared = Path(os.path.relpath(start, root)).parts
    common = 0
    while common < min(len(target), len(shared)) and target[common] == shared[common]:
        common += 1
    return any(part.startswith(".") for part in target[common:])


def _hidden(real: str, root: str) -> bool:
    """Whether ``real`` (inside ``root``) is in or under a hidden directory of it."""
    return any(part.startswith(".") for part in Path(os.path.relpath(real, root)).parts)


def _not_regular(mode: int) -> str:
    kind = next((name for test, name in _KINDS if test(mode)), "not a file")
    return f"not a regular file ({kind}); refusing to read it"
