"""The project config as lint sees it: the files to read and the rules' levels."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from portal_config.lint.scope import Scope
from portal_config.project.config import ACCOUNTS_DIR, Config

PROFILES_DIR = "profiles"


def lint_scope(config: Config) -> Scope:
    """What a lint of ``config`` (or of one account's view of it) reads and enables."""
    return Scope(
        root=config.root,
        portals_dir=config.portals_dir,
        catalog=config.catalog,
        catalog_origin=config.catalog_origin,
        config_file=config.source,
        account=config.account,
        rule_levels=config.rule_levels,
        profile_dirs=profile_dirs(config),
        extends=config.extends,
        extends_at=config.extends_at,
    )


def profile_dirs(config: Config) -> tuple[Path, ...]:
    """Where the profiles are, the first holding a name winning: an account's own, then
    the repository's."""
    shared = config.root / PROFILES_DIR
    if config.account is None:
        return (shared,)
    return (config.root / ACCOUNTS_DIR / config.account / PROFILES_DIR, shared)


def existing_profile_dirs(views: Sequence[Config]) -> list[Path]:
    """The profile directories of these views (each account's, the repository's) that
    exist: what fmt formats besides the portals directories."""
    found = dict.fromkeys(d for view in views for d in profile_dirs(view))
    return [directory for directory in found if directory.is_dir()]
