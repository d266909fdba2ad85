"""The alignment report (run/report.py) as one self-contained HTML page, JSON and CSV.

The page comes from Jinja2 templates (templates/report/) with autoescaping on, and every
value a file, a path or a server supplies goes through `escape_text` first, so a control
or bidi character shows as its escape and markup shows as text. The page loads nothing:
its style and script are inline and allowed by their hashes in its Content-Security-Policy
(``default-src 'none'``), so it works offline, as a CI artifact and on GitHub Pages.

Every state is shown by colour, a symbol and a word (never colour alone).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from portal_config import TOOL
from portal_config.escaping import escape_line, escape_text
from portal_config.render.lint import Style, problem_json, problem_line
from portal_config.run.report import (
    STATES,
    AccountEntry,
    Alignment,
    Cell,
    FieldRow,
    PortalRow,
)
from portal_config.settings.effective import as_file_value, shown
from portal_config.storage import json_text

ALIGNMENT_FORMAT = "portal-config-alignment"
ALIGNMENT_VERSION = 1
TEMPLATES = Path(__file__).parent.parent / "templates" / "report"

# Each state's symbol and what its legend says; the colour is the stylesheet's.
SYMBOLS = {
    "drift": "\u26a0",  # warning sign
    "overridden": "\u25c6",  # black diamond
    "waived": "\u25c7",  # white diamond
    "local": "\u25cf",  # black circle
    "aligned": "\u2713",  # check mark
    "unmanaged": "\u2013",  # en dash
}
MEANINGS = {
    "drift": "live differs from what the files give",
    "overridden": "a portal file overrides the baseline, with no waiver",
    "waived": "a portal file overrides the baseline, with a waiver",
    "local": "set by a portal file where no profile sets it",
    "aligned": "every portal's value comes from the baseline profiles (or the default)",
    "unmanaged": "no portal of the account manages the field",
}
WIDENS = "\u25b2 widens"  # black up-pointing triangle
FAILED = "failed"
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = (
    *("account", "portals", "field", "state", "widens", "source", "value"),
    *("live", "live_revision", "differs_from_reference", "error", "since"),
)


def render_html(report: Alignment) -> str:
    """The page: a matrix of accounts by fields, then each account's portals."""
    environment = _environment()
    style = environment.get_template("style.css.j2").render()
    script = environment.get_template("script.js.j2").render()
    return environment.get_template("report.html.j2").render(
        report=report,
        tool=TOOL,
        style=style,
        script=script,
        policy=_policy(style, script),
        states=STATES,
        symbols=SYMBOLS,
        meanings=MEANINGS,
        widens=WIDENS,
        matrix=[dict(_cells(report, entry)) for entry in report.accounts],
        counts=_counts(report),
        groups=_groups(report.fields),
    )


def _groups(fields: Sequence[str]) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """The matrix's two header rows: each section over its fields, and each field's name
    (section.field) with the parts of its own name, which may wrap between them."""
    groups: list[tuple[str, list[tuple[str, list[str]]]]] = []
    for full in fields:
        section, _, name = full.partition(".")
        if not groups or groups[-1][0] != section:
            groups.append((section, []))
        groups[-1][1].append((full, name.split("_")))
    return groups


def render_json(report: Alignment) -> dict[str, Any]:
    """The report as data (schema/alignment.schema.json)."""
    return {
        "format": ALIGNMENT_FORMAT,
        "version": ALIGNMENT_VERSION,
        "tool": TOOL,
        "created_at": report.created_at,
        "commit": report.commit,
        "uncommitted": report.uncommitted,
        "live": report.live,
        "target": report.target if report.live else None,
        "live_read_at": report.live_read_at,
        "reference": report.reference,
        "history": report.history,
        "fields": list(report.fields),
        "summary": {
            "accounts": len(report.accounts),
            "failed": sum(1 for entry in report.accounts if entry.alignment is None),
            "cells": _counts(report),
            "widening": sum(
                1 for entry in report.accounts for _, cell in _cells(report, entry) if cell.widens
            ),
            "ok": report.code == 0,
        },
        "accounts": [_account_json(report, entry) for entry in report.accounts],
    }


def render_csv(report: Alignment) -> str:
    """One row per account and field (a failed account: one row with its error)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in _csv_rows(report):
        writer.writerow([_unformula(text) for text in row])
    return out.getvalue()


# What `report --format` writes, by format (cli/report.py spells the names again, kept
# equal by a test, so that its --help needs no Jinja2).
REPORTERS: dict[str, Callable[[Alignment], str]] = {
    "html": render_html,
    "json": lambda report: json_text(render_json(report)),
    "csv": render_csv,
}
REPORT_FORMATS = tuple(REPORTERS)


def _csv_rows(report: Alignment) -> Iterator[list[str]]:
    """The rows' cells as text: names and sources escaped, values as JSON spells them."""
    for entry in report.accounts:
        account = escape_text(entry.account or "")
        if entry.alignment is None:
            error = escape_line(" | ".join([entry.error or "", *reasons(entry)]))
            yield [account, "", "", FAILED, "", "", "", "", "", "", error, ""]
            continue
        for name, cell in _cells(report, entry):
            rows = [(p, row) for p in entry.alignment.portals if (row := p.field(name))]
            live = [_spelt(row.live) for _, row in rows if report.live]
            yield [
                account,
                ";".join(escape_text(p.portal) for p, _ in rows),
                name,
                cell.state,
                "yes" if cell.widens else "no",
                ";".join(dict.fromkeys(escape_text(row.source) for _, row in rows)),
                " | ".join(dict.fromkeys(_spelt(row.value) for _, row in rows)),
                " | ".join(dict.fromkeys(live)),
                ";".join(str(p.live_revision) for p, _ in rows if p.live_revision is not None),
                _differs(entry, name),
                "",
                _since(row for _, row in rows),
            ]


def _since(rows: Iterable[FieldRow]) -> str:
    """Since when an account's portals override the field: its oldest dated line."""
    return min((row.since.date for row in rows if row.since and row.since.date), default="")


PROBLEM_LINES = 20  # a failed account's reasons in the page, the CSV and on stderr


def reasons(entry: AccountEntry) -> list[str]:
    """What stopped a failed account, each problem as lint words it (escaped), the first
    PROBLEM_LINES and a line counting the rest (the JSON holds them all)."""
    plain = Style(color=False)
    shown = [problem_line(problem, plain) for problem in entry.problems[:PROBLEM_LINES]]
    more = len(entry.problems) - PROBLEM_LINES
    return shown + ([f"... and {more} more"] if more > 0 else [])


def _differs(entry: AccountEntry, name: str) -> str:
    if entry.differs is None:
        return ""
    return "yes" if name in entry.differs else "no"


def _unformula(text: str) -> str:
    """A CSV cell a spreadsheet shows and never runs: a leading formula character is kept
    from starting a formula, also behind leading spaces (an import that trims them would
    run what follows)."""
    return "'" + text if text.lstrip(" ").startswith(FORMULA_STARTS) else text


def _spelt(value: Any) -> str:
    """A value as a file spells it (JSON), with control and bidi characters made visible;
    JSON's own escapes stay single."""
    return escape_line(shown(as_file_value(value)))


def _account_json(report: Alignment, entry: AccountEntry) -> dict[str, Any]:
    found = entry.alignment
    return {
        "account": entry.account,
        "error": entry.error,
        "problems": [problem_json(problem) for problem in entry.problems],
        "exit_code": entry.code,
        "live_read_at": found.live_read_at if found is not None else None,
        "cells": {
            name: {"state": cell.state, "widens": cell.widens, "portals": list(cell.portals)}
            for name, cell in _cells(report, entry)
        },
        "differs_from_reference": list(entry.differs) if entry.differs is not None else None,
        "portals": [_portal_json(portal) for portal in found.portals] if found else [],
    }


def _portal_json(portal: PortalRow) -> dict[str, Any]:
    return {
        "portal": portal.portal,
        "file": portal.file,
        "profiles": list(portal.profiles),
        "live_revision": portal.live_revision,
        "fields": [_field_json(row, portal.live_revision is not None) for row in portal.fields],
    }


def _field_json(row: FieldRow, live: bool) -> dict[str, Any]:
    before = row.overrode
    return {
        "field": row.field,
        "value": as_file_value(row.value),
        "source": row.source,
        "profile": row.profile,
        "state": row.state,
        "widens": row.widens,
        "overrode": {"value": as_file_value(before.value), "source": str(before.origin)}
        if before is not None
        else None,
        "live": as_file_value(row.live) if live else None,
        "live_differs": row.live_differs,
        "since": None if row.since is None else asdict(row.since),
    }


def _cells(report: Alignment, entry: AccountEntry) -> Iterator[tuple[str, Cell]]:
    """An account's cell for each of the report's fields (none for a failed account)."""
    if entry.alignment is None:
        return
    for name in report.fields:
        yield name, entry.alignment.cell(name)


def _counts(report: Alignment) -> dict[str, int]:
    """How many account-by-field cells are in each state."""
    counts = dict.fromkeys(STATES, 0)
    for entry in report.accounts:
        for _, cell in _cells(report, entry):
            counts[cell.state] += 1
    return counts


def _policy(style: str, script: str) -> str:
    """A Content-Security-Policy that lets the page load nothing and run only its own
    inline style and script (by their hashes)."""
    return (
        "default-src 'none'; "
        f"style-src '{_digest(style)}'; script-src '{_digest(script)}'; "
        "img-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'"
    )


def _digest(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # every .j2 here is HTML or its parts
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["text"] = lambda value: escape_text(str(value))
    environment.filters["value"] = _spelt
    environment.filters["line"] = lambda value: escape_line(str(value))
    environment.globals["reasons"] = reasons
    return environment
