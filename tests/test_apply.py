"""`portal-config apply` against the real sandbox: safety first, then exact results."""

from __future__ import annotations

import json
import os
import re
import stat
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import Invoke, revisions
from portal_config.cli import cli
from portal_config.sandbox import Faults, Sandbox


def test_without_a_tty_apply_needs_yes(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    result = invoke("apply")
    assert result.exit_code == 5
    assert result.output.endswith(
        "refused: no terminal to confirm on; review the plan and pass --yes to apply it\n"
    )
    assert set(revisions(sandbox).values()) == {1}


def test_apply_then_rerun_converges(live_project: Path, sandbox: Sandbox, invoke: Invoke) -> None:
    result = invoke("apply", "--yes", "--report", "report.json")
    assert result.exit_code == 0
    *progress, summary = result.output.splitlines()[-3:]
    # One line per portal as its write completes (in completion order), then the summary.
    assert sorted(progress) == [
        "  acme-facilities   written   revision 1 -> 2",
        "  klimaat-techniek  written   revision 1 -> 2",
    ]
    assert summary == "Apply: 2 applied, 3 unchanged, 0 failed, 0 skipped."
    acme = sandbox.state.get("acme-facilities")
    assert acme is not None and acme["guest_workorder"] == {
        "enabled": True,
        "allow_address_change": False,
        "allow_new_relation": False,
        "allow_requests_for_others": False,
        "work_types": ["Storing", "Onderhoud"],
    }
    report = json.loads((live_project / "report.json").read_text())
    assert stat.S_IMODE(os.stat(live_project / "report.json").st_mode) == 0o600
    assert (report["format"], report["version"], report["outcome"], report["exit_code"]) == (
        "portal-config-report",
        3,
        "applied",
        0,
    )
    assert report["summary"] == {
        "applied": 2,
        "unchanged": 3,
        "failed": 0,
        "skipped": 0,
        "unknown": 0,
        "ok": True,
        "interrupted": False,
    }
    rerun = invoke("apply", "--yes")
    assert rerun.exit_code == 0
    assert rerun.output.endswith(
        "No changes. 5 portals up to date, 1 unmanaged.\nNothing to apply.\n"
    )
    assert revisions(sandbox)["acme-facilities"] == 2


def test_saved_plan_applies_exactly_and_refuses_when_stale(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    assert invoke("diff", "--out", "plan.json").exit_code == 3
    # The files change after the plan was reviewed: the plan, not the files, is applied.
    (live_project / "portals" / "gemeente-intern.yaml").write_text(
        "portal: gemeente-intern\nguest_workorder: {enabled: true, work_types: [Storing]}\n"
    )
    sandbox.state.edit("secura-alarm", work_types=["Storing"])  # someone clicks Save in OutSmart
    stale = invoke("apply", "plan.json", "--yes")
    assert stale.exit_code == 5
    assert stale.output.splitlines()[-1] == (
        "refused: plan is stale: changed in OutSmart since the plan was made: "
        "secura-alarm (revision 1 -> 2); run diff again and review the new plan"
    )
    assert revisions(sandbox) == {**{p: 1 for p in revisions(sandbox)}, "secura-alarm": 2}

    assert invoke("diff", "--out", "plan.json").exit_code == 3
    applied = invoke("apply", "plan.json", "--yes", "--allow-large-change")
    assert applied.exit_code == 0, applied.output
    assert sandbox.state.data["portals"]["gemeente-intern"]["guest_workorder"]["enabled"] is True

    # The apply job re-run with the same plan: already applied, not "stale", nothing written.
    again = invoke("apply", "plan.json", "--yes")
    assert again.exit_code == 0, again.output
    assert again.output.endswith(
        "already applied: live equals the plan for acme-facilities, gemeente-intern, "
        "klimaat-techniek, secura-alarm\nNothing to apply.\n"
    )
    assert revisions(sandbox)["gemeente-intern"] == 2


def test_concurrent_ui_change_is_reported_not_overwritten(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    sandbox.set_faults(Faults(conflict_rate=1.0, seed=1))
    result = invoke("apply", "--yes")
    assert result.exit_code == 6
    lines = result.output.splitlines()
    assert (
        "  acme-facilities   failed    changed in OutSmart since it was read; not overwritten "
        "(revision 1 -> 2); run diff again"
    ) in lines
    assert lines[-1] == "Apply: 0 applied, 3 unchanged, 2 failed, 0 skipped."
    # The UI edit (allow_requests_for_others flipped on) survived; our settings were not written.
    acme = sandbox.state.get("acme-facilities")
    assert acme is not None
    assert acme["guest_workorder"]["allow_requests_for_others"] is True
    assert acme["guest_workorder"]["allow_new_relation"] is True


def test_safety_threshold_refuses_large_plans(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    with (live_project / "portal-config.yaml").open("a") as config:
        config.write("safety:\n  max_portals: 1\n")
    refused = invoke("apply", "--yes")
    assert refused.exit_code == 5
    assert refused.output.splitlines()[-1] == (
        "refused: plan changes 2 portals, more than safety.max_portals (1); "
        "re-run with --allow-large-change if this is intended"
    )
    assert set(revisions(sandbox).values()) == {1}
    assert invoke("apply", "--yes", "--allow-large-change").exit_code == 0


def test_safety_share_threshold(live_project: Path, sandbox: Sandbox, invoke: Invoke) -> None:
    with (live_project / "portal-config.yaml").open("a") as config:
        config.write("safety:\n  max_share: 0.25\n")
    refused = invoke("apply", "--yes")
    assert refused.exit_code == 5
    assert "refused: plan changes 2/5 portals, more than safety.max_share (25%)" in refused.output


def test_invalid_safety_config(live_project: Path, invoke: Invoke) -> None:
    with (live_project / "portal-config.yaml").open("a") as config:
        config.write("safety:\n  max_share: 2\n")
    result = invoke("apply", "--yes")
    assert result.exit_code == 2
    assert (
        result.output
        == "invalid config: portal-config.yaml:9:14: safety.max_share must be at most 1, got 2\n"
    )


def test_write_refused_by_the_api_fails_that_portal_only(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    assert invoke("diff", "--out", "plan.json").exit_code == 3
    # After review, the account dropped a work type: the planned write is refused.
    sandbox.state.data["work_types"].remove("Onderhoud")
    result = invoke("apply", "plan.json", "--yes")
    assert result.exit_code == 6
    assert (
        "  acme-facilities   failed    PUT portals/acme-facilities/: OutSmart code 422 "
        "(invalid field value (wrong type, unknown work type)): unknown work type: Onderhoud"
        in result.output
    )
    assert "  klimaat-techniek  written   revision 1 -> 2" in result.output


def test_a_work_type_the_live_account_lacks_is_refused_before_any_write(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    sandbox.state.data["work_types"].remove("Onderhoud")  # the account dropped a work type
    revisions = {name: p["revision"] for name, p in sandbox.state.data["portals"].items()}
    result = invoke("apply", "--yes")
    assert result.exit_code == 1
    assert result.output == (
        "portals/acme-facilities.yaml:11:7: error [unknown-work-type] work type 'Onderhoud' "
        "is not in the live account of target test\n"
        # The example's portal users may request it too (user_settings.work_types).
        "portals/acme-facilities.yaml:15:7: error [unknown-work-type] work type 'Onderhoud' "
        "is not in the live account of target test\n"
        "portals/woonstede-noord.yaml:12:7: error [unknown-work-type] work type 'Onderhoud' "
        "is not in the live account of target test\n"
        "2 files checked: 3 errors, 0 warnings (failed)\n"
        "refused: 3 work type(s) the live account of target test would refuse\n"
    )
    assert {n: p["revision"] for n, p in sandbox.state.data["portals"].items()} == revisions


def test_confirmation_on_a_tty(live_project: Path, sandbox: Sandbox, monkeypatch: object) -> None:
    from portal_config.render.views import VIEWS
    from portal_config.run.console import Console

    answers: list[str] = []
    out: list[str] = []

    def decline(question: str) -> bool:
        answers.append(question)
        return False

    console = Console(out.append, out.append, color=False, confirm=decline, views=VIEWS)
    import pytest

    from portal_config.plan.value import RefusedError

    with pytest.raises(RefusedError, match="not confirmed; nothing was applied"):
        _apply_in_process(console)
    assert answers == ["Apply changes to 2 portals in target test?"]
    assert set(revisions(sandbox).values()) == {1}
    console = Console(
        out.append, out.append, color=False, confirm=lambda question: True, views=VIEWS
    )
    assert _apply_in_process(console) == 0


def test_saved_plan_for_another_target_is_refused(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    assert invoke("diff", "--out", "plan.json").exit_code == 3
    with (live_project / "portal-config.yaml").open("a") as config:
        config.write(f"  other:\n    base_url: {sandbox.url}\n")
    result = invoke("apply", "plan.json", "--yes", "--target", "other")
    assert result.exit_code == 5
    assert result.output == "refused: the plan was made for target test, not other\n"
    assert set(revisions(sandbox).values()) == {1}


def test_a_conflict_is_settled_from_the_409_answer_without_reading_again(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    sandbox.set_faults(Faults(conflict_rate=1.0, seed=1))
    assert invoke("apply", "--yes").exit_code == 6
    # One bulk read, the work types, and one write per changed portal; no GET after the
    # conflicts.
    assert sandbox.requests_seen == 1 + 1 + 2


def _report(project: Path) -> dict[str, object]:
    report: dict[str, object] = json.loads((project / "report.json").read_text())
    return report


def test_report_is_written_when_nothing_is_applied(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    refused = invoke("apply", "--report", "report.json")  # no terminal and no --yes
    assert refused.exit_code == 5
    report = _report(live_project)
    assert (report["outcome"], report["exit_code"]) == ("refused", 5)
    assert report["reason"] == (
        "refused: no terminal to confirm on; review the plan and pass --yes to apply it"
    )
    assert report["summary"] == {
        "applied": 0,
        "unchanged": 3,
        "failed": 0,
        "skipped": 2,
        "unknown": 0,
        "ok": False,
        "interrupted": False,
    }
    skipped = [r for r in report["results"] if r["result"] == "skipped"]  # type: ignore[attr-defined]
    assert [r["reason"] for r in skipped] == [f"not attempted: {report['reason']}"] * 2

    assert invoke("apply", "--yes").exit_code == 0
    assert invoke("apply", "--yes", "--report", "report.json").exit_code == 0
    report = _report(live_project)
    assert (report["outcome"], report["reason"]) == ("nothing-to-apply", "")
    assert report["summary"]["unchanged"] == 5  # type: ignore[index]


def test_report_is_written_when_the_api_fails(
    live_project: Path, sandbox: Sandbox, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTSMART_TOKEN", "not-the-token")
    result = invoke("apply", "--yes", "--report", "report.json")
    assert result.exit_code == 4
    report = _report(live_project)
    assert (report["outcome"], report["exit_code"], report["results"]) == ("api-error", 4, [])
    assert report["reason"] == result.output.strip()  # the same one line the user saw
    assert report["target"] == {"name": "test", "base_url": sandbox.url}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("apply", "--yes", "--report", "portals"),
            "Usage: cli apply [OPTIONS] [PATHS]...\nTry 'cli apply --help' for help.\n\n"
            "Error: Invalid value for '--report': File 'portals' is a directory.",
        ),
        (
            ("apply", "--yes", "--report", "worktypes.yaml/report.json"),
            "error: --report worktypes.yaml/report.json: {root}/worktypes.yaml is not a directory",
        ),
        (
            ("diff", "--out", "portals"),
            "Usage: cli diff [OPTIONS] [PATHS]...\nTry 'cli diff --help' for help.\n\n"
            "Error: Invalid value for '--out': File 'portals' is a directory.",
        ),
    ],
)
def test_unwritable_output_paths_are_refused_before_any_request(
    live_project: Path, sandbox: Sandbox, invoke: Invoke, args: tuple[str, ...], message: str
) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.output == message.format(root=live_project) + "\n"
    assert sandbox.requests_seen == 0


def test_quiet_apply_shows_only_results_and_failures(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    assert invoke("diff", "--out", "plan.json").exit_code == 3
    sandbox.state.data["work_types"].remove("Onderhoud")  # acme-facilities' write is refused
    result = invoke("apply", "plan.json", "--yes", "--quiet")
    assert result.exit_code == 6
    lines = result.output.splitlines()
    assert len(lines) == 2 and lines[0].startswith("  acme-facilities   failed    PUT ")
    assert lines[1] == "Apply: 1 applied, 3 unchanged, 1 failed, 0 skipped."


def test_quiet_and_verbose_exclude_each_other(live_project: Path, invoke: Invoke) -> None:
    result = CliRunner().invoke(cli, ["diff", "--quiet", "--verbose"])
    assert result.exit_code == 2
    assert "Error: --quiet and --verbose cannot be used together" in result.output


def test_a_report_path_on_a_read_only_file_system_is_refused_before_any_request(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    result = invoke("apply", "--yes", "--report", "/sys/portal-config-report.json")
    assert result.exit_code == 2
    assert result.output.startswith(
        "error: --report /sys/portal-config-report.json: cannot create files in /sys ("
    )
    assert sandbox.requests_seen == 0


def test_verbose_logs_each_request_redacted_and_retries_are_announced(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    sandbox.set_faults(Faults(error_rate=0.5, seed=1))
    # One request at a time, so the seeded dice meet the requests in one order.
    result = invoke("diff", "--verbose", "--concurrency", "1")
    assert result.exit_code == 3, result.output
    log = [line for line in result.stderr.splitlines() if line.startswith("GET ")]
    work_types = [line for line in log if "/worktypes/" in line]  # diff checks names live
    assert work_types and all(
        line.startswith(f"GET {sandbox.url}worktypes/?token=***&software_token=*** -> ")
        for line in work_types
    )
    log = [line for line in log if line not in work_types]
    assert log and all(
        line.startswith(
            f"GET {sandbox.url}portals/?page=1&per_page=100&token=***&software_token=***"
        )
        for line in log
    )
    retries = [line for line in result.stderr.splitlines() if line.startswith("retrying ")]
    assert retries and all(
        re.fullmatch(
            r"retrying GET (portals|worktypes)/ in \d+\.\d s \(attempt \d/3\): HTTP 50[023]",
            line,
        )
        for line in retries
    ), retries
    # Every failed answer was retried once more.
    assert len(log) + len(work_types) == len(retries) + 2
    quiet = invoke("diff", "--quiet")
    assert quiet.exit_code == 3 and quiet.stderr == ""  # no retry lines with --quiet


def test_check_writable_refuses_a_directory_and_accepts_a_read_only_file(tmp_path: Path) -> None:
    from portal_config.errors import UsageError
    from portal_config.storage import check_writable, write_atomically

    with pytest.raises(UsageError, match=r"^--report .*: is a directory$"):
        check_writable(tmp_path, "--report")
    read_only = tmp_path / "old-report.json"
    read_only.write_text("{}")
    read_only.chmod(0o444)
    check_writable(read_only, "--report")  # replaced by a rename, so it can be written
    write_atomically(read_only, "{}\n")
    assert read_only.read_text() == "{}\n"


def _apply_in_process(console: object, report: Path | None = None) -> int:
    from portal_config.project.config_reader import load_config
    from portal_config.run.console import Console
    from portal_config.run.options import RunOptions
    from portal_config.run.workflow import apply

    assert isinstance(console, Console)
    return apply(load_config(), [], None, RunOptions(report_file=report), console)


@pytest.mark.slow  # waits out real timeouts or Retry-After
def test_time_at_the_prompt_does_not_use_up_the_request_deadline(
    live_project: Path, sandbox: Sandbox
) -> None:
    from portal_config.render.views import VIEWS
    from portal_config.run.console import Console

    config = live_project / "portal-config.yaml"
    config.write_text(config.read_text().replace("deadline: 60", "deadline: 0.5"))
    out: list[str] = []

    def slow_reader(question: str) -> bool:
        time.sleep(0.7)  # longer than the whole deadline: reading a plan takes a while
        return True

    console = Console(out.append, out.append, color=False, confirm=slow_reader, views=VIEWS)
    assert _apply_in_process(console) == 0, "".join(out)
    assert revisions(sandbox)["acme-facilities"] == 2


def test_a_deadline_passed_before_a_write_was_sent_is_reported_skipped(
    live_project: Path, sandbox: Sandbox
) -> None:
    from portal_config.render.views import VIEWS
    from portal_config.run.console import Console

    config = live_project / "portal-config.yaml"
    config.write_text(
        config.read_text()
        .replace("deadline: 60", "deadline: 0.3")
        .replace("backoff: 0.01", "backoff: 0.01\n    concurrency: 1")
    )
    out: list[str] = []

    def slow_server_from_now_on(question: str) -> bool:
        sandbox.set_faults(Faults(latency_ms=400))  # the first write uses up the deadline
        return True

    console = Console(
        out.append, out.append, color=False, confirm=slow_server_from_now_on, views=VIEWS
    )
    assert _apply_in_process(console, live_project / "report.json") == 6
    results = {r["portal"]: r for r in _report(live_project)["results"]}  # type: ignore[attr-defined]
    late = [r for r in results.values() if r["result"] == "skipped"]
    assert [r["reason"] for r in late] == [
        "not attempted: PUT portals/klimaat-techniek/: gave up, the run's deadline of 0.3s passed"
    ]
    for r in late:  # nothing was sent for them: still at the revision the plan read
        assert revisions(sandbox)[r["portal"]] == 1


def test_a_plan_and_portal_files_together_are_a_usage_error(
    live_project: Path, sandbox: Sandbox
) -> None:
    assert CliRunner().invoke(cli, ["diff", "--out", "plan.json"]).exit_code == 3
    result = CliRunner().invoke(cli, ["apply", "plan.json", "portals", "--yes"])
    assert result.exit_code == 2
    assert result.output.endswith(
        "Error: give either saved PLAN.json files or portal files, not both\n"
    )
    assert set(revisions(sandbox).values()) == {1}
