"""Attacks on `portal-config report`: hostile values from files and servers, and bad
output paths. Against the three-account sandbox fleet (tests/report_fleet.py) and hostile
loopback servers (tests/test_hostile_servers.py); nothing is mocked."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator

import pytest

from conftest import REPO
from portal_config.render.report import render_csv
from portal_config.run.report import AccountAlignment, AccountEntry, Alignment, FieldRow, PortalRow
from report_fleet import (  # noqa: F401 (sandbox_fixture is the report_sandbox fixture)
    TOKENS,
    sandbox_fixture,
    write_fleet,
)
from test_hostile_servers import Hostile, Script

SCHEMA = json.loads((REPO / "schema" / "alignment.schema.json").read_text(encoding="utf-8"))
# Markup, a closing tag, template syntax, a terminal title, a bidi override and a NUL.
SPITE = (
    '<script>alert(1)</script>"><img src=x onerror=alert(2)></td></style>'
    "{{ 7*7 }}{% if 1 %}x{% endif %}\x1b]0;pwned\x07\u202eevil\x00"
)


@pytest.fixture
def hostile() -> Iterator[Callable[[Script], Hostile]]:
    servers: list[Hostile] = []

    def start(script: Script) -> Hostile:
        servers.append(Hostile(script))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def _one_value_report(values: list[str]) -> Alignment:
    """One account per value, named by it, whose one portal's name is that value."""
    entries = tuple(
        AccountEntry(
            value,
            AccountAlignment(
                (
                    PortalRow(
                        value,
                        "f.yaml",
                        (),
                        (FieldRow("general.name", value, "f.yaml:3", None, "local", False),),
                    ),
                )
            ),
        )
        for value in values
    )
    return Alignment(("general.name",), entries, "2026-12-04T10:00:01+00:00", None, False, False)


# -- CSV ----------------------------------------------------------------------------------
def test_csv_cells_never_start_a_formula_after_leading_spaces() -> None:
    # A spreadsheet that trims a cell's leading blanks on import runs what follows them.
    values = [" =1+2", "   +cmd|' /C calc'!A0", "  -2", " @SUM(A1)", "  \t=x", " plain"]
    rows = list(csv.reader(io.StringIO(render_csv(_one_value_report(values)))))[1:]
    assert [row[0] for row in rows] == [
        "' =1+2",
        "'   +cmd|' /C calc'!A0",
        "'  -2",
        "' @SUM(A1)",
        "'  \t=x",
        " plain",
    ]
    assert [row[1] for row in rows] == [row[0] for row in rows]  # the portals column too
