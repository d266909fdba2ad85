"""What one lint run reads and how it judges: a plain value the caller builds.

Lint sits below the project config: the caller (the CLI, a plan, the fleet) builds a
`Scope` from its `Config`, and lint never sees the config itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from portal_config.lint.rules import RULES
from portal_config.problems import Level, Position


@dataclass(frozen=True)
class Scope:
    """The project's files and the rules' levels, as one lint run needs them."""

    root: Path  # the project's top: no portal file is read through a link out of it
    portals_dir: Path
    catalog: Path
    # Where the catalog was asked for ("portal-config.yaml:2:10", "--catalog"), so a missing
    # file can be reported there; None: the default, which may be absent.
    catalog_origin: str | None = None
    config_file: Path | None = None  # never linted as a portal file
    account: str | None = None  # whose portals these are, in a many-account repository
    rule_levels: Mapping[str, Level | None] = field(default_factory=dict)
    # Where profiles are (the first holding a name wins), and the profiles every portal
    # extends before its own `extends:` (the repository's, then its account's).
    profile_dirs: tuple[Path, ...] = ()
    extends: tuple[str, ...] = ()
    extends_at: Mapping[str, Position] = field(default_factory=dict)  # in the config file

    def level_of(self, rule_id: str) -> Level | None:
        """The configured level of a rule; None means disabled."""
        if rule_id in self.rule_levels:
            return self.rule_levels[rule_id]
        default: Level = RULES[rule_id].LEVEL
        return default
