"""One sandbox state file, several processes: no write answered 200 is ever lost.

Two `portal-config apply` runs on the default (in-process) target each start their own
sandbox on the same state file; a standalone `portal-config sandbox` may serve it too.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import NEW_GUEST, TOKEN_ENV, apply_process, generated_project, run_cli
from portal_config.sandbox import SandboxState
from portal_config.sandbox.process import SandboxProcess

pytestmark = pytest.mark.slow

PORTALS = 100
STATE = ".portal-config/sandbox.json"


def _project(root: Path, halves: bool = False) -> Path:
    """A generated project on the default target; with ``halves``, its files split into
    portals/a and portals/b, so two runs can apply one half each."""
    account = generated_project(root, PORTALS, "p")
    (root / STATE).parent.mkdir()
    (root / STATE).write_text(json.dumps(account))
    if halves:
        for index, path in enumerate(sorted((root / "portals").glob("*.yaml"))):
            half = root / "portals" / ("a" if index < PORTALS // 2 else "b")
            half.mkdir(exist_ok=True)
            path.rename(half / path.name)
    return root / STATE


def _apply(root: Path, name: str, *args: str) -> subprocess.Popen[str]:
    return apply_process(root, *args, "--report", f"{name}.json")


def _applied(root: Path, *runs: tuple[str, subprocess.Popen[str]]) -> list[str]:
    """Wait for the runs; the portals each reported applied, all runs together."""
    applied = []
    for name, run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, out + err
        assert "Traceback" not in err
        report = json.loads((root / f"{name}.json").read_text())
        applied += [r["portal"] for r in report["results"] if r["result"] == "applied"]
    return applied


def _assert_held(state_file: Path, applied: list[str]) -> None:
    records = SandboxState.load(state_file).data["portals"]  # must load
    assert len(records) == PORTALS
    lost = [name for name in applied if records[name]["guest_workorder"] != NEW_GUEST]
    assert lost == []
    # Written exactly once each: a second write based on revision 1 was refused.
    assert {record["revision"] for record in records.values()} == {2}


def test_two_applies_of_one_project_at_once_lose_no_write(tmp_path: Path) -> None:
    state_file = _project(tmp_path)
    applied = _applied(tmp_path, ("one", _apply(tmp_path, "one")), ("two", _apply(tmp_path, "two")))
    assert set(applied) == {f"p{i:02d}" for i in range(PORTALS)}
    _assert_held(state_file, applied)


def test_two_applies_of_different_portals_at_once_keep_both_halves(tmp_path: Path) -> None:
    # Each run's in-process sandbox writes only its own half: without the file lock and
    # re-read, whichever saved last rolled the other half back to the old settings.
    state_file = _project(tmp_path, halves=True)
    applied = _applied(
        tmp_path,
        ("a", _apply(tmp_path, "a", "portals/a")),
        ("b", _apply(tmp_path, "b", "portals/b")),
    )
    assert sorted(applied) == [f"p{i:02d}" for i in range(PORTALS)]
    _assert_held(state_file, applied)


def test_a_sandbox_process_and_an_in_process_sandbox_share_one_state_file(
    tmp_path: Path,
) -> None:
    state_file = _project(tmp_path, halves=True)
    server = SandboxProcess(state_file, env=TOKEN_ENV, cwd=tmp_path)
    try:
        (tmp_path / "portal-config.yaml").write_text(
            "default_target: local\n"
            "targets:\n"
            f"  local:\n    sandbox: {STATE}\n"
            f"  server:\n    base_url: {server.url}\n    retries: 2\n    backoff: 0.01\n"
        )
        applied = _applied(
            tmp_path,
            ("a", _apply(tmp_path, "a", "portals/a", "--target", "local")),
            ("b", _apply(tmp_path, "b", "portals/b", "--target", "server")),
        )
        # The server's reads take in the in-process run's writes: nothing left to do.
        check = run_cli(tmp_path, "diff", "--target", "server")
    finally:
        server.stop()
    assert sorted(applied) == [f"p{i:02d}" for i in range(PORTALS)]
    _assert_held(state_file, applied)
    assert (check.returncode, check.stdout) == (
        0,
        f"Target: server {server.url}\n\nNo changes. 100 portals up to date.\n",
    )
