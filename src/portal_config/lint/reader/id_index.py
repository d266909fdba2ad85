"""Each project file's portal id, remembered between runs by its stat.

A pre-commit run lints a few files but must know every other file's id (duplicate ids).
Reading 10,000 files for that costs more than the rest of the run, so the ids read once
are kept in ``.portal-config/lint-ids`` and trusted again while a file's stat (inode,
size, mtime and ctime, in nanoseconds) is unchanged: one stat per file instead of a read.

When in doubt the file is read, never trusted:

* racy files, as git calls them: a file changed within the filesystem's timestamp
  granularity of the moment it was read can be changed again without its stat
  changing. An entry is trusted only if the file's mtime and ctime are older than the
  start of the run that read it by more than that granularity (`granularity`);
* any file whose stat differs in any field (an edit of any size, a rename over it, a
  checkout), and any path the index does not hold (a new or renamed file);
* the whole index, when it cannot be read or parsed in full (a torn write, a version of
  another layout, a link): the run reads every file, and writes a new index.

Several processes may run at once: each writes a complete index to a temporary file
and renames it into place (atomic), so a reader sees one run's index or another's,
each right for the stats it records. The index's ``.gitignore`` beside it keeps it out of
git even in a repository that ignores nothing (`portal-config init` ignores the
directory too).
"""

from __future__ import annotations

import os
import time

from portal_config.file_access import Repository, UnreadableFile, read_bounded

NAME = "lint-ids"
_HEADER = "portal-config lint-ids 1"
# A file system that keeps nanoseconds stamps files from the kernel's coarse clock,
# one tick (1 to 10 ms) behind: 100 ms covers it with room to spare. One that keeps
# whole seconds (ext3, HFS+) or two (FAT) truncates: its files get 2 s.
GRANULARITY_NS = 100_000_000
COARSE_GRANULARITY_NS = 2_000_000_000
_LIMIT = 64 * 1024 * 1024  # far above 100,000 files' entries; a larger file is not ours


def _key(status: os.stat_result) -> str:
    """Inode, size, mtime and ctime (ns), as the index's line holds them: compared as
    text, so loading 10,000 entries converts no numbers."""
    return f"{status.st_ino}\t{status.st_size}\t{status.st_mtime_ns}\t{status.st_ctime_ns}"


def granularity(status: os.stat_result) -> int:
    """How far apart two changes of the file may be and still leave the same stamps."""
    whole = status.st_mtime_ns % 1_000_000_000 == 0 and status.st_ctime_ns % 1_000_000_000 == 0
    return COARSE_GRANULARITY_NS if whole else GRANULARITY_NS


class IdIndex:
    """The ids one run may trust, and what it learns for the next run.

    An id is the text of the file's one plain ``portal:`` line, or "" for a file whose
    id only loading it tells (see lint's ``_portal_line``).
    """

    def __init__(self, directory: str | None) -> None:
        if directory is not None and os.path.islink(directory):
            # A link committed in its place could send the index's writes anywhere.
            directory = None
        self.directory = directory
        self.started = time.time_ns()  # before any stat of this run: see the module doc
        self._stamp = 0
        self._known: dict[str, tuple[str, str]] = {}  # path -> (stat key, portal id)
        if directory is not None:
            self._stamp, self._known = _load(directory)
        self._seen: dict[str, tuple[str, str]] = {}
        self._changed = False

    def lookup(self, absolute: str, status: os.stat_result) -> str | None:
        """The id recorded for the file, if its stat says it cannot have changed."""
        entry = self._known.get(absolute)
        if entry is None or entry[0] != _key(status):
            return None
        newest = max(status.st_mtime_ns, status.st_ctime_ns)
        if newest >= self._stamp - granularity(status):
            return None  # racy: it may have changed again within the same timestamp
        self._seen[absolute] = entry
        return entry[1]

    def record(self, absolute: str, status: os.stat_result, portal: str) -> None:
        """What reading the file found, stat'ed before it was read."""
        if "\t" in absolute or "\n" in absolute:
            return  # not representable in a line of the index: read it every time
        self._seen[absolute] = (_key(status), portal)
        self._changed = True

    def save(self) -> None:
        """Write the index for the next run if this run learned anything: the files it
        saw only (deleted and renamed-away paths drop out). Failures only cost speed."""
        if self.directory is None or not (self._changed or self._seen.keys() != self._known.keys()):
            return
        lines = [f"{_HEADER}\t{self.started}\n"]
        for path, (key, portal) in self._seen.items():
            lines.append(f"{path}\t{key}\t{portal}\n")
        try:
            _write(self.directory, "".join(lines))
        except OSError:
            pass  # a read-only checkout: the next run reads the files again


def _load(directory: str) -> tuple[int, dict[str, tuple[str, str]]]:
    try:  # as a file of the directory: a link in its place is not followed
        raw = read_bounded(os.path.join(directory, NAME), _LIMIT, Repository(directory))
        text = raw.decode("utf-8")
    except (OSError, UnreadableFile, UnicodeDecodeError):
        return 0, {}
    lines = text.split("\n")
    header = lines[0].split("\t")
    if len(header) != 2 or header[0] != _HEADER or not header[1].isdigit() or lines[-1]:
        return 0, {}
    known: dict[str, tuple[str, str]] = {}
    for line in lines[1:-1]:
        path, _, rest = line.partition("\t")
        key, sep, portal = rest.rpartition("\t")
        if not sep:
            return 0, {}  # not a line of ours: trust none of it
        # The key is not parsed: a damaged one cannot equal the key of a real stat.
        known[path] = (key, portal)
    return int(header[1]), known


def _write(directory: str, text: str) -> None:
    os.makedirs(directory, mode=0o700, exist_ok=True)
    # Created, never opened if anything (a link included) is there already: a link
    # committed as this name must not make lint write where it leads.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        ignore = os.open(os.path.join(directory, ".gitignore"), flags, 0o644)
    except FileExistsError:
        pass
    else:
        with os.fdopen(ignore, "w", encoding="utf-8") as stream:
            # Only what lint writes: anything else kept here stays the user's to decide.
            stream.write(f"# portal-config's lint cache: never committed.\n/{NAME}\n/.{NAME}.*\n")
            stream.write("/.gitignore\n")
    import tempfile  # start-up: with shutil and random, only for a run that learned ids

    handle, temporary = tempfile.mkstemp(prefix=f".{NAME}.", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, os.path.join(directory, NAME))
    except BaseException:
        os.unlink(temporary)
        raise
