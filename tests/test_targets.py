"""Targets: the zero-config sandbox, config validation, and the URL rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import REPO, Invoke, Write


def test_fresh_clone_diffs_against_the_in_process_sandbox(project: Path, invoke: Invoke) -> None:
    shutil.rmtree(project / "portals")
    shutil.copytree(REPO / "portals", project / "portals")
    shutil.copy(REPO / "worktypes.yaml", project / "worktypes.yaml")
    result = invoke("diff")
    assert result.exit_code == 3
    first = result.output.splitlines()[0]
    assert first.startswith(
        "Target: sandbox (in-process sandbox) http://127.0.0.1:"
    ) and first.endswith("/openapi/8/")
    assert (project / ".portal-config" / "sandbox.json").is_file()
    assert invoke("apply", "--yes").exit_code == 0
    assert invoke("diff").exit_code == 0  # the state file kept the applied settings


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (
            "  prod:\n    base_url: http://example.com/openapi/8/\n",
            "portal-config.yaml:3:15: targets.prod.base_url: plain http is only allowed to loopback addresses; use https",
        ),
        (
            "  prod:\n    base_url: https://example.com/openapi/8/?token=x\n",
            "portal-config.yaml:3:15: targets.prod.base_url: must not carry a query or credentials; tokens come from environment variables",
        ),
        (
            "  prod:\n    base_url: https://x/\n    sandbox: s.json\n",
            "portal-config.yaml:2:3: targets.prod: needs exactly one of 'sandbox' (a state file) or 'base_url'",
        ),
        (
            "  prod:\n    base_url: https://x/\n    concurrency: 0\n",
            "portal-config.yaml:4:18: targets.prod.concurrency: must be an integer from 1 to 64",
        ),
        (
            "  prod:\n    base_url: https://x/\n    verify_tls: false\n",
            "portal-config.yaml:4:5: targets.prod.verify_tls: unknown setting; allowed: sandbox, base_url, token_env, "
            "software_token_env, concurrency, ca_bundle, deadline, retries, backoff, timeout",
        ),
    ],
)
def test_invalid_targets(write: Write, invoke: Invoke, targets: str, message: str) -> None:
    write("portal-config.yaml", "targets:\n" + targets)
    write("portals/a.yaml", "portal: a\nguest_workorder: {enabled: false}\n")
    result = invoke("diff")
    assert result.exit_code == 2
    assert result.output == f"invalid config: {message}\n"


def test_unknown_target_name(write: Write, invoke: Invoke) -> None:
    write("portals/a.yaml", "portal: a\nguest_workorder: {enabled: false}\n")
    result = invoke("diff", "--target", "prod")
    assert result.exit_code == 2
    assert result.output == "error: unknown target 'prod'; configured targets: sandbox\n"


def test_plain_http_to_loopback_is_allowed() -> None:
    from portal_config.targets import url_problem

    assert url_problem("http://127.0.0.1:8808/openapi/8/") is None
    assert url_problem("http://localhost/openapi/8/") is None
    assert url_problem("http://[::1]:9/openapi/8/") is None
    assert url_problem("https://www.werkbonapp.nl/openapi/8/") is None
    assert (
        url_problem("http://10.0.0.1/openapi/8/")
        == "plain http is only allowed to loopback addresses; use https"
    )
    assert url_problem("ftp://x/") == "'ftp://x/' is not an http(s) URL"
