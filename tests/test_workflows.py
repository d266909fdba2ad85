"""The CI recipes an adopter copies: pinned, least-privileged, never running PR code with secrets."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO

WORKFLOWS = REPO / ".github" / "workflows"
RECIPES = sorted(WORKFLOWS.glob("portal-config-*.yml"))
_PINNED = re.compile(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}")


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def _steps(path: Path) -> list[dict[str, Any]]:
    return [step for job in _load(path)["jobs"].values() for step in job["steps"]]


def test_there_are_three_recipes() -> None:
    assert [p.name for p in RECIPES] == [
        "portal-config-apply.yml",
        "portal-config-diff.yml",
        "portal-config-lint.yml",
    ]


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_every_action_is_pinned_by_full_sha_with_its_version(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    uses = [line for line in lines if line.strip().removeprefix("- ").startswith("uses:")]
    assert uses
    for line in uses:
        reference = line.split("uses:", 1)[1].split("#", 1)[0].strip()
        assert _PINNED.fullmatch(reference), line
        assert re.search(r"# v\d+\.\d+\.\d+$", line), line


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_the_tool_comes_from_the_pinned_commit_never_from_the_checkout(path: Path) -> None:
    document = _load(path)
    assert set(document["env"]) == {"PORTAL_CONFIG_SOURCE", "PORTAL_CONFIG_REV"}
    runs = "\n".join(step.get("run", "") for step in _steps(path))
    assert 'pip install "portal-config @ git+${PORTAL_CONFIG_SOURCE}@${PORTAL_CONFIG_REV}"' in runs
    # The guard refuses anything but a full SHA, so a tag cannot slip in.
    assert "grep -Eqx '[0-9a-f]{40}'" in runs
    assert not re.search(r"pip install (-e )?\.", runs)
    for step in _steps(path):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("name", ["portal-config-diff.yml", "portal-config-apply.yml"])
def test_the_jobs_with_tokens_take_them_from_the_production_environment(name: str) -> None:
    document = _load(WORKFLOWS / name)
    assert "pull_request_target" not in document[True]  # PyYAML reads `on:` as True
    (job,) = document["jobs"].values()
    assert job["environment"] == "production"
    secrets = {key: value for step in job["steps"] for key, value in step.get("env", {}).items()}
    assert secrets == {
        "OUTSMART_TOKEN": "${{ secrets.OUTSMART_TOKEN }}",
        "OUTSMART_SOFTWARE_TOKEN": "${{ secrets.OUTSMART_SOFTWARE_TOKEN }}",
    }


def test_diff_reads_targets_from_the_base_branch_not_the_pull_request() -> None:
    steps = _steps(WORKFLOWS / "portal-config-diff.yml")
    base = next(s for s in steps if s.get("with", {}).get("path") == ".portal-config-base")
    assert base["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    names = [s.get("name", "") for s in steps]
    assert names.index("Use the base branch's targets") < names.index("portal-config diff")


def test_lint_uploads_sarif_to_code_scanning() -> None:
    document = _load(WORKFLOWS / "portal-config-lint.yml")
    (job,) = document["jobs"].values()
    assert job["permissions"]["security-events"] == "write"
    upload = next(s for s in job["steps"] if "upload-sarif@" in s.get("uses", ""))
    assert upload["if"].startswith("always()")
    assert upload["with"]["sarif_file"] == "portal-config.sarif"
    assert any("--format sarif > portal-config.sarif" in s.get("run", "") for s in job["steps"])


@pytest.mark.slow
def test_zizmor_finds_nothing_in_the_recipes() -> None:
    zizmor = shutil.which("zizmor", path=str(Path(sys.executable).parent)) or shutil.which("zizmor")
    if zizmor is None:
        pytest.skip("zizmor is not installed (pip install -e '.[test]')")
    # --offline: no GitHub API calls, so the result depends on these files alone.
    done = subprocess.run(
        [zizmor, "--offline", "--format", "json", "--no-config", str(WORKFLOWS)],
        capture_output=True,
        text=True,
    )
    assert done.returncode in (0, 10, 11, 12, 13, 14), done.stderr
    findings = json.loads(done.stdout)
    assert [
        (f["ident"], f["determinations"]["severity"])
        for f in findings
        if f["determinations"]["severity"] in ("Medium", "High")
    ] == []
