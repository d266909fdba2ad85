"""The benchmarks run: each at a tiny size, so a change to the CLI cannot leave one broken
until the next time someone measures."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import profiles_benchmark  # noqa: E402  (a script beside measure.py, imported as one)

from portal_config.sandbox.tokens import account_names  # noqa: E402

URL = "http://127.0.0.1:9/openapi/8/"  # never asked: only explain reads the config here


def test_the_profiles_benchmark_times_lint_and_diff_of_both_fleets() -> None:
    result = subprocess.run(
        [sys.executable, "benchmarks/profiles_benchmark.py", "--accounts", "4", "--repeats", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "4 accounts x 5 portals; medians of 1 alternating runs"
    assert "the two fleets' 20 portals have the same effective settings" in lines
    for command in ("lint", "diff"):
        for unit in ("wall", "CPU"):
            figures = rf"  {command} +{unit} +profiles +[\d.]+ ms   flat +[\d.]+ ms   ratio [\d.]+x"
            assert sum(bool(re.fullmatch(figures, line)) for line in lines) == 1, lines
            verdict = rf"  -> {command} \({unit}\), profiles / flat, 4 accounts x 5 portals: "
            verdict += r"[\d.]+x \(target <= 1\.2x: (met|MISSED)\)"
            assert sum(bool(re.fullmatch(verdict, line)) for line in lines) == 1, lines


def fleets(root: Path, count: int) -> tuple[Path, Path]:
    names = account_names(count)
    profiles, flat = profiles_benchmark.make_fleets(root, names)
    for fleet in (profiles, flat):
        text = profiles_benchmark.config_text(URL, names, fleet is profiles)
        (fleet / "portal-config.yaml").write_text(text, encoding="utf-8")
    return profiles, flat


def test_the_profiles_fleet_extends_all_three_profiles_and_equals_the_flat_one(
    tmp_path: Path,
) -> None:
    profiles, flat = fleets(tmp_path, 3)
    assert profiles_benchmark.check_same(profiles, flat) == 15
    config = (profiles / "portal-config.yaml").read_text(encoding="utf-8")
    assert config.startswith("extends: [house]\n")
    assert "  account-001: {extends: [alarm]}\n  account-002: {}\n" in config
    portal = profiles / "accounts" / "account-001" / "portals" / "account-001-portal-1.yaml"
    assert portal.read_text(encoding="utf-8") == (
        "portal: account-001-portal-1\nextends: [desk]\n"
        'guest_workorder:\n  work_types: ["Storing", "Inspectie"]\n'
    )
    assert "extends" not in (flat / portal.relative_to(profiles)).read_text(encoding="utf-8")


def test_the_benchmark_refuses_fleets_that_differ(tmp_path: Path) -> None:
    profiles, flat = fleets(tmp_path, 3)
    changed = flat / "accounts" / "account-001" / "portals" / "account-001-portal-3.yaml"
    text = changed.read_text(encoding="utf-8")
    changed.write_text(text.replace('["Storing", "Plaatsing alarm"]', '["Storing"]'))
    with pytest.raises(SystemExit, match="account-001-portal-3.yaml: effective"):
        profiles_benchmark.check_same(profiles, flat)
