"""Explain: each portal's effective settings, where each field was set and what it overrode."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from portal_config.errors import PortalConfigError
from portal_config.file_access import Repository
from portal_config.lint.document import Document
from portal_config.lint.profiles import Profiles, load_profiles
from portal_config.lint.reader import read
from portal_config.lint.rules import unknown_profile
from portal_config.lint.waivers import Waiver, waivers
from portal_config.paths import display
from portal_config.project.config import Config
from portal_config.project.lint_scope import lint_scope
from portal_config.settings.effective import FieldKey, Lock, Resolution, Setting
from portal_config.settings.table import active


@dataclass(frozen=True)
class Explained:
    """One portal file's effective settings, and the profiles they start from, in order."""

    portal: str
    file: str
    profiles: tuple[str, ...]
    resolution: Resolution
    # The portal file's waivers by the field they name (section.field).
    waivers: Mapping[str, Waiver] = field(default_factory=dict)

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
        refusal = _unresolved(document, profiles)
        if refusal is not None:
            raise PortalConfigError(f"explain: {refusal}")
        chain = profiles.chain(document.data.get("extends"))
        explained.append(
            Explained(
                str(document.data.get("portal", path.stem)),
                document.path,
                tuple(profile.name for profile in chain),
                profiles.resolve(document),
                {waiver.field: waiver for waiver in waivers(document)},
            )
        )
    return explained


def _unresolved(document: Document, profiles: Profiles) -> str | None:
    """Why the file's effective settings cannot be known (an `extends:` that is not a list
    of names, a profile that is missing or fails to load or its schema), at its line; None
    when they can. Explaining without that profile would show settings no command uses."""
    own = document.data.get("extends")
    if own is not None and not isinstance(own, list):
        where = document.locate(("extends",))
        return f"{document.path}:{where}: extends must be a list of profile names"
    for index, name in enumerate(own or []):
        if not isinstance(name, str):
            where = document.locate(("extends", index))
            return f"{document.path}:{where}: extends[{index}] must be a profile name"
    for name in profiles.named(own):
        file = profiles.file_of(name)
        if file is None:
            message = unknown_profile.message(name, list(profiles.by_name))
            if own and name in own:  # the portal's own entry, else a default the config names
                return f"{document.path}:{document.locate(('extends', own.index(name)))}: {message}"
            origin = profiles.default_origin or document.path
            at = profiles.default_positions.get(name)
            return f"{origin}:{at}: {message}" if at else f"{origin}: {message}"
        if not profiles.usable(name):
            first = next((p for p in profiles.problems if p.path == file), None)
            reason = f"{first.location()}: {first.message}" if first else f"{file}: invalid"
            return f"{reason} (profile '{name}')"
    return None
