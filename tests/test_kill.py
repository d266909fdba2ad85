"""Kill tests: SIGKILL apply, or the sandbox, at random moments. Every portal stays fully
old or fully new, the state file always loads, and a rerun converges."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from conftest import (
    NEW_GUEST,
    OLD_GUEST,
    REPO,
    TOKEN_ENV,
    apply_process,
    generated_project,
    run_cli,
)
from portal_config.sandbox import SandboxState
from portal_config.sandbox.process import SandboxProcess
from portal_config.sandbox.state import StateError

pytestmark = pytest.mark.slow

PORTALS = 30
ENV = TOKEN_ENV


def _project(root: Path) -> bytes:
    return json.dumps(generated_project(root, PORTALS, "k")).encode()


def _sandbox(root: Path, *flags: str) -> SandboxProcess:
    sandbox = SandboxProcess(root / "state.json", *flags, env=ENV)
    (root / "portal-config.yaml").write_text(
        f"targets:\n  test:\n    base_url: {sandbox.url}\n    retries: 2\n    backoff: 0.01\n    deadline: 60\n"
    )
    return sandbox


def _apply(root: Path, *extra: str, concurrency: int = 4) -> subprocess.Popen[str]:
    return apply_process(root, "--concurrency", str(concurrency), *extra)


def _assert_each_portal_old_or_new(state_file: Path) -> tuple[int, int]:
    state = SandboxState.load(state_file)  # must always load
    records = state.data["portals"]
    assert len(records) == PORTALS
    new = 0
    for name, record in records.items():
        guest = record["guest_workorder"]
        assert guest in (OLD_GUEST, NEW_GUEST), (name, guest)
        assert record["revision"] == (2 if guest == NEW_GUEST else 1), (name, record)
        new += guest == NEW_GUEST
    return PORTALS - new, new


def _converge(root: Path) -> None:
    done = run_cli(root, "apply", "--yes", "--allow-large-change")
    assert done.returncode == 0, done.stdout + done.stderr
    diff = run_cli(root, "diff")
    assert diff.returncode == 0, diff.stdout


def _wait_for_writes(state_file: Path, timeout: float = 60) -> None:
    """Block until the sandbox has stored at least one write, so a kill lands mid-apply."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:  # the state file and its journal: a write is a journal line first
            records = SandboxState.load(state_file).data["portals"].values()
        except StateError:  # not written yet
            records = []
        if any(record["revision"] > 1 for record in records):
            return
        time.sleep(0.01)
    raise AssertionError("apply never wrote anything")


def test_sigkill_apply_at_random_moments(tmp_path: Path) -> None:
    rng = random.Random(20261129)
    seed = _project(tmp_path)
    partial = 0
    for _ in range(10):
        (tmp_path / "state.json").write_bytes(seed)
        sandbox = _sandbox(tmp_path, "--latency", "100")  # 30 writes, 4 at a time: ~0.8 s
        try:
            apply = _apply(tmp_path)
            _wait_for_writes(tmp_path / "state.json")
            time.sleep(rng.uniform(0, 0.6))
            apply.send_signal(signal.SIGKILL)
            apply.communicate(timeout=30)
            time.sleep(0.2)  # writes the server had already received finish
            old, new = _assert_each_portal_old_or_new(tmp_path / "state.json")
            partial += 0 < new < PORTALS
            _converge(tmp_path)
            assert _assert_each_portal_old_or_new(tmp_path / "state.json") == (0, PORTALS)
        finally:
            sandbox.stop()
    assert partial >= 5  # the kills really landed mid-apply, not only before or after


def test_sigkill_the_sandbox_during_writes(tmp_path: Path) -> None:
    rng = random.Random(7)
    seed = _project(tmp_path)
    for _ in range(8):
        (tmp_path / "state.json").write_bytes(seed)
        sandbox = _sandbox(tmp_path, "--latency", "30")
        apply = _apply(tmp_path)
        _wait_for_writes(tmp_path / "state.json")
        time.sleep(rng.uniform(0, 0.2))
        sandbox.kill()
        apply.communicate(timeout=120)
        code = apply.returncode
        assert code in (0, 4, 6)  # done before the kill, or a clear failure; never a hang
        _assert_each_portal_old_or_new(tmp_path / "state.json")
        restarted = _sandbox(tmp_path)
        try:
            _converge(tmp_path)
        finally:
            restarted.stop()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_apply_reports_every_portal(tmp_path: Path, signum: int) -> None:
    (tmp_path / "state.json").write_bytes(_project(tmp_path))
    sandbox = _sandbox(tmp_path, "--latency", "200")  # 30 writes, 2 at a time: about 3 s
    try:
        apply = _apply(tmp_path, "--report", "report.json", concurrency=2)
        _wait_for_writes(tmp_path / "state.json")
        time.sleep(0.5)  # a few more rounds of writes
        apply.send_signal(signum)
        out, err = apply.communicate(timeout=60)
    finally:
        sandbox.stop()
    assert apply.returncode == 130, out + err
    assert err.endswith("interrupted: writes in flight were finished; the rest were skipped\n")
    summary = json.loads((tmp_path / "report.json").read_text())["summary"]
    assert summary["interrupted"] is True
    assert summary["applied"] + summary["skipped"] == PORTALS and summary["failed"] == 0
    assert 0 < summary["applied"] < PORTALS
    assert (
        f"Apply: {summary['applied']} applied, 0 unchanged, 0 failed, {summary['skipped']} skipped."
        in out
    )
    old, new = _assert_each_portal_old_or_new(tmp_path / "state.json")
    assert new == summary["applied"]  # reported exactly what happened


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_second_interrupt_reports_writes_in_flight_as_unknown(
    tmp_path: Path, signum: int
) -> None:
    (tmp_path / "state.json").write_bytes(_project(tmp_path))
    # Each answer takes 6 s, and the server stores a write only after that wait: the second
    # signal lands while both writes in flight are still unanswered.
    sandbox = _sandbox(tmp_path, "--latency", "6000")
    try:
        apply = _apply(tmp_path, "--report", "report.json", concurrency=2)
        _wait_for_writes(tmp_path / "state.json")
        time.sleep(0.3)  # the next two writes are in flight now
        apply.send_signal(signum)
        time.sleep(0.3)
        apply.send_signal(signum)
        second = time.monotonic()
        out, err = apply.communicate(timeout=60)
        exited_after = time.monotonic() - second
        time.sleep(6.5)  # let the server store what it received
    finally:
        sandbox.stop()
    assert apply.returncode == 130, out + err
    # It stopped waiting: it did not sit out the 6 s answers of the writes in flight.
    assert exited_after < 3.0, exited_after
    assert "interrupt received: finishing 2 writes in flight; interrupt again" in err
    assert err.endswith(
        "interrupted again: stopped waiting for 2 writes in flight; "
        "their outcome is unknown: run diff\n"
    )
    report = json.loads((tmp_path / "report.json").read_text())
    schema = json.loads((REPO / "schema" / "report.schema.json").read_text())
    assert list(Draft202012Validator(schema).iter_errors(report)) == []
    assert report["outcome"] == "interrupted" and report["exit_code"] == 130
    assert report["reason"] == err.splitlines()[-1]  # the same line as on stderr
    results = {r["portal"]: r["result"] for r in report["results"]}
    assert sorted(results.values()).count("unknown") == 2
    state = SandboxState.load(tmp_path / "state.json").data["portals"]
    for portal, result in results.items():
        written = state[portal]["guest_workorder"] == NEW_GUEST
        if result == "applied":
            assert written, portal
        elif result == "skipped":
            assert not written, portal  # "skipped" is only ever said of an untouched portal
        else:
            assert result == "unknown", (portal, result)


def test_ctrl_c_during_a_read_is_a_clean_interruption(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_bytes(_project(tmp_path))
    sandbox = _sandbox(tmp_path, "--latency", "10000")
    try:
        diff = subprocess.Popen(
            [sys.executable, "-m", "portal_config", "diff"],
            cwd=tmp_path,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(3)  # past start-up, inside the first (10 s) read
        diff.send_signal(signal.SIGINT)
        out, err = diff.communicate(timeout=30)
    finally:
        sandbox.stop()
    assert diff.returncode == 130
    assert err == "interrupted\n" and "Traceback" not in out + err
