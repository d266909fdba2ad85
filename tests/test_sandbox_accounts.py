"""The sandbox serves many accounts: each account token reaches its own state, and only it.

OutSmart gives every customer account its own token and an integrating package one
software token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import urllib3

from conftest import SOFTWARE_TOKEN, TOKEN
from portal_config.sandbox import Sandbox, SandboxState, start_sandbox
from portal_config.sandbox.demo import demo_account

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
