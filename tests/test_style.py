"""The code base checks itself: ruff over the sources, lint over the shipped portals."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO


def test_ruff_is_clean() -> None:
    pytest.importorskip("ruff")
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks", "docs"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_is_clean() -> None:
    pytest.importorskip("mypy")
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_shipped_portals_lint_clean_in_strict_mode() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "portal_config", "lint", "--strict"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "5 files checked: no problems\n"
