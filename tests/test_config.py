"""The project config file: discovery, defaults and `invalid config:` messages."""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import REPO, VALID, Invoke, Write


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "portal_dir: x\n",
            "portal-config.yaml:1:1: unknown key 'portal_dir'; did you mean 'portals_dir'?",
        ),
        (
            "rules:\n  duplicate-work-types: error\n",
            "portal-config.yaml:2:3: unknown key 'duplicate-work-types' in rules; did you mean 'duplicate-work-type'?",
        ),
        (
            "rules:\n  duplicate-work-type: fatal\n",
            "portal-config.yaml:2:24: rules.duplicate-work-type must be one of error, warning, disable, got the string 'fatal'",
        ),
        ("rules: [a]\n", "portal-config.yaml:1:8: rules must be a mapping or null, got a list"),
        (
            "portals_dir: 3\n",
            'portal-config.yaml:1:14: portals_dir must be a string: `3` was read as an integer 3; quote it: "3"',
        ),
        ("portals_dir: ''\n", "portal-config.yaml:1:14: portals_dir must not be empty"),
        (
            "portals_dir: x\nportals_dir: y\n",
            "portal-config.yaml:2:1: duplicate key 'portals_dir' (first defined at 1:1)",
        ),
        ("- a\n", "portal-config.yaml:1:1: top level must be a mapping of settings, found a list"),
        (
            "safety: {max_portalz: 1}\n",
            "portal-config.yaml:1:10: unknown key 'max_portalz' in safety; did you mean 'max_portals'?",
        ),
        (
            "safety:\n  max_portals: -1\n",
            "portal-config.yaml:2:16: safety.max_portals must be at least 0, got -1",
        ),
        (
            "safety:\n  max_portals: 2.5\n",
            "portal-config.yaml:2:16: safety.max_portals must be an integer, got 2.5",
        ),
        (
            "safety:\n  max_share: 1.5\n",
            "portal-config.yaml:2:14: safety.max_share must be at most 1, got 1.5",
        ),
        (
            "targets:\n  prod:\n    base_url: https://x/\n    timout: 5\n",
            "portal-config.yaml:4:5: unknown key 'timout' in targets.prod; did you mean 'timeout'?",
        ),
        (
            "default_target: prod\n",
            "portal-config.yaml:1:17: default_target 'prod' is not a configured target; configured targets: sandbox",
        ),
        (
            "default_target: prodution\ntargets:\n  production: {base_url: 'https://x/'}\n",
            "portal-config.yaml:1:17: default_target 'prodution' is not a configured target; did you mean 'production'?",
        ),
        (
            "catalog: catalogue.yaml\n",
            "portal-config.yaml:1:10: catalog file catalogue.yaml not found",
        ),
    ],
)
def test_invalid_config_is_a_usage_error_with_position(
    write: Write, invoke: Invoke, text: str, message: str
) -> None:
    write("portal-config.yaml", text)
    write("portals/a.yaml", "portal: a\nguest_workorder: {enabled: false}\n")
    for command in ("lint", "diff", "apply"):
        result = invoke(command)
        assert (command, result.exit_code) == (command, 2)
        assert result.output == f"invalid config: {message}\n", command


def test_config_is_found_by_walking_up(
    write: Write, invoke: Invoke, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write("portal-config.yaml", "portals_dir: settings/portals\n")
    write("settings/portals/acme.yaml", VALID.format(portal="acme"))
    (project / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(project / "deep" / "er")
    result = invoke("lint")
    assert result.stdout == "1 file checked: no problems\n"


def test_explicit_config_option(write: Write, invoke: Invoke) -> None:
    write("conf/pc.yaml", "portals_dir: ../elsewhere\n")
    write("elsewhere/acme.yaml", VALID.format(portal="acme"))
    assert invoke("lint", "--config", "conf/pc.yaml").stdout == "1 file checked: no problems\n"
    missing = invoke("lint", "--config", "conf/none.yaml")
    assert missing.exit_code == 2
    assert missing.output == "invalid config: conf/none.yaml: file not found\n"


def test_configured_catalog_must_exist(write: Write, invoke: Invoke) -> None:
    write("portal-config.yaml", "portals_dir: portals\ncatalog: catalog/worktypes.yaml\n")
    write("portals/acme.yaml", VALID.format(portal="acme"))
    for command in ("lint", "diff"):
        result = invoke(command)
        assert result.exit_code == 2
        assert result.output == (
            "invalid config: portal-config.yaml:2:10: "
            "catalog file catalog/worktypes.yaml not found\n"
        )


def test_catalog_option_overrides_config(write: Write, invoke: Invoke) -> None:
    write("other.yaml", "work_types: [Onderhoud]\n")
    write("portals/acme.yaml", VALID.format(portal="acme"))
    result = invoke("lint", "--catalog", "other.yaml")
    assert result.output.splitlines()[0] == (
        "portals/acme.yaml:5:7: error [unknown-work-type] work type 'Storing' is not in the catalog other.yaml"
    )


def test_config_with_yaml_syntax_error(write: Write, invoke: Invoke) -> None:
    write("portal-config.yaml", "portals_dir: [x\n")
    result = invoke("lint")
    assert result.exit_code == 2
    # The wording after "syntax error:" is the YAML parser's (libyaml or pure Python).
    assert result.output.startswith("invalid config: portal-config.yaml:2:1: syntax error: ")


def test_every_config_mistake_is_reported_in_one_run(write: Write, invoke: Invoke) -> None:
    write(
        "portal-config.yaml",
        "safety: {max_portalz: 1}\n"
        "targets:\n"
        "  prod:\n"
        "    base_url: http://example.com/\n"
        "    token_env: my-token\n",
    )
    result = invoke("lint")
    assert result.exit_code == 2
    assert result.output == (
        "invalid config: portal-config.yaml:1:10: unknown key 'max_portalz' in safety; "
        "did you mean 'max_portals'?\n"
        "invalid config: portal-config.yaml:5:16: targets.prod.token_env: 'my-token' is not a "
        "valid environment variable name; use capital letters, digits and underscores, "
        "e.g. OUTSMART_TOKEN\n"
    )
    # The URL rule is the semantic pass after the schema: it speaks once the schema is met.
    write(
        "portal-config.yaml",
        "targets:\n  prod:\n    base_url: http://example.com/\n",
    )
    assert invoke("lint").output == (
        "invalid config: portal-config.yaml:3:15: targets.prod.base_url: "
        "plain http is only allowed to loopback addresses; use https\n"
    )


@pytest.mark.parametrize("text", ["", "\n", "# settings come later\n\n  # indented\n"])
def test_empty_config_means_all_defaults(write: Write, invoke: Invoke, text: str) -> None:
    write("portal-config.yaml", text)
    write("portals/acme.yaml", VALID.format(portal="acme"))
    write("worktypes.yaml", "work_types: [Storing]\n")
    result = invoke("lint")
    assert (result.exit_code, result.output) == (0, "1 file checked: no problems\n")


NO_CATALOG = "note: no work-type catalog ({}) found; work types not checked\n"


def test_lint_says_once_on_stderr_that_work_types_were_not_checked(
    write: Write, invoke: Invoke
) -> None:
    write("portals/acme.yaml", VALID.format(portal="acme"))
    result = invoke("lint", "--format", "json")
    assert result.exit_code == 0
    assert result.stderr == NO_CATALOG.format("worktypes.yaml")
    write("worktypes.yaml", "work_types: [Storing]\n")
    assert invoke("lint").stderr == ""


def test_without_a_config_the_defaults_are_anchored_at_the_git_root(
    project: Path, write: Write, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    write("portals/acme.yaml", VALID.format(portal="acme"))
    write("portals/other.yaml", "portal: wrong\nguest_workorder: {enabled: false}\n")
    (project / "docs" / "deep").mkdir(parents=True)
    monkeypatch.chdir(project / "docs" / "deep")
    result = invoke("lint")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == "2 files checked: 1 error, 0 warnings (failed)"
    assert result.stderr == NO_CATALOG.format("../../worktypes.yaml")
    write("worktypes.yaml", "work_types: [Onderhoud]\n")
    assert "work type 'Storing' is not in the catalog ../../worktypes.yaml" in invoke("lint").stdout


def test_outside_git_the_defaults_are_anchored_at_the_cwd(
    project: Path, write: Write, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    write("portals/acme.yaml", VALID.format(portal="acme"))
    (project / "sub").mkdir()
    monkeypatch.chdir(project / "sub")
    result = invoke("lint")
    assert result.exit_code == 2
    assert result.output == (
        "error: portals directory portals not found; pass PATHS or set portals_dir "
        "(`portal-config pull` writes the live portals there, `portal-config init` sets up "
        "a new repository)\n"
    )


def test_missing_catalog_option_is_a_usage_error(write: Write, invoke: Invoke) -> None:
    write("portals/acme.yaml", VALID.format(portal="acme"))
    result = invoke("lint", "--catalog", "nope.yaml")
    assert (result.exit_code, result.output) == (2, "error: --catalog nope.yaml: file not found\n")


def test_config_is_typed_once() -> None:
    from portal_config.project.config import Config, Safety, Target
    from portal_config.project.config_reader import load_config

    config = load_config(REPO / "portal-config.yaml")
    assert isinstance(config, Config)
    assert config.default_target == "sandbox"
    assert config.targets["production"] == Target(
        "production",
        base_url="https://www.werkbonapp.nl/openapi/8/",
        token_env="OUTSMART_TOKEN",
        software_token_env="OUTSMART_SOFTWARE_TOKEN",
        concurrency=4,
    )
    assert config.targets["sandbox"].sandbox_state == REPO / ".portal-config" / "sandbox.json"
    assert config.safety == Safety(max_portals=10, max_share=0.5)
    assert not hasattr(config, "document")  # nothing below the CLI reads raw YAML


def test_config_schema_names_every_rule() -> None:
    from portal_config.lint.rules import RULES
    from portal_config.lint.schema import config_schema

    assert list(config_schema()["properties"]["rules"]["properties"]) == list(RULES)


def test_token_commands_are_typed_once(write: Write) -> None:
    from portal_config.project.config import Target, TokenCommand
    from portal_config.project.config_reader import load_config

    write(
        "portal-config.yaml",
        "targets:\n"
        "  prod:\n"
        "    base_url: https://x/\n"
        "    token_command: [op, read, 'op://ops/outsmart/token']\n"
        "    software_token_command: [./scripts/software-token]\n"
        "    token_command_timeout: 5\n"
        "  local:\n"
        "    sandbox: state.json\n"
        "    token_command: [pass, outsmart/sandbox]\n",
    )
    config = load_config()
    root = config.root
    assert config.targets["prod"] == Target(
        "prod",
        base_url="https://x/",
        token_command=TokenCommand(
            ("op", "read", "op://ops/outsmart/token"), root, 5.0, "targets.prod.token_command"
        ),
        software_token_command=TokenCommand(
            ("./scripts/software-token",), root, 5.0, "targets.prod.software_token_command"
        ),
    )
    assert config.targets["prod"].token_origin == "targets.prod.token_command"
    local = config.targets["local"]
    assert local.token_command == TokenCommand(
        ("pass", "outsmart/sandbox"), root, 30.0, "targets.local.token_command"
    )
    # The software token still comes from its variable, and hints name that variable.
    assert (local.software_token_command, local.software_token_origin) == (
        None,
        "OUTSMART_SOFTWARE_TOKEN",
    )


def test_project_root_outside_git_is_the_cwd_without_starting_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portal_config.project import config_reader as config

    for name in [n for n in os.environ if n.startswith("GIT_")]:
        monkeypatch.delenv(name)
    here = tmp_path / "a" / "b"
    here.mkdir(parents=True)

    def no_git(*args: object, **kwargs: object) -> None:
        raise AssertionError("git started")

    monkeypatch.setattr(config.subprocess, "run", no_git)
    if any((d / ".git").exists() for d in here.parents):
        pytest.skip("the temporary directory is inside a git work tree")
    assert config.project_root(here) == here


def test_project_root_inside_git_is_the_work_tree_top(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portal_config.project import config_reader as config

    for name in [n for n in os.environ if n.startswith("GIT_")]:
        monkeypatch.delenv(name)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    here = tmp_path / "portals" / "deep"
    here.mkdir(parents=True)
    assert config.project_root(here) == tmp_path.resolve()


def test_a_file_belongs_to_the_account_whose_directory_holds_it(tmp_path: Path) -> None:
    from portal_config.project.config import Account, Config

    root = tmp_path.resolve()
    accounts = {name: Account(name, f"TOKEN_{name.upper()}") for name in ("acme", "acme-2")}
    fleet = replace(Config.defaults(root), accounts=accounts)
    portal = root / "accounts" / "acme-2" / "portals" / "a.yaml"
    assert fleet.account_of(portal) == "acme-2"  # not "acme", whose name it starts with
    assert fleet.view_of(portal).account == "acme-2"
    assert fleet.view_of(portal).portals_dir == root / "accounts" / "acme-2" / "portals"
    assert fleet.account_of(root / "profiles" / "base.yaml") is None
    assert fleet.view_of(root / "profiles" / "base.yaml") is fleet
    one = Config.defaults(root)
    assert one.account_of(root / "accounts" / "acme" / "portals" / "a.yaml") is None
    assert one.view_of(root / "portals" / "a.yaml") is one
