"""The sandbox: the contract on the wire, its state file, and `portal-config sandbox`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import urllib3

from conftest import REPO, SOFTWARE_TOKEN, TOKEN, Invoke, Write
from portal_config.sandbox import Faults, Sandbox, SandboxState, start_sandbox
from portal_config.sandbox.demo import demo_account
from portal_config.sandbox.process import SandboxProcess

AUTH = {"token": TOKEN, "software_token": SOFTWARE_TOKEN}
HTTP = urllib3.PoolManager(retries=False)


def get(url: str, params: dict[str, str]) -> urllib3.BaseHTTPResponse:
    return HTTP.request("GET", url, fields=params)


def put(url: str, params: dict[str, str], json: object) -> urllib3.BaseHTTPResponse:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return HTTP.request("PUT", f"{url}?{query}", json=json)


def error(code: int, message: str, response: object = None) -> dict[str, object]:
    return {"code": code, "messages": [message], "response": response}


def test_envelope_auth_and_trailing_slashes(sandbox: Sandbox) -> None:
    ok = get(sandbox.url + "portals/", AUTH)
    assert ok.status == 200
    body = ok.json()
    assert set(body) == {"code", "messages", "response"} and body["code"] == 200
    assert body["response"]["pages"] == 1 and len(body["response"]["portals"]) == 6


# Each wrong request, and the envelope OutSmart answers it with (always HTTP 200), and the
# status the HTTP-status mode sends instead.
REFUSALS = [
    ("GET", "portals/", {"token": "x", "software_token": "y"}, None, 1004, 401, "unauthorized client token"),
    ("GET", "portals/", {"token": TOKEN, "software_token": "y"}, None, 1005, 401, "unauthorized software token"),
    ("GET", "portals/", {"software_token": SOFTWARE_TOKEN}, None, 1004, 401, "unauthorized client token"),
    ("GET", "portals", AUTH, None, 404, 404, "unknown endpoint"),
    ("GET", "portals/a/b/", AUTH, None, 404, 404, "unknown endpoint"),
    ("GET", "portals/nope/", AUTH, None, 404, 404, "portal not found"),
    ("GET", "portals/", {**AUTH, "per_page": "0"}, None, 400, 400, "page >= 1 and 1 <= per_page <= 500"),
    ("GET", "portals/", {**AUTH, "page": "x"}, None, 400, 400, "page and per_page must be integers"),
    ("PUT", "portals/acme-facilities/", AUTH, b"", 1008, 400, "empty body"),
    ("PUT", "portals/acme-facilities/", AUTH, b"{", 1009, 400, "body could not be parsed as JSON"),
    ("PUT", "portals/nope/", AUTH, b"{}", 404, 404, "portal not found"),
    ("PUT", "portals/acme-facilities/", AUTH, b"[]", 422, 422, "body must be a JSON object"),
    ("PUT", "portals/acme-facilities/", AUTH, b"{}", 1101, 422, "Required field missing: revision"),
    ("PUT", "portals/acme-facilities/", AUTH, b'{"revision": 1}', 1101, 422,
     "Required field missing: guest_workorder"),
    ("PUT", "portals/acme-facilities/", AUTH, b'{"revision": "1", "guest_workorder": {}}', 422, 422,
     "revision must be an integer"),
]  # fmt: skip


def _request(
    sandbox: Sandbox, method: str, path: str, params: dict[str, str], body: bytes | None
) -> urllib3.BaseHTTPResponse:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return HTTP.request(method, f"{sandbox.url}{path}?{query}", body=body)


@pytest.mark.parametrize("http_status_errors", [False, True], ids=["outsmart", "http-status"])
@pytest.mark.parametrize("refusal", REFUSALS, ids=[r[-1] + " " + r[1] for r in REFUSALS])
def test_errors_are_http_200_with_the_code_in_the_envelope_unless_mirrored(
    http_status_errors: bool,
    refusal: tuple[str, str, dict[str, str], bytes | None, int, int, str],
) -> None:
    method, path, params, body, code, status, message = refusal
    state = SandboxState.open(None, demo_account())
    with start_sandbox(
        state, token=TOKEN, software_token=SOFTWARE_TOKEN, http_status_errors=http_status_errors
    ) as sandbox:
        answer = _request(sandbox, method, path, params, body)
    expected_status = status if http_status_errors else 200
    assert (answer.status, answer.json()) == (expected_status, error(code, message))


def test_http_status_mode_is_also_switched_on_by_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SANDBOX_HTTP_STATUS_ERRORS", "1")
    state = SandboxState.open(None, demo_account())
    with start_sandbox(state, token=TOKEN, software_token=SOFTWARE_TOKEN) as sandbox:
        assert get(sandbox.url + "portals/", {}).status == 401
        assert get(sandbox.url + "portals/", AUTH).status == 200


def test_method_not_allowed_names_the_allowed_ones(sandbox: Sandbox) -> None:
    answer = _request(sandbox, "POST", "portals/", AUTH, b"{}")
    assert (answer.status, answer.json()) == (200, error(405, "method not allowed"))
    assert answer.headers["Allow"] == "GET"
    assert _request(sandbox, "DELETE", "portals/x/", AUTH, None).headers["Allow"] == "GET, PUT"


def test_worktypes_lists_records_of_strings_inactive_ones_included(sandbox: Sandbox) -> None:
    answer = get(sandbox.url + "worktypes/", AUTH)
    assert answer.status == 200 and answer.json()["code"] == 200
    active = ["Storing", "Onderhoud", "Inspectie", "Plaatsing alarm", "Reparatie", "Oplevering"]
    assert answer.json()["response"] == [
        {"wrt_name": name, "wrt_description": "", "wrt_default_minutes": "60", "wrt_active": "1"}
        for name in active
    ] + [
        {
            "wrt_name": "Legionellacontrole",
            "wrt_description": "",
            "wrt_default_minutes": "60",
            "wrt_active": "0",
        }
    ]


def test_no_demo_portal_offers_the_inactive_work_type() -> None:
    account = demo_account()
    offered = {t for p in account["portals"].values() for t in p["guest_workorder"]["work_types"]}
    assert account["inactive_work_types"] == ["Legionellacontrole"]
    assert offered <= set(account["work_types"])


def test_write_validation_and_revision_check(sandbox: Sandbox) -> None:
    url = sandbox.url + "portals/gemeente-intern/"
    guest = {"enabled": True, "work_types": ["Storing"]}
    bad = put(url, AUTH, {"revision": 1, "guest_workorder": {"enabled": "yes"}})
    assert (bad.status, bad.json()) == (
        200,
        error(422, "guest_workorder.enabled must be a boolean"),
    )
    inactive = {"enabled": True, "work_types": ["Storing", "Legionellacontrole"]}
    refused = put(url, AUTH, {"revision": 1, "guest_workorder": inactive})
    assert refused.json() == error(422, "inactive work type: Legionellacontrole")
    unknown = put(url, AUTH, {"revision": 1, "guest_workorder": {"enabled": True, "x": 1}})
    assert unknown.json() == error(422, "unknown field: x")
    ok = put(url, AUTH, {"revision": 1, "guest_workorder": guest})
    assert ok.status == 200 and ok.json()["code"] == 200 and ok.json()["response"]["revision"] == 2
    stale = put(url, AUTH, {"revision": 1, "guest_workorder": guest})
    assert (stale.status, stale.json()) == (
        200,
        error(
            409, "revision conflict: the portal changed since it was read", ok.json()["response"]
        ),
    )
    assert sandbox.state.get("gemeente-intern") == ok.json()["response"]


def test_envelope_errors_are_injected_as_code_1007_with_nothing_done(sandbox: Sandbox) -> None:
    sandbox.set_faults(Faults(envelope_error_rate=1.0))
    url = sandbox.url + "portals/gemeente-intern/"
    answer = put(url, AUTH, {"revision": 1, "guest_workorder": {"enabled": True}})
    assert (answer.status, answer.json()) == (200, error(1007, "general uncaught error"))
    assert sandbox.state.get("gemeente-intern")["revision"] == 1  # type: ignore[index]


def test_a_state_file_without_inactive_work_types_still_loads(tmp_path: Path) -> None:
    old = demo_account()
    del old["inactive_work_types"]
    (tmp_path / "old.json").write_text(json.dumps(old))
    state = SandboxState.load(tmp_path / "old.json")
    assert state.work_types() == old["work_types"] and state.inactive_work_types() == []


def test_state_files_are_written_privately_and_a_write_is_one_journal_line(
    sandbox: Sandbox,
) -> None:
    path = sandbox.state.path
    assert path is not None
    before = path.read_bytes()
    sandbox.state.edit("acme-facilities", enabled=False)
    assert path.read_bytes() == before  # the state file is not rewritten per write...
    journal = path.with_name("sandbox.json.journal").read_text().splitlines()
    entry = json.loads(journal[-1])  # ...the journal gains the record after the write
    assert (entry["portal"], entry["record"]["revision"]) == ("acme-facilities", 2)
    assert SandboxState.load(path).get("acme-facilities")["revision"] == 2  # type: ignore[index]
    # No temp files left; the journal and the lock file that serializes writers are private.
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == ["sandbox.json", "sandbox.json.journal", "sandbox.json.lock"]
    for name in names:
        assert oct(os.stat(path.parent / name).st_mode & 0o777) == "0o600", name


def test_the_journal_is_folded_into_the_state_file_once_it_outgrows_it(tmp_path: Path) -> None:
    state = SandboxState.open(tmp_path / "s.json", demo_account())
    size = (tmp_path / "s.json").stat().st_size
    serials = []
    for flip in range(400):  # a few hundred writes: journal lines outweigh the file
        state.edit("acme-facilities", enabled=flip % 2 == 0)
        serials.append(json.loads((tmp_path / "s.json").read_text())["serial"])
    assert len(set(serials)) > 1  # the state file was rewritten (compacted) along the way
    journal = (tmp_path / "s.json.journal").stat().st_size
    assert journal <= max(64 * 1024, size) + 1024
    assert SandboxState.load(tmp_path / "s.json").data == state.data
    assert state.get("acme-facilities")["revision"] == 401  # type: ignore[index]


def test_a_torn_journal_line_is_ignored_and_cut_off_by_the_next_write(tmp_path: Path) -> None:
    state = SandboxState.open(tmp_path / "s.json", demo_account())
    state.edit("acme-facilities", enabled=False)
    journal = tmp_path / "s.json.journal"
    whole = journal.read_bytes()
    with journal.open("ab") as stream:  # a writer killed in the middle of its line
        stream.write(b'{"serial":99,"portal":"acme-facilities","record":{"rev')
    loaded = SandboxState.load(tmp_path / "s.json")
    assert loaded.data == state.data
    loaded.edit("gemeente-intern", enabled=True)
    lines = journal.read_bytes()[len(whole) :].splitlines()
    assert [json.loads(line)["portal"] for line in lines] == ["gemeente-intern"]
    assert SandboxState.load(tmp_path / "s.json").data == loaded.data


def test_a_journal_of_another_state_file_is_ignored(tmp_path: Path) -> None:
    # A fresh state file written over an old one (a reset, a kill test's next round) must
    # not take in the old file's journal.
    path = tmp_path / "s.json"
    state = SandboxState.open(path, demo_account())
    state.edit("acme-facilities", enabled=False)
    path.write_text(json.dumps(demo_account()))
    fresh = SandboxState.open(path, demo_account())
    assert fresh.get("acme-facilities")["revision"] == 1  # type: ignore[index]
    fresh.edit("gemeente-intern", enabled=True)
    reloaded = SandboxState.load(path)
    assert reloaded.get("acme-facilities")["revision"] == 1  # type: ignore[index]
    assert reloaded.get("gemeente-intern")["revision"] == 2  # type: ignore[index]


def test_a_write_takes_in_what_another_process_appended(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    mine = SandboxState.open(path, demo_account())
    theirs = SandboxState.load(path)
    mine.edit("acme-facilities", enabled=False)  # starts the journal
    theirs.edit("gemeente-intern", enabled=True)  # appends after taking that in
    record = mine.get("gemeente-intern")
    assert record is not None and record["revision"] == 2
    code, stored, _ = mine.replace("gemeente-intern", 1, record["guest_workorder"])
    assert (code, stored["revision"]) == (409, 2)  # type: ignore[index]


def test_a_write_rereads_a_state_file_that_looks_unchanged(sandbox: Sandbox) -> None:
    # Another process's save can leave inode, size and mtime as they were (a rewrite in
    # place, a reused inode, a coarse clock): the write must still see that revision.
    path = sandbox.state.path
    assert path is not None
    before = os.stat(path)
    theirs = json.loads(path.read_text())
    record = theirs["portals"]["acme-facilities"]
    assert record["revision"] == 1
    record["revision"] = 2  # as many bytes on disk as before
    theirs["serial"] += 1  # as every save does
    text = json.dumps(theirs, ensure_ascii=False, separators=(",", ":")) + "\n"
    assert len(text.encode()) == before.st_size
    path.write_text(text)  # in place: the same inode
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_ino == before.st_ino
    body = {"revision": 1, "guest_workorder": record["guest_workorder"]}
    answer = put(sandbox.url + "portals/acme-facilities/", AUTH, body)
    assert answer.json()["code"] == 409  # not 200 over the other process's write
    assert json.loads(path.read_text())["portals"]["acme-facilities"]["revision"] == 2


def test_a_write_is_validated_against_the_work_types_it_is_checked_with(tmp_path: Path) -> None:
    # Validation and the revision check are one step under the file lock: a work type
    # made inactive by another process just before the write is refused, not stored.
    state = SandboxState.open(tmp_path / "s.json", demo_account())
    other = SandboxState.load(tmp_path / "s.json")
    record = state.get("acme-facilities")
    assert record is not None
    offered = record["guest_workorder"]["work_types"][0]
    other.data["work_types"].remove(offered)
    other.data["inactive_work_types"].append(offered)
    other.save()
    code, stored, why = state.replace(
        "acme-facilities", 1, {"guest_workorder": record["guest_workorder"]}
    )
    assert (code, stored, why) == (422, None, f"inactive work type: {offered}")


def test_sandbox_command_serves_until_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "OUTSMART_TOKEN": TOKEN, "OUTSMART_SOFTWARE_TOKEN": SOFTWARE_TOKEN}
    sandbox = SandboxProcess(tmp_path / "s.json", "--from", str(REPO / "portals"), env=env)
    try:
        assert sandbox.url.startswith("http://127.0.0.1:") and sandbox.url.endswith("/openapi/8/")
        answer = get(sandbox.url + "portals/", AUTH).json()
        names = sorted(p["portal_id"] for p in answer["response"]["portals"])
        assert names == sorted(p.stem for p in (REPO / "portals").glob("*.yaml"))
    finally:
        said = sandbox.stop()  # SIGTERM
    assert sandbox.process.returncode == 0
    assert said == "Sandbox stopped after 1 request."
    assert (
        sandbox.banner
        == f"Sandbox listening on {sandbox.url} (state: {tmp_path / 's.json'}). Ctrl-C to stop."
    )
    assert TOKEN not in said + sandbox.banner


def test_sandbox_refuses_non_loopback_hosts(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "portal_config", "sandbox", "--host", "0.0.0.0", "--port", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr == "error: --host 0.0.0.0: the sandbox only listens on loopback addresses\n"


def test_sandbox_command_mirrors_codes_in_the_status_line_when_asked(tmp_path: Path) -> None:
    env = {**os.environ, "OUTSMART_TOKEN": TOKEN, "OUTSMART_SOFTWARE_TOKEN": SOFTWARE_TOKEN}
    sandbox = SandboxProcess(tmp_path / "s.json", "--http-status-errors", env=env)
    try:
        denied = get(sandbox.url + "portals/", {"token": TOKEN, "software_token": "y"})
    finally:
        sandbox.stop()
    assert (denied.status, denied.json()) == (401, error(1005, "unauthorized software token"))


def test_the_sandbox_imports_nothing_of_the_product_above_it() -> None:
    # STYLE.md: the test server sits below the product; lint, config and targets use it,
    # never the other way round. A fresh interpreter, so nothing else imported them first.
    modules = sorted(p.stem for p in (REPO / "src" / "portal_config" / "sandbox").glob("*.py"))
    code = (
        "import sys\n"
        + "".join(f"import portal_config.sandbox.{m}\n" for m in modules if m != "__init__")
        + "from portal_config.sandbox import Faults, Sandbox, SandboxState, start_sandbox\n"
        + "print(sorted(m for m in sys.modules if m.split('.')[1:2] in "
        + "(['lint'], ['config'], ['targets'])))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout == "[]\n"
    assert modules == [
        "__init__", "account", "answer", "demo", "faults", "handler", "process", "runner",
        "server", "state", "tokens",
    ]  # fmt: skip


def test_sandbox_from_a_directory_is_never_silently_ignored(
    write: Write, invoke: Invoke, project: Path
) -> None:
    missing = invoke("sandbox", "--from", "nope", "--state", "s.json")
    assert (missing.exit_code, missing.output) == (2, "error: --from nope: no such directory\n")
    write("portals/acme.yaml", "portal: acme\nguest_workorder: {enabled: yes}\n")
    broken = invoke("sandbox", "--from", "portals", "--state", "s.json")
    assert (broken.exit_code, broken.output) == (
        2,
        "error: cannot seed the sandbox: 1 lint error in portals; "
        "see `portal-config lint portals`\n",
    )
    (project / "s.json").write_text("{}")
    kept = invoke("sandbox", "--from", "portals", "--state", "s.json")
    assert (kept.exit_code, kept.output) == (
        2,
        "error: --from portals: the state file s.json already exists and would be served "
        "as it is; delete it or pass another --state\n",
    )


def test_sandbox_on_a_port_in_use_says_how_to_get_another(invoke: Invoke, project: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("sandbox", "--port", str(port), "--state", "s.json")
    assert (result.exit_code, result.output) == (
        2,
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(--port 0 picks a free port, or choose another --port)\n",
    )
