"""The project config file, `portal-config.yaml`, found by walking up from the cwd.

    portals_dir: portals          # where lint looks by default
    catalog: worktypes.yaml       # the account's work-type catalog (optional file)
    rules:                        # per rule: error | warning | disable
      permissive-guest-access: error

Paths are relative to the config file. Every mistake is a `ConfigError` whose
message starts with ``invalid config:`` and names file, line and column.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portal_config.errors import ConfigError
from portal_config.loader import Document, JsonPath, load_file
from portal_config.problems import Level
from portal_config.rules import RULES

CONFIG_NAME = "portal-config.yaml"
DEFAULT_PORTALS_DIR = "portals"
DEFAULT_CATALOG = "worktypes.yaml"
RULE_SETTINGS = ("error", "warning", "disable")

_KEYS = ("portals_dir", "catalog", "rules", "targets", "default_target", "safety")


@dataclass(frozen=True)
class Config:
    root: Path
    source: Path | None = None
    portals_dir: Path = Path(DEFAULT_PORTALS_DIR)
    catalog: Path = Path(DEFAULT_CATALOG)
    catalog_required: bool = False
    rule_levels: Mapping[str, Level | None] = field(default_factory=dict)
    document: Document | None = None  # the parsed file, so later checks can cite positions

    def level_of(self, rule_id: str) -> Level | None:
        """The configured level of a rule; None means disabled."""
        if rule_id in self.rule_levels:
            return self.rule_levels[rule_id]
        default: Level = RULES[rule_id].LEVEL
        return default


def find_config(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def load_config(explicit: Path | None = None, cwd: Path | None = None) -> Config:
    """Load the given config file, or the nearest one above ``cwd``, or the defaults."""
    here = (cwd or Path.cwd()).resolve()
    source = explicit if explicit is not None else find_config(here)
    if source is None:
        return Config(
            root=here, portals_dir=here / DEFAULT_PORTALS_DIR, catalog=here / DEFAULT_CATALOG
        )
    if not source.is_file():
        raise ConfigError(f"{source}: file not found")
    result = load_file(source)
    if result.problems:
        first = result.problems[0]
        raise ConfigError(f"{first.location()}: {first.message}")
    assert result.document is not None
    return _parse(result.document, source.resolve().parent, source)


def config_error(
    document: Document, path: JsonPath, message: str, *, key: bool = False
) -> ConfigError:
    """An `invalid config:` error pointing at ``path`` in the config file."""
    return ConfigError(f"{document.path}:{document.locate(path, key=key)}: {message}")


def _parse(document: Document, root: Path, source: Path) -> Config:
    data = document.data

    def fail(path: JsonPath, message: str, *, key: bool = False) -> ConfigError:
        return config_error(document, path, message, key=key)

    for key in data:
        if key not in _KEYS:
            raise fail((key,), _unknown(key, _KEYS, "setting"), key=True)
    portals_dir = _path_setting(data, "portals_dir", DEFAULT_PORTALS_DIR, fail)
    catalog = _path_setting(data, "catalog", DEFAULT_CATALOG, fail)
    rules = data.get("rules", {})
    if rules is None:
        rules = {}
    if not isinstance(rules, dict):
        raise fail(("rules",), "rules must be a mapping of rule id to error, warning or disable")
    levels: dict[str, Level | None] = {}
    for rule_id, setting in rules.items():
        if rule_id not in RULES:
            raise fail(("rules", rule_id), _unknown(rule_id, tuple(RULES), "rule"), key=True)
        if setting not in RULE_SETTINGS:
            raise fail(
                ("rules", rule_id),
                f"rules.{rule_id} must be one of {', '.join(RULE_SETTINGS)}, got {setting!r}",
            )
        levels[rule_id] = None if setting == "disable" else Level(setting)
    return Config(
        root=root,
        source=source,
        portals_dir=root / portals_dir,
        catalog=root / catalog,
        catalog_required="catalog" in data,
        rule_levels=levels,
        document=document,
    )


def _path_setting(
    data: dict[str, Any], key: str, default: str, fail: Callable[..., ConfigError]
) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise fail((key,), f"{key} must be a non-empty path, got {value!r}")
    return value


def _unknown(name: str, known: tuple[str, ...], what: str) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else f"; known: {', '.join(known)}"
    return f"unknown {what} '{name}'{hint}"
