"""The sandbox's account state: portals with revisions, and work types, in one JSON file.

``work_types`` lists the active work types' names, ``inactive_work_types`` (optional,
so older state files still load) the ones OutSmart keeps but no longer offers.
``serial`` (optional too) counts the saves.

Every change is written atomically (temp file in the same directory, fsync,
rename), so a sandbox killed mid-write leaves either the old or the new file,
never a torn one.

Several processes may serve one state file at once (two `portal-config apply` runs
on the in-process target, or `portal-config sandbox` beside one). The file on disk is
the truth: every write takes an exclusive ``flock`` on ``<state>.lock``, always reads the
file, takes in its data if its ``serial`` (raised by every save) is not the one this
process last saw, validates the request and checks the revision against that data,
writes, and lets go. So a write one process answered 200 is never overwritten by
another process's stale copy. Reads take in a newer file when its identity (inode,
size, mtime) changed: cheap, but not proof (an inode is reused, a clock is coarse), so
a read may be stale; that costs a conflict on the next write, never a lost write.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from portal_config import envelope
from portal_config.model import FLAGS, WorkType
from portal_config.storage import PRIVATE, write_atomically

STATE_VERSION = 1

# Which file the in-memory data came from, for reads to notice a newer one without
# reading it. Writes never trust it (see the module docstring).
_Identity = tuple[int, int, int]


class StateError(Exception):
    """The state file cannot be used."""


class SandboxState:
    def __init__(
        self, data: dict[str, Any], path: Path | None = None, *, seen: _Identity | None = None
    ) -> None:
        _check_shape(data)
        self.data = data
        self.path = path
        self.lock = threading.RLock()
        self._seen = seen
        self._flock_depth = 0  # how deep this process already holds the file lock
        # (portal, revision) of every "UI" edit, so tests can prove none was overwritten.
        self.ui_edits: list[tuple[str, int]] = []

    # -- construction -----------------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> SandboxState:
        data, seen = _read(path)
        return cls(data, path, seen=seen)

    @classmethod
    def open(cls, path: Path | None, seed: dict[str, Any]) -> SandboxState:
        """The state at ``path`` if it exists, else a new one from ``seed`` (saved there)."""
        if path is None:
            return cls(copy.deepcopy(seed))
        state = cls(copy.deepcopy(seed), path)
        # Under the file lock, so two processes starting at once do not both seed it.
        with state._exclusive():
            if path.exists():
                state.data, state._seen = _read(path)
            else:
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
            return _work_types_of(self.data)

    # -- writes -----------------------------------------------------------------------
    def replace(
        self, portal: str, revision: int, guest: Any
    ) -> tuple[int, dict[str, Any] | None, str | None]:
        """Validate ``guest`` and compare-and-swap on the revision, as one step under the
        file lock, so both judge the same version of the file.

        Returns (envelope code, the record after or the current one on a conflict,
        why the write was refused).
        """
        with self._exclusive():
            record = self.data["portals"].get(portal)
            if record is None:
                return envelope.NOT_FOUND, None, "portal not found"
            problem = valid_guest(guest, _work_types_of(self.data))
            if problem:
                return envelope.INVALID, None, problem
            if record["revision"] != revision:
                why = "revision conflict: the portal changed since it was read"
                return envelope.CONFLICT, copy.deepcopy(record), why
            record["guest_workorder"] = copy.deepcopy(guest)
            record["revision"] += 1
            self.save()
            return envelope.OK, copy.deepcopy(record), None

    def edit(self, portal: str, **changes: Any) -> dict[str, Any]:
        """A change made "in the OutSmart UI": new settings and a new revision."""
        with self._exclusive():
            record = self.data["portals"][portal]
            record["guest_workorder"].update(changes)
            record["revision"] += 1
            self.ui_edits.append((portal, record["revision"]))
            self.save()
            return copy.deepcopy(record)

    def save(self) -> None:
        """Write the in-memory data as it is (callers change it under ``_exclusive``)."""
        if self.path is None:
            return
        with self._file_lock():
            # Every save a new serial: how the next writer knows the file is not its copy.
            self.data["serial"] = _serial(self.data) + 1
            # Compact: saved after every write under the lock, so its cost serializes writes.
            text = json.dumps(self.data, ensure_ascii=False, separators=(",", ":")) + "\n"
            write_atomically(self.path, text)
            # Nobody else can replace the file while the lock is held: this is our version.
            self._seen = _identity(os.stat(self.path))

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

    def _take_in_newer_file(self) -> None:
        if self.path is None:
            return
        try:
            current = _identity(os.stat(self.path))
        except FileNotFoundError:
            return  # not written yet (open() is seeding it)
        if current != self._seen:
            self.data, self._seen = _read(self.path)

    def _take_in_other_saves(self) -> None:
        """Under the file lock: the file's data, if another process saved since we did.

        Always read, never judged by the file's identity: an inode is reused and a clock
        is coarse, so another save can look unchanged. The serial cannot.
        """
        if self.path is None or not self.path.exists():
            return  # not written yet (open() is seeding it)
        data, seen = _read(self.path)
        if _serial(data) != _serial(self.data):
            self.data = data
        self._seen = seen


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


def _work_types_of(data: dict[str, Any]) -> list[WorkType]:
    # From one version of the data: reading the two lists apart could mix two versions.
    return [WorkType(name) for name in data["work_types"]] + [
        WorkType(name, active=False) for name in data.get("inactive_work_types", [])
    ]


def record_for(portal: str, name: str, guest: dict[str, Any], revision: int = 1) -> dict[str, Any]:
    return {"portal_id": portal, "name": name, "revision": revision, "guest_workorder": guest}


def valid_guest(body: Any, work_types: list[WorkType]) -> str | None:
    """Why a write body's guest settings are unacceptable, or None if they are fine."""
    if not isinstance(body, dict):
        return "guest_workorder must be an object"
    if not isinstance(body.get("enabled"), bool):
        return "guest_workorder.enabled must be a boolean"
    for flag in FLAGS:
        if not isinstance(body.get(flag, False), bool):
            return f"guest_workorder.{flag} must be a boolean"
    types = body.get("work_types", [])
    if not isinstance(types, list) or not all(isinstance(t, str) and t for t in types):
        return "guest_workorder.work_types must be a list of names"
    active = {w.name: w.active for w in work_types}
    for name in types:
        if name not in active:
            return f"unknown work type: {name}"
        if not active[name]:
            return f"inactive work type: {name}"
    extra = set(body) - {"enabled", *FLAGS, "work_types"}
    if extra:
        return f"unknown field: {sorted(extra)[0]}"
    return None


def _check_shape(data: Any) -> None:
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        raise StateError("sandbox state has an unknown format")
    if not isinstance(data.get("portals"), dict) or not isinstance(data.get("work_types"), list):
        raise StateError("sandbox state needs 'portals' and 'work_types'")
    if not isinstance(data.get("inactive_work_types", []), list):
        raise StateError("sandbox state: 'inactive_work_types' must be a list")
    serial = data.get("serial", 0)
    if not isinstance(serial, int) or isinstance(serial, bool):
        raise StateError("sandbox state: 'serial' must be a whole number")
