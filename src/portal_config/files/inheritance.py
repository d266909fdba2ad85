"""What fmt and pull need of the profiles a portal file extends: which of its own values
only repeat what it inherits, and taking those out of its text with their comments kept.

An override equal to what it inherits (lint's `redundant-override`) changes nothing:
taking it out keeps the file's effective settings, so fmt does it as it reorders keys,
and pull does it to the files it rewrites. Only a portal file's own values are taken
out; a profile's are left alone, since what a profile repeats depends on the portal
that extends it.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from portal_config.file_access import Repository
from portal_config.files.roundtrip import remove_key
from portal_config.lint.document import Document
from portal_config.lint.profiles import Profiles, load_profiles
from portal_config.project.config import Config
from portal_config.project.lint_scope import lint_scope
from portal_config.settings.effective import FieldKey


class Inheritance:
    """The profiles of a repository's portal files, loaded once per account: a file
    under accounts/<name>/ extends that account's (and the repository's)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._loaded: dict[str | None, Profiles] = {}

    def profiles(self, path: Path) -> Profiles:
        account = self.config.account_of(path)
        if account not in self._loaded:
            scope = lint_scope(self.config.view_of(path))
            self._loaded[account] = load_profiles(scope, Repository(scope.root))
        return self._loaded[account]

    def redundant(self, path: Path, document: Document | None) -> frozenset[FieldKey]:
        return redundant_overrides(self.profiles(path), document)


def redundant_overrides(profiles: Profiles, document: Document | None) -> frozenset[FieldKey]:
    """The fields a portal file sets to exactly what it inherits.

    No fields when it is not a portal file, or extends a profile that is missing or does not
    pass its schema: lint reports that, and what the file inherits is not known until
    it is fixed.
    """
    if document is None or not isinstance(document.data, dict) or "portal" not in document.data:
        return frozenset()
    if profiles.unusable(document):
        return frozenset()
    resolution = profiles.effective(document).resolution
    if resolution is None:
        return frozenset()
    return frozenset(
        found.key for found in resolution.redundant if found.setting.origin.file == document.path
    )


def drop_overrides(tree: CommentedMap, data: dict[str, Any], keys: Collection[FieldKey]) -> Any:
    """Take each (section, field) of ``keys`` out of ``tree`` (a section left empty goes
    too); returns ``data`` (lint's reading of the tree) as the tree now reads."""
    if not keys:
        return data
    data = {name: dict(part) if isinstance(part, dict) else part for name, part in data.items()}
    for section, name in sorted(keys):
        fields = tree.get(section)
        if not isinstance(fields, CommentedMap) or name not in fields:
            continue
        left = remove_key(fields, name, owner=(tree, section))
        del data[section][name]
        if not len(fields):
            remove_key(tree, section, left)
            del data[section]
    return data
