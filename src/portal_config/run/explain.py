"""Explain: each portal's effective settings, where each field was set and what it overrode."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from portal_config.errors import PortalConfigError
from portal_config.file_access import Repository
from portal_config.lint.profiles import load_profiles
from portal_config.lint.reader import read
from portal_config.paths import display
from portal_config.project.config import Config
from portal_config.project.lint_scope import lint_scope
from portal_config.settings.effective import FieldKey, Lock, Resolution, Setting
from portal_config.settings.table import active


@dataclass(frozen=True)
class Waived:
    """A waiver of the portal file's, as explain shows it beside the field it waives."""

    expires: str | None
    owner: str | None
    reason: str | None


@dataclass(frozen=True)
class Explained:
    """One portal file's effective settings, and the profiles they start from, in order."""

    portal: str
    file: str
    profiles: tuple[str, ...]
    resolution: Resolution
    # The portal file's waivers by the field they name (section.field).
    waivers: Mapping[str, Waived] = field(default_factory=dict)

    def lock(self, key: FieldKey) -> Lock | None:
        """The lock a profile put on ``key``, if any."""
        return self.resolution.locks.get(key)

    @property
    def fields(self) -> list[tuple[FieldKey, Setting]]:
        """Every effective field and how it was set, in the settings table's order."""
        settings = self.resolution.settings
        keys = [(s.name, f.name) for s, f in active().fields()]
        return [(key, settings[key]) for key in keys if key in settings]


def explain(config: Config, paths: Sequence[Path]) -> list[Explained]:
    """Each portal file's resolution; a file that does not load stops with its problem."""
    explained = []
    for path in paths:
        view = config.view_of(path)
        scope = lint_scope(view)
        repository = Repository(scope.root)
        profiles = load_profiles(scope, repository)
        loaded = read(path, display(path), repository)
        if loaded.document is None or not isinstance(loaded.document.data, dict):
            first = loaded.problems[0] if loaded.problems else None
            reason = f"{first.location()}: {first.message}" if first else "not a portal file"
            raise PortalConfigError(f"explain: {reason}")
        document = loaded.document
        chain = profiles.chain(document.data.get("extends"))
        explained.append(
            Explained(
                str(document.data.get("portal", path.stem)),
                document.path,
                tuple(profile.name for profile in chain),
                profiles.resolve(document),
                _waivers(document.data.get("waivers")),
            )
        )
    return explained


def _waivers(listed: object) -> dict[str, Waived]:
    """The waivers a portal file lists, by field; lint reports the malformed ones."""
    found: dict[str, Waived] = {}
    for entry in listed if isinstance(listed, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("field"), str):
            found[entry["field"]] = Waived(
                *(_text(entry.get(key)) for key in ("expires", "owner", "reason"))
            )
    return found


def _text(value: object) -> str | None:
    return None if value is None else str(value)
