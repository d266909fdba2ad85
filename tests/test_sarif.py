"""`lint --format sarif` writes SARIF 2.1.0 that the official OASIS schema accepts.

The schema in tests/data is the OASIS errata01 schema, vendored from oasis-tcs/sarif-spec
(see tests/data/NOTICE-sarif-schema.md); it is JSON Schema draft-04.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from jsonschema import Draft4Validator, FormatChecker

from conftest import REPO, VALID, Invoke, Write
from portal_config import __version__
from portal_config.lint.rules import RULES, summary
from portal_config.render.lint import FORMATS
from portal_config.render.sarif import PSEUDO_RULES, source_root

SARIF_SCHEMA = REPO / "tests" / "data" / "sarif-schema-2.1.0.json"


def sarif_validator() -> Draft4Validator:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema, format_checker=FormatChecker())


def assert_valid_sarif(log: dict[str, Any]) -> None:
    """The schema, plus what it cannot say: indexes point at their rule, URIs are encoded."""
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in sarif_validator().iter_errors(log)]
    assert errors == []
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        (location,) = result["locations"]
        uri = location["physicalLocation"]["artifactLocation"]["uri"]
        assert " " not in uri and quote(unquote(uri), safe="/:") == uri


def lint_sarif(invoke: Invoke, *args: str) -> dict[str, Any]:
    result = invoke("lint", "--format", "sarif", *args)
    log: dict[str, Any] = json.loads(result.stdout)
    return log


def test_sarif_is_a_registered_lint_format() -> None:
    assert "sarif" in FORMATS


def test_a_mix_of_problems_is_valid_sarif_with_positions_levels_and_rules(
    write: Write, invoke: Invoke, project: Path
) -> None:
    write("worktypes.yaml", "work_types: [Storing]\nextra: 1\n")
    write("portals/acme.yaml", "portal: acme\nguest_workorder:\n  enabeld: true\n")
    write("portals/broken.yaml", "portal: [unclosed\n")
    write(
        "portals/permissive.yaml",
        "# portal-config: disable no-such-rule\n"
        "portal: permissive\n"
        "guest_workorder: {enabled: true, allow_new_relation: true, work_types: [Storing]}\n",
    )
    write("portals/wrong name.yaml", VALID.format(portal="other"))
    (project / "portals" / "big.yaml").write_bytes(b"a: b\n" * 60_000)
    result = invoke("lint", "--format", "sarif")
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    assert_valid_sarif(log)
    results = log["runs"][0]["results"]
    rows = {
        (
            r["ruleId"],
            r["level"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            tuple(r["locations"][0]["physicalLocation"].get("region", {}).values()),
        )
        for r in results
    }
    assert rows == {
        ("catalog", "error", "worktypes.yaml", (2, 1)),
        ("schema", "error", "portals/acme.yaml", (3, 3)),
        ("yaml", "error", "portals/big.yaml", ()),
        ("yaml", "error", "portals/broken.yaml", (2, 1)),
        ("directive", "error", "portals/permissive.yaml", (1, 26)),
        ("permissive-guest-access", "warning", "portals/permissive.yaml", (3, 54)),
        ("portal-id-matches-filename", "error", "portals/wrong%20name.yaml", (1, 9)),
    }
    for entry in results:
        assert entry["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == (
            "%SRCROOT%"
        )
    # The schema is not vacuous: a 0-based line or an unknown level is refused.
    located = [r for r in results if "region" in r["locations"][0]["physicalLocation"]]
    region = located[0]["locations"][0]["physicalLocation"]["region"]
    region["startLine"] = 0
    assert not sarif_validator().is_valid(log)
    region["startLine"], results[1]["level"] = 1, "fatal"
    assert not sarif_validator().is_valid(log)
    # The same problems, the same messages, as the JSON output lists them.
    problems = json.loads(invoke("lint", "--format", "json").stdout)["problems"]
    assert [r["message"]["text"] for r in results] == [p["message"] for p in problems]


def test_every_rule_id_lint_can_report_is_described(write: Write, invoke: Invoke) -> None:
    write("portals/acme.yaml", VALID.format(portal="acme"))
    log = lint_sarif(invoke)
    assert_valid_sarif(log)
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "portal-config" and driver["version"] == __version__
    assert driver["informationUri"].startswith("https://")
    described = {rule["id"]: rule for rule in driver["rules"]}
    assert list(described) == [*PSEUDO_RULES, *RULES]
    assert set(PSEUDO_RULES) == {"yaml", "schema", "catalog", "directive"}
    for rule_id, rule in RULES.items():
        entry = described[rule_id]
        assert entry["shortDescription"]["text"] == summary(rule)
        assert entry["help"]["text"] == inspect.cleandoc(rule.__doc__ or "")
        assert entry["fullDescription"]["text"] in entry["help"]["text"]
        assert entry["defaultConfiguration"]["level"] == rule.LEVEL.value
    for rule_id in PSEUDO_RULES:
        assert described[rule_id]["defaultConfiguration"]["level"] == "error"
    assert log["runs"][0]["results"] == []


def test_a_configured_level_shows_on_the_result_not_the_default(
    write: Write, invoke: Invoke
) -> None:
    write("portal-config.yaml", "rules:\n  permissive-guest-access: error\n")
    write(
        "portals/acme.yaml",
        "portal: acme\nguest_workorder: {enabled: true, allow_new_relation: true, work_types: [x]}\n",
    )
    log = lint_sarif(invoke)
    assert_valid_sarif(log)
    (result,) = log["runs"][0]["results"]
    rule = log["runs"][0]["tool"]["driver"]["rules"][result["ruleIndex"]]
    assert (result["level"], rule["defaultConfiguration"]["level"]) == ("error", "warning")


def test_paths_are_relative_to_the_repository_root_not_the_cwd(
    write: Write, invoke: Invoke, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / ".git").write_text("gitdir: /elsewhere/worktrees/x\n")  # a worktree's .git file
    write("settings/portal-config.yaml", "portals_dir: portals\n")
    write("settings/portals/acme.yaml", "portal: acme\nguest_workorder: {enabled: true}\n")
    monkeypatch.chdir(project / "settings")
    log = lint_sarif(invoke)
    assert_valid_sarif(log)
    run = log["runs"][0]
    (result,) = run["results"]
    location = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "settings/portals/acme.yaml", "uriBaseId": "%SRCROOT%"}
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": project.as_uri() + "/"}}


def test_a_file_outside_the_repository_gets_an_absolute_uri(
    write: Write, invoke: Invoke, project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    (project / ".git").mkdir()
    outside = tmp_path_factory.mktemp("outside") / "acme.yaml"
    outside.write_text("portal: acme\nguest_workorder: {enabled: true}\n", encoding="utf-8")
    log = lint_sarif(invoke, str(outside))
    assert_valid_sarif(log)
    (result,) = log["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": outside.as_uri()}


def test_the_source_root_is_the_nearest_directory_with_git(tmp_path: Path) -> None:
    (tmp_path / "repo" / "a" / "b").mkdir(parents=True)
    assert source_root(tmp_path / "repo" / "a" / "b") == tmp_path / "repo" / "a" / "b"
    (tmp_path / "repo" / ".git").mkdir()
    assert source_root(tmp_path / "repo" / "a" / "b") == tmp_path / "repo"
