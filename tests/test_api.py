"""The OutSmart adapter against the real sandbox: retries, limits, errors, redaction."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import SOFTWARE_TOKEN, TOKEN, Invoke
from guest import guest, guest_settings
from portal_config.live.api import ApiError, ClientSettings, ConflictError, OutSmartClient, redact
from portal_config.live.envelope import CODES
from portal_config.sandbox import Faults, Sandbox, SandboxState, start_sandbox
from portal_config.sandbox.demo import demo_account

FAST = ClientSettings(concurrency=4, retries=3, backoff=0.01, deadline=60)


def client_for(
    sandbox: Sandbox, settings: ClientSettings = FAST, token: str = TOKEN
) -> OutSmartClient:
    return OutSmartClient(sandbox.url, token, SOFTWARE_TOKEN, settings)


def test_bulk_read_is_paginated(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    import portal_config.live.api as api

    monkeypatch.setattr(api, "PAGE_SIZE", 4)
    with client_for(sandbox) as client:
        portals = client.list_portals()
    assert [p.portal for p in portals] == sorted(sandbox.state.data["portals"])
    assert sandbox.requests_seen == 2


def test_read_one_portal_and_work_types(sandbox: Sandbox) -> None:
    with client_for(sandbox) as client:
        acme = client.get_portal("acme-facilities")
        assert acme.revision == 1 and guest(acme.settings, "allow_new_relation") is True
        assert [w.name for w in client.list_work_types()[:2]] == ["Storing", "Onderhoud"]


def test_write_carries_the_revision(sandbox: Sandbox) -> None:
    desired = guest_settings("gemeente-intern", enabled=True, work_types=("Storing",))
    with client_for(sandbox) as client:
        stored = client.replace_portal(desired, 1)
        assert stored.revision == 2 and stored.settings.same_as(desired)
        from portal_config.live.api import ConflictError

        with pytest.raises(ConflictError) as conflict:
            client.replace_portal(desired, 1)
        assert conflict.value.current is not None and conflict.value.current.revision == 2


@pytest.mark.slow  # waits out real timeouts or Retry-After
def test_rate_limit_with_retry_after_is_absorbed(sandbox: Sandbox) -> None:
    sandbox.set_faults(Faults(rate_limit=5))
    started = time.monotonic()
    with client_for(sandbox, ClientSettings(concurrency=4, retries=6, backoff=0.01)) as client:
        results = client.map(lambda _: client.get_portal("acme-facilities"), range(12))
    assert len(results) == 12
    assert sandbox.requests_seen > 12  # some answers were 429 and retried
    assert time.monotonic() - started >= 1.0  # Retry-After: 1 was honoured


def test_transient_errors_are_retried(sandbox: Sandbox) -> None:
    sandbox.set_faults(Faults(error_rate=0.5, seed=3))
    with client_for(sandbox, ClientSettings(retries=8, backoff=0.01)) as client:
        for _ in range(10):
            assert client.get_portal("acme-facilities").revision == 1
    assert sandbox.requests_seen > 10


def test_concurrency_is_bounded(sandbox: Sandbox) -> None:
    sandbox.set_faults(Faults(latency_ms=30))
    with client_for(sandbox, ClientSettings(concurrency=3)) as client:
        client.map(lambda _: client.get_portal("acme-facilities"), range(12))
    assert sandbox.server.max_in_flight == 3


def test_giving_up_names_the_portal_and_the_status(sandbox: Sandbox) -> None:
    sandbox.set_faults(Faults(error_rate=1.0, seed=1))
    with client_for(sandbox, ClientSettings(retries=2, backoff=0.01)) as client:
        with pytest.raises(ApiError) as failure:
            client.get_portal("acme-facilities")
    message = str(failure.value)
    assert message.startswith("GET portals/acme-facilities/: HTTP 50")
    assert message.endswith("injected server error (gave up after 3 attempts)")
    assert failure.value.portal == "acme-facilities"
    assert TOKEN not in message


def test_wrong_token_is_unauthorized_without_leaking(sandbox: Sandbox) -> None:
    with client_for(sandbox, token="wrong-" + TOKEN) as client:
        with pytest.raises(ApiError) as failure:
            client.list_portals()
    assert str(failure.value) == (
        "GET portals/: OutSmart code 1004: the account token was refused; check OUTSMART_TOKEN"
    )
    assert (failure.value.status, failure.value.code) == (401, 1004)


def test_unreachable_server(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ClientSettings(retries=1, backoff=0.01)
    with OutSmartClient(
        f"http://127.0.0.1:{port}/openapi/8/", TOKEN, SOFTWARE_TOKEN, settings
    ) as client:
        with pytest.raises(ApiError) as failure:
            client.list_portals()
    assert str(failure.value) == (
        f"GET portals/: cannot reach http://127.0.0.1:{port}: connection refused "
        "(gave up after 2 attempts)"
    )


def test_deadline_stops_further_requests(sandbox: Sandbox) -> None:
    with client_for(sandbox, ClientSettings(deadline=0.001)) as client:
        time.sleep(0.01)
        with pytest.raises(ApiError, match="gave up, the run's deadline of 0.001s passed"):
            client.list_portals()


def test_redact_removes_tokens_from_any_text() -> None:
    text = f"http://h/openapi/8/portals/?page=1&token={TOKEN}&software_token={SOFTWARE_TOKEN} and {TOKEN}"
    cleaned = redact(text)
    assert TOKEN not in cleaned and SOFTWARE_TOKEN not in cleaned
    assert "token=***" in cleaned and "software_token=***" in cleaned


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("OUTSMART_TOKEN", "1004: the account token was refused; check OUTSMART_TOKEN"),
        (
            "OUTSMART_SOFTWARE_TOKEN",
            "1005: the software token was refused; check OUTSMART_SOFTWARE_TOKEN",
        ),
    ],
)
def test_cli_names_the_refused_token_variable_with_exit_4(
    live_project: Path,
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    expected: str,
) -> None:
    monkeypatch.setenv(variable, "not-the-token")
    result = invoke("diff")
    assert result.exit_code == 4
    assert result.output == f"api error: GET portals/: OutSmart code {expected}\n"


def test_missing_token_variables_are_a_usage_error(
    live_project: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OUTSMART_TOKEN")
    result = invoke("diff")
    assert result.exit_code == 2
    assert result.output == "error: target test: set the environment variable(s) OUTSMART_TOKEN\n"


# -- every envelope code the sandbox sends, in OutSmart mode and in HTTP-status mode -------
GUEST = {"enabled": True, "work_types": ["Storing"]}
ACME = "portals/acme-facilities/"
CODE_CASES: dict[str, tuple[Callable[[OutSmartClient], object], str]] = {
    "1008 empty body": (
        lambda client: client._call("PUT", ACME),
        "PUT portals/acme-facilities/: OutSmart code 1008 (empty body): empty body",
    ),
    "1101 required field": (
        lambda client: client._call("PUT", ACME, json={"guest_workorder": GUEST}),
        "PUT portals/acme-facilities/: OutSmart code 1101 (required field missing): "
        "Required field missing: revision",
    ),
    "400 bad query": (
        lambda client: client._call("GET", "portals/", params={"page": 0}),
        "GET portals/: OutSmart code 400 (bad request (query parameters)): "
        "page >= 1 and 1 <= per_page <= 500",
    ),
    "404 not found": (
        lambda client: client.get_portal("no-such-portal"),
        "GET portals/no-such-portal/: OutSmart code 404 (not found (portal or endpoint)): "
        "portal not found",
    ),
    "405 method": (
        lambda client: client._call("PUT", "worktypes/", json={}),
        "PUT worktypes/: OutSmart code 405 (method not allowed): method not allowed",
    ),
    "422 invalid": (
        lambda client: client.replace_portal(
            guest_settings("acme-facilities", enabled=True, work_types=("Nope",)), 1
        ),
        "PUT portals/acme-facilities/: OutSmart code 422 (invalid field value (wrong type, "
        "unknown work type)): unknown work type: Nope",
    ),
}


@pytest.mark.parametrize("http_status_errors", [False, True], ids=["outsmart", "http-status"])
@pytest.mark.parametrize("case", sorted(CODE_CASES))
def test_every_envelope_code_is_one_clear_final_error(
    tmp_path: Path, case: str, http_status_errors: bool
) -> None:
    call, expected = CODE_CASES[case]
    code = int(case.split()[0])
    state = SandboxState.open(None, demo_account())
    with start_sandbox(
        state, token=TOKEN, software_token=SOFTWARE_TOKEN, http_status_errors=http_status_errors
    ) as sandbox:
        with client_for(sandbox) as client:
            with pytest.raises(ApiError) as failure:
                call(client)
        assert sandbox.requests_seen == 1  # final: not retried
    assert str(failure.value) == expected
    assert (failure.value.status, failure.value.code) == (CODES[code].http, code)


@pytest.mark.parametrize("http_status_errors", [False, True], ids=["outsmart", "http-status"])
@pytest.mark.parametrize(
    ("wrong", "expected"),
    [
        ("token", "OutSmart code 1004: the account token was refused; check ACME_TOKEN"),
        ("software_token", "OutSmart code 1005: the software token was refused; check ACME_SW"),
    ],
)
def test_a_wrong_token_names_its_variable(
    wrong: str, expected: str, http_status_errors: bool
) -> None:
    state = SandboxState.open(None, demo_account())
    tokens = {"token": TOKEN, "software_token": SOFTWARE_TOKEN}
    tokens[wrong] = "wrong-" + tokens[wrong]
    with start_sandbox(
        state, token=TOKEN, software_token=SOFTWARE_TOKEN, http_status_errors=http_status_errors
    ) as sandbox:
        with OutSmartClient(
            sandbox.url,
            **tokens,
            settings=FAST,
            token_env="ACME_TOKEN",
            software_token_env="ACME_SW",
        ) as client:
            with pytest.raises(ApiError) as failure:
                client.list_portals()
    assert str(failure.value) == f"GET portals/: {expected}"
    assert failure.value.status == 401  # apply stops writing after it


@pytest.mark.parametrize("http_status_errors", [False, True], ids=["outsmart", "http-status"])
def test_a_conflict_carries_the_current_portal_in_both_modes(http_status_errors: bool) -> None:
    state = SandboxState.open(None, demo_account())
    desired = guest_settings("gemeente-intern", enabled=True, work_types=("Storing",))
    with start_sandbox(
        state, token=TOKEN, software_token=SOFTWARE_TOKEN, http_status_errors=http_status_errors
    ) as sandbox:
        sandbox.state.edit("gemeente-intern", work_types=["Onderhoud"])
        with client_for(sandbox) as client:
            with pytest.raises(ConflictError) as conflict:
                client.replace_portal(desired, 1)
    current = conflict.value.current
    assert current is not None and current.revision == 2
    assert guest(current.settings, "work_types") == ("Onderhoud",)
    assert (conflict.value.status, conflict.value.code) == (409, 409)


@pytest.mark.slow  # waits out real timeouts or Retry-After
def test_code_1007_is_retried_and_said(sandbox: Sandbox) -> None:
    said: list[str] = []
    sandbox.set_faults(Faults(envelope_error_rate=0.5, seed=4))
    settings = ClientSettings(retries=8, backoff=0.01)
    with OutSmartClient(sandbox.url, TOKEN, SOFTWARE_TOKEN, settings, say=said.append) as client:
        for _ in range(6):
            assert client.get_portal("acme-facilities").revision == 1
    assert len(said) == sandbox.requests_seen - 6 > 0
    for line in said:
        assert re.fullmatch(
            r"retrying GET portals/acme-facilities/ in 0\.[0-9] s \(attempt [2-9]/9\): "
            "OutSmart code 1007",
            line,
        ), line


def test_code_1007_forever_gives_up(sandbox: Sandbox) -> None:
    sandbox.set_faults(Faults(envelope_error_rate=1.0, seed=1))
    with client_for(sandbox, ClientSettings(retries=2, backoff=0.01)) as client:
        with pytest.raises(ApiError) as failure:
            client.get_portal("acme-facilities")
    assert str(failure.value) == (
        "GET portals/acme-facilities/: OutSmart code 1007 (general uncaught error): "
        "general uncaught error (gave up after 3 attempts)"
    )
    assert sandbox.requests_seen == 3


@pytest.mark.parametrize("http_status_errors", [False, True], ids=["outsmart", "http-status"])
def test_a_base_url_without_the_api_path_gets_a_hint(http_status_errors: bool) -> None:
    state = SandboxState(demo_account())
    with start_sandbox(
        state, token=TOKEN, software_token=SOFTWARE_TOKEN, http_status_errors=http_status_errors
    ) as sandbox:
        root = sandbox.url.removesuffix("openapi/8/")  # the host only, as a user might paste it
        with OutSmartClient(root, TOKEN, SOFTWARE_TOKEN, FAST) as client:
            with pytest.raises(ApiError) as failure:
                client.list_portals()
    assert str(failure.value) == (  # the envelope's code decides, whatever the status line
        f"GET portals/: OutSmart code 404: nothing at {root}portals/; check base_url "
        "(OutSmart's ends in /openapi/8/)"
    )
