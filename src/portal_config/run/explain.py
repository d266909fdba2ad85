"""Explain: each portal's effective settings, where each field was set and what it overrode."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from portal_config.errors import PortalConfigError
from portal_config.file_access import Repository
from portal_config.lint.profiles import load_profiles
from portal_config.lint.reader import read
from portal_config.paths import display
from portal_config.project.config import Config
from portal_config.project.lint_scope import lint_scope
from portal_config.settings.effective import FieldKey, Resolution, Setting
from portal_config.settings.table import active


@dataclass(frozen=True)
class Explained:
    """One portal file's effective settings, and the profiles they start from, in order."""

    portal: str
    file: str
    profiles: tuple[str, ...]
    resolution: Resolution

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
            )
        )
    return explained
