"""Outcomes that are true: apply says `unknown` when only a read could tell and none
succeeded, reads back what it wrote, and the preview commands never write.

Every server here is the real sandbox on loopback, with the faults a real server (or a
proxy in front of it) can produce: a write stored and then answered 500, a server that
goes away, a write acknowledged and dropped.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import TOKEN_ENV, Invoke, generated_project, revisions, run_cli
from portal_config.sandbox import Faults, Sandbox
from portal_config.sandbox.process import SandboxProcess

APPLY = ("apply", "--yes", "--report", "report.json")


def _report(project: Path) -> dict[str, object]:
    report: dict[str, object] = json.loads((project / "report.json").read_text())
    return report


def _results(project: Path) -> dict[str, tuple[str, str]]:
    results: list[dict[str, str]] = _report(project)["results"]  # type: ignore[assignment]
    return {r["portal"]: (r["result"], r["reason"]) for r in results}


def _refused(sandbox: Sandbox, what: str) -> str:
    host = sandbox.url.removesuffix("/openapi/8/")
    return f"{what}: cannot reach {host}: connection refused (gave up after 3 attempts)"


def test_a_write_stored_then_answered_500_by_a_server_that_then_goes_away_is_unknown(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    sandbox.set_faults(Faults(applied_error_rate=1.0, gone_after_writes=1))
    result = invoke(*APPLY, "portals/acme-facilities.yaml")
    assert result.exit_code == 6
    put = _refused(sandbox, "PUT portals/acme-facilities/")
    get = _refused(sandbox, "GET portals/acme-facilities/")
    reason = f"outcome unknown ({put}); re-reading it failed too ({get}); run diff"
    assert result.stdout.splitlines()[-2:] == [
        f"  acme-facilities  unknown   {reason}",
        "Apply: 0 applied, 0 unchanged, 0 failed, 0 skipped, 1 unknown.",
    ]
    # The first answer was the 500; every attempt after it found the server gone.
    assert result.stderr.splitlines() == [
        "retrying PUT portals/acme-facilities/ in 0.0 s (attempt 2/3): HTTP 500",
        "retrying PUT portals/acme-facilities/ in 0.0 s (attempt 3/3): connection refused",
        "retrying GET portals/acme-facilities/ in 0.0 s (attempt 2/3): connection refused",
        "retrying GET portals/acme-facilities/ in 0.0 s (attempt 3/3): connection refused",
    ]
    report = _report(live_project)
    assert (report["outcome"], report["exit_code"], report["reason"]) == (
        "unknown",
        6,
        "the outcome of some writes is unknown: OutSmart may have stored them; run diff",
    )
    assert report["summary"] == {
        "applied": 0,
        "unchanged": 0,
        "failed": 0,
        "skipped": 0,
        "unknown": 1,
        "ok": False,
        "interrupted": False,
    }
    assert _results(live_project) == {"acme-facilities": ("unknown", reason)}
    assert revisions(sandbox)["acme-facilities"] == 2  # and it was stored: "failed" was false


def test_a_write_acknowledged_but_not_stored_is_failed_and_the_next_diff_agrees(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    sandbox.set_faults(Faults(unstored_write_rate=1.0))
    result = invoke(*APPLY)
    assert result.exit_code == 6
    lines = result.stdout.splitlines()
    # Each write was answered (the progress lines say written); the read-back finds it not stored.
    assert sorted(lines[-5:-3]) == [
        "  acme-facilities   written   revision 1 -> 2",
        "  klimaat-techniek  written   revision 1 -> 2",
    ]
    not_stored = (
        "acknowledged but not stored: OutSmart answered revision 2, but holds revision 1 "
        "without the planned settings; run diff"
    )
    assert lines[-3:] == [
        f"  acme-facilities   failed    {not_stored}",
        f"  klimaat-techniek  failed    {not_stored}",
        "Apply: 0 applied, 3 unchanged, 2 failed, 0 skipped.",
    ]
    report = _report(live_project)
    assert (report["outcome"], report["exit_code"]) == ("failed", 6)
    assert {p: r for p, r in _results(live_project).items() if r[0] != "unchanged"} == {
        "acme-facilities": ("failed", not_stored),
        "klimaat-techniek": ("failed", not_stored),
    }
    assert set(revisions(sandbox).values()) == {1}
    assert invoke("diff").exit_code == 3  # the changes are still to be made: as reported


def test_the_read_back_is_one_bulk_read(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    assert invoke(*APPLY).exit_code == 0
    # The plan's two reads, one write per changed portal, then one list of portals again.
    assert sandbox.served == {
        ("GET", "/openapi/8/portals/"): 2,
        ("GET", "/openapi/8/worktypes/"): 1,
        ("PUT", "/openapi/8/portals/acme-facilities/"): 1,
        ("PUT", "/openapi/8/portals/klimaat-techniek/"): 1,
    }
    results = _report(live_project)["results"]
    assert {r["portal"]: r["revision_after"] for r in results if r["result"] == "applied"} == {  # type: ignore[attr-defined]
        "acme-facilities": 2,
        "klimaat-techniek": 2,
    }


def test_a_failed_read_back_makes_the_written_portals_unknown(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    sandbox.set_faults(Faults(gone_after_writes=2))  # both writes answered, then gone
    result = invoke(*APPLY)
    assert result.exit_code == 6
    listed = _refused(sandbox, "GET portals/")
    assert _results(live_project) == {
        **{p: ("unchanged", "") for p in ("gemeente-intern", "secura-alarm", "woonstede-noord")},
        **{
            p: (
                "unknown",
                "outcome unknown: written (OutSmart answered revision 2), but reading it back "
                f"failed ({listed}); run diff",
            )
            for p in ("acme-facilities", "klimaat-techniek")
        },
    }
    assert result.stdout.splitlines()[-1] == (
        "Apply: 0 applied, 3 unchanged, 0 failed, 0 skipped, 2 unknown."
    )
    assert _report(live_project)["outcome"] == "unknown"


@pytest.mark.slow  # 800 ms answers against a 2 s deadline: it waits out real time
def test_the_read_back_has_a_deadline_of_its_own_after_writes_that_used_most_of_theirs(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    # Every answer takes 0.8 s and the deadline is 2 s: the plan's two reads, and then the
    # two writes (one at a time), each fit in 1.6 s; a read-back sharing the writes'
    # deadline would have 0.4 s left and make both acknowledged writes unknown.
    config = (live_project / "portal-config.yaml").read_text(encoding="utf-8")
    (live_project / "portal-config.yaml").write_text(
        config.replace("deadline: 60", "deadline: 2"), encoding="utf-8"
    )
    sandbox.set_faults(Faults(latency_ms=800))
    result = invoke(*APPLY, "--concurrency", "1")
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    assert result.stdout.splitlines()[-1] == "Apply: 2 applied, 3 unchanged, 0 failed, 0 skipped."
    assert {p: r for p, r in _results(live_project).items() if r[0] != "unchanged"} == {
        "acme-facilities": ("applied", ""),
        "klimaat-techniek": ("applied", ""),
    }
    assert sandbox.served[("GET", "/openapi/8/portals/")] == 2  # the plan's, the read-back's


def test_a_write_that_never_connected_is_skipped_and_makes_the_run_failed(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    # One write at a time: acme-facilities is stored and answered, then the server goes.
    sandbox.set_faults(Faults(gone_after_writes=1))
    result = invoke(*APPLY, "--concurrency", "1")
    assert result.exit_code == 6
    results = _results(live_project)
    assert results["klimaat-techniek"] == (
        "skipped",
        f"not attempted: {_refused(sandbox, 'PUT portals/klimaat-techniek/')}",
    )
    assert results["acme-facilities"][0] == "unknown"  # its read-back found no server
    assert result.stdout.splitlines()[-1] == (
        "Apply: 0 applied, 3 unchanged, 0 failed, 1 skipped, 1 unknown."
    )
    # One portal certainly not written: the run failed, whatever else is unknown.
    assert _report(live_project)["outcome"] == "failed"
    assert revisions(sandbox)["klimaat-techniek"] == 1


def _apply_with_ui_edit(
    project: Path, sandbox: Sandbox, edit: Callable[[Sandbox], object]
) -> tuple[int, list[str]]:
    """apply --yes in this process, with ``edit`` made in "the OutSmart UI" as soon as the
    first write is answered: between the writes and their read-back."""
    from portal_config.project.config_reader import load_config
    from portal_config.render.views import VIEWS
    from portal_config.run.console import Console
    from portal_config.run.options import RunOptions
    from portal_config.run.workflow import apply

    out: list[str] = []

    def show(text: str) -> None:
        if text.startswith("  acme-facilities   written") and not any(
            line.startswith("  acme-facilities") for line in out
        ):
            edit(sandbox)
        out.append(text)

    console = Console(show, out.append, color=False, confirm=None, views=VIEWS)
    options = RunOptions(assume_yes=True, report_file=project / "report.json", concurrency=1)
    code = apply(load_config(), [], None, options, console)
    return code, "".join(out).splitlines()


def test_a_ui_edit_to_an_unmanaged_field_after_the_write_does_not_fail_the_read_back(
    live_project: Path, sandbox: Sandbox
) -> None:
    code, lines = _apply_with_ui_edit(
        live_project, sandbox, lambda s: s.state.edit("acme-facilities", name="Acme (new)")
    )
    assert code == 0, lines
    assert lines[-1] == "Apply: 2 applied, 3 unchanged, 0 failed, 0 skipped."
    applied = {p: r for p, r in _results(live_project).items() if r[0] == "applied"}
    assert set(applied) == {"acme-facilities", "klimaat-techniek"}
    # revision_after is what the read-back found: the UI edit's revision.
    report_results = _report(live_project)["results"]
    assert {
        r["portal"]: r["revision_after"] for r in report_results if r["result"] == "applied"
    } == {  # type: ignore[attr-defined]
        "acme-facilities": 3,
        "klimaat-techniek": 2,
    }


def test_a_ui_edit_to_a_planned_field_after_the_write_is_reported_as_not_held(
    live_project: Path, sandbox: Sandbox
) -> None:
    code, lines = _apply_with_ui_edit(
        live_project, sandbox, lambda s: s.state.edit("acme-facilities", work_types=["Storing"])
    )
    assert code == 6, lines
    reason = (
        "changed in OutSmart after it was written (revision 2 -> 3): it does not hold the "
        "planned settings; run diff"
    )
    assert lines[-2:] == [
        f"  acme-facilities   failed    {reason}",
        "Apply: 1 applied, 3 unchanged, 1 failed, 0 skipped.",
    ]
    assert _results(live_project)["acme-facilities"] == ("failed", reason)
    acme = sandbox.state.get("acme-facilities")
    assert acme is not None and acme["guest_workorder"]["work_types"] == ["Storing"]


# -- the preview commands only read ---------------------------------------------------------
READS = {"GET"}  # the contract's only read method (openapi/portal-settings.yaml)
# Every fault a server can throw at a read, so that retries are among the requests checked.
READ_FAULTS = Faults(error_rate=0.2, envelope_error_rate=0.15, drop_rate=0.15, seed=3)


@pytest.mark.parametrize(
    "command",
    [
        ("diff",),
        ("diff", "--format", "json"),
        ("diff", "--base", "HEAD"),
        ("drift",),
        ("pull", "--dir", "pulled"),
    ],
)
def test_a_preview_command_only_reads_even_when_retrying(
    live_project: Path, sandbox: Sandbox, invoke: Invoke, command: tuple[str, ...]
) -> None:
    if "--base" in command:
        _commit(live_project)
    sandbox.set_faults(READ_FAULTS)
    result = invoke(*command, "--concurrency", "1")
    assert result.exit_code in (0, 3), result.output
    served = sandbox.served
    assert {method for method, _ in served} == READS, served
    assert "retrying GET" in result.stderr  # the faults were met, and retried
    assert set(revisions(sandbox).values()) == {1}


def test_show_sends_no_request_at_all(live_project: Path, sandbox: Sandbox, invoke: Invoke) -> None:
    assert invoke("diff", "--out", "plan.json").exit_code == 3
    before = sandbox.served
    for output_format in ("text", "markdown", "json"):
        assert invoke("show", "plan.json", "--format", output_format).exit_code == 0
    assert sandbox.served == before


def test_the_request_log_counts_writes_too(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    # The preview tests would pass on a log that never saw a PUT: this one could not.
    assert invoke("apply", "--yes", "portals/acme-facilities.yaml").exit_code == 0
    assert sandbox.served[("PUT", "/openapi/8/portals/acme-facilities/")] == 1


def _commit(root: Path) -> None:
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "portals"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True)


def test_the_new_faults_come_from_the_environment_as_whole_numbers_and_rates() -> None:
    faults = Faults.from_env(
        {
            "SANDBOX_GONE_AFTER_WRITES": "2",
            "SANDBOX_UNSTORED_WRITE_RATE": "0.5",
            "SANDBOX_APPLIED_ERROR_RATE": "1",
        }
    )
    assert (faults.gone_after_writes, faults.unstored_write_rate, faults.applied_error_rate) == (
        2,
        0.5,
        1.0,
    )
    assert type(faults.gone_after_writes) is int


@pytest.mark.slow  # two real processes: the flags' path, not new behaviour
def test_the_sandbox_process_takes_the_new_faults_as_flags_and_really_goes_away(
    tmp_path: Path,
) -> None:
    seed = generated_project(tmp_path, 2, "p")
    (tmp_path / "state.json").write_text(json.dumps(seed))
    env = {**TOKEN_ENV, "OUTSMART_TOKEN": "sandbox-token"}
    env["OUTSMART_SOFTWARE_TOKEN"] = "sandbox-software-token"
    flags = ("--applied-error-rate", "1", "--gone-after-writes", "1", "--unstored-write-rate", "0")
    sandbox = SandboxProcess(tmp_path / "state.json", *flags, env=env)
    try:
        (tmp_path / "portal-config.yaml").write_text(
            f"targets:\n  test:\n    base_url: {sandbox.url}\n    retries: 2\n"
            "    backoff: 0.01\n    concurrency: 1\n"
        )
        applied = run_cli(tmp_path, "apply", "--yes", "--report", "report.json", env=env)
        # The process ended by itself once the write was stored: it is gone, not hung.
        said = sandbox.process.communicate(timeout=30)[1].strip()
    finally:
        if sandbox.process.poll() is None:
            sandbox.stop()
    assert said == "Sandbox stopped after 3 requests."  # the plan's two reads and one write
    assert applied.returncode == 6, applied.stdout + applied.stderr
    results = _results(tmp_path)
    assert results["p00"][0] == "unknown"
    assert results["p01"][0] == "skipped"  # never connected: certainly not written
    assert applied.stdout.splitlines()[-1] == (
        "Apply: 0 applied, 0 unchanged, 0 failed, 1 skipped, 1 unknown."
    )
