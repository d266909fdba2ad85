"""The project config file: discovery, defaults and `invalid config:` messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import VALID, Invoke, Write


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "portal_dir: x\n",
            "portal-config.yaml:1:1: unknown setting 'portal_dir'; did you mean 'portals_dir'?",
        ),
        (
            "rules:\n  duplicate-work-types: error\n",
            "portal-config.yaml:2:3: unknown rule 'duplicate-work-types'; did you mean 'duplicate-work-type'?",
        ),
        (
            "rules:\n  duplicate-work-type: fatal\n",
            "portal-config.yaml:2:24: rules.duplicate-work-type must be one of error, warning, disable, got 'fatal'",
        ),
        (
            "rules: [a]\n",
            "portal-config.yaml:1:8: rules must be a mapping of rule id to error, warning or disable",
        ),
        (
            "portals_dir: 3\n",
            "portal-config.yaml:1:14: portals_dir must be a non-empty path, got 3",
        ),
        (
            "portals_dir: x\nportals_dir: y\n",
            "portal-config.yaml:2:1: duplicate key 'portals_dir' (first defined at 1:1)",
        ),
        ("- a\n", "portal-config.yaml:1:1: top level must be a mapping of settings, found a list"),
    ],
)
def test_invalid_config_is_a_usage_error_with_position(
    write: Write, invoke: Invoke, text: str, message: str
) -> None:
    write("portal-config.yaml", text)
    result = invoke("lint")
    assert result.exit_code == 2
    assert result.output == f"invalid config: {message}\n"


def test_config_is_found_by_walking_up(
    write: Write, invoke: Invoke, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write("portal-config.yaml", "portals_dir: settings/portals\n")
    write("settings/portals/acme.yaml", VALID.format(portal="acme"))
    (project / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(project / "deep" / "er")
    result = invoke("lint")
    assert result.output == "1 file checked: no problems\n"


def test_explicit_config_option(write: Write, invoke: Invoke) -> None:
    write("conf/pc.yaml", "portals_dir: ../elsewhere\n")
    write("elsewhere/acme.yaml", VALID.format(portal="acme"))
    assert invoke("lint", "--config", "conf/pc.yaml").output == "1 file checked: no problems\n"
    missing = invoke("lint", "--config", "conf/none.yaml")
    assert missing.exit_code == 2
    assert missing.output == "invalid config: conf/none.yaml: file not found\n"


def test_configured_catalog_must_exist(write: Write, invoke: Invoke) -> None:
    write("portal-config.yaml", "catalog: catalog/worktypes.yaml\n")
    write("portals/acme.yaml", VALID.format(portal="acme"))
    result = invoke("lint")
    assert result.exit_code == 1
    assert (
        result.output.splitlines()[0]
        == "catalog/worktypes.yaml: error [catalog] catalog file not found"
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
