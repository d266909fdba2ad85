"""The account's work-type catalog: `worktypes.yaml`, the OutSmart account's work types.

    # Work types of the OutSmart account; refresh with `portal-config pull`.
    work_types:
      - Storing
      - Onderhoud
    inactive_work_types:        # optional: switched off in OutSmart, kept for the record
      - Legionellacontrole

It is optional. When present, the unknown-work-type rule checks every portal's
work types against both lists, and the inactive-work-type rule refuses the inactive
ones: OutSmart keeps inactive work types, so pull records them instead of letting
them vanish. A broken catalog is reported like any other file.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

from portal_config.file_access import Repository
from portal_config.lint.loader import Document, JsonPath, load_file
from portal_config.lint.schema import plan_schema, work_type_hint
from portal_config.problems import Level, Problem

RULE = "catalog"


KEYS = ("work_types", "inactive_work_types")


@dataclass(frozen=True)
class Catalog:
    path: str
    names: tuple[str, ...]  # active work types: the ones guests may be offered
    inactive: tuple[str, ...] = ()
    # How messages name it; the file's catalog is "the catalog <path>", the live
    # account's (diff checks against it too) says whose account it is.
    source: str = ""

    @property
    def described(self) -> str:
        return self.source or f"the catalog {self.path}"

    @property
    def known(self) -> tuple[str, ...]:
        return self.names + self.inactive


def load_catalog(
    path: Path, display: str, repository: Repository | None = None
) -> tuple[Catalog | None, list[Problem]]:
    """Load the catalog; problems come back as values, never raised.

    A missing file is no catalog; whether that is a mistake is the config's call. Anything
    else by that name (a FIFO, a link out of the repository) is read, or refused, as a
    portal file is.
    """
    if not os.path.lexists(path):
        return None, []
    result = load_file(path, display, repository=repository)
    if result.document is None:
        return None, result.problems
    document = result.document
    data = document.data
    problems: list[Problem] = []
    extra = sorted(set(data) - set(KEYS))
    if extra:
        message = f"unknown key '{extra[0]}'; a catalog holds only {' and '.join(KEYS)}"
        problems.append(_problem(display, document, (extra[0],), message, key=True))
    lists: dict[str, list[str]] = {}
    for key in KEYS:
        names = data.get(key, [] if key != "work_types" else None)
        if not isinstance(names, list):
            message = f"{key} must be a list of work type names"
            problems.append(_problem(display, document, (key,), message))
            continue
        for index, name in enumerate(names):
            if not isinstance(name, str) or not name.strip():
                detail = document.plain_scalars.get((key, index))
                reason = detail.explain() if detail else f"got {name!r}"
                message = f"work type names must be non-empty strings: {reason}"
                problems.append(_problem(display, document, (key, index), message))
            elif (why := invalid_work_type(name)) is not None:
                problems.append(_problem(display, document, (key, index), why))
        lists[key] = [name for name in names if isinstance(name, str)]  # others: above
    both = set(lists.get("work_types", ())) & set(lists.get("inactive_work_types", ()))
    for index, name in enumerate(lists.get("inactive_work_types", ())):
        if name in both:
            message = f"work type '{name}' is listed as both active and inactive"
            problems.append(_problem(display, document, ("inactive_work_types", index), message))
    if problems:
        return None, problems
    return Catalog(display, tuple(lists["work_types"]), tuple(lists["inactive_work_types"])), []


def invalid_work_type(name: str) -> str | None:
    """Why no portal file could name this work type (the schema's work type), or None.

    The catalog is held to the portal files' own constraint: a name no file can hold is
    one lint would refuse in every portal, and pull writes none (see pull_catalog).
    """
    limit = plan_schema()["$defs"]["work_type"]["maxLength"]
    if len(name) > limit:
        return f"work type is {len(name)} characters long; at most {limit} are allowed"
    if _work_type_pattern().search(name) is None:
        return f"{name!r} is not a valid work type; {work_type_hint(name)}"
    return None


@functools.lru_cache(maxsize=1)
def _work_type_pattern() -> re.Pattern[str]:
    return re.compile(plan_schema()["$defs"]["work_type"]["pattern"])


def _problem(
    display: str, document: Document, path: JsonPath, message: str, *, key: bool = False
) -> Problem:
    return Problem(display, document.locate(path, key=key), Level.ERROR, RULE, message)
