"""The profiles as they were at a three-way plan's base, so a base portal file that extends
profiles is compared by its effective settings then, not by its own few lines."""

from __future__ import annotations

from portal_config.lint.loader import load_bytes
from portal_config.lint.profiles import Profiles, profiles_from
from portal_config.project.config import Config
from portal_config.project.history import base_files
from portal_config.project.lint_scope import lint_scope


def base_profiles(config: Config, ref: str) -> Profiles:
    """The profiles in the project's profile directories at the merge-base with ``ref``
    (the repository's and the account's defaults as the config names them now)."""
    scope = lint_scope(config)
    loaded = [
        load_bytes(data, f"{path}@{ref}")
        for directory in scope.profile_dirs
        for path, data in base_files(config.root, ref, directory).files
    ]
    return profiles_from(loaded, scope.extends)
