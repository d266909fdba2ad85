"""The three JSON outputs (lint, plan, apply report) follow one convention and their schemas.

Each starts with `format`, `version` and `tool`, and has a `summary` of counts whose
`ok` is true exactly when the command that wrote it exited 0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from conftest import REPO, VALID, Invoke, Write
from portal_config import TOOL
from portal_config.sandbox import Sandbox


def schema_of(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((REPO / "schema" / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return schema


def assert_follows_the_convention(
    payload: dict[str, Any], schema_name: str, exit_code: int
) -> None:
    schema = schema_of(schema_name)
    errors = [
        f"{list(e.absolute_path)}: {e.message}"
        for e in Draft202012Validator(schema).iter_errors(payload)
    ]
    assert errors == []
    assert list(payload)[:3] == ["format", "version", "tool"]
    assert payload["format"] == schema["properties"]["format"]["const"]
    assert payload["version"] == schema["properties"]["version"]["const"]
    assert payload["tool"] == TOOL
    assert payload["summary"]["ok"] is (exit_code == 0)


@pytest.mark.parametrize(
    ("files", "args", "code"),
    [
        ({"portals/a.yaml": VALID.format(portal="a")}, [], 0),
        (
            {"portals/a.yaml": "portal: a\nguest_workorder: {enabled: false, work_types: [x]}\n"},
            [],
            0,
        ),
        (
            {"portals/a.yaml": "portal: a\nguest_workorder: {enabled: false, work_types: [x]}\n"},
            ["--strict"],
            1,
        ),
        ({"portals/a.yaml": "portal: [\n", "portals/b.yaml": "portal: b\n"}, [], 1),
        (
            {
                "worktypes.yaml": "work_types: [Storing]\nextra: 1\n",
                "portals/a.yaml": VALID.format(portal="a"),
            },
            [],
            1,
        ),
    ],
    ids=["clean", "warning", "strict", "broken", "broken-catalog"],
)
def test_lint_json_follows_its_schema(
    write: Write, invoke: Invoke, files: dict[str, str], args: list[str], code: int
) -> None:
    for path, text in files.items():
        write(path, text)
    result = invoke("lint", "--format", "json", *args)
    assert result.exit_code == code
    assert_follows_the_convention(json.loads(result.stdout), "lint.schema.json", code)


def test_lint_json_of_a_file_without_positions_follows_its_schema(
    project: Path, invoke: Invoke
) -> None:
    (project / "portals" / "big.yaml").write_bytes(b"a: b\n" * 60_000)
    result = invoke("lint", "--format", "json")
    payload = json.loads(result.stdout)
    assert_follows_the_convention(payload, "lint.schema.json", result.exit_code)
    assert payload["problems"][0]["line"] is None


def test_plan_and_report_follow_the_convention(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    diff = invoke("diff", "--format", "json", "--out", "plan.json")
    assert diff.exit_code == 3
    # The saved plan holds the inputs; show derives the same summary from them.
    assert (
        json.loads(diff.stdout)["summary"]
        == json.loads(invoke("show", "plan.json", "--format", "json").stdout)["summary"]
    )
    assert_follows_the_convention(json.loads(diff.stdout), "plan.schema.json", diff.exit_code)
    applied = invoke("apply", "plan.json", "--yes", "--report", "report.json")
    assert applied.exit_code == 0, applied.output
    report = json.loads((live_project / "report.json").read_text())
    assert_follows_the_convention(report, "report.schema.json", applied.exit_code)
    again = invoke("diff", "--format", "json")
    assert again.exit_code == 0
    assert_follows_the_convention(json.loads(again.stdout), "plan.schema.json", again.exit_code)
    sandbox.state.edit("acme-facilities", allow_new_relation=True)  # a UI edit: stale now
    refused = invoke("apply", "plan.json", "--yes", "--report", "report.json")
    assert refused.exit_code == 5
    report = json.loads((live_project / "report.json").read_text())
    assert_follows_the_convention(report, "report.schema.json", refused.exit_code)
