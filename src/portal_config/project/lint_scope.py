"""The project config as lint sees it: the files to read and the rules' levels."""

from __future__ import annotations

from portal_config.lint.scope import Scope
from portal_config.project.config import Config


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
    )
