"""The account's work-type catalog: `worktypes.yaml`, a list of OutSmart work type names.

    # Work types of the OutSmart account; refresh with `portal-config pull`.
    work_types:
      - Storing
      - Onderhoud

It is optional. When present, the unknown-work-type rule checks every portal's
work types against it. A broken catalog is reported like any other file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from portal_config.loader import Document, JsonPath, load_file
from portal_config.problems import Level, Problem

RULE = "catalog"


@dataclass(frozen=True)
class Catalog:
    path: str
    names: tuple[str, ...]


def load_catalog(
    path: Path, display: str, required: bool = False
) -> tuple[Catalog | None, list[Problem]]:
    """Load the catalog; problems come back as values, never raised.

    A missing file is fine unless the config names it (``required``).
    """
    if not path.is_file():
        missing = Problem(display, None, Level.ERROR, RULE, "catalog file not found")
        return None, [missing] if required else []
    result = load_file(path, display)
    if result.document is None:
        return None, result.problems
    document = result.document
    data = document.data
    names = data.get("work_types") if isinstance(data, dict) else None
    problems: list[Problem] = []
    if set(data) - {"work_types"}:
        extra = sorted(set(data) - {"work_types"})[0]
        message = f"unknown key '{extra}'; a catalog holds only work_types"
        problems.append(_problem(display, document, (extra,), message, key=True))
    if not isinstance(names, list):
        message = "work_types must be a list of work type names"
        problems.append(_problem(display, document, ("work_types",), message))
        return None, problems
    for index, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            detail = document.plain_scalars.get(("work_types", index))
            reason = detail.explain() if detail else f"got {name!r}"
            message = f"work type names must be non-empty strings: {reason}"
            problems.append(_problem(display, document, ("work_types", index), message))
    if problems:
        return None, problems
    return Catalog(display, tuple(names)), []


def _problem(
    display: str, document: Document, path: JsonPath, message: str, *, key: bool = False
) -> Problem:
    return Problem(display, document.locate(path, key=key), Level.ERROR, RULE, message)
