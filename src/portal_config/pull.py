"""Pull: write live portal settings (and the work-type catalog) as portal files.

Files come out lint-clean and diff-clean: the schema modeline, a fixed key
order, and every string quoted where YAML 1.1 would read it as something else.
An existing file's ``description`` and ``acknowledged`` are kept, because
OutSmart does not know them. A file with local edits is never overwritten
without ``--force``, and a portal id that is not a safe file name is refused.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from portal_config.loader import display, load_file
from portal_config.model import FLAGS, LivePortal, PortalSettings, WorkType
from portal_config.schema import portal_schema
from portal_config.storage import write_atomically

PUBLIC = 0o644


@dataclass
class PullResult:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # one reason per refused file

    @property
    def failed(self) -> bool:
        return bool(self.refused)


def safe_portal_id(portal: str) -> bool:
    """Only the schema's slug: no separators, dots or traversal can reach a file name."""
    pattern = portal_schema()["properties"]["portal"]["pattern"]
    return re.fullmatch(pattern, portal) is not None and len(portal) <= 63


def pull_portals(
    live: Sequence[LivePortal],
    directory: Path,
    schema_path: Path,
    *,
    only: Sequence[str] = (),
    force: bool = False,
) -> PullResult:
    result = PullResult()
    by_id = {portal.portal: portal for portal in live}
    for wanted in only:
        if wanted not in by_id:
            result.refused.append(f"{wanted}: no such portal in the target")
    chosen = (
        [by_id[p] for p in only if p in by_id] if only else sorted(live, key=lambda p: p.portal)
    )
    for portal in chosen:
        if not safe_portal_id(portal.portal):
            result.refused.append(f"{portal.portal!r}: not a safe file name; refusing to write it")
            continue
        path = directory / f"{portal.portal}.yaml"
        text = render_portal(portal.settings, _kept_fields(path), _modeline(directory, schema_path))
        _write(path, text, force, result)
    return result


def pull_catalog(work_types: Sequence[WorkType], path: Path, force: bool) -> PullResult:
    """Write the catalog: active work types, then the inactive ones, each sorted.

    Inactive ones are recorded, not dropped, so lint can say "inactive" rather than
    "unknown", and a reviewer sees a work type being switched off in the catalog's diff.
    """
    result = PullResult()
    active = sorted({w.name for w in work_types if w.active})
    inactive = sorted({w.name for w in work_types if not w.active} - set(active))
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
    _write(path, "\n".join(lines) + "\n", force, result)
    return result


def render_portal(settings: PortalSettings, kept: dict[str, Any], modeline: str) -> str:
    lines = [modeline, f"portal: {scalar(settings.portal)}"]
    if isinstance(kept.get("description"), str):
        lines.append(f"description: {scalar(kept['description'])}")
    lines += ["guest_workorder:", f"  enabled: {_bool(settings.enabled)}"]
    lines += [f"  {flag}: {_bool(getattr(settings, flag))}" for flag in FLAGS]
    if settings.work_types:
        lines.append("  work_types:")
        lines += [f"    - {scalar(name)}" for name in settings.work_types]
    acknowledged = kept.get("acknowledged")
    if isinstance(acknowledged, dict) and acknowledged:
        lines.append("acknowledged:")
        lines += [
            f"  {flag}: {scalar(str(acknowledged[flag]))}" for flag in FLAGS if flag in acknowledged
        ]
    return "\n".join(lines) + "\n"


def scalar(text: str) -> str:
    """``text`` as a YAML scalar that reads back as exactly this string, in YAML 1.1 too."""
    dumped = yaml.safe_dump(text, allow_unicode=True, width=2**20, default_flow_style=True)
    dumped = dumped.rstrip("\n")
    if dumped.endswith("\n..."):
        dumped = dumped[: -len("\n...")]
    if "\n" in dumped:  # multi-line forms: fall back to a double-quoted JSON string
        import json

        dumped = json.dumps(text, ensure_ascii=False)
    return dumped


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _modeline(directory: Path, schema_path: Path) -> str:
    relative = os.path.relpath(schema_path, directory.resolve())
    return f"# yaml-language-server: $schema={Path(relative).as_posix()}"


def _kept_fields(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    document = load_file(path).document
    return document.data if document is not None and isinstance(document.data, dict) else {}


def _write(path: Path, text: str, force: bool, result: PullResult) -> None:
    shown = display(path)
    if path.is_file():
        current = path.read_text(encoding="utf-8", errors="replace")
        if current == text:
            result.unchanged.append(shown)
            return
        if not force:
            edits = _local_edits(path)
            if edits:
                result.refused.append(f"{shown}: {edits}; commit or stash them, or pass --force")
                return
    write_atomically(path, text, mode=PUBLIC)
    result.written.append(shown)


def _local_edits(path: Path) -> str | None:
    """Why overwriting this existing file could lose work, or None if git has it all."""
    try:
        done = subprocess.run(
            ["git", "status", "--porcelain", "--", path.name],
            cwd=path.parent,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "git is not available to check it for local edits"
    if done.returncode != 0:
        return "it is not in a git repository, so local edits cannot be ruled out"
    return "it has uncommitted local edits" if done.stdout.strip() else None
