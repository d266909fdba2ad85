"""The sandbox's account state: portals with revisions, and work types, in one JSON file.

``work_types`` lists the active work types' names, ``inactive_work_types`` (optional,
so older state files still load) the ones OutSmart keeps but no longer offers.

Every change is written atomically (temp file in the same directory, fsync,
rename), so a sandbox killed mid-write leaves either the old or the new file,
never a torn one.
"""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path
from typing import Any

from portal_config.model import FLAGS, WorkType
from portal_config.storage import write_atomically

STATE_VERSION = 1


class StateError(Exception):
    """The state file cannot be used."""


class SandboxState:
    def __init__(self, data: dict[str, Any], path: Path | None = None) -> None:
        _check_shape(data)
        self.data = data
        self.path = path
        self.lock = threading.RLock()
        # (portal, revision) of every "UI" edit, so tests can prove none was overwritten.
        self.ui_edits: list[tuple[str, int]] = []

    # -- construction -----------------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> SandboxState:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StateError(
                f"cannot read sandbox state {path}: {exc.__class__.__name__}"
            ) from None
        return cls(data, path)

    @classmethod
    def open(cls, path: Path | None, seed: dict[str, Any]) -> SandboxState:
        """The state at ``path`` if it exists, else a new one from ``seed`` (saved there)."""
        if path is not None and path.exists():
            return cls.load(path)
        state = cls(copy.deepcopy(seed), path)
        state.save()
        return state

    # -- reads ------------------------------------------------------------------------
    def page(self, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
        with self.lock:
            ids = sorted(self.data["portals"])
            pages = max(1, -(-len(ids) // per_page))
            chosen = ids[(page - 1) * per_page : page * per_page]
            return [copy.deepcopy(self.data["portals"][i]) for i in chosen], pages

    def get(self, portal: str) -> dict[str, Any] | None:
        with self.lock:
            record = self.data["portals"].get(portal)
            return copy.deepcopy(record) if record is not None else None

    def work_types(self) -> list[str]:
        """The active work types: the ones a guest may be offered."""
        with self.lock:
            return list(self.data["work_types"])

    def inactive_work_types(self) -> list[str]:
        """Work types OutSmart keeps but no longer offers (older state files have none)."""
        with self.lock:
            return list(self.data.get("inactive_work_types", []))

    def all_work_types(self) -> list[WorkType]:
        """Every work type of the account, active ones first, as `GET worktypes/` lists them."""
        return [WorkType(name) for name in self.work_types()] + [
            WorkType(name, active=False) for name in self.inactive_work_types()
        ]

    # -- writes -----------------------------------------------------------------------
    def replace(
        self, portal: str, revision: int, guest: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | None]:
        """Compare-and-swap on the revision. Returns (envelope code, the record after)."""
        with self.lock:
            record = self.data["portals"].get(portal)
            if record is None:
                return 404, None
            if record["revision"] != revision:
                return 409, copy.deepcopy(record)
            record["guest_workorder"] = copy.deepcopy(guest)
            record["revision"] += 1
            self.save()
            return 200, copy.deepcopy(record)

    def edit(self, portal: str, **changes: Any) -> dict[str, Any]:
        """A change made "in the OutSmart UI": new settings and a new revision."""
        with self.lock:
            record = self.data["portals"][portal]
            record["guest_workorder"].update(changes)
            record["revision"] += 1
            self.ui_edits.append((portal, record["revision"]))
            self.save()
            return copy.deepcopy(record)

    def save(self) -> None:
        if self.path is None:
            return
        with self.lock:
            # Compact: saved after every write under the lock, so its cost serializes writes.
            text = json.dumps(self.data, ensure_ascii=False, separators=(",", ":")) + "\n"
            write_atomically(self.path, text)


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
