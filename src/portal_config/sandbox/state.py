"""The sandbox's account state: portals with revisions, and work types, in one JSON file
plus an append-only journal of the writes since that file was written.

``work_types`` lists the active work types' names, ``inactive_work_types`` (optional,
so older state files still load) the ones OutSmart keeps but no longer offers.
``serial`` (optional too) counts the saves.

A write appends one line to ``<state>.journal`` (the portal's record after the write, and
the new serial) and fsyncs it before it is answered: its cost does not grow with the
account, where rewriting the whole file did (apply at 5,000 portals ran at a quarter of
its 1,000-portal rate). When the journal outgrows the state file, the state file is
rewritten with everything in it (``save``, atomically: temp file, fsync, rename) and the
journal starts again. The state file names its journal with a random token, and a
journal whose first line carries another token (left over from an older state file, or
from a save killed between its two renames) is ignored; a torn last line (a kill
mid-append) is ignored too, and cut off by the next write. So a sandbox killed at any
moment leaves every write it answered, whole, and nothing else.

Several processes may serve one state file at once (two `portal-config apply` runs
on the in-process target, or `portal-config sandbox` beside one). The files on disk are
the truth: every write takes an exclusive ``flock`` on ``<state>.lock``, reads the state
file's first bytes (its serial and token), and takes in the journal lines other
processes appended since it last looked, or the whole state if its serial or token are
not the ones this process last saw; then it validates the request and checks the
revision against that data, appends, and lets go. So a write one process answered 200 is
never overwritten by another process's stale copy. Reads take in newer files when their
identity (inode, size, mtime) changed: cheap, but not proof (an inode is reused, a clock
is coarse), so a read may be stale; that costs a conflict on the next write, never a
lost write.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import re
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from portal_config.live import envelope
from portal_config.sandbox import account
from portal_config.settings.model import WorkType
from portal_config.storage import PRIVATE, write_atomically

# Which files the in-memory data came from (the state file's inode, size and mtime, then
# the journal's), for reads to notice newer ones without reading them. Writes never
# trust it (see the module docstring).
_Identity = tuple[int, ...]

# What every state file this module writes starts with: its serial and its journal's token,
# so a writer learns whether the file changed from its first bytes.
_HEAD = re.compile(rb'\{"version":1,"serial":(\d+),"journal":"([0-9a-f]+)"')
_HEAD_BYTES = 96
_TOKEN = "journal"
# The journal is folded into the state file once it is larger than the state file, and
# not before it holds this much: one rewrite per that many bytes of writes.
_COMPACT_AT_LEAST = 64 * 1024


class StateError(Exception):
    """The state file cannot be used."""


class SandboxState:
    def __init__(
        self, data: dict[str, Any], path: Path | None = None, *, seen: _Identity | None = None
    ) -> None:
        token = data.pop(_TOKEN, None)
        _check_shape(data)
        self.data = data
        self.path = path
        self.lock = threading.RLock()
        self._seen = seen
        self._flock_depth = 0  # how deep this process already holds the file lock
        # What the state file said when this process read or wrote it: its serial and the
        # token naming its journal (None: a file written by something else).
        self._head: tuple[int, str] | None = (
            (_serial(data), token) if isinstance(token, str) else None
        )
        self._journal_end = 0  # bytes of the journal taken in (0: none adopted)
        # (portal, revision) of every "UI" edit, so tests can prove none was overwritten.
        self.ui_edits: list[tuple[str, int]] = []

    # -- construction -----------------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> SandboxState:
        state = cls({"version": account.STATE_VERSION, "portals": {}, "work_types": []}, path)
        state._read_all()
        return state

    @classmethod
    def open(cls, path: Path | None, seed: dict[str, Any]) -> SandboxState:
        """The state at ``path`` if it exists, else a new one from ``seed`` (saved there)."""
        if path is None:
            return cls(copy.deepcopy(seed))
        state = cls(copy.deepcopy(seed), path)
        # Under the file lock, so two processes starting at once do not both seed it.
        with state._exclusive():
            if not path.exists():
                state.save()
        return state

    # -- reads ------------------------------------------------------------------------
    def page(self, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
        with self._fresh():
            ids = sorted(self.data["portals"])
            pages = max(1, -(-len(ids) // per_page))
            chosen = ids[(page - 1) * per_page : page * per_page]
            return [copy.deepcopy(self.data["portals"][i]) for i in chosen], pages

    def get(self, portal: str) -> dict[str, Any] | None:
        with self._fresh():
            record = self.data["portals"].get(portal)
            return copy.deepcopy(record) if record is not None else None

    def work_types(self) -> list[str]:
        """The active work types: the ones a guest may be offered."""
        with self._fresh():
            return list(self.data["work_types"])

    def inactive_work_types(self) -> list[str]:
        """Work types OutSmart keeps but no longer offers (older state files have none)."""
        with self._fresh():
            return list(self.data.get("inactive_work_types", []))

    def all_work_types(self) -> list[WorkType]:
        """Every work type of the account, active ones first, as `GET worktypes/` lists them."""
        with self._fresh():
            return account.work_types_of(self.data)

    # -- writes -----------------------------------------------------------------------
    def replace(
        self, portal: str, revision: int, sections: dict[str, Any], *, store: bool = True
    ) -> tuple[int, dict[str, Any] | None, str | None]:
        """Validate ``sections`` (section name -> the fields the write sets in it; every
        other field keeps its value) and compare-and-swap on the revision, as one step under
        the file lock, so both judge the same version of the file.

        Returns (envelope code, the record after or the current one on a conflict,
        why the write was refused). Without ``store`` the record after is only made up,
        as a server that acknowledges a write and drops it would answer.
        """
        with self._exclusive():
            record = self.data["portals"].get(portal)
            if record is None:
                return envelope.NOT_FOUND, None, "portal not found"
            problem = account.valid_sections(sections, account.work_types_of(self.data))
            if problem:
                return envelope.INVALID, None, problem
            if record["revision"] != revision:
                why = "revision conflict: the portal changed since it was read"
                return envelope.CONFLICT, copy.deepcopy(record), why
            after = copy.deepcopy(record)
            for section, fields in sections.items():  # every field not written keeps its value
                after.setdefault(section, {}).update(copy.deepcopy(fields))
            if not store:
                return envelope.OK, {**after, "revision": revision + 1}, None
            record.clear()
            record.update(after)
            record["revision"] += 1
            self._record_write(portal)
            return envelope.OK, copy.deepcopy(record), None

    def edit(self, portal: str, *, name: str | None = None, **changes: Any) -> dict[str, Any]:
        """A change made "in the OutSmart UI": new settings (or a new display name, which
        portal-config does not manage) and a new revision. Each field changed is the one of
        the first section (in the table's order) that has a field of that name."""
        return self._edit(portal, name, [(account.section_of(f), f, v) for f, v in changes.items()])

    def edit_section(self, portal: str, section: str, changes: dict[str, Any]) -> dict[str, Any]:
        """As `edit`, for fields of one named section."""
        return self._edit(portal, None, [(section, f, v) for f, v in changes.items()])

    def _edit(
        self, portal: str, name: str | None, changes: list[tuple[str, str, Any]]
    ) -> dict[str, Any]:
        with self._exclusive():
            record = self.data["portals"][portal]
            for section, field, value in changes:
                record.setdefault(section, {})[field] = value
            if name is not None:
                record["name"] = name
            record["revision"] += 1
            self.ui_edits.append((portal, record["revision"]))
            self._record_write(portal)
            return copy.deepcopy(record)

    def save(self) -> None:
        """Write the in-memory data as it is, whole, and start a new, empty journal
        (callers change the data under ``_exclusive``)."""
        if self.path is None:
            return
        with self._file_lock():
            # Every save a new serial: how the next writer knows the file is not its copy.
            self.data["serial"] = _serial(self.data) + 1
            token = secrets.token_hex(16)
            head = {"version": self.data["version"], "serial": self.data["serial"], _TOKEN: token}
            rest = {k: v for k, v in self.data.items() if k not in head}
            # Compact, and the head first: writers read only the first bytes (_HEAD).
            text = json.dumps({**head, **rest}, ensure_ascii=False, separators=(",", ":"))
            write_atomically(self.path, text + "\n")
            # Killed here, the old journal's token no longer matches: it is ignored.
            write_atomically(self._journal, json.dumps({_TOKEN: token}) + "\n")
            self._head = (self.data["serial"], token)
            self._journal_end = len(json.dumps({_TOKEN: token})) + 1
            # Nobody else can replace the files while the lock is held: this is our version.
            self._seen = self._identity()

    def _record_write(self, portal: str) -> None:
        """Make the change to ``portal`` durable: one journal line, or a whole save."""
        assert self._flock_depth, "writes happen under the file lock"
        if self.path is None:
            return
        journal_size = self._journal_end
        if self._head is None or not journal_size:
            self.save()  # a state file from elsewhere, or a journal to start: write it whole
            return
        serial = _serial(self.data) + 1
        entry = {"serial": serial, "portal": portal, "record": self.data["portals"][portal]}
        line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        handle = os.open(self._journal, os.O_WRONLY)
        try:
            if os.fstat(handle).st_size != journal_size:
                # Past what was taken in there is only a torn line of a killed writer.
                os.ftruncate(handle, journal_size)
            os.pwrite(handle, line, journal_size)
            os.fsync(handle)  # answered only once it is on disk
        finally:
            os.close(handle)
        self.data["serial"] = serial
        self._journal_end = journal_size + len(line)
        if self._journal_end > max(_COMPACT_AT_LEAST, os.stat(self.path).st_size):
            self.save()
        else:
            self._seen = self._identity()

    # -- sharing the file with other processes ------------------------------------------
    @contextlib.contextmanager
    def _fresh(self) -> Iterator[None]:
        """Hold the thread lock over data that includes every other process's writes."""
        with self.lock:
            self._take_in_newer_file()
            yield

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """The thread lock and the file lock, over the file as it is: the span of one write."""
        with self._file_lock():
            self._take_in_other_saves()
            yield

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        with self.lock:
            if self.path is None or self._flock_depth:
                # flock is per open file: taking it again on a new descriptor would wait
                # for ourselves, so nested spans (a write's save) ride on the outer one.
                self._flock_depth += 1
                try:
                    yield
                finally:
                    self._flock_depth -= 1
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock_path = self.path.with_name(self.path.name + ".lock")
            handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, PRIVATE)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX)
                self._flock_depth = 1
                try:
                    yield
                finally:
                    self._flock_depth = 0
            finally:
                os.close(handle)  # closing the descriptor releases the lock

    @property
    def _journal(self) -> Path:
        assert self.path is not None
        return self.path.with_name(self.path.name + ".journal")

    def _identity(self) -> _Identity | None:
        assert self.path is not None
        try:
            state = os.stat(self.path)
        except FileNotFoundError:
            return None  # not written yet (open() is seeding it)
        try:
            journal = os.stat(self._journal)
            of_journal: _Identity = (journal.st_ino, journal.st_size, journal.st_mtime_ns)
        except FileNotFoundError:
            of_journal = ()
        return (state.st_ino, state.st_size, state.st_mtime_ns, *of_journal)

    def _take_in_newer_file(self) -> None:
        if self.path is None:
            return
        current = self._identity()
        if current is not None and current != self._seen:
            with self._file_lock():
                self._take_in_other_saves()

    def _take_in_other_saves(self) -> None:
        """Under the file lock: what other processes wrote since this one looked.

        The state file's first bytes, never its identity, decide whether it changed (an
        inode is reused, a clock is coarse, so another save can look unchanged; the
        serial and token cannot); if it did not, only the journal's new lines are read.
        """
        if self.path is None or not self.path.exists():
            return  # not written yet (open() is seeding it)
        if self._head is None or _read_head(self.path) != self._head:
            self._read_all()
            return
        if self._journal_end:
            self._journal_end = self._replay(self._journal_end)
        else:  # no journal adopted yet: perhaps another process just started one
            self._journal_end = self._replay(0)
        self._seen = self._identity()

    def _read_all(self) -> None:
        """The state file and its journal, as they are now."""
        assert self.path is not None
        data, seen = _read(self.path)
        token = data.pop(_TOKEN, None)
        _check_shape(data)
        self.data = data
        self._head = (_serial(data), token) if isinstance(token, str) else None
        self._journal_end = self._replay(0)
        self._seen = (*seen, *(self._identity() or ())[3:])

    def _replay(self, start: int) -> int:
        """Apply the journal's whole lines from byte ``start`` (0: check its token first);
        return where the last whole line ends (0 when the journal is not this file's)."""
        if self._head is None:
            return 0
        try:
            with self._journal.open("rb") as stream:
                stream.seek(start)
                chunk = stream.read()
        except FileNotFoundError:
            return 0
        end = start
        for line in chunk.split(b"\n")[:-1]:  # the last piece is empty or torn
            try:
                entry = json.loads(line)
            except ValueError:
                break  # a torn line: what follows it was never acknowledged
            if end == 0:
                if entry != {_TOKEN: self._head[1]}:
                    return 0  # another state file's journal
            elif entry.get("serial") == _serial(self.data) + 1:
                self.data["portals"][entry["portal"]] = entry["record"]
                self.data["serial"] = entry["serial"]
            else:
                break
            end += len(line) + 1
        return end


def _read_head(path: Path) -> tuple[int, str] | None:
    with path.open("rb") as stream:
        found = _HEAD.match(stream.read(_HEAD_BYTES))
    return (int(found[1]), found[2].decode()) if found else None


def _identity(stat: os.stat_result) -> _Identity:
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _read(path: Path) -> tuple[dict[str, Any], _Identity]:
    """The data of the file at ``path`` and the identity of exactly that file.

    One descriptor for both, so a rename by another process in between cannot pair
    one version's data with another version's identity.
    """
    try:
        with path.open("rb") as stream:
            seen = _identity(os.fstat(stream.fileno()))
            data = json.loads(stream.read().decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise StateError(f"cannot read sandbox state {path}: {exc.__class__.__name__}") from None
    _check_shape(data)
    return data, seen


def _serial(data: dict[str, Any]) -> int:
    return int(data.get("serial", 0))  # older state files have none


def _check_shape(data: Any) -> None:
    problem = account.shape_problem(data)
    if problem:
        raise StateError(problem)
