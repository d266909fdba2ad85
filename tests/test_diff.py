"""`portal-config diff` against the real sandbox: formats, exit codes, refusals."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from conftest import TOKEN, Invoke, revisions
from portal_config import TOOL
from portal_config.sandbox import Sandbox


def test_text_diff_is_terraform_like_and_marks_widening(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    result = invoke("diff")
    assert result.exit_code == 3
    assert result.output == (
        f"Target: test {sandbox.url}\n"
        "\n"
        "~ acme-facilities  (portals/acme-facilities.yaml, revision 1)\n"
        "    ~ allow_new_relation: true -> false  (portals/acme-facilities.yaml:7)\n"
        "    ~ work_types:  (portals/acme-facilities.yaml:10)\n"
        "        + Onderhoud  ! widens guest access\n"
        "\n"
        "~ klimaat-techniek  (portals/klimaat-techniek.yaml, revision 1)\n"
        "    ~ enabled: false -> true  ! widens guest access  (portals/klimaat-techniek.yaml:5)\n"
        "    ~ work_types:  (portals/klimaat-techniek.yaml:7)\n"
        "        + Storing  ! widens guest access\n"
        "\n"
        "? oud-portaal  unmanaged: exists in OutSmart, no file; never touched\n"
        "\n"
        "Plan: 2 to update, 3 unchanged, 1 unmanaged; 2 widen guest access.\n"
    )


def test_work_types_compare_as_a_set(live_project: Path, sandbox: Sandbox, invoke: Invoke) -> None:
    sandbox.state.edit("woonstede-noord", work_types=["Onderhoud", "Storing", "Inspectie"])
    payload = json.loads(invoke("diff", "--format", "json").output)
    woonstede = next(p for p in payload["portals"] if p["portal"] == "woonstede-noord")
    assert woonstede["action"] == "none" and woonstede["changes"] == []


def test_json_diff_has_stable_shape(live_project: Path, sandbox: Sandbox, invoke: Invoke) -> None:
    result = invoke("diff", "--format", "json")
    assert result.exit_code == 3
    payload = json.loads(result.output)
    assert list(payload) == [
        "format",
        "version",
        "tool",
        "kind",
        "target",
        "account",
        "created_at",
        "commit",
        "base",
        "live_read_at",
        "has_changes",
        "apply_refusal",
        "summary",
        "fan_out",
        "portals",
        "unmanaged",
        "unmanaged_other_ids",
    ]
    assert payload["target"] == {"name": "test", "base_url": sandbox.url}
    assert payload["kind"] == "diff" and payload["base"] is None
    assert payload["account"] is None  # one account: portals/ and worktypes.yaml
    assert payload["commit"] is None  # the project is not a git checkout
    assert payload["apply_refusal"] is None
    assert payload["has_changes"] is True
    assert payload["summary"] == {
        "portals": 5,
        "update": 2,
        "unchanged": 3,
        "unmanaged": 1,
        "widens_guest_access": 2,
        "drift": 0,
        "ok": False,
    }
    assert payload["unmanaged"] == ["oud-portaal"]
    assert payload["unmanaged_other_ids"] == []
    acme = next(p for p in payload["portals"] if p["portal"] == "acme-facilities")
    assert acme["changes"] == [
        {
            "field": "allow_new_relation",
            "old": True,
            "new": False,
            "widens": False,
            "origin": None,  # a two-way plan: no base says who changed it
            "source": {"file": "portals/acme-facilities.yaml", "line": 7},
        },
        {
            "field": "work_types",
            "added": ["Onderhoud"],
            "removed": [],
            "widens": True,
            "origin": None,
            "source": {"file": "portals/acme-facilities.yaml", "line": 10},
        },
    ]
    assert acme["widens_guest_access"] is True and acme["live_revision"] == 1


def test_markdown_diff_for_pr_comments(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    output = invoke("diff", "--format", "markdown").output
    assert (
        output.splitlines()[0]
        == "**Plan: 2 to update, 3 unchanged, 1 unmanaged; 2 widen guest access.**"
    )
    assert f"`Target: test {sandbox.url}`" in output
    assert (
        "<summary><code>klimaat-techniek</code>: 2 changes ⚠️ widens guest access</summary>"
        in output
    )
    assert "+ enabled: true  # widens guest access" in output
    # Both widen guest access: shown open, not folded.
    assert output.count("<details open>") == 2 and "<details>" not in output
    assert re.search(r"^live state read \d{4}-\d\d-\d\dT[\d:]+\+00:00$", output, re.M)


def test_no_changes_exit_zero_and_say_so(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    assert invoke("apply", "--yes").exit_code == 0
    result = invoke("diff", "--format", "markdown")
    assert result.exit_code == 0
    assert "No changes." in result.output
    text = invoke("diff")
    assert text.exit_code == 0 and text.output.endswith(
        "No changes. 5 portals up to date, 1 unmanaged.\n"
    )


def test_diff_refuses_files_that_fail_lint(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    (live_project / "portals" / "acme-facilities.yaml").write_text(
        "portal: acme-facilities\nguest_workorder: {}\n"
    )
    result = invoke("diff")
    assert result.exit_code == 1
    assert (
        "portals/acme-facilities.yaml:2:1: error [schema] missing required key 'enabled' in guest_workorder"
        in result.output
    )
    assert "refused: the portal files have errors" in result.output
    assert sandbox.requests_seen == 0


def test_file_for_a_portal_that_does_not_exist_live_is_an_error(
    live_project: Path, invoke: Invoke
) -> None:
    (live_project / "portals" / "nieuw.yaml").write_text(
        "portal: nieuw\nguest_workorder: {enabled: false}\n"
    )
    result = invoke("diff")
    assert result.exit_code == 1
    assert (
        "portals/nieuw.yaml:1:9: error [missing-portal] portal 'nieuw' does not exist in target test; "
        "portals are created in OutSmart, not by portal-config"
    ) in result.output


def test_saved_plan_is_private_and_secret_free(live_project: Path, invoke: Invoke) -> None:
    result = invoke("diff", "--out", "plan.json")
    assert result.exit_code == 3
    plan_file = live_project / "plan.json"
    assert stat.S_IMODE(os.stat(plan_file).st_mode) == 0o600
    text = plan_file.read_text()
    assert TOKEN not in text
    payload = json.loads(text)
    assert payload["tool"] == TOOL
    assert {p["portal"]: p["live_revision"] for p in payload["portals"]} == {
        "acme-facilities": 1,
        "gemeente-intern": 1,
        "klimaat-techniek": 1,
        "secura-alarm": 1,
        "woonstede-noord": 1,
    }
    # The saved plan holds the live settings; show derives each fingerprint from them.
    shown = json.loads(invoke("show", "plan.json", "--format", "json").stdout)
    assert all(len(p["live_fingerprint"]) == 16 for p in shown["portals"])


def test_plan_is_an_alias_of_diff(live_project: Path, invoke: Invoke) -> None:
    assert invoke("plan").output == invoke("diff").output


def test_unmanaged_portals_are_never_touched(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    before = sandbox.state.get("oud-portaal")
    assert invoke("apply", "--yes").exit_code == 0
    assert sandbox.state.get("oud-portaal") == before
    assert revisions(sandbox)["oud-portaal"] == 1


def test_diff_and_apply_say_on_stderr_what_they_read_from_where_before_the_live_read(
    live_project: Path, sandbox: Sandbox, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Where someone watches (a terminal, a CI log): a server that does not answer is then a
    # known wait. stdout is unchanged, so the JSON format stays pure JSON.
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    said = f"reading 5 portals from test {sandbox.url}\n"
    diffed = invoke("diff", "--format", "json", "--out", "plan.json")
    assert diffed.exit_code == 3
    assert diffed.stderr == said
    assert json.loads(diffed.stdout)["format"] == "portal-config-plan"
    applied = invoke("apply", "plan.json", "--yes", "--allow-large-change")
    assert applied.exit_code == 0, applied.output
    assert applied.stderr == said
    assert invoke("diff", "--quiet").stderr == ""  # --quiet: no progress lines


def test_a_server_that_does_not_answer_is_named_before_the_wait(
    live_project: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/openapi/8/"
        config = live_project / "portal-config.yaml"
        config.write_text(
            f"targets:\n  slow:\n    base_url: {url}\n    timeout: 0.2\n    retries: 0\n"
            "default_target: slow\n"
        )
        result = invoke("diff")
    assert result.exit_code == 4
    assert result.stderr.startswith(f"reading 5 portals from slow {url}\n")
