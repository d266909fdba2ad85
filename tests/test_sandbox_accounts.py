"""The sandbox serves many accounts: each account token reaches its own state, and only it.

OutSmart gives every customer account its own token and an integrating package one
software token; `portal-config sandbox --accounts N` serves N such accounts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import urllib3

from conftest import REPO, SOFTWARE_TOKEN, TOKEN, Invoke, Write
from portal_config.project.config import account_state_path
from portal_config.sandbox import Sandbox, SandboxState, start_sandbox
from portal_config.sandbox.demo import demo_account
from portal_config.sandbox.process import SandboxProcess
from portal_config.sandbox.tokens import account_names, account_token

OTHER_TOKEN = "tok-Other8AccountsECRET-12"
HTTP = urllib3.PoolManager(retries=False)


def call(url: str, token: str, method: str = "GET", body: object = None) -> dict[str, Any]:
    query = f"token={token}&software_token={SOFTWARE_TOKEN}"
    answer: dict[str, Any] = HTTP.request(method, f"{url}?{query}", json=body).json()
    return answer


def portal_ids(sandbox_url: str, token: str) -> list[str]:
    return [p["portal_id"] for p in call(sandbox_url + "portals/", token)["response"]["portals"]]


def revision(sandbox_url: str, token: str, portal: str) -> int:
    return int(call(f"{sandbox_url}portals/{portal}/", token)["response"]["revision"])


def two_portals() -> dict[str, Any]:
    """The demo account cut down to two portals, so two accounts' lists differ."""
    account = demo_account()
    account["portals"] = {p: account["portals"][p] for p in ("acme-facilities", "secura-alarm")}
    return account


@pytest.fixture
def two_accounts(tmp_path: Path) -> Any:
    """The demo account on TOKEN (the default) and a two-portal account on OTHER_TOKEN."""
    first = SandboxState.open(tmp_path / "first.json", demo_account())
    second = SandboxState.open(tmp_path / "second.json", two_portals())
    with start_sandbox(
        first, token=TOKEN, software_token=SOFTWARE_TOKEN, accounts={OTHER_TOKEN: second}
    ) as running:
        yield running


def test_each_account_token_sees_its_own_portals(two_accounts: Sandbox) -> None:
    assert portal_ids(two_accounts.url, TOKEN) == sorted(demo_account()["portals"])
    assert portal_ids(two_accounts.url, OTHER_TOKEN) == ["acme-facilities", "secura-alarm"]
    assert call(two_accounts.url + "portals/oud-portaal/", OTHER_TOKEN)["code"] == 404


def test_the_default_account_stays_the_sandboxs_state(two_accounts: Sandbox) -> None:
    assert two_accounts.state.path is not None and two_accounts.state.path.name == "first.json"
    assert list(two_accounts.accounts) == [TOKEN, OTHER_TOKEN]
    assert two_accounts.accounts[TOKEN] is two_accounts.state


def test_a_write_through_one_account_never_changes_another(two_accounts: Sandbox) -> None:
    url = two_accounts.url + "portals/acme-facilities/"
    before = call(url, OTHER_TOKEN)["response"]
    guest = {"enabled": False, "work_types": []}
    written = call(url, TOKEN, "PUT", {"revision": 1, "guest_workorder": guest})
    assert (written["code"], written["response"]["revision"]) == (200, 2)
    assert call(url, OTHER_TOKEN)["response"] == before
    assert two_accounts.accounts[OTHER_TOKEN].get("acme-facilities") == before
    assert revision(two_accounts.url, TOKEN, "acme-facilities") == 2


def test_a_token_of_no_account_is_refused_with_code_1004(two_accounts: Sandbox) -> None:
    refused = {"code": 1004, "messages": ["unauthorized client token"], "response": None}
    assert call(two_accounts.url + "portals/", "sandbox-token-account-999") == refused
    # Two account tokens in one request: which account is meant would be a guess.
    both = f"{TOKEN}&token={OTHER_TOKEN}"
    assert call(two_accounts.url + "portals/", both) == refused


def test_one_token_cannot_name_two_states(tmp_path: Path) -> None:
    first, second = SandboxState(demo_account()), SandboxState(two_portals())
    with pytest.raises(ValueError) as raised:
        start_sandbox(first, token=TOKEN, software_token=SOFTWARE_TOKEN, accounts={TOKEN: second})
    assert str(raised.value) == "the default token is also given in accounts, with another state"


def test_account_names_tokens_and_state_files_are_numbered_and_padded() -> None:
    assert account_names(3) == ["account-001", "account-002", "account-003"]
    assert account_names(1000)[::999] == ["account-0001", "account-1000"]
    assert account_token("account-007") == "sandbox-token-account-007"
    state = Path(".portal-config/sandbox.json")
    assert account_state_path(state, "account-007") == Path(
        ".portal-config/sandbox-account-007.json"
    )


def test_sandbox_accounts_serves_each_account_its_own_state_across_restarts(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "OUTSMART_TOKEN": TOKEN, "OUTSMART_SOFTWARE_TOKEN": SOFTWARE_TOKEN}
    state = tmp_path / "st" / "s.json"
    sandbox = SandboxProcess(state, "--accounts", "3", cwd=tmp_path, env=env)
    try:
        url = sandbox.url
        assert portal_ids(url, "sandbox-token-account-003") == sorted(demo_account()["portals"])
        # OUTSMART_TOKEN opens the single demo account only; here it is no account's.
        assert call(url + "portals/", TOKEN)["code"] == 1004
        body = {"revision": 1, "guest_workorder": {"enabled": False, "work_types": []}}
        written = call(url + "portals/acme-facilities/", account_token("account-002"), "PUT", body)
        assert written["code"] == 200
        assert revision(url, account_token("account-001"), "acme-facilities") == 1
    finally:
        said = sandbox.stop()
    assert said == "Sandbox stopped after 4 requests."  # counted for all accounts together
    assert sandbox.banner == (
        f"Sandbox listening on {url} (3 accounts account-001 to account-003: "
        f"token sandbox-token-<account>, state {tmp_path}/st/s-<account>.json; "
        "software token from OUTSMART_SOFTWARE_TOKEN). Ctrl-C to stop."
    )
    assert sorted(p.name for p in state.parent.glob("*.json")) == [
        "s-account-001.json", "s-account-002.json", "s-account-003.json"
    ]  # fmt: skip
    # Read as the sandbox reads it: the state file and its journal of writes.
    saved = SandboxState.load(state.parent / "s-account-002.json").data
    assert saved["portals"]["acme-facilities"]["revision"] == 2

    again = SandboxProcess(state, "--accounts", "3", cwd=tmp_path, env=env)
    try:
        assert revision(again.url, account_token("account-002"), "acme-facilities") == 2
        assert revision(again.url, account_token("account-003"), "acme-facilities") == 1
    finally:
        again.stop()


def test_one_account_with_the_default_software_token_names_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTSMART_")}
    sandbox = SandboxProcess(tmp_path / "s.json", "--accounts", "1", env=env)
    try:
        query = "token=sandbox-token-account-001&software_token=sandbox-software-token"
        answer = HTTP.request("GET", f"{sandbox.url}portals/?{query}").json()
    finally:
        sandbox.stop()
    assert answer["code"] == 200
    assert sandbox.banner == (
        f"Sandbox listening on {sandbox.url} (1 account account-001: "
        f"token sandbox-token-<account>, state {tmp_path}/s-<account>.json; "
        "software token sandbox-software-token). Ctrl-C to stop."
    )


def test_the_documented_startup_line_is_what_the_sandbox_prints(tmp_path: Path) -> None:
    readme = (REPO / "docs" / "internals" / "api-contract.md").read_text(encoding="utf-8")
    shown = readme.split("portal-config sandbox --accounts 3\n# ", 1)[1].split("\n", 1)[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTSMART_")}
    state = Path(".portal-config/sandbox.json")
    sandbox = SandboxProcess(state, "--accounts", "3", cwd=tmp_path, env=env)
    sandbox.stop()
    assert sandbox.banner.replace(sandbox.url, "http://127.0.0.1:8808/openapi/8/") == shown


def test_accounts_from_a_directory_never_silently_serve_an_old_state_file(
    write: Write, invoke: Invoke, project: Path
) -> None:
    write("portals/acme.yaml", "portal: acme\nguest_workorder: {enabled: no}\n")
    (project / "s-account-002.json").write_text("{}")
    kept = invoke("sandbox", "--accounts", "2", "--from", "portals", "--state", "s.json")
    assert (kept.exit_code, kept.output) == (
        2,
        "error: --from portals: the state file s-account-002.json already exists and would "
        "be served as it is; delete it or pass another --state\n",
    )
    assert not (project / "s-account-001.json").exists()


def test_an_unusable_account_state_file_names_its_account(invoke: Invoke, project: Path) -> None:
    (project / "s-account-002.json").write_text("{}")
    broken = invoke("sandbox", "--accounts", "2", "--state", "s.json")
    assert (broken.exit_code, broken.output) == (
        2,
        "error: account-002: sandbox state has an unknown format\n",
    )
