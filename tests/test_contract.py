"""The sandbox conforms to its own OpenAPI file, checked by schemathesis over real HTTP.

It runs twice: as OutSmart answers (every error HTTP 200, the code in the envelope) and
in the HTTP-status mode (the status line mirrors the code, as a proxy might send it).
"""

from __future__ import annotations

import atexit

import pytest

schemathesis = pytest.importorskip("schemathesis")

from conftest import REPO, SOFTWARE_TOKEN, TOKEN  # noqa: E402
from portal_config.sandbox import Sandbox, SandboxState, start_sandbox  # noqa: E402
from portal_config.sandbox.demo import demo_account  # noqa: E402

# schemathesis sends hundreds of generated requests per test: slow.
pytestmark = pytest.mark.slow


def _served(http_status_errors: bool) -> tuple[Sandbox, schemathesis.BaseSchema]:
    # schemathesis parametrizes at import time, so the server has to exist by then.
    sandbox = start_sandbox(
        SandboxState.open(None, demo_account()),
        token=TOKEN,
        software_token=SOFTWARE_TOKEN,
        http_status_errors=http_status_errors,
    )
    atexit.register(sandbox.stop)
    schema = schemathesis.openapi.from_path(REPO / "openapi" / "portal-settings.yaml")
    schema.config.update(base_url=sandbox.url.rstrip("/"))
    return sandbox, schema


_, OUTSMART_LIKE = _served(http_status_errors=False)
_, HTTP_STATUS = _served(http_status_errors=True)

# A schema-valid write may still be refused by the account: 422 for a work type the
# account does not have. That is the contract, so this one check is left out for PUT.
REFUSED_BY_ACCOUNT = [schemathesis.checks.positive_data_acceptance]
# With errors as HTTP 200, a refusal cannot show in the status line, which is all these
# checks look at; test_sandbox.py asserts the envelope codes (1004, 1005, 400, 405, 422)
# instead, and the HTTP-status run below keeps all of them.
STATUS_ONLY = [
    schemathesis.checks.ignored_auth,
    schemathesis.checks.negative_data_rejection,
    schemathesis.checks.unsupported_method,
]


def _with_tokens(case: schemathesis.Case) -> None:
    case.query = {**(case.query or {}), "token": TOKEN, "software_token": SOFTWARE_TOKEN}


@OUTSMART_LIKE.parametrize()
def test_outsmart_like_sandbox_conforms_with_valid_tokens(case: schemathesis.Case) -> None:
    _with_tokens(case)
    excluded = STATUS_ONLY + (REFUSED_BY_ACCOUNT if case.method == "PUT" else [])
    case.call_and_validate(excluded_checks=excluded)


@OUTSMART_LIKE.parametrize()
def test_outsmart_like_sandbox_conforms_with_any_tokens(case: schemathesis.Case) -> None:
    case.call_and_validate(excluded_checks=STATUS_ONLY)


@HTTP_STATUS.parametrize()
def test_http_status_sandbox_conforms_with_valid_tokens(case: schemathesis.Case) -> None:
    _with_tokens(case)
    case.call_and_validate(excluded_checks=REFUSED_BY_ACCOUNT if case.method == "PUT" else [])


@HTTP_STATUS.parametrize()
def test_http_status_sandbox_conforms_with_any_tokens(case: schemathesis.Case) -> None:
    case.call_and_validate()
