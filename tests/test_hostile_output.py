"""Every value shown is data: the hostile-strings corpus through every command and format.

Two threat models, each a real process: a compromised server speaking the contract (the
sandbox seeded with hostile work types, portal ids and names; a small hostile server of
the test's own for error messages), and a pull request's files (hostile YAML keys,
values, and file and directory names). Whatever they hold, markdown yields no markup
from a value, text no raw control byte and no line a runner reads as a workflow command,
JSON the exact value; never a traceback, always a documented exit code.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import Result

from conftest import REPO, SOFTWARE_TOKEN, TOKEN, Invoke
from guest import FLAGS, guest_settings
from hostile_strings import (
    ALL_AT_ONCE,
    HOSTILE,
    PATH_SAFE,
    assert_inert_markdown,
    assert_plain_text,
)
from portal_config.errors import ExitCode
from portal_config.live.wire import MAX_PORTAL_ID
from portal_config.plan.live_values import is_file_id, shown_id, unrepresentable
from portal_config.sandbox import Sandbox, SandboxState, start_sandbox
from portal_config.sandbox.account import record_for
from portal_config.sandbox.demo import demo_account
from portal_config.settings.model import PortalSettings
from portal_config.text import encodable

DOCUMENTED = {
    value for name, value in vars(ExitCode).items() if name.isupper() and isinstance(value, int)
}
VALUES = list(HOSTILE.values())


def _file_can_hold(work_type: str) -> bool:
    """Whether a portal file could list ``work_type``: the product's own judgement."""
    live = guest_settings("acme-facilities", enabled=True, work_types=(work_type,))
    return not unrepresentable(live)


# The corpus split by what the product accepts from a server; each value is in one of
# WORK_TYPES and NO_FILE, and in one of IDS and LONG_IDS, and every one is served. As a
# managed portal's live work type: one a file could hold is rendered in every plan, one
# no file can hold is refused by name (REFUSED). As an unmanaged portal's id: one up to
# the wire's bound is listed apart, quoted; a longer one is an API error (TOO_LONG).
WORK_TYPES = [value for value in VALUES if _file_can_hold(value)]
NO_FILE = [value for value in VALUES if not _file_can_hold(value)]
IDS = [value for value in VALUES if len(value) <= MAX_PORTAL_ID]
LONG_IDS = [value for value in VALUES if len(value) > MAX_PORTAL_ID]


def test_the_corpus_split_keeps_markup_in_the_plans() -> None:
    # Markup, mentions, links, terminal sequences and bidi controls are all a file can
    # hold: the plan renderers, not a refusal, must show them as data.
    refused = {"fence", "newline", "error-command", "mask-command", "long", "all-at-once"}
    assert {name for name, value in HOSTILE.items() if value in NO_FILE} == refused
    assert {name for name, value in HOSTILE.items() if value in WORK_TYPES} == {
        "backtick",
        "details",
        "comment-open",
        "comment-close",
        "mention",
        "link",
        "image",
        "img-tag",
        "carriage-return",
        "osc-title",
        "osc-52",
        "csi",
        "c1-csi",
        "bidi",
        "backtick-edges",
    }
    assert LONG_IDS == [HOSTILE["long"]]
    assert not any(is_file_id(value) for value in IDS)  # each one shown quoted


def _guest(work_types: list[str]) -> dict[str, Any]:
    return {"enabled": True, **{flag: False for flag in FLAGS}, "work_types": work_types}


def hostile_account(work_types: list[str] = WORK_TYPES, ids: list[str] = IDS) -> dict[str, Any]:
    """The demo account as a compromised server would serve it: ``work_types`` as live
    work types of a managed portal whose name is everything at once, each of ``ids`` as
    the id, name and work type of an unmanaged one, and the whole corpus in the account's
    work types."""
    account = demo_account()
    acme = account["portals"]["acme-facilities"]
    acme["guest_workorder"]["work_types"] = ["Storing", *work_types]
    acme["name"] = ALL_AT_ONCE
    for value in ids:
        account["portals"][value] = record_for(value, value, {"guest_workorder": _guest([value])})
    account["work_types"] += VALUES
    account["inactive_work_types"] += [f"{ALL_AT_ONCE} (inactive)"]
    return account


# Every value a live work type of the managed portal: no file could hold some of them.
REFUSED = hostile_account([*WORK_TYPES, *NO_FILE])
REFUSED_LIVE: list[str] = REFUSED["portals"]["acme-facilities"]["guest_workorder"]["work_types"]
# Each id longer than the wire's bound an unmanaged portal: the API's answer is nonsense,
# refused in one line that shows the id's start, escaped.
TOO_LONG = hostile_account(ids=[*IDS, *LONG_IDS])
TOO_LONG_ERROR = (
    "api error: unexpected portal record from the API (ValueError: portal_id "
    f"'evil{'L' * 72}... is not text of 1 to {MAX_PORTAL_ID} characters)"
)


def _configure(root: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.rmtree(root / "portals")
    shutil.copytree(REPO / "portals", root / "portals")
    shutil.copy(REPO / "worktypes.yaml", root / "worktypes.yaml")
    (root / "portal-config.yaml").write_text(
        f"default_target: test\ntargets:\n  test:\n    base_url: {url}\n"
        "    retries: 0\n    backoff: 0.01\n    deadline: 30\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("OUTSMART_TOKEN", TOKEN)
    monkeypatch.setenv("OUTSMART_SOFTWARE_TOKEN", SOFTWARE_TOKEN)
    monkeypatch.setenv("NO_COLOR", "1")  # colour codes may come only from the tool


@pytest.fixture
def hostile_live(
    project: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Path]:
    """A project of the shipped portals whose target serves the hostile account (or, with
    a parameter, the account given)."""
    account = getattr(request, "param", None) or hostile_account()
    state = SandboxState.open(project / "state" / "sandbox.json", account)
    with start_sandbox(state, token=TOKEN, software_token=SOFTWARE_TOKEN) as sandbox:
        _configure(project, sandbox.url, monkeypatch)
        yield project


def check(result: Result, fmt: str, codes: set[int]) -> str:
    """The output passes its medium's checks and the exit code is an expected one.

    Markdown is what a recipe puts in a comment: stdout (`> plan.md`); stderr, the
    diagnostics and errors, goes to the job log in every format, and is text."""
    assert result.exit_code in codes, (result.exit_code, result.output[-2000:])
    assert result.exit_code in DOCUMENTED
    if fmt == "markdown":
        assert_inert_markdown(result.stdout)
        assert_plain_text(result.stderr)
    else:
        assert_plain_text(result.output, github=fmt == "github")
    return result.output


def removed_work_types(plan: dict[str, Any]) -> set[str]:
    return {
        name
        for portal in plan["portals"]
        for change in portal["changes"]
        for name in change.get("removed", [])
    }


# -- a compromised server: live data ------------------------------------------------------
@pytest.mark.parametrize("fmt", ["text", "markdown"])
@pytest.mark.parametrize("command", ["diff", "drift"])
def test_live_values_are_data_in_diff_and_drift(
    hostile_live: Path, invoke: Invoke, command: str, fmt: str
) -> None:
    output = check(invoke(command, "--format", fmt), fmt, {ExitCode.CHANGES})
    if fmt == "text":
        assert "        - \\x1b]0;pwned\\x07" in output  # a removed work type
        assert "        - a\\rb evil" in output  # its carriage return visible
        assert "        - </details></details>evil" in output
        assert '? "x\\n::error::pwned"  unmanaged' in output  # an odd id, quoted
        for value in IDS:  # every unmanaged id on a line of its own
            assert f"\n? {shown_id(value)}  unmanaged: " in output
    else:
        assert "- work_types: \\x1b]0;pwned\\x07" in output  # inside the diff block
        assert "- work_types: </details></details>evil" in output
        assert "- work_types: <img src=x onerror=alert(1)>" in output
        assert '`"x\\n::error::pwned"`' in output  # an unmanaged id, quoted, as code
        assert '````"```\\n</details>\\n<!-- evil"````' in output


@pytest.mark.parametrize("command", ["diff", "drift"])
def test_colour_codes_come_only_from_the_tool(
    hostile_live: Path, invoke: Invoke, command: str
) -> None:
    result = invoke(command, "--color")
    assert result.exit_code == ExitCode.CHANGES
    # Every ESC starts one of the tool's SGR colour codes; without them, plain text.
    assert "\x1b[" in result.output
    assert_plain_text(re.sub("\x1b\\[[0-9;]*m", "", result.output))


@pytest.mark.parametrize("command", ["diff", "drift"])
def test_live_values_are_exact_in_json(hostile_live: Path, invoke: Invoke, command: str) -> None:
    output = check(invoke(command, "--format", "json"), "json", {ExitCode.CHANGES})
    plan = json.loads(output)
    assert removed_work_types(plan) == set(WORK_TYPES)
    assert plan["unmanaged_other_ids"] == sorted(IDS)


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_show_renders_a_plan_of_hostile_live_values_as_data(
    hostile_live: Path, invoke: Invoke, fmt: str
) -> None:
    check(invoke("diff", "--out", "plan.json"), "text", {ExitCode.CHANGES})
    output = check(invoke("show", "plan.json", "--format", fmt), fmt, {ExitCode.OK})
    if fmt == "json":
        plan = json.loads(output)
        assert removed_work_types(plan) == set(WORK_TYPES)
        assert plan["unmanaged_other_ids"] == sorted(IDS)
    elif fmt == "text":
        assert "        - <!-- evil\n" in output
        assert '? "x\\n::add-mask::pwned"  unmanaged' in output
    else:
        assert "- work_types: @org/team evil  # portals/acme-facilities.yaml:10\n" in output
        assert '`"x\\n::add-mask::pwned"`' in output


def _forge(plan: dict[str, Any]) -> None:
    """The corpus where a saved plan may not hold it: live and desired work types no file
    can hold, odd ids as file ids, ids longer than any portal's."""
    acme = next(portal for portal in plan["portals"] if portal["portal"] == "acme-facilities")
    acme["live"]["guest_workorder"]["work_types"] += NO_FILE
    acme["desired"]["guest_workorder"]["work_types"] += NO_FILE
    plan["unmanaged"] += IDS
    plan["unmanaged_other_ids"] += LONG_IDS


@pytest.mark.parametrize(
    "args",
    [("show", "--format", f) for f in ("text", "markdown", "json")] + [("apply", "--yes")],
)
def test_a_forged_plan_is_refused_in_one_escaped_line_each(
    hostile_live: Path, invoke: Invoke, args: tuple[str, ...]
) -> None:
    check(invoke("diff", "--out", "plan.json"), "text", {ExitCode.CHANGES})
    path = hostile_live / "plan.json"
    plan = json.loads(path.read_text(encoding="utf-8"))
    _forge(plan)
    path.write_text(json.dumps(plan), encoding="utf-8")
    output = check(invoke(args[0], "plan.json", *args[1:]), "text", {ExitCode.USAGE})
    lines = output.splitlines()
    assert all(line.startswith("invalid plan: plan.json: ") for line in lines)
    # One line for each forged value: as a live work type and a desired one, as an id.
    assert len(lines) == 2 * len(NO_FILE) + len(IDS) + len(LONG_IDS)
    error = 1 + IDS.index(HOSTILE["error-command"])  # after the demo's own unmanaged portal
    assert (
        f"invalid plan: plan.json: unmanaged[{error}]: 'x\\n::error::pwned' is not a valid "
        "portal id; use lowercase letters, digits and single hyphens, e.g. acme-facilities"
    ) in lines
    assert (
        f"invalid plan: plan.json: unmanaged_other_ids[{len(IDS)}] is 100004 characters long; "
        "at most 1000 are allowed"
    ) in lines


# The refusal of REFUSED's managed portal, as diff, drift, apply and pull give it: its
# start, the reasons for two values, escaped, and its end.
REFUSAL_START = "live portal 'acme-facilities' holds what no portal file can: "
REFUSAL_REASONS = [
    f"; work_types[{REFUSED_LIVE.index(HOSTILE['error-command'])}]: 'x\\n::error::pwned' "
    "is not a valid work type; ",
    f"; work_types[{REFUSED_LIVE.index(HOSTILE['long'])}] is 100004 characters long; "
    "at most 100 are allowed; ",
]
REFUSAL_END = "; change it in OutSmart (portal-config never rewrites a live value silently)"
REFUSED_SUMMARY = "refused: 1 live portal(s) in target test hold what no portal file can"


def assert_refusal(line: str, prefix: str) -> None:
    """``line`` is REFUSED's refusal, naming every value no file can hold."""
    assert line.startswith(prefix + REFUSAL_START) and line.endswith(REFUSAL_END)
    assert all(reason in line for reason in REFUSAL_REASONS)
    for value in NO_FILE:  # each one named, by its place in the live list
        assert f"work_types[{REFUSED_LIVE.index(value)}]" in line


@pytest.mark.parametrize("hostile_live", [REFUSED], indirect=True)
@pytest.mark.parametrize(
    ("command", "fmt"),
    [(c, f) for c in ("diff", "drift") for f in ("text", "markdown", "json")] + [("apply", "text")],
)
def test_live_values_no_file_can_hold_are_refused_by_name_as_data(
    hostile_live: Path, invoke: Invoke, command: str, fmt: str
) -> None:
    args = ("--yes",) if command == "apply" else ("--format", fmt)
    result = invoke(command, *args)
    # Refused before any plan, in lint's positioned form on stderr: text in every format.
    check(result, "text", {ExitCode.PROBLEMS})
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        result.stderr.splitlines()[0],
        "1 file checked: 1 error, 0 warnings (failed)",
        REFUSED_SUMMARY,
    ]
    assert_refusal(
        result.stderr.splitlines()[0], "portals/acme-facilities.yaml:2:9: error [live-value] "
    )


@pytest.mark.parametrize("hostile_live", [REFUSED], indirect=True)
def test_pull_names_live_values_no_file_can_hold_as_data(
    hostile_live: Path, invoke: Invoke
) -> None:
    output = check(invoke("pull", "--dir", "pulled"), "text", {ExitCode.PROBLEMS})
    line = next(line for line in output.splitlines() if "acme-facilities" in line)
    assert_refusal(line, "refused: pulled/acme-facilities.yaml: not written: ")
    assert not (hostile_live / "pulled" / "acme-facilities.yaml").exists()


@pytest.mark.parametrize("hostile_live", [TOO_LONG], indirect=True)
@pytest.mark.parametrize(
    ("command", "fmt"),
    [(c, f) for c in ("diff", "drift") for f in ("text", "markdown", "json")]
    + [("apply", "text"), ("pull", "text")],
)
def test_a_portal_id_longer_than_any_is_one_escaped_api_error_line(
    hostile_live: Path, invoke: Invoke, command: str, fmt: str
) -> None:
    args = {"apply": ("--yes",), "pull": ("--dir", "pulled")}.get(command, ("--format", fmt))
    output = check(invoke(command, *args), "text", {ExitCode.API})
    assert output.splitlines()[-1] == TOO_LONG_ERROR


def test_apply_log_shows_live_values_as_data(hostile_live: Path, invoke: Invoke) -> None:
    output = check(invoke("apply", "--yes"), "text", {ExitCode.OK})
    assert "    - \\x1b]0;pwned\\x07\n" in output
    assert "    - abc\\u202eevil\\u2066x\\u2069\n" in output
    assert "applied" in output


def test_pull_messages_show_live_values_as_data(hostile_live: Path, invoke: Invoke) -> None:
    result = invoke("pull", "--dir", "pulled")
    check(result, "text", {ExitCode.OK, ExitCode.PROBLEMS})
    # The unsafe ids are refused by name, each on one line.
    assert 'refused: "x\\n::error::pwned": not a safe file name' in result.output
    for value in IDS:
        assert f"refused: {shown_id(value)}: not a safe file name" in result.output


class _HostileServer(ThreadingHTTPServer):
    refuse: str  # "reads": every GET is an envelope error; "writes": every PUT is
    account: dict[str, Any]  # what reads answer with when they are not refused


class _HostileHandler(BaseHTTPRequestHandler):
    """Speaks the contract, and puts the corpus into every envelope message it can."""

    server: _HostileServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, envelope: dict[str, Any]) -> None:
        body = json.dumps(envelope).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _refusal(self) -> dict[str, Any]:
        # 1101, required field missing: a final refusal, quoted in the error line.
        return {"code": 1101, "messages": VALUES, "response": None}

    def do_GET(self) -> None:
        if self.server.refuse == "reads":
            return self._answer(self._refusal())
        account = self.server.account
        if urlsplit(self.path).path.endswith("/worktypes/"):
            names = account["work_types"]
            return self._answer(
                {"code": 200, "messages": [], "response": [{"wrt_name": n} for n in names]}
            )
        page = {"portals": list(account["portals"].values()), "page": 1, "pages": 1}
        return self._answer({"code": 200, "messages": [], "response": page})

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer({"code": 422, "messages": [ALL_AT_ONCE, *VALUES], "response": None})


@pytest.fixture
def hostile_server(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[_HostileServer]:
    server = _HostileServer(("127.0.0.1", 0), _HostileHandler)
    server.refuse = "reads"
    server.account = hostile_account()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _configure(project, f"http://127.0.0.1:{server.server_address[1]}/openapi/8/", monkeypatch)
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
@pytest.mark.parametrize("command", ["diff", "drift"])
def test_server_messages_are_one_escaped_error_line(
    hostile_server: _HostileServer, invoke: Invoke, command: str, fmt: str
) -> None:
    result = invoke(command, "--format", fmt)
    assert result.exit_code == ExitCode.API
    assert_plain_text(result.output)  # the error goes to stderr, as text, in every format
    last = result.output.splitlines()[-1]
    assert last.startswith("api error: GET ")
    assert "\\x1b]0;pwned\\x07" in last


def test_pull_with_server_messages(hostile_server: _HostileServer, invoke: Invoke) -> None:
    check(invoke("pull", "--dir", "pulled"), "text", {ExitCode.API})


def test_apply_results_quote_server_messages_as_data(
    hostile_server: _HostileServer, invoke: Invoke
) -> None:
    hostile_server.refuse = "writes"
    output = check(invoke("apply", "--yes"), "text", {ExitCode.APPLY_FAILED})
    assert "failed" in output and "\\x1b]0;t\\x07" in output


# -- a pull request: files, keys and paths -----------------------------------------------
def _hostile_files(root: Path) -> None:
    """Portal files whose keys and values are the corpus, in files and directories named
    with it, and one file holding raw control bytes (shown in a lint snippet)."""
    portals = root / "portals"
    for index, value in enumerate(HOSTILE.values()):
        quoted = json.dumps(value)  # a JSON string is a YAML double-quoted scalar
        text = (
            f"portal: p{index:02d}\n"
            "guest_workorder:\n"
            "  enabled: true\n"
            f"  work_types: [{quoted}]\n"
            f"{quoted}: 1\n"
        )
        (portals / f"p{index:02d}.yaml").write_text(text, encoding="utf-8")
    for index, value in enumerate(PATH_SAFE.values()):
        folder = portals / value
        folder.mkdir(exist_ok=True)
        # Valid, but not in the canonical form (fmt) and not named after its id (lint).
        (folder / f"{value}.yaml").write_text(
            f"portal: d{index:02d}\nguest_workorder: {{enabled: true}}\n", encoding="utf-8"
        )
    # YAML allows a raw bidi override, not an ESC: the reader stops at the ESC.
    (portals / "raw.yaml").write_text(
        "portal: raw\nguest_workorder:\n  enabled: true\n  work_types: [\u202eevil, \x1b[2J]\n",
        encoding="utf-8",
    )
    (portals / "bidi.yaml").write_text(
        "portal: bidi\nguest_workorder:\n  enabled: true\n  work_types: [\u202eevil, 5]\n",
        encoding="utf-8",
    )


@pytest.fixture
def hostile_files(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(REPO / "worktypes.yaml", project / "worktypes.yaml")
    monkeypatch.setenv("NO_COLOR", "1")
    _hostile_files(project)
    return project


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_lint_shows_hostile_keys_values_and_paths_as_data(
    hostile_files: Path, invoke: Invoke, fmt: str
) -> None:
    output = check(invoke("lint", "--format", fmt), fmt, {ExitCode.PROBLEMS})
    if fmt in ("json", "sarif"):
        json.loads(output)  # still JSON
    if fmt == "text":
        assert "portals/x\\n::error::pwned/x\\n::error::pwned.yaml:" in output
        assert " 4 |   work_types: [\\u202eevil, \\x1b[2J]\n" in output


def test_lint_text_puts_the_caret_under_the_escaped_column(
    hostile_files: Path, invoke: Invoke
) -> None:
    lines = invoke("lint", "portals/bidi.yaml").output.splitlines()
    snippet = " 4 |   work_types: [\\u202eevil, 5]"
    # Each problem in the line, in column order; a caret under the override is under the
    # start of its escape.
    assert lines[0].startswith("portals/bidi.yaml:4:16: error [unknown-work-type]")
    assert lines[1:3] == [snippet, "   |" + " " * 16 + "^"]
    assert lines[3].startswith("portals/bidi.yaml:4:23: error [schema]")
    # The bidi override before the 5 is shown as six characters: the caret moves five
    # columns right, to stay under the 5.
    assert lines[4:6] == [snippet, "   |" + " " * 28 + "^"]


def test_fmt_check_shows_hostile_paths_and_problems_as_data(
    hostile_files: Path, invoke: Invoke
) -> None:
    output = check(invoke("fmt", "--check"), "text", {ExitCode.PROBLEMS})
    assert "would reformat portals/x\\n::error::pwned/x\\n::error::pwned.yaml\n" in output
    assert "portals/raw.yaml:4:" in output


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_diff_prints_lint_errors_of_hostile_files_as_data(
    hostile_files: Path, invoke: Invoke, fmt: str
) -> None:
    (hostile_files / "portal-config.yaml").write_text(
        "default_target: test\ntargets:\n  test:\n    base_url: http://127.0.0.1:9/openapi/8/\n",
        encoding="utf-8",
    )
    # Refused before any request: the lint errors (on stderr) are text in every format.
    output = check(invoke("diff", "--format", fmt), "text", {ExitCode.PROBLEMS})
    assert "refused: the portal files have errors" in output


# -- many accounts: the grouped output ----------------------------------------------------
@pytest.fixture
def hostile_fleet(
    hostile_server: _HostileServer, project: Path, monkeypatch: pytest.MonkeyPatch
) -> _HostileServer:
    """Two accounts, both served by the hostile server."""
    url = f"http://127.0.0.1:{hostile_server.server_address[1]}/openapi/8/"
    for name in ("acme", "beta"):
        home = project / "accounts" / name
        shutil.copytree(REPO / "portals", home / "portals")
        shutil.copy(REPO / "worktypes.yaml", home / "worktypes.yaml")
        monkeypatch.setenv(f"OUTSMART_TOKEN_{name.upper()}", TOKEN)
    shutil.rmtree(project / "portals")
    (project / "portal-config.yaml").write_text(
        f"default_target: test\ntargets:\n  test:\n    base_url: {url}\n    retries: 0\n"
        "accounts:\n  acme:\n  beta:\n",
        encoding="utf-8",
    )
    return hostile_server


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
@pytest.mark.parametrize("command", ["diff", "drift"])
def test_fleet_groups_show_live_values_and_failures_as_data(
    hostile_fleet: _HostileServer, invoke: Invoke, command: str, fmt: str
) -> None:
    # Each account's failure quotes the server's messages, in its group.
    failed = check(invoke(command, "--format", fmt), fmt, {ExitCode.API})
    if fmt == "markdown":
        assert "> account acme failed (exit 4):\n> ````api error: GET portals/: " in failed
    hostile_fleet.refuse = "writes"  # reads answer with the hostile account
    shown = check(invoke(command, "--format", fmt), fmt, {ExitCode.CHANGES})
    if fmt == "json":
        accounts = json.loads(shown)["accounts"]
        assert [removed_work_types(a["result"]) for a in accounts] == [set(WORK_TYPES)] * 2
        assert [a["result"]["unmanaged_other_ids"] for a in accounts] == [sorted(IDS)] * 2
    # Live values no file can hold: each account's refusal, in its group, and the values
    # on the account's diagnostic lines (stderr, the job log).
    hostile_fleet.account = REFUSED
    result = invoke(command, "--format", fmt)
    check(result, fmt, {ExitCode.PROBLEMS})
    for name in ("acme", "beta"):
        prefix = f"[{name}] accounts/{name}/portals/acme-facilities.yaml:2:9: error [live-value] "
        assert_refusal(next(x for x in result.stderr.splitlines() if x.startswith(prefix)), prefix)
    if fmt == "markdown":
        assert f"> account acme failed (exit 1):\n> `{REFUSED_SUMMARY}`\n" in result.stdout
    # An id longer than any: each account's API error, in its group.
    hostile_fleet.account = TOO_LONG
    too_long = check(invoke(command, "--format", fmt), fmt, {ExitCode.API})
    assert too_long.count(TOO_LONG_ERROR) == 2


def test_fleet_apply_shows_failures_as_data(hostile_fleet: _HostileServer, invoke: Invoke) -> None:
    hostile_fleet.refuse = "writes"
    output = check(invoke("apply", "--yes"), "text", {ExitCode.APPLY_FAILED})
    assert "failed" in output and "\\x1b]0;t\\x07" in output
    hostile_fleet.account = REFUSED
    output = check(invoke("apply", "--yes"), "text", {ExitCode.PROBLEMS})
    assert f"account beta failed (exit 1): {REFUSED_SUMMARY}\n" in output
    hostile_fleet.account = TOO_LONG
    output = check(invoke("apply", "--yes"), "text", {ExitCode.API})
    assert f"account beta failed (exit 4): {TOO_LONG_ERROR}\n" in output


# -- the portal's other sections: texts a server sends ----------------------------------------
def _general_name_holds(value: str) -> bool:
    """Whether a portal file could hold ``value`` as general.name (a line of text)."""
    guests = guest_settings("acme-facilities", enabled=False).values
    sections = {**guests, "general": {"name": value}}
    return not unrepresentable(PortalSettings.of("acme-facilities", sections))


NAMES = [value for value in VALUES if _general_name_holds(value)]


def hostile_names_account(names: list[str]) -> dict[str, Any]:
    """The demo account whose Acme portal's name and welcome text are each of ``names``
    (joined): texts a server may send, markup and all."""
    account = demo_account()
    general = account["portals"]["acme-facilities"]["general"]
    general["name"] = "".join(names)[:100]
    general["welcome_text"] = "\n".join(name for name in names if encodable(name))[:5000]
    return account


def test_the_corpus_has_texts_a_file_can_hold_and_some_it_cannot() -> None:
    assert any("<" in name for name in NAMES) and any("`" in name for name in NAMES)
    assert len(NAMES) < len(VALUES)


@pytest.mark.parametrize("hostile_live", [hostile_names_account(NAMES)], indirect=True)
@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
@pytest.mark.parametrize("command", ["diff", "drift"])
def test_texts_of_other_sections_are_data_in_every_format(
    hostile_live: Path, invoke: Invoke, command: str, fmt: str
) -> None:
    # The example file manages general.name, so the hostile live name is shown as the old
    # value of a change; the welcome text it does not manage is never shown.
    output = check(invoke(command, "--format", fmt), fmt, {ExitCode.CHANGES})
    live = hostile_names_account(NAMES)["portals"]["acme-facilities"]["general"]
    if fmt == "json":
        plan = json.loads(output)
        acme = next(p for p in plan["portals"] if p["portal"] == "acme-facilities")
        change = next(c for c in acme["changes"] if c["field"] == "general.name")
        assert change["old"] == live["name"]
        assert "welcome_text" not in json.dumps(acme)
    else:
        assert "general.name" in output and "welcome_text" not in output


UNHELD = [value for value in VALUES if value not in NAMES]


@pytest.mark.parametrize("hostile_live", [hostile_names_account(UNHELD)], indirect=True)
def test_a_text_no_file_can_hold_in_a_managed_field_is_one_escaped_refusal(
    hostile_live: Path, invoke: Invoke
) -> None:
    result = invoke("diff")
    output = check(result, "text", {ExitCode.PROBLEMS})
    line = next(line for line in output.splitlines() if "[live-value]" in line)
    assert "general.name" in line and "welcome_text" not in line


def test_a_text_no_file_can_hold_in_a_field_the_file_leaves_alone_blocks_nothing(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    # Text UTF-8 cannot encode (a lone surrogate), or longer than any text, is a broken
    # answer: one escaped api error line, as for any field.
    welcome = "".join(value for value in UNHELD if encodable(value) and len(value) < 1000)
    sandbox.state.edit_section("acme-facilities", "general", {"welcome_text": welcome})
    assert check(invoke("diff", "--format", "markdown"), "markdown", {ExitCode.CHANGES})
    sandbox.state.edit_section("acme-facilities", "general", {"welcome_text": "x" * 100_001})
    broken = check(invoke("diff", "--format", "markdown"), "markdown", {ExitCode.API})
    assert broken.endswith("is not text of at most 100000 characters that UTF-8 can encode)\n")
