"""Pull: write live portal settings (and the work-type catalog) into the portal files.

A pull changes only the values that differ from live, in place: comments (disable
directives too), key order, ``description`` and ``acknowledged`` stay as people wrote
them, and a file whose settings already match live is not touched at all. A portal
without a file gets a new one in the canonical form (``canonical.render_portal``), with
each guest permission it finds on recorded under ``acknowledged:`` as found that day
(`adopted`): adopting an account records its status quo for review in the file's first
commit, so lint --strict passes, while a permission switched on later, by a pull request
or by a pull that refreshes the file, is still reported until someone gives a reason.
Values are quoted wherever YAML 1.1 would read them as something else, so the files
come out lint-clean and diff-clean. A file with local edits is never changed without
``--force`` (git's word for tracked files; elsewhere, a record of what pull last wrote:
see `PullFiles`), and a portal id that is not a safe file name is refused. Existing files
are read as lint reads them (file_access): a FIFO or a link out of the project is refused.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portal_config.escaping import quote
from portal_config.file_access import Repository
from portal_config.files.canonical import HEADS, CanonicalError, mapping, render_portal, update_text
from portal_config.files.inheritance import drop_overrides, redundant_overrides
from portal_config.files.pull_writes import PullFiles, PullResult, link_line
from portal_config.files.roundtrip import dump, scalar, set_names
from portal_config.lint.catalog import invalid_work_type
from portal_config.lint.loader import LoadResult, load_bytes, load_file
from portal_config.lint.profiles import Profiles
from portal_config.paths import display
from portal_config.plan.live_values import (
    is_file_id,
    not_ignored,
    refusal,
    shown_id,
    unrepresentable,
)
from portal_config.project.config import NOTHING_IGNORED, Ignore
from portal_config.settings.model import LivePortal, PortalSettings, WorkType
from portal_config.settings.overrides import inherited
from portal_config.settings.table import active


def pull_portals(
    live: Sequence[LivePortal],
    directory: Path,
    schema_path: Path,
    *,
    only: Sequence[str] = (),
    force: bool = False,
    ignore: Ignore = NOTHING_IGNORED,
    sections: Sequence[str] | None = None,
    root: Path,
    profiles: Profiles | None = None,
    extends: Sequence[str] | None = None,
) -> PullResult:
    """Write each live portal (those ``only`` names, else all that ``ignore`` keeps).

    A file gets the ``sections`` the repository manages (None: those every portal file
    has), and keeps every other section it already has: pull never drops what a file
    manages.

    A portal whose id no file can use, or whose settings hold a value no file can
    (live_values.py), is refused, never written in a form lint would reject or with the
    value changed into one it accepts. ``root`` is the project's top (see `PullFiles`). A
    new file acknowledges the permissions it finds on (`adopted`); an existing one is
    only brought to the live values. A file that extends ``profiles`` is brought to them
    by overrides over what it inherits, its values equal to that taken out; ``extends``
    (None: each file keeps its own) is the list of profiles every file then extends, a
    new one holding only the smallest override over them (settings.overrides).
    """
    result = PullResult()
    files = PullFiles(root, directory, force, result)
    day = adoption_day()  # once: every file of one pull gives the same date
    refused = files.repository.directory_refusal(directory)
    if refused is not None:
        # One line for the directory, as lint says it, not one per file: nothing is written.
        result.refused.append(link_line(*refused))
        return result
    by_id = not_ignored(live, ignore)
    for wanted in only:
        ignored = ignore.why(wanted)
        if ignored is not None:
            result.refused.append(f"{wanted}: {ignored}")
        elif wanted not in by_id:
            result.refused.append(f"{wanted}: no such portal in the target")
    chosen = [by_id[p] for p in only if p in by_id] if only else sorted(by_id.values(), key=_id)
    for portal in chosen:
        # Only the schema's slug reaches a file name: no separators, dots or traversal.
        if not is_file_id(portal.portal):
            result.refused.append(
                # Quoted as diff and drift show it, so one id reads the same everywhere.
                f"{shown_id(portal.portal)}: not a safe file name; refusing to write it "
                "(ignore: in the config leaves it out)"
            )
            continue
        path = directory / f"{portal.portal}.yaml"
        existing = load_file(path, repository=files.repository) if path.is_file() else None
        if existing is not None and existing.text is not None and extends is not None:
            # The profiles given replace the file's own: it is brought to live over them.
            try:
                existing = load_bytes(with_extends(existing.text, extends).encode(), display(path))
            except CanonicalError as exc:
                result.refused.append(f"{display(path)}: not written: {exc}; edit it by hand")
                continue
        inherits = _Inherits(profiles, display(path), extends)
        unknown = inherits.unknown(existing, portal.portal)
        if unknown is not None:
            result.refused.append(f"{display(path)}: not written: {unknown}")
            continue
        settings = portal.settings.only(_sections(sections, existing, inherits, portal.portal))
        reasons = unrepresentable(settings)
        if reasons:
            result.refused.append(
                f"{display(path)}: not written: {refusal(portal.portal, reasons)}"
            )
            continue
        modeline = _modeline(directory, schema_path)
        try:
            files.write(path, _pulled_text(existing, settings, modeline, day, inherits))
        except CanonicalError as exc:
            result.refused.append(f"{display(path)}: not written: {exc}; edit it by hand")
    files.record.save()
    return result


def _id(portal: LivePortal) -> str:
    return portal.portal


def adoption_day() -> dt.date:
    """The date new files' acknowledgements give (UTC, as every timestamp portal-config
    writes), so a file pulled in two time zones on one run reads the same."""
    return dt.datetime.now(dt.timezone.utc).date()


def adopted(settings: PortalSettings, day: dt.date) -> dict[str, dict[str, str]]:
    """A new file's `acknowledged:` entries: one per permissive flag found on, its reason
    saying where and when, for the reviewer of the file's first commit to read.

    Only a new file gets them. An existing file is the user's: refreshing it (after a
    drift is accepted with pull, say) never acknowledges a flag someone switched on in
    OutSmart's UI, so lint keeps reporting it until a person writes the reason.
    """
    reason = f"as found in OutSmart on {day.isoformat()} (adopted by pull)"
    flags = settings.acknowledgeable_on()
    return {"acknowledged": {flag: reason for flag in flags}} if flags else {}


@dataclass(frozen=True)
class _Inherits:
    """What one pulled file inherits: the profiles, its shown path, the --extends list."""

    profiles: Profiles | None
    shown: str
    extends: Sequence[str] | None

    def effective(self, data: Any) -> Any:
        """A file's effective settings from its data (itself without profiles)."""
        return data if self.profiles is None else self.profiles.effective_data(data, self.shown)

    def unknown(self, existing: LoadResult | None, portal: str) -> str | None:
        """Why what the file inherits is not known (a profile it extends, itself or by
        default, is missing or has problems); None when it is. Overrides written over
        a profile left out would be measured against settings no command uses."""
        if self.profiles is None:
            return None
        document = existing.document if existing is not None else None
        data = document.data if document is not None else self.new_file(portal)
        own = data.get("extends") if isinstance(data, dict) else None
        for name in self.profiles.named(own):
            if not self.profiles.usable(name):
                file = self.profiles.file_of(name)
                if file is None:
                    return f"it extends profile '{name}', which does not exist"
                return f"it extends profile '{name}' ({file}), which has problems"
        return None

    def new_file(self, portal: str) -> dict[str, Any]:
        """What a new file says before its values: its id and the profiles it extends."""
        return {"portal": portal, **({"extends": list(self.extends)} if self.extends else {})}

    def over(self, portal: str) -> dict[str, Any] | None:
        """What a new file inherits, when it extends anything (None: it is written flat)."""
        if self.profiles is None or not (self.extends or self.profiles.defaults):
            return None
        over: dict[str, Any] = self.effective(self.new_file(portal))
        return over

    def without_redundant(self, text: str, settings: PortalSettings) -> str:
        """``text`` without the values that only repeat what the file inherits (as lint
        finds them; adopting, with --extends, also those equal to a default)."""
        if self.profiles is None:
            return text
        document = load_bytes(text.encode("utf-8"), self.shown).document
        keys = set(redundant_overrides(self.profiles, document))
        over = self.over(settings.portal) if self.extends else None
        if over is not None:
            keys |= inherited(over, settings.managed())
        if document is None or not keys:
            return text
        tree = mapping(text, "the file")
        drop_overrides(tree, document.data, keys)
        return dump(tree)


def with_extends(text: str, names: Sequence[str]) -> str:
    """A portal file's ``text`` extending ``names`` (replacing its own list, a kept
    name's comment with it); raises CanonicalError when the text is not a mapping."""
    tree = mapping(text, "the file")
    set_names(tree, "extends", names, HEADS, sort_new=False)
    return dump(tree)


def _sections(
    wanted: Sequence[str] | None, existing: LoadResult | None, inherits: _Inherits, portal: str
) -> set[str]:
    """The sections a pulled file holds: the repository's, and those it already has
    (itself or from the profiles it extends)."""
    # Every file has the sections every portal file must have, whatever `sections:` says.
    names = {s.name for s in active().sections if s.required} | set(wanted or ())
    if existing is None:
        data = inherits.effective(inherits.new_file(portal))
    else:
        data = inherits.effective(existing.document.data if existing.document else None)
    if isinstance(data, dict):
        names |= {section.name for section in active().sections if section.name in data}
    return names


def _pulled_text(
    existing: LoadResult | None,
    settings: PortalSettings,
    modeline: str,
    day: dt.date,
    inherits: _Inherits,
) -> str | None:
    """The file's new text, or None when its settings already are the live ones (and it
    keeps the profiles it extends)."""
    if existing is None:
        extends = inherits.extends or ()
        over = inherits.over(settings.portal)
        return render_portal(settings, adopted(settings, day), modeline, extends=extends, over=over)
    document = existing.document
    if document is None or existing.text is None or not isinstance(document.data, dict):
        # Nothing readable to keep but what lint could load: write the canonical form.
        return render_portal(settings, {}, modeline)
    effective = inherits.effective if inherits.profiles is not None else None
    try:
        updated = update_text(existing.text, document.data, settings, effective)
        if updated is None and inherits.extends is None:
            return None
        # With --extends, the file extends them now even when no value changes.
        return inherits.without_redundant(updated or existing.text, settings)
    except CanonicalError:
        if "extends" in document.data:
            raise  # rewritten whole, it would stop extending its profiles
        # A file lint reads but that cannot be edited in place (no guest_workorder
        # mapping, say): rewritten whole, keeping the fields OutSmart does not know.
        return render_portal(settings, document.data, modeline)


def pull_catalog(
    work_types: Sequence[WorkType], path: Path, force: bool, *, root: Path
) -> PullResult:
    """Write the catalog: active work types, then the inactive ones, each sorted.

    Inactive ones are recorded, not dropped, so lint can say "inactive" rather than
    "unknown", and a reviewer sees a work type being switched off in the catalog's diff.
    """
    result = PullResult()
    kept = []
    for work_type in work_types:
        why = invalid_work_type(work_type.name)
        if why is None:
            kept.append(work_type)
        else:
            # Written, it would be a catalog lint rejects; changed, one OutSmart lacks.
            result.refused.append(
                f"{display(path)}: live work type {quote(work_type.name)} not written: {why}"
            )
    files = PullFiles(root, path.parent, force, result)
    files.write(path, _catalog_text(kept, path, files.repository))
    files.record.save()
    return result


def _catalog_text(work_types: Sequence[WorkType], path: Path, repository: Repository) -> str | None:
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


def _modeline(directory: Path, schema_path: Path) -> str:
    relative = os.path.relpath(schema_path, directory.resolve())
    return f"# yaml-language-server: $schema={Path(relative).as_posix()}"
