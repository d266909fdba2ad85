"""The profiles a saved plan's desired settings came from, and whether they still give them.

A portal that extends profiles has effective settings no single file holds: the plan
saves them, and records each profile file it merged (by its path in the repository and
the sha256 of its bytes) with the portals that extend it. When `apply plan.json` finds a
recorded file changed or gone, it resolves those portals again from the current files:
a field the plan covers that now comes out differently makes the plan stale (the reviewed
plan is no longer what the files say); a profile edit that reaches nothing the plan
covers leaves it valid.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portal_config.file_access import Repository, UnreadableFile, read_bounded
from portal_config.lint.document import Document
from portal_config.lint.loader import MAX_BYTES, load_file
from portal_config.lint.profiles import Profiles, load_profiles
from portal_config.project.base_profiles import BaseFile
from portal_config.project.config import Config
from portal_config.project.history import repository_root
from portal_config.project.lint_scope import lint_scope
from portal_config.settings.model import PortalSettings


@dataclass(frozen=True)
class ProfileDigest:
    """A profile file a plan's portals extend, as it was when the plan was made."""

    file: str  # its path in the repository, with slashes
    sha256: str  # of its bytes
    portals: tuple[str, ...]  # the planned portals that extend it

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "sha256": self.sha256, "portals": list(self.portals)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProfileDigest:
        return cls(data["file"], data["sha256"], tuple(data["portals"]))


def record_profiles(config: Config, documents: Sequence[Document]) -> tuple[ProfileDigest, ...]:
    """The profile files ``documents`` (valid portal documents) extend, with their digests.

    Every profile in a portal's chain is recorded, not only those that set a field: a
    profile that sets nothing today could set a planned field tomorrow."""
    repository = Repository(config.root)
    profiles = load_profiles(lint_scope(config), repository)
    if not profiles:
        return ()
    reached: dict[str, list[str]] = {}
    for document in documents:
        for profile in profiles.chain(document.data.get("extends")):
            reached.setdefault(profile.document.path, []).append(document.data["portal"])
    return tuple(
        sorted(
            (
                ProfileDigest(
                    _in_repository(path, config.root),
                    _digest(Path(path), repository),
                    tuple(sorted(set(portals))),
                )
                for path, portals in reached.items()
            ),
            key=lambda record: record.file,
        )
    )


def edited_profiles(config: Config, base: Sequence[BaseFile]) -> tuple[str, ...]:
    """The profile files (as sources name them) whose bytes differ from ``base`` (the
    profile files at the merge-base, `base_profile_files`), or that are new since: the
    branch's profile edits, which a three-way plan's fan-out credits."""
    scope = lint_scope(config)
    root = repository_root(config.root, "--base").resolve()
    then = {path: hashlib.sha256(data).hexdigest() for path, data in base}
    repository = Repository(config.root)
    edited = []
    for profile in load_profiles(scope, repository).by_name.values():
        path = Path(profile.document.path)
        try:
            in_git = path.resolve().relative_to(root).as_posix()
        except ValueError:
            continue  # outside the repository: no base to compare with
        if then.get(in_git) != _digest(path, repository):
            edited.append(profile.document.path)
    return tuple(sorted(edited))


# A planned portal as the check needs it: its file and its desired settings, by portal.
Planned = Mapping[str, tuple[str, PortalSettings]]


def stale_profiles(config: Config, records: Sequence[ProfileDigest], planned: Planned) -> list[str]:
    """Why the plan is stale because of its profiles, one reason per changed profile file
    that now changes a planned field; none when every recorded file is as it was, or what
    changed reaches no field the plan covers."""
    repository = Repository(config.root)
    changed = {r.file: _change(config, r, repository) for r in records}
    moved = {file: how for file, how in changed.items() if how is not None}
    if not moved:
        return []
    profiles = load_profiles(lint_scope(config), repository)
    blamed: dict[str, list[str]] = {}
    for portal in sorted({p for r in records if r.file in moved for p in r.portals}):
        if portal not in planned:
            continue
        mine = [r.file for r in records if r.file in moved and portal in r.portals]
        for file, field_name in _differing(config, profiles, planned[portal], mine):
            blamed.setdefault(file, []).append(f"{portal} {field_name}")
    return [
        f"{file} {moved.get(file, 'changed')} since the plan was made, and the portals "
        f"extending it now differ from the plan: {', '.join(fields)}"
        for file, fields in blamed.items()
    ]


def _differing(
    config: Config, profiles: Profiles, planned: tuple[str, PortalSettings], changed: list[str]
) -> Iterator[tuple[str, str]]:
    """(the changed profile to blame, the field) for each planned field of a portal whose
    effective value the current files no longer give."""
    file, desired = planned
    path = _portal_path(config, file)
    loaded = load_file(path, repository=Repository(config.root)) if path is not None else None
    effective = profiles.effective(loaded.document) if loaded and loaded.document else None
    now = _comparable(effective, desired.portal) if effective is not None else None
    if effective is None or now is None:
        # The portal file is gone or no longer settings: none of its fields resolve again.
        yield from ((changed[0], name) for name in _names(desired.comparable()))
        return
    settings = effective.resolution.settings if effective.resolution is not None else {}
    for section, fields in desired.comparable().items():
        for name, value in fields.items():
            if now.get(section, {}).get(name, _UNSET) == value:
                continue
            setting = settings.get((section, name))
            by = _in_repository(setting.origin.file, config.root) if setting else None
            yield (by if by in changed else changed[0]), f"{section}.{name}"


_UNSET = object()


def _comparable(effective: Document, portal: str) -> dict[str, Any] | None:
    """The effective settings as plain data, field by field; None when they cannot be read
    as settings. Not held to the schema: a value it would refuse simply differs from the
    plan's, and a field left unset by a deleted profile is simply not managed."""
    if not isinstance(effective.data, dict):
        return None
    try:
        return PortalSettings.from_file_data({**effective.data, "portal": portal}).comparable()
    except (TypeError, ValueError, AttributeError, KeyError):
        return None


def _names(comparable: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return [f"{section}.{name}" for section, fields in comparable.items() for name in fields]


def _change(config: Config, record: ProfileDigest, repository: Repository) -> str | None:
    """How the recorded profile file differs now: "changed", "was deleted", "was shadowed
    by" an account's own profile of its name (which now wins), or None: as recorded."""
    path = config.root / record.file
    for directory in lint_scope(config).profile_dirs:
        if directory == path.parent:
            break
        for suffix in (".yaml", ".yml"):
            own = directory / (path.stem + suffix)
            if own.is_file():
                return f"was shadowed by {_in_repository(str(own), config.root)}"
    try:
        digest = _digest(path, repository)
    except FileNotFoundError:
        return "was deleted"
    except (OSError, UnreadableFile):
        return "cannot be read"
    return None if digest == record.sha256 else "changed"


def _digest(path: Path, repository: Repository) -> str:
    return hashlib.sha256(read_bounded(path, MAX_BYTES, repository)).hexdigest()


def _portal_path(config: Config, file: str) -> Path | None:
    """A planned portal's file: as the plan names it (from where diff ran), else from the
    repository's top; None outside the repository (a plan is not trusted to name files)."""
    given = Path(file).absolute() if Path(file).is_file() else config.root / file
    root = config.root.resolve()
    return given if given.resolve().is_relative_to(root) else None


def _in_repository(path: str, root: Path) -> str:
    """``path`` (as lint names it: from the cwd) from the repository's top, with slashes."""
    absolute = Path(path).absolute()
    try:
        return absolute.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()
