"""The sandbox: the contract on the wire, its state file, and `portal-config sandbox`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import urllib3

from conftest import REPO, SOFTWARE_TOKEN, TOKEN
from portal_config.sandbox import Sandbox
from portal_config.sandbox.process import SandboxProcess

AUTH = {"token": TOKEN, "software_token": SOFTWARE_TOKEN}
HTTP = urllib3.PoolManager(retries=False)


def get(url: str, params: dict[str, str]) -> urllib3.BaseHTTPResponse:
    return HTTP.request("GET", url, fields=params)


def put(url: str, params: dict[str, str], json: object) -> urllib3.BaseHTTPResponse:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return HTTP.request("PUT", f"{url}?{query}", json=json)


def test_envelope_auth_and_trailing_slashes(sandbox: Sandbox) -> None:
    ok = get(sandbox.url + "portals/", AUTH)
    assert ok.status == 200
    body = ok.json()
    assert set(body) == {"code", "messages", "response"} and body["code"] == 200
    assert body["response"]["pages"] == 1 and len(body["response"]["portals"]) == 6
    denied = get(sandbox.url + "portals/", {"token": "x", "software_token": "y"})
    assert denied.status == 401 and denied.json() == {
        "code": 401,
        "messages": ["unauthorized"],
        "response": None,
    }
    no_slash = get(sandbox.url + "portals", AUTH)
    assert no_slash.status == 404


def test_write_validation_and_revision_check(sandbox: Sandbox) -> None:
    url = sandbox.url + "portals/gemeente-intern/"
    guest = {"enabled": True, "work_types": ["Storing"]}
    bad = put(url, AUTH, {"revision": 1, "guest_workorder": {"enabled": "yes"}})
    assert bad.status == 422 and bad.json()["messages"] == [
        "guest_workorder.enabled must be a boolean"
    ]
    ok = put(url, AUTH, {"revision": 1, "guest_workorder": guest})
    assert ok.status == 200 and ok.json()["response"]["revision"] == 2
    stale = put(url, AUTH, {"revision": 1, "guest_workorder": guest})
    assert stale.status == 409 and stale.json()["response"]["revision"] == 2


def test_state_file_is_rewritten_atomically_and_privately(sandbox: Sandbox) -> None:
    assert sandbox.state.path is not None
    sandbox.state.edit("acme-facilities", enabled=False)
    saved = json.loads(sandbox.state.path.read_text())
    assert saved["portals"]["acme-facilities"]["revision"] == 2
    assert oct(os.stat(sandbox.state.path).st_mode & 0o777) == "0o600"
    assert [p.name for p in sandbox.state.path.parent.iterdir()] == [
        "sandbox.json"
    ]  # no temp files left


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
    assert said == "Sandbox stopped after 1 requests (0 answered 429)."
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
