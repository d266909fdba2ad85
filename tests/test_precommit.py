"""The published pre-commit hook, run by the real pre-commit client."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _commit(cwd: Path) -> None:
    identity = ("-c", "user.name=t", "-c", "user.email=t@example.invalid")
    _git(*identity, "commit", "-qm", "init", cwd=cwd)


def test_try_repo_passes_on_shipped_portals_and_fails_on_a_broken_one(tmp_path: Path) -> None:
    pytest.importorskip("pre_commit")
    consumer = tmp_path / "consumer"
    shutil.copytree(REPO / "portals", consumer / "portals")
    shutil.copy(REPO / "worktypes.yaml", consumer / "worktypes.yaml")
    _git("init", "-q", cwd=consumer)
    _git("add", "-A", cwd=consumer)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "NO_COLOR": "1"}
    command = [
        sys.executable,
        "-m",
        "pre_commit",
        "try-repo",
        str(REPO),
        "portal-config-lint",
        "--all-files",
    ]

    passed = subprocess.run(
        command, cwd=consumer, env=env, capture_output=True, text=True, timeout=600
    )
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "portal-config lint" in passed.stdout and "Passed" in passed.stdout

    (consumer / "portals" / "broken.yaml").write_text(
        "portal: not-broken\nguest_workorder: {enabled: true}\n"
    )
    _git("add", "-A", cwd=consumer)
    failed = subprocess.run(
        command, cwd=consumer, env=env, capture_output=True, text=True, timeout=600
    )
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "portals/broken.yaml:1:9: error [portal-id-matches-filename]" in failed.stdout


def test_the_published_hook_runs_once_in_an_initialised_repository_and_on_a_catalog_change(
    tmp_path: Path,
) -> None:
    pytest.importorskip("pre_commit")
    from portal_config.files.scaffold import scaffold

    consumer = tmp_path / "adopter"
    consumer.mkdir()
    _git("init", "-q", cwd=consumer)
    scaffold(consumer)
    for portal in (REPO / "portals").glob("*.yaml"):
        shutil.copy(portal, consumer / "portals" / portal.name)
    shutil.copy(REPO / "worktypes.yaml", consumer / "worktypes.yaml")
    (consumer / "README.md").write_text("# settings\n")
    _git("add", "-A", cwd=consumer)
    _commit(consumer)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "NO_COLOR": "1"}

    def try_repo(*extra: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pre_commit", "try-repo", str(REPO), "portal-config-lint"]
        return subprocess.run(
            [*command, *extra], cwd=consumer, env=env, capture_output=True, text=True, timeout=600
        )

    passed = try_repo("--all-files", "--verbose")  # --verbose shows a passing hook's output
    assert passed.returncode == 0, passed.stdout + passed.stderr
    # pass_filenames: false and require_serial: one lint run, so one summary line.
    assert passed.stdout.count("files checked") == 1
    assert "6 files checked: no problems" in passed.stdout  # and init's starter profile

    # A file outside the hook's files does not start it.
    (consumer / "README.md").write_text("# settings, reviewed\n")
    _git("add", "-A", cwd=consumer)
    skipped = try_repo()
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "(no files to check)Skipped" in skipped.stdout

    # Only the catalog changes, yet the portals that offer the dropped work type fail.
    catalog = (consumer / "worktypes.yaml").read_text()
    (consumer / "worktypes.yaml").write_text(catalog.replace("  - Storing\n", ""))
    _git("add", "-A", cwd=consumer)
    failed = try_repo()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "portals/acme-facilities.yaml:" in failed.stdout and "'Storing'" in failed.stdout


def test_this_repositorys_own_hooks_pass(tmp_path: Path) -> None:
    pytest.importorskip("pre_commit")
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "cache"),
        "NO_COLOR": "1",
        # language: system hooks find portal-config next to this interpreter.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "run",
            "--all-files",
            "--config",
            ".pre-commit-config.yaml",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for hook in ("portal-config lint", "check JSON Schema against its metaschema", "ruff"):
        assert any(
            line.startswith(hook) and line.endswith("Passed") for line in done.stdout.splitlines()
        ), hook
