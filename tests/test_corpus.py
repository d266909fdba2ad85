"""The official YAML test suite's error cases: every one is a clear problem, in one run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import SHARED
from portal_config.lint.loader import load_file
from test_sarif import assert_valid_sarif

CORPUS = SHARED / "corpus" / "yaml-test-suite-errors"
CASES = sorted(CORPUS.glob("*.yaml")) if CORPUS.is_dir() else []
pytestmark = pytest.mark.skipif(not CASES, reason="shared corpus not available")


@pytest.mark.parametrize(
    "loader",
    [yaml.SafeLoader] + ([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else []),
    ids=lambda c: c.__name__,
)
def test_loader_or_schema_rejects_every_case(loader: type) -> None:
    from portal_config.lint import schema

    accepted = []
    for case in CASES:
        result = load_file(case, case.name, loader)
        if result.document is not None and not list(schema.check(result.document)):
            accepted.append(case.name)
        for problem in result.problems:
            assert problem.path == case.name and problem.message
    assert accepted == []


NO_CATALOG = "note: no work-type catalog (worktypes.yaml) found; work types not checked\n"


def test_lint_reports_every_case_in_one_run_without_traceback(tmp_path: Path) -> None:
    for output_format in ("text", "json", "github", "sarif"):
        done = subprocess.run(
            [sys.executable, "-m", "portal_config", "lint", "--format", output_format, str(CORPUS)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )
        assert done.returncode == 1
        assert done.stderr == NO_CATALOG  # the note, and no traceback
        if output_format == "json":
            payload = json.loads(done.stdout)
            assert len(payload["files"]) == len(CASES)
            assert all(entry["errors"] >= 1 for entry in payload["files"]), payload["files"]
            for problem in payload["problems"]:
                assert Path(problem["path"]).name in {c.name for c in CASES}
            # A line:column wherever the parser gave one.
            positioned = [p for p in payload["problems"] if p["line"] is not None]
            assert len(positioned) == len(payload["problems"])
        if output_format == "sarif":
            log = json.loads(done.stdout)
            assert_valid_sarif(log)
            uris = {
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                for r in log["runs"][0]["results"]
            }
            assert uris == {case.as_uri() for case in CASES}  # outside the cwd's tree
