"""`portal-config report`: the fleet's alignment with its baselines, as HTML, JSON and CSV.

Against a real three-account sandbox (tests/report_fleet.py): one baseline profile, an
override with a waiver, one without, a hostile value in a file, and a live edit.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from conftest import REPO, SOFTWARE_TOKEN, Invoke
from hostile_strings import HOSTILE
from portal_config.cli.report import FORMATS
from portal_config.problems import Level, Position, Problem
from portal_config.render.report import (
    REPORT_FORMATS,
    reasons,
    render_csv,
    render_html,
    render_json,
)
from portal_config.run.report import (
    AccountAlignment,
    AccountEntry,
    Alignment,
    FieldRow,
    PortalRow,
)
from portal_config.sandbox import Sandbox
from report_fleet import (  # noqa: F401 (sandbox_fixture is the report_sandbox fixture)
    ACCOUNTS,
    HOSTILE_NAME,
    TOKENS,
    hostile_report,
    sandbox_fixture,
    ui_edit,
    write_fleet,
)

SCHEMA = json.loads((REPO / "schema" / "alignment.schema.json").read_text(encoding="utf-8"))

# What each account's cells must say, for the fields the fleet makes interesting.
EXPECTED = {
    ("acme", "guest_workorder.enabled"): ("aligned", False),
    ("acme", "general.name"): ("local", False),
    ("beta", "guest_workorder.allow_new_relation"): ("waived", True),
    ("beta", "guest_workorder.work_types"): ("overridden", False),
    ("beta", "general.name"): ("unmanaged", False),
    ("gamma", "guest_workorder.allow_address_change"): ("drift", True),
    ("gamma", "guest_workorder.work_types"): ("aligned", False),
}


@pytest.fixture
def fleet(
    project: Path, report_sandbox: Sandbox, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The fleet applied, then gamma's acme-facilities edited in OutSmart's UI."""
    write_fleet(project, report_sandbox.url, monkeypatch)
    assert invoke("apply", "--yes").exit_code == 0
    ui_edit(report_sandbox.url, "gamma", "acme-facilities", allow_address_change=True)
    return project


def validate(payload: object) -> None:
    Draft202012Validator.check_schema(SCHEMA)
    Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(
        payload
    )


def assert_no_token(text: str) -> None:
    for token in (*TOKENS.values(), SOFTWARE_TOKEN):
        assert token not in text


class Page(HTMLParser):
    """The matrix as a reader sees it: each account's cells (state and text), and every
    element the page holds."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.cells: dict[tuple[str, str], tuple[str, str]] = {}
        self.rows: list[str] = []
        self._cell: tuple[str, str] | None = None
        self._text: list[str] = []
        self._in_matrix = False
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        if tag == "table" and found.get("id") == "matrix":
            self._in_matrix = True
        elif self._in_matrix and tag == "tr" and "data-account" in found:
            self.rows.append(str(found["data-account"]))
        elif self._in_matrix and tag == "td" and "data-state" in found:
            self._cell = (self.rows[-1], str(found["data-field"]))
            self.cells[self._cell] = (str(found["data-state"]), "")
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_matrix = False
        if tag == "td" and self._cell is not None:
            state = self.cells[self._cell][0]
            self.cells[self._cell] = (state, " ".join("".join(self._text).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._text.append(data)


def parsed(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def test_the_formats_the_command_offers_are_the_renderers(invoke: Invoke) -> None:
    assert FORMATS == REPORT_FORMATS


def test_lint_and_the_report_command_s_help_load_no_jinja2(live_project: Path) -> None:
    # Jinja2 is the page's alone: lint runs on every commit, and `report --help` needs none.
    code = (
        "import sys\nfrom portal_config.cli import cli\n"
        "for args in (['lint'], ['report', '--help']):\n"
        "    try:\n        cli(args, standalone_mode=False)\n"
        "    except SystemExit:\n        pass\n"
        "print('jinja2' in sys.modules, 'urllib3' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=live_project, capture_output=True, text=True, check=True
    )
    assert done.stderr.strip() == "False False"


def test_json_shows_each_state_and_validates(fleet: Path, invoke: Invoke) -> None:
    result = invoke("report", "--live", "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    validate(payload)
    assert payload["live"] is True and payload["live_read_at"]
    assert [a["account"] for a in payload["accounts"]] == list(ACCOUNTS)
    cells = {(a["account"], f): c for a in payload["accounts"] for f, c in a["cells"].items()}
    for key, (state, widens) in EXPECTED.items():
        assert (cells[key]["state"], cells[key]["widens"]) == (state, widens), key
    assert cells[("gamma", "guest_workorder.allow_address_change")]["portals"] == [
        "acme-facilities"
    ]
    beta = next(a for a in payload["accounts"] if a["account"] == "beta")
    facilities = next(p for p in beta["portals"] if p["portal"] == "acme-facilities")
    waived = next(f for f in facilities["fields"] if f["field"].endswith("allow_new_relation"))
    assert waived == {
        "field": "guest_workorder.allow_new_relation",
        "value": True,
        "source": "accounts/beta/portals/acme-facilities.yaml:3",
        "profile": None,
        "state": "waived",
        "widens": True,
        "overrode": {"value": False, "source": "profiles/restrictive.yaml:6"},
        "live": True,
        "live_differs": False,
        "since": None,  # not asked for (--history)
    }
    assert facilities["profiles"] == ["restrictive"]
    assert facilities["live_revision"] == 2
    assert payload["summary"]["failed"] == 0 and payload["summary"]["ok"] is True
    assert_no_token(result.output)


def test_the_page_shows_each_cell_as_colour_symbol_and_word(fleet: Path, invoke: Invoke) -> None:
    result = invoke("report", "--live", "--out", "report.html")
    assert result.exit_code == 0, result.output
    html = (fleet / "report.html").read_text(encoding="utf-8")
    page = parsed(html)
    assert page.rows == list(ACCOUNTS)
    symbols = {"aligned": "\u2713", "local": "\u25cf", "waived": "\u25c7"}
    symbols |= {"overridden": "\u25c6", "drift": "\u26a0", "unmanaged": "\u2013"}
    for key, (state, widens) in EXPECTED.items():
        shown = f"{symbols[state]} {state}" + (" \u25b2 widens" if widens else "")
        assert page.cells[key] == (state, shown), key
    classes = {a.get("class") for tag, a in page.tags if tag == "td" and "data-state" in a}
    assert "cell state-drift" in classes and "cell state-waived" in classes
    assert_no_token(html)


def test_the_page_loads_nothing_and_shows_a_hostile_value_as_text(
    fleet: Path, invoke: Invoke
) -> None:
    html = invoke("report", "--live").output
    page = parsed(html)
    assert [tag for tag, _ in page.tags if tag == "img"] == []
    for tag, attrs in page.tags:
        assert tag not in ("link", "iframe", "object", "embed", "base"), tag
        assert not {"src", "srcset", "action", "onerror", "onload"} & set(attrs), (tag, attrs)
        assert not str(attrs.get("href") or "#").split("#")[0], (tag, attrs)  # own anchors only
    assert HOSTILE_NAME in "".join(page.text)  # as text, whole
    (policy,) = [
        a["content"] for t, a in page.tags if a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert str(policy).startswith("default-src 'none'; style-src 'sha256-")
    assert "<script>" in html and html.count("<script") == 1


def test_the_page_names_the_commit_and_the_live_read(fleet: Path, invoke: Invoke) -> None:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=fleet, check=True, capture_output=True, text=True)
        return done.stdout.strip()

    git("init", "-q")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "add", "-A")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "fleet")
    head = git("rev-parse", "HEAD")
    payload = json.loads(invoke("report", "--live", "--format", "json").output)
    assert payload["commit"] == head
    page = parsed(invoke("report", "--live").output)
    text = "".join(page.text)
    assert f"Commit{head}" in text
    assert f"Live stateread from target test at {payload['live_read_at'][:16]}" in text


def test_files_only_report_has_no_live_column_and_no_drift(fleet: Path, invoke: Invoke) -> None:
    result = invoke("report", "--format", "json")
    assert result.exit_code == 0
    payload = json.loads(result.output)
    validate(payload)
    assert payload["live"] is False and payload["live_read_at"] is None
    cells = {
        (a["account"], f): c["state"] for a in payload["accounts"] for f, c in a["cells"].items()
    }
    assert cells[("gamma", "guest_workorder.allow_address_change")] == "aligned"
    assert payload["summary"]["cells"]["drift"] == 0
    html = invoke("report").output
    assert '<th scope="col">Live</th>' not in html
    assert "not read (files only)" in html


def test_csv_has_one_row_per_account_and_field(fleet: Path, invoke: Invoke) -> None:
    result = invoke("report", "--live", "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.output)))
    fields = json.loads(invoke("report", "--format", "json").output)["fields"]
    assert [(r["account"], r["field"]) for r in rows] == [(a, f) for a in ACCOUNTS for f in fields]
    drift = next(
        r
        for r in rows
        if (r["account"], r["field"]) == ("gamma", "guest_workorder.allow_address_change")
    )
    assert drift["state"] == "drift" and drift["widens"] == "yes"
    assert drift["portals"] == "acme-facilities;klimaat-techniek"
    assert drift["live"] == "true | false"
    assert_no_token(result.output)


def test_reference_lists_where_each_account_differs(fleet: Path, invoke: Invoke) -> None:
    payload = json.loads(invoke("report", "--format", "json", "--reference", "acme").output)
    validate(payload)
    differs = {a["account"]: a["differs_from_reference"] for a in payload["accounts"]}
    assert differs == {
        "acme": [],
        "beta": [
            "guest_workorder.allow_new_relation",
            "guest_workorder.work_types",
            "general.name",
        ],
        "gamma": ["general.name"],
    }
    only = json.loads(
        invoke("report", "-f", "json", "--reference", "acme", "--account", "gamma").output
    )
    assert [a["account"] for a in only["accounts"]] == ["gamma"]
    assert only["accounts"][0]["differs_from_reference"] == ["general.name"]
    page = parsed(invoke("report", "--reference", "acme").output)
    assert page.cells[("gamma", "general.name")] == ("local", "\u25cf local \u2260 reference")


def test_an_unknown_reference_account_is_a_usage_error(fleet: Path, invoke: Invoke) -> None:
    result = invoke("report", "--reference", "acmee", "--out", "report.html")
    assert result.exit_code == 2
    assert result.output == (
        "error: --reference: unknown account 'acmee' (accounts: acme, beta, gamma)\n"
    )
    assert not (fleet / "report.html").exists()


def test_a_failed_reference_account_stops_with_its_own_code(
    fleet: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTSMART_TOKEN_ACME", "a-wrong-token-123")
    result = invoke("report", "--live", "--reference", "acme", "--account", "beta")
    assert result.exit_code == 4
    assert result.output.startswith(
        "error: --reference: account acme failed: api error: GET portals/: OutSmart code 1004"
    )
    assert "a-wrong-token-123" not in result.output


def test_reference_needs_accounts(live_project: Path, invoke: Invoke) -> None:
    result = invoke("report", "--reference", "acme")
    assert result.exit_code == 2
    assert result.output == (
        "error: --reference: this repository holds one account (no accounts: section)\n"
    )


def test_a_failed_account_is_a_row_with_its_error(
    fleet: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTSMART_TOKEN_BETA", "a-wrong-token-123")
    result = invoke("report", "--live", "--format", "json")
    assert result.exit_code == 7
    payload = json.loads(result.stdout)  # stderr says which account failed
    validate(payload)
    beta = next(a for a in payload["accounts"] if a["account"] == "beta")
    assert beta["exit_code"] == 4 and beta["portals"] == [] and beta["cells"] == {}
    assert "the account token was refused; check OUTSMART_TOKEN_BETA" in beta["error"]
    assert payload["summary"] == payload["summary"] | {"failed": 1, "ok": False}
    html = invoke("report", "--live").output
    assert "failed</span> (exit 4): api error: GET portals/" in html
    rows = list(csv.DictReader(io.StringIO(invoke("report", "--live", "-f", "csv").stdout)))
    assert [r["state"] for r in rows if r["account"] == "beta"] == ["failed"]
    for text in (result.output, html):
        assert "a-wrong-token-123" not in text


def test_a_one_account_repository_is_one_row(live_project: Path, invoke: Invoke) -> None:
    result = invoke("report", "--format", "json")
    assert result.exit_code == 0
    payload = json.loads(result.output)
    validate(payload)
    (only,) = payload["accounts"]
    assert only["account"] is None
    assert only["cells"]["guest_workorder.enabled"]["state"] == "local"
    assert parsed(invoke("report").output).rows == ["(this repository)"]


# -- rendering hostile values, from a report made by hand ----------------------------------
def _controls(text: str) -> Iterator[str]:
    for char in text:
        if (ord(char) < 32 and char not in "\n") or 0x7F <= ord(char) <= 0x9F:
            yield repr(char)
        if char in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f":
            yield repr(char)


def test_every_hostile_value_is_text_on_the_page() -> None:
    html = render_html(hostile_report())
    page = parsed(html)
    assert [tag for tag, _ in page.tags if tag == "img"] == []
    assert sum(1 for tag, _ in page.tags if tag == "details") == len(HOSTILE) + 1
    assert sum(1 for tag, _ in page.tags if tag == "script") == 1
    assert list(_controls(html)) == []
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "abc\\u202eevil\\u2066x\\u2069" in html  # bidi shown as its escape


def test_csv_cells_never_start_a_formula() -> None:
    values = ['=HYPERLINK("http://evil")', "+1+1", "-2", "@SUM(A1)", "\tx", "\rx", "ok"]
    portals = tuple(
        PortalRow(
            f"p{i}", "f.yaml", (), (FieldRow("general.name", v, "f.yaml:3", None, "local", False),)
        )
        for i, v in enumerate(values)
    )
    entries = tuple(
        AccountEntry(value, AccountAlignment((portal,)))
        for value, portal in zip(values, portals, strict=True)
    )
    report = Alignment(("general.name",), entries, "2026-12-04T10:00:01+00:00", None, False, False)
    rows = list(csv.reader(io.StringIO(render_csv(report))))[1:]
    assert [row[0] for row in rows] == [
        '\'=HYPERLINK("http://evil")',
        "'+1+1",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "\\rx",
        "ok",
    ]
    assert [row[6] for row in rows] == [
        '"=HYPERLINK(\\"http://evil\\")"',
        '"+1+1"',
        '"-2"',
        '"@SUM(A1)"',
        '"\\tx"',
        '"\\rx"',
        '"ok"',
    ]
    assert list(_controls(render_csv(hostile_report()).replace("\r\n", "\n"))) == []


def test_hostile_json_keeps_values_exact() -> None:
    payload = render_json(hostile_report())
    validate(json.loads(json.dumps(payload)))
    names = [a["portals"][0]["fields"][0]["value"] for a in payload["accounts"][:-1]]
    assert names == list(HOSTILE.values())


def test_an_account_whose_files_have_errors_says_which_in_every_format(
    fleet: Path, invoke: Invoke
) -> None:
    (portal,) = [
        path
        for path in (fleet / "accounts" / "beta" / "portals").glob("*.yaml")
        if "expires:" in path.read_text(encoding="utf-8")
    ]
    text = portal.read_text(encoding="utf-8")
    portal.write_text(re.sub(r'expires: "[^"]+"', 'expires: "2020-01-01"', text), encoding="utf-8")
    result = invoke("report", "--format", "json")
    assert result.exit_code == 7
    payload = json.loads(result.stdout)
    validate(payload)
    beta = next(a for a in payload["accounts"] if a["account"] == "beta")
    assert beta["error"].startswith("refused: the portal files have errors")
    (expired,) = [p for p in beta["problems"] if p["rule"] == "waiver-expired"]
    assert expired["path"] == f"accounts/beta/portals/{portal.name}"
    assert expired["level"] == "error" and expired["line"] and expired["column"]
    gamma = next(a for a in payload["accounts"] if a["account"] == "gamma")
    assert gamma["problems"] == []
    # On stderr too, whatever the format: a failed row is easy to miss in a file.
    assert "account beta failed (exit 1): refused: the portal files have errors" in result.stderr
    where = f"{expired['path']}:{expired['line']}:{expired['column']}"
    assert f"  {where}: error [waiver-expired] {expired['message']}\n" in result.stderr
    page = parsed(invoke("report").stdout)
    assert any("[waiver-expired]" in text for text in page.text)
    rows = list(csv.DictReader(io.StringIO(invoke("report", "-f", "csv").stdout)))
    (failed,) = [r for r in rows if r["account"] == "beta"]
    assert "[waiver-expired]" in failed["error"]


def test_history_says_since_when_each_override_differs(fleet: Path, invoke: Invoke) -> None:
    git = ["git", "-C", str(fleet)]
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run(
        [*git, *ident, "commit", "-qm", "fleet", "--date", "2026-01-02T03:04:05+00:00"],
        check=True,
        env={**os.environ, "GIT_COMMITTER_DATE": "2026-01-02T03:04:05+00:00"},
    )
    commit = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    result = invoke("report", "--history", "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    validate(payload)
    assert payload["history"] is True
    rows = [
        row
        for account in payload["accounts"]
        for portal in account["portals"]
        for row in portal["fields"]
    ]
    overrides = [row for row in rows if row["state"] in ("overridden", "waived")]
    assert overrides and all(
        row["since"] == {"commit": commit, "date": "2026-01-02"} for row in overrides
    )
    assert all(row["since"] is None for row in rows if row not in overrides)
    # An override edited since, not committed: the page says so.
    beta = fleet / "accounts" / "beta" / "portals" / "acme-facilities.yaml"
    beta.write_text(beta.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    text = beta.read_text(encoding="utf-8").replace(
        "allow_new_relation: true", "allow_new_relation:  true"
    )
    beta.write_text(text, encoding="utf-8")
    page = parsed(invoke("report", "--history").stdout)
    assert any("not committed" in line for line in page.text)
    assert any("2026-01-02" in line for line in page.text)
    assert commit[:12] in [line.strip() for line in page.text]  # the commit, as code
    rows_csv = list(csv.DictReader(io.StringIO(invoke("report", "--history", "-f", "csv").stdout)))
    assert {r["since"] for r in rows_csv if r["state"] in ("overridden", "waived")} <= {
        "2026-01-02",
        "",
    }


def test_json_names_the_target_live_state_was_read_from(fleet: Path, invoke: Invoke) -> None:
    live = json.loads(invoke("report", "--live", "--format", "json").stdout)
    validate(live)
    assert live["target"] == "test" and live["live"] is True
    files = json.loads(invoke("report", "--format", "json").stdout)
    assert files["target"] is None and files["live"] is False


def test_history_outside_git_says_nothing_can_be_dated(fleet: Path, invoke: Invoke) -> None:
    result = invoke("report", "--history", "--format", "json")
    assert result.exit_code == 0
    assert "--history: not a git repository; no override can be dated\n" in result.stderr
    assert json.loads(result.stdout)["commit"] is None


def test_a_failed_row_shows_twenty_reasons_and_counts_the_rest() -> None:
    problems = tuple(
        Problem("portals/a.yaml", Position(n, 1), Level.ERROR, "truthy", f"problem {n}")
        for n in range(1, 26)
    )
    entry = AccountEntry("acme", None, "refused", 1, problems=problems)
    shown = reasons(entry)
    assert shown[0] == "portals/a.yaml:1:1: error [truthy] problem 1"
    assert shown[19] == "portals/a.yaml:20:1: error [truthy] problem 20"
    assert shown[20:] == ["... and 5 more"]
