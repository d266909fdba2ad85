"""The work-type catalog's text as pull writes it: a new file, or the names the file
lists brought to live's in place, its comments kept."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from portal_config.file_access import Repository
from portal_config.files.canonical import CanonicalError, mapping
from portal_config.files.roundtrip import dump, scalar, set_names
from portal_config.lint.loader import load_file
from portal_config.settings.model import WorkType


def catalog_text(work_types: Sequence[WorkType], path: Path, repository: Repository) -> str | None:
    """The catalog's new text, or None when it already lists the live work types."""
    active = sorted({w.name for w in work_types if w.active})
    inactive = sorted({w.name for w in work_types if not w.active} - set(active))
    if not path.is_file():
        return _new_catalog(active, inactive)
    loaded = load_file(path, repository=repository)
    data = loaded.document.data if loaded.document is not None else None
    if (
        isinstance(data, dict)
        and _names(data.get("work_types")) == set(active)
        and _names(data.get("inactive_work_types", [])) == set(inactive)
    ):
        return None
    try:
        assert loaded.text is not None and data is not None
        return update_catalog(loaded.text, active, inactive)
    except (AssertionError, CanonicalError):
        return _new_catalog(active, inactive)  # unreadable: nothing to keep


def update_catalog(text: str, active: Sequence[str], inactive: Sequence[str]) -> str:
    """The catalog ``text`` with names added and removed to match; comments kept.

    New names go in at their sorted place, so a sorted list stays sorted.
    """
    tree = mapping(text, "the catalog")
    for key, names in (("work_types", active), ("inactive_work_types", inactive)):
        if names or key in tree:
            set_names(tree, key, names, ("work_types", "inactive_work_types"), sort_new=True)
    return dump(tree)


def _new_catalog(active: Sequence[str], inactive: Sequence[str]) -> str:
    lines = [
        "# Work types of the OutSmart account, as OutSmart spells them.",
        "# Refreshed by `portal-config pull`; lint checks portal work types against it.",
        "work_types:" if active else "work_types: []",
        *[f"  - {scalar(name)}" for name in active],
    ]
    if inactive:
        lines += [
            "# Switched off in OutSmart: guests cannot be offered these (rule inactive-work-type).",
            "inactive_work_types:",
            *[f"  - {scalar(name)}" for name in inactive],
        ]
    return "\n".join(lines) + "\n"


def _names(value: Any) -> set[str] | None:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        return None
    return set(value)
