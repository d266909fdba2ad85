"""The profiles as they were at a three-way plan's base, so a base portal file that extends
profiles is compared by its effective settings then, not by its own few lines."""

from __future__ import annotations

from collections.abc import Sequence

from portal_config.lint.loader import load_bytes
from portal_config.lint.profiles import Profiles, profiles_from
from portal_config.project.config import Config
from portal_config.project.history import base_files
from portal_config.project.lint_scope import lint_scope

# A profile file at the base: its path from the repository's top, and its bytes.
BaseFile = tuple[str, bytes]


def base_profile_files(config: Config, ref: str) -> tuple[BaseFile, ...]:
    """The files in the project's profile directories at the merge-base with ``ref``: read
    once, for the base's profiles and for what the branch edited of them."""
    return tuple(
        found
        for directory in lint_scope(config).profile_dirs
        for found in base_files(config.root, ref, directory).files
    )


def base_profiles(config: Config, files: Sequence[BaseFile], ref: str) -> Profiles:
    """The profiles of ``files`` (the base's, `base_profile_files`), with the repository's
    and the account's defaults as the config names them now."""
    loaded = [load_bytes(data, f"{path}@{ref}") for path, data in files]
    return profiles_from(loaded, lint_scope(config).extends)
