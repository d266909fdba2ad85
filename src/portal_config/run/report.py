"""The alignment report's data: every account's portals and fields, where each value comes
from, whether it follows the baseline, and (with live state) whether OutSmart differs.

Gathered as values over the same fleet path as diff and drift (`run.fleet`): the files
are linted (an account with errors is a failed row, as in drift), read whole for their
lines, and resolved over their profiles (`lint.profiles`); with ``live`` the account's
drift plan (`run.workflow.make_plan`) adds each portal's live values and revision.
render/report.py turns an `Alignment` into HTML, JSON and CSV.

A field's state in a portal (``STATES``, from most to least telling):

* ``drift``: live differs from the effective value the files give;
* ``overridden``: the portal file replaces what its profiles give, with no waiver;
* ``waived``: as overridden, with a waiver for the field in the portal file;
* ``local``: set by the portal file where no profile sets it (no baseline to follow);
* ``aligned``: the value comes from the profiles (or the settings table's default).

An account's cell for a field is its portals' most telling state (``unmanaged`` when no
portal manages the field), and ``widens`` when any of them gives someone more than the
baseline (an override) or than the files (a live edit).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from portal_config.errors import ExitCode, PortalConfigError, UsageError
from portal_config.file_access import Repository
from portal_config.lint.document import Document, file_stem
from portal_config.lint.profiles import load_profiles
from portal_config.lint.reader import read
from portal_config.lint.reader.project import expand_names
from portal_config.lint.waivers import waivers
from portal_config.paths import display
from portal_config.plan.results import now
from portal_config.plan.value import Plan, PortalPlan
from portal_config.problems import Problem
from portal_config.project.config import Config
from portal_config.project.history import LineCommit, head_commit, line_commits
from portal_config.project.lint_scope import lint_scope
from portal_config.run.checks import files_commit, valid_documents
from portal_config.run.console import Console
from portal_config.run.fleet import run_accounts, selection
from portal_config.run.options import RunOptions
from portal_config.run.outcomes import AccountResult, Finished, exit_code
from portal_config.run.workflow import make_plan
from portal_config.settings.baseline_schema import field_names
from portal_config.settings.effective import Resolution, Setting
from portal_config.settings.fields import Field
from portal_config.settings.model import PortalSettings

# From most to least telling: an account's cell shows the first its portals have.
STATES = ("drift", "overridden", "waived", "local", "aligned", "unmanaged")
DEFAULT_SOURCE = "default"  # a value no file sets: the settings table's default


@dataclass(frozen=True)
class FieldRow:
    """One field of one portal: its effective value, where it was set, and its state."""

    field: str  # section.field, as explain and waivers name it
    value: Any
    source: str  # file:line, or DEFAULT_SOURCE
    profile: str | None  # the profile that set it; None: the portal file or the default
    state: str
    widens: bool
    overrode: Setting | None = None  # the baseline value an override replaced
    live: Any = None
    live_differs: bool = False
    # With --history, an override's: the commit that last changed its line (since when
    # the portal differs from the baseline); None: not asked, or not an override.
    since: LineCommit | None = None
    line: int | None = None  # the line of `source` in its file


@dataclass(frozen=True)
class PortalRow:
    portal: str
    file: str
    profiles: tuple[str, ...]
    fields: tuple[FieldRow, ...]
    live_revision: int | None = None

    def field(self, name: str) -> FieldRow | None:
        return next((row for row in self.fields if row.field == name), None)


@dataclass(frozen=True)
class Cell:
    """One account's state for one field over its portals."""

    state: str
    widens: bool = False
    portals: tuple[str, ...] = ()  # the portals in that state


@dataclass(frozen=True)
class AccountAlignment:
    """One account's part: its portals, and when live was read (None: files only)."""

    portals: tuple[PortalRow, ...]
    live_read_at: str | None = None
    target: str | None = None

    @property
    def code(self) -> int:
        return ExitCode.OK

    def cell(self, name: str) -> Cell:
        rows = [(p.portal, row) for p in self.portals if (row := p.field(name)) is not None]
        if not rows:
            return Cell("unmanaged")
        state = min((row.state for _, row in rows), key=STATES.index)
        return Cell(
            state,
            any(row.widens for _, row in rows),
            tuple(portal for portal, row in rows if row.state == state),
        )

    def values(self, name: str) -> frozenset[str]:
        """The effective values of a field across the account's portals (JSON-spelt)."""
        return frozenset(
            _comparable(row.value) for p in self.portals if (row := p.field(name)) is not None
        )


@dataclass(frozen=True)
class AccountEntry:
    """One account's row: its alignment, or the failure that stopped it."""

    account: str | None
    alignment: AccountAlignment | None
    error: str | None = None
    code: int = ExitCode.OK
    differs: tuple[str, ...] | None = None  # fields unlike the reference account's
    # The findings that stopped a failed account (its files' lint errors), so that its row
    # says why.
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class Alignment:
    """The whole report: columns, rows, and what it was made from."""

    fields: tuple[str, ...]
    accounts: tuple[AccountEntry, ...]
    created_at: str
    commit: str | None
    uncommitted: bool
    live: bool
    reference: str | None = None
    history: bool = False  # overrides dated by git (`FieldRow.since`)

    @property
    def code(self) -> int:
        """0, or the fleet's code when accounts failed (7 when only some did)."""
        results: list[AccountResult[Finished]] = [
            AccountResult(entry.account, entry.code) for entry in self.accounts
        ]
        return exit_code(results, read=False)

    @property
    def target(self) -> str | None:
        """The target live state was read from (its name in portal-config.yaml), if one."""
        targets = {e.alignment.target for e in self.accounts if e.alignment is not None}
        return targets.pop() if len(targets) == 1 else None

    @property
    def live_read_at(self) -> str | None:
        """When the first account's live state was read (each row has its own)."""
        times = [e.alignment.live_read_at for e in self.accounts if e.alignment is not None]
        return min((t for t in times if t is not None), default=None)


def alignment(
    config: Config,
    options: RunOptions,
    console: Console,
    *,
    live: bool,
    reference: str | None,
    history: bool = False,
) -> Alignment:
    """Every selected account's alignment; with ``reference``, each row's differences."""
    selected = selection(config, options.accounts, ())
    if reference is not None:
        _check_reference(config, reference, selected)
        if reference not in selected:  # compared with, though not shown
            selected = selection(config, (*options.accounts, reference), ())

    def task(view: Config, captured: Console, paths: list[Path]) -> AccountAlignment:
        return gather(view, options, captured, live=live, history=history)

    entries = [
        AccountEntry(
            result.account,
            result.value,
            result.error,
            result.code,
            problems=result.problems,
        )
        for result in run_accounts(config, selected, task, console, options.parallel)
    ]
    if reference is not None:
        entries = _compared(entries, reference, options.accounts)
    commit = head_commit(config.root)
    return Alignment(
        tuple(_columns(entries)),
        tuple(entries),
        now(),
        commit,
        commit is not None and files_commit(config) is None,
        live,
        reference,
        history,
    )


def gather(
    config: Config, options: RunOptions, console: Console, *, live: bool, history: bool = False
) -> AccountAlignment:
    """One account's portals: linted (refused with errors), resolved, and with ``live``
    compared with the account's live state."""
    plan: Plan | None = None
    if live:  # lints the files too
        plan = make_plan(config, (), options, console, drift=True).plan
    else:
        valid_documents(config, (), console)
    planned = {p.portal: p for p in plan.portals} if plan is not None else {}
    rows = tuple(
        _portal_row(document, resolution, planned.get(str(document.data.get("portal"))))
        for document, resolution in resolutions(config)
    )
    if history:
        rows = tuple(_dated(config, row) for row in rows)
    if plan is None:
        return AccountAlignment(rows)
    return AccountAlignment(rows, plan.live_read_at, plan.target)


def resolutions(config: Config) -> list[tuple[Document, Resolution]]:
    """Each portal file of the account read whole (for its lines) and merged over its
    profiles; the files have passed lint, so each is a portal file."""
    scope = lint_scope(config)
    repository = Repository(scope.root)
    profiles = load_profiles(scope, repository)
    found = []
    for name, _ in expand_names([config.portals_dir], scope):
        document = read(name, display(name), repository).document
        if document is not None and isinstance(document.data, dict):
            found.append((document, profiles.resolve(document)))
    return found


def _portal_row(
    document: Document, resolution: Resolution, planned: PortalPlan | None
) -> PortalRow:
    """A portal's fields: every field its effective settings manage, in table order."""
    desired = PortalSettings.from_file_data(resolution.data)
    waived = {waiver.field for waiver in waivers(document)}
    drifted = {(c.section, c.field): c for c in planned.changes} if planned else {}
    live = planned.live.settings if planned is not None else None
    rows = []
    for section, one, value in desired.managed():
        key = (section.name, one.name)
        name = f"{section.name}.{one.name}"
        setting = resolution.settings.get(key)
        row = FieldRow(name, value, DEFAULT_SOURCE, None, "aligned", False)
        if setting is not None:
            row = _from_setting(row, one, setting, document.path, name in waived)
        if live is not None:
            change = drifted.get(key)
            row = replace(row, live=live.value(*key), live_differs=change is not None)
            if change is not None:  # a live edit: does it give more than the files?
                row = replace(row, state="drift", widens=change.narrows)
        rows.append(row)
    return PortalRow(
        str(document.data.get("portal")),
        document.path,
        _profiles(document, resolution),
        tuple(rows),
        planned.live.revision if planned is not None else None,
    )


OVERRIDES = ("overridden", "waived")  # the states that differ from the baseline


def _dated(config: Config, portal: PortalRow) -> PortalRow:
    """``portal`` with each override's line dated by git: since when it differs."""
    lines = {row.line for row in portal.fields if row.state in OVERRIDES and row.line}
    dated = line_commits(config.root, Path(portal.file), lines)
    undated = LineCommit(None, None)  # not committed, or not in git
    return replace(
        portal,
        fields=tuple(
            replace(row, since=dated.get(row.line, undated)) if row.line in lines else row
            for row in portal.fields
        ),
    )


def _from_setting(
    row: FieldRow, one: Field, setting: Setting, portal_file: str, waived: bool
) -> FieldRow:
    source = str(setting.origin)
    position = setting.origin.position
    row = replace(row, line=position[0] if position else None)
    if setting.origin.file != portal_file:  # a profile's value
        return replace(row, source=source, profile=file_stem(setting.origin.file))
    baseline = setting.overrode
    if baseline is None:
        return replace(row, source=source, state="local")
    return replace(
        row,
        source=source,
        state="waived" if waived else "overridden",
        widens=one.widens_from(baseline.value, setting.value),
        overrode=baseline,
    )


def _profiles(document: Document, resolution: Resolution) -> tuple[str, ...]:
    """The profiles that set any of the portal's fields (or were overridden), in order."""
    seen: dict[str, None] = {}
    for setting in resolution.settings.values():
        step: Setting | None = setting
        while step is not None:
            if step.origin.file != document.path:
                seen.setdefault(file_stem(step.origin.file))
            step = step.overrode
    return tuple(seen)


def _columns(entries: Sequence[AccountEntry]) -> list[str]:
    """The managed fields of any account, in the settings table's order."""
    managed = {
        row.field
        for entry in entries
        if entry.alignment is not None
        for portal in entry.alignment.portals
        for row in portal.fields
    }
    return [name for name in field_names() if name in managed]


def _check_reference(config: Config, reference: str, selected: Mapping[str | None, Any]) -> None:
    """A reference account must be one of the repository's (checked before any read)."""
    if None in selected:
        raise UsageError("--reference: this repository holds one account (no accounts: section)")
    if reference not in config.accounts:
        known = ", ".join(sorted(config.accounts))
        raise UsageError(f"--reference: unknown account {reference!r} (accounts: {known})")


def _compared(
    entries: list[AccountEntry], reference: str, chosen: Sequence[str]
) -> list[AccountEntry]:
    """The entries asked for, each with the fields where its values differ from the
    reference account's (read to compare with even when ``chosen`` leaves it out)."""
    found = next(e for e in entries if e.account == reference)
    if found.alignment is None:
        failed = PortalConfigError(f"--reference: account {reference} failed: {found.error}")
        failed.exit_code = found.code  # its own failure, as the account's row would say
        raise failed
    standard = found.alignment
    compared = []
    for entry in entries:
        if chosen and entry.account not in chosen:
            continue
        if entry.alignment is not None:
            mine = entry.alignment
            differs = tuple(
                name
                for name in _columns([found, entry])
                if mine.values(name) != standard.values(name)
            )
            entry = replace(entry, differs=differs)
        compared.append(entry)
    return compared


def _comparable(value: Any) -> str:
    """A value as one comparable string: a set of names in sorted order."""
    if isinstance(value, list | tuple):
        value = sorted(map(str, value))
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
