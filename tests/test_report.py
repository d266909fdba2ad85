"""The apply report is an interface: every report apply writes validates against its schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from conftest import REPO, Invoke
from portal_config import TOOL
from portal_config.sandbox import Faults, Sandbox

SCHEMA_FILE = REPO / "schema" / "report.schema.json"


def _validator() -> Draft202012Validator:
    document = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(document)
    return Draft202012Validator(document)


def test_every_kind_of_report_validates(
    live_project: Path, sandbox: Sandbox, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    validator = _validator()
    outcomes = []

    def run(*args: str) -> None:
        invoke("apply", *args, "--report", "report.json")
        report = json.loads((live_project / "report.json").read_text())
        assert list(validator.iter_errors(report)) == []
        outcomes.append(report["outcome"])

    run()  # no --yes without a terminal
    sandbox.set_faults(Faults(conflict_rate=1.0, seed=1))
    run("--yes")  # every write meets a UI edit
    sandbox.set_faults(Faults())
    (live_project / "portals" / "gemeente-intern.yaml").write_text(
        "portal: gemeente-intern\nguest_workorder: {enabled: true, work_types: [Storing]}\n"
    )
    run("--yes", "--allow-large-change")
    run("--yes")
    (live_project / "portals" / "gemeente-intern.yaml").write_text("portal: [\n")
    run("--yes")
    monkeypatch.setenv("OUTSMART_TOKEN", "not-the-token")
    (live_project / "portals" / "gemeente-intern.yaml").unlink()
    run("--yes")
    run("--yes", "--target", "nope")
    assert outcomes == [
        "refused",
        "failed",
        "applied",
        "nothing-to-apply",
        "invalid-input",
        "api-error",
        "usage-error",
    ]


def test_the_schema_rejects_what_apply_never_writes() -> None:
    validator = _validator()
    base = {
        "format": "portal-config-report",
        "version": 3,
        "tool": TOOL,
        "target": {"name": "t", "base_url": None},
        "account": None,
        "started_at": "2026-11-30T00:00:00+00:00",
        "finished_at": "2026-11-30T00:00:01+00:00",
        "outcome": "applied",
        "reason": "",
        "exit_code": 0,
        "summary": {
            "applied": 0,
            "unchanged": 0,
            "failed": 0,
            "skipped": 0,
            "unknown": 0,
            "ok": True,
            "interrupted": False,
        },
        "results": [],
    }
    assert list(validator.iter_errors(base)) == []
    assert not validator.is_valid({**base, "outcome": "succeeded"})
    assert not validator.is_valid({**base, "version": 1})
    assert not validator.is_valid({**base, "version": 2})  # had no "unknown" outcome
    assert not validator.is_valid({**base, "extra": 1})
    assert not validator.is_valid({**base, "tool": "0.1.0"})
    assert validator.is_valid({**base, "account": "north-west"})
    assert not validator.is_valid({**base, "account": "North West"})
    result = {"portal": "a", "result": "maybe", "reason": "", "revision_before": 1}
    assert not validator.is_valid({**base, "results": [result | {"revision_after": 1}]})


def test_a_refused_saved_plan_lists_its_portals_as_not_attempted(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    assert invoke("diff", "--out", "plan.json").exit_code == 3
    sandbox.state.edit("secura-alarm", work_types=["Storing"])  # the plan is stale now
    assert invoke("apply", "plan.json", "--yes", "--report", "report.json").exit_code == 5
    report = json.loads((live_project / "report.json").read_text())
    assert list(_validator().iter_errors(report)) == []
    assert report["outcome"] == "refused" and report["reason"].startswith("refused: plan is stale")
    assert [(r["portal"], r["result"], r["revision_before"]) for r in report["results"]] == [
        ("acme-facilities", "skipped", 1),
        ("gemeente-intern", "skipped", 1),
        ("klimaat-techniek", "skipped", 1),
        ("secura-alarm", "skipped", 1),
        ("woonstede-noord", "skipped", 1),
    ]
    assert {r["reason"] for r in report["results"]} == {f"not attempted: {report['reason']}"}
