"""The apply fault matrix: under every injected fault, alone and mixed, apply either
converges or fails clearly per portal. Never a reported success that did not happen,
never a silent overwrite of a concurrent edit, never a corrupt state file."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from conftest import NEW_GUEST, SOFTWARE_TOKEN, TOKEN, generated_project
from portal_config.errors import PortalConfigError
from portal_config.project.config_reader import load_config
from portal_config.render.views import VIEWS
from portal_config.run.console import Console
from portal_config.run.options import RunOptions
from portal_config.run.workflow import apply, diff
from portal_config.sandbox import Faults, SandboxState, start_sandbox

# Sleeps through latency, backoff and Retry-After by design: slow.
pytestmark = pytest.mark.slow

PORTALS = 10
SEEDS = range(4)
SCENARIOS = {
    "latency": Faults(latency_ms=20),
    "server-errors": Faults(error_rate=0.3),
    "envelope-1007": Faults(envelope_error_rate=0.3),
    "throttled-429": Faults(throttle_rate=0.3),
    "rate-limit": Faults(rate_limit=40),
    "dropped-connections": Faults(drop_rate=0.3),
    "lost-write-answers": Faults(lost_write_rate=0.5),
    "concurrent-ui-edits": Faults(conflict_rate=0.3),
    "acknowledged-not-stored": Faults(unstored_write_rate=0.3),
    "stored-then-500": Faults(applied_error_rate=0.5),
    "all-mixed": Faults(
        latency_ms=5,
        error_rate=0.15,
        throttle_rate=0.1,
        drop_rate=0.15,
        lost_write_rate=0.2,
        conflict_rate=0.15,
    ),
    "hostile-mixed": Faults(error_rate=0.5, drop_rate=0.3, lost_write_rate=0.5, conflict_rate=0.2),
}
# (scenario, outcome) -> runs; printed at the end of the pytest run (see conftest.py).
TALLY: Counter[tuple[str, str]] = Counter()


def _apply(report: Path | None = None) -> int:
    """apply --yes --allow-large-change in this process, against the configured target."""
    options = RunOptions(assume_yes=True, allow_large_change=True, report_file=report)
    return apply(load_config(), [], None, options, _console())


def _console() -> Console:
    return Console(
        out=lambda text: None, err=lambda text: None, color=False, confirm=None, views=VIEWS
    )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_apply_under_faults(
    scenario: str, seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OUTSMART_TOKEN", TOKEN)
    monkeypatch.setenv("OUTSMART_SOFTWARE_TOKEN", SOFTWARE_TOKEN)
    state = SandboxState.open(tmp_path / "state.json", generated_project(tmp_path, PORTALS, "p"))
    faults = SCENARIOS[scenario].merged(seed=seed)
    with start_sandbox(state, token=TOKEN, software_token=SOFTWARE_TOKEN, faults=faults) as sandbox:
        (tmp_path / "portal-config.yaml").write_text(
            f"targets:\n  test:\n    base_url: {sandbox.url}\n    retries: 3\n    backoff: 0.01\n"
            "    concurrency: 4\n    deadline: 60\n"
        )
        try:
            code = _apply(tmp_path / "report.json")
        except PortalConfigError as error:  # the initial read failed: nothing may have been written
            code = error.exit_code
        sandbox.set_faults(Faults())

        # The state file is intact and says what the server holds.
        assert SandboxState.load(tmp_path / "state.json").data == state.data
        final = {name: record for name, record in state.data["portals"].items()}
        edited = {portal: revision for portal, revision in state.ui_edits}
        # A concurrent UI edit is never overwritten: nothing was written after it.
        overwritten = [p for p, revision in edited.items() if final[p]["revision"] != revision]
        TALLY[scenario, "silent"] += len(overwritten)
        assert overwritten == []

        report = json.loads((tmp_path / "report.json").read_text())  # written whatever happened
        assert report["exit_code"] == code
        if code == 4:
            assert report["outcome"] == "api-error" and report["reason"].startswith("api error: ")
            assert report["summary"]["applied"] == 0
            assert all(r["revision"] == 1 for r in final.values())
            TALLY[scenario, "failed cleanly"] += 1
            assert _apply() == 0
            return
        results = {r["portal"]: r for r in report["results"]}
        assert set(results) == set(final)
        # Reported success is real: OutSmart holds exactly the desired settings, at the
        # revision the report names. Anything else is a silent failure.
        untrue = [
            (portal, result)
            for portal, result in results.items()
            if result["result"] in ("applied", "unchanged")
            and (
                final[portal]["guest_workorder"] != NEW_GUEST
                or result["revision_after"] != final[portal]["revision"]
            )
        ]
        TALLY[scenario, "silent"] += len(untrue)
        assert untrue == []
        for result in results.values():
            if result["result"] not in ("applied", "unchanged"):
                assert result["result"] in ("failed", "skipped", "unknown"), result
                assert result["reason"], result
            if result["result"] == "unknown":  # only when no read could settle it
                assert result["reason"].startswith("outcome unknown"), result
        failed = [p for p, r in results.items() if r["result"] not in ("applied", "unchanged")]
        assert code == (6 if failed else 0)
        if scenario == "lost-write-answers":
            # A write whose answer was lost met its own revision bump on retry; the conflict
            # was settled by re-reading, not reported as a failure.
            assert any(
                r["reason"] == "confirmed: OutSmart already holds these settings"
                for r in results.values()
            )
        if scenario == "acknowledged-not-stored":
            # The read-back found what the answers hid: reported failed, not applied.
            assert any(
                r["reason"].startswith("acknowledged but not stored: ") for r in results.values()
            )
        if scenario == "stored-then-500":
            # A 500 after the write was stored: settled by re-reading, not reported failed.
            assert any(
                r["reason"] == "confirmed: OutSmart already holds these settings"
                for r in results.values()
            )
        outcome = diff(load_config(), [], RunOptions(), _console()).code
        if code == 0:
            assert outcome == 0  # converged: a diff afterwards shows no changes
            TALLY[scenario, "converged"] += 1
        else:
            TALLY[scenario, "failed cleanly"] += 1
            # Once the faults are gone, simply running apply again converges.
            assert _apply() == 0
            assert diff(load_config(), [], RunOptions(), _console()).code == 0
