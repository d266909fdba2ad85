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
            "  prod:\n    base_url: ftp://x/\n",
            "portal-config.yaml:3:15: targets.prod.base_url: 'ftp://x/' is not an http(s) URL",
        ),
        (
            "  prod:\n    base_url: https://x/\n    sandbox: s.json\n",
            "portal-config.yaml:2:3: targets.prod needs exactly one of 'sandbox' or 'base_url', found 'sandbox' and 'base_url'",
        ),
        (
            "  prod:\n    concurrency: 2\n",
            "portal-config.yaml:2:3: targets.prod needs exactly one of 'sandbox' or 'base_url', found neither",
        ),
        (
            "  prod:\n    base_url: https://x/\n    concurrency: 0\n",
            "portal-config.yaml:4:18: targets.prod.concurrency must be at least 1, got 0",
        ),
        (
            "  prod:\n    base_url: https://x/\n    concurrency: 65\n",
            "portal-config.yaml:4:18: targets.prod.concurrency must be at most 64, got 65",
        ),
        (
            "  prod:\n    base_url: https://x/\n    retries: 11\n",
            "portal-config.yaml:4:14: targets.prod.retries must be at most 10, got 11",
        ),
        (
            "  prod:\n    base_url: https://x/\n    timeout: 0\n",
            "portal-config.yaml:4:14: targets.prod.timeout must be more than 0, got 0",
        ),
        (
            "  prod:\n    base_url: https://x/\n    timeout: 601\n",
            "portal-config.yaml:4:14: targets.prod.timeout must be at most 600, got 601",
        ),
        (
            "  prod:\n    base_url: https://x/\n    backoff: 10.5\n",
            "portal-config.yaml:4:14: targets.prod.backoff must be at most 10, got 10.5",
        ),
        (
            "  prod:\n    base_url: https://x/\n    deadline: 0\n",
            "portal-config.yaml:4:15: targets.prod.deadline must be more than 0, got 0",
        ),
        (
            "  prod:\n    base_url: https://x/\n    deadline: soon\n",
            "portal-config.yaml:4:15: targets.prod.deadline must be a number, got the string 'soon'",
        ),
        (
            "  prod:\n    base_url: https://x/\n    software_token_env: sw_token\n",
            "portal-config.yaml:4:25: targets.prod.software_token_env: 'sw_token' is not a valid "
            "environment variable name; use capital letters, digits and underscores, e.g. OUTSMART_TOKEN",
        ),
        (
            "  prod:\n    base_url: https://x/\n    timout: 5\n",
            "portal-config.yaml:4:5: unknown key 'timout' in targets.prod; did you mean 'timeout'?",
        ),
        (
            "  prod:\n    base_url: https://x/\n    verify_tls: false\n",
            "portal-config.yaml:4:5: unknown key 'verify_tls' in targets.prod; allowed: backoff, base_url, "
            "ca_bundle, concurrency, deadline, retries, sandbox, software_token_command, "
            "software_token_env, timeout, token_command, token_command_timeout, token_env",
        ),
        (
            # A string is refused, not split: a shell line (pipes, $VARS, ~) would reach the
            # program as literal arguments, so the argv list is the one accepted form.
            "  prod:\n    base_url: https://x/\n    token_command: op read op://vault/item/token\n",
            "portal-config.yaml:4:20: targets.prod.token_command must be a list, "
            "got the string 'op read op://vault/item/token'",
        ),
        (
            "  prod:\n    base_url: https://x/\n    token_command: []\n",
            "portal-config.yaml:4:20: targets.prod.token_command must name a command, "
            "got an empty list",
        ),
        (
            "  prod:\n    base_url: https://x/\n    token_command: [op, read, '']\n",
            "portal-config.yaml:4:31: targets.prod.token_command[2] must not be empty",
        ),
        (
            "  prod:\n    base_url: https://x/\n    software_token_command: [op, 5]\n",
            "portal-config.yaml:4:34: targets.prod.software_token_command[1] must be a string: "
            '`5` was read as an integer 5; quote it: "5"',
        ),
        (
            "  prod:\n    base_url: https://x/\n    token_env: PROD_TOKEN\n    token_command: [op, read, 'op://v/i/t']\n",
            "portal-config.yaml:5:5: targets.prod.token_command: give token_command or "
            "token_env, not both",
        ),
        (
            "  prod:\n    base_url: https://x/\n    software_token_command: [op, read, 'op://v/i/s']\n    software_token_env: SW\n",
            "portal-config.yaml:4:5: targets.prod.software_token_command: give "
            "software_token_command or software_token_env, not both",
        ),
        (
            "  prod:\n    base_url: https://x/\n    token_command_timeout: 0\n",
            "portal-config.yaml:4:28: targets.prod.token_command_timeout must be more than 0, got 0",
        ),
        (
            "  prod:\n    base_url: https://x/\n    token_command_timeout: 601\n",
            "portal-config.yaml:4:28: targets.prod.token_command_timeout must be at most 600, "
            "got 601",
        ),
        (
            "  prod:\n    base_url: https://x/\n    token_comand: [op]\n",
            "portal-config.yaml:4:5: unknown key 'token_comand' in targets.prod; "
            "did you mean 'token_command'?",
        ),
        (
            "  prod: https://x/\n",
            "portal-config.yaml:2:9: targets.prod must be a mapping, got the string 'https://x/'",
        ),
    ],
)
def test_invalid_targets(write: Write, invoke: Invoke, targets: str, message: str) -> None:
    write("portal-config.yaml", "targets:\n" + targets)
    write("portals/a.yaml", "portal: a\nguest_workorder: {enabled: false}\n")
    # lint (and so pre-commit) catches what would otherwise only break the post-merge apply.
    for command in ("lint", "diff", "apply", "pull"):
        result = invoke(command)
        assert (command, result.exit_code) == (command, 2)
        assert result.output == f"invalid config: {message}\n", command


def test_unknown_target_name(write: Write, invoke: Invoke) -> None:
    write("portals/a.yaml", "portal: a\nguest_workorder: {enabled: false}\n")
    result = invoke("diff", "--target", "prod")
    assert result.exit_code == 2
    assert result.output == "error: unknown target 'prod'; configured targets: sandbox\n"


def test_unknown_target_name_gets_a_did_you_mean(write: Write, invoke: Invoke) -> None:
    write("portal-config.yaml", "targets:\n  production: {base_url: 'https://x/'}\n")
    write("portals/a.yaml", "portal: a\nguest_workorder: {enabled: false}\n")
    result = invoke("diff", "--target", "prodution")
    assert result.exit_code == 2
    assert result.output == ("error: unknown target 'prodution'; did you mean 'production'?\n")


def test_targets_are_picked_from_the_typed_config(write: Write) -> None:
    from portal_config.project.config import Target
    from portal_config.project.config_reader import load_config
    from portal_config.run.targets import resolve_target

    write(
        "portal-config.yaml",
        "default_target: prod\n"
        "targets:\n"
        "  prod: {base_url: 'https://x/', token_env: PROD_TOKEN, concurrency: 8, timeout: 5}\n"
        "  local: {sandbox: state/local.json, ca_bundle: ca.pem}\n",
    )
    config = load_config()
    prod = Target("prod", base_url="https://x/", token_env="PROD_TOKEN", concurrency=8, timeout=5)
    assert resolve_target(config, None) == prod
    local = resolve_target(config, "local")
    assert local.sandbox_state == config.root / "state" / "local.json"
    assert local.ca_bundle == config.root / "ca.pem"


def test_plain_http_to_loopback_is_allowed() -> None:
    from portal_config.project.config_reader import url_problem

    assert url_problem("http://127.0.0.1:8808/openapi/8/") is None
    assert url_problem("http://localhost/openapi/8/") is None
    assert url_problem("http://[::1]:9/openapi/8/") is None
    assert url_problem("https://www.werkbonapp.nl/openapi/8/") is None
    assert (
        url_problem("http://10.0.0.1/openapi/8/")
        == "plain http is only allowed to loopback addresses; use https"
    )
    assert url_problem("ftp://x/") == "'ftp://x/' is not an http(s) URL"
