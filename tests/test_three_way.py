"""Three-way plans, drift, the PR comment and --require-tip, on real git repositories.

Each project is a git repository made in a temporary directory; main is applied to the
real sandbox first, so live state is the last reviewed state. UI edits are made over
HTTP, with the adapter's own PUT, as OutSmart's UI would change a portal.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import SOFTWARE_TOKEN, TOKEN, Invoke
from guest import guest_settings
from portal_config.live.api import OutSmartClient
from portal_config.live.transport import ClientSettings
from portal_config.sandbox import Sandbox
from portal_config.settings.model import PortalSettings

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Reviewer",
    "GIT_AUTHOR_EMAIL": "reviewer@example.invalid",
    "GIT_COMMITTER_NAME": "Reviewer",
    "GIT_COMMITTER_EMAIL": "reviewer@example.invalid",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "PATH": "/usr/bin:/bin:/usr/local/bin",
}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=root, env=GIT_ENV, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def commit_all(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


def ui_edit(sandbox: Sandbox, portal: str, **guest: Any) -> None:
    """What a click in OutSmart's UI does: the portal's settings replaced over HTTP."""
    with OutSmartClient(sandbox.url, TOKEN, SOFTWARE_TOKEN, ClientSettings()) as client:
        current = client.get_portal(portal)
        fields = {**current.settings.comparable()["guest_workorder"], **guest}
        settings = PortalSettings.of(portal, {"guest_workorder": fields})
        client.replace_portal(settings, current.revision)


def edit_file(root: Path, portal: str, old: str, new: str) -> None:
    edit_file_at(root / "portals" / f"{portal}.yaml", old, new)


def edit_file_at(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def repo(live_project: Path, invoke: Invoke) -> Path:
    """main holds the shipped portals and is applied: live equals main's files."""
    git(live_project, "init", "-q", "-b", "main")
    # The sandbox keeps its state in the project; plans and reports are not committed.
    (live_project / ".gitignore").write_text("state/\n*.json\n", encoding="utf-8")
    commit_all(live_project, "portals")
    assert invoke("apply", "--yes").exit_code == 0
    git(live_project, "checkout", "-q", "-b", "feature")
    return live_project


@pytest.fixture
def every_origin(repo: Path, sandbox: Sandbox) -> Path:
    """One portal for each combination of branch change and UI edit."""
    # change only: the branch offers klimaat-techniek's guests a second work type.
    edit_file(repo, "klimaat-techniek", "    - Storing\n", "    - Storing\n    - Onderhoud\n")
    # drift only: someone switched secura-alarm's address changes off in the UI.
    ui_edit(sandbox, "secura-alarm", allow_address_change=False)
    # both: the branch drops Onderhoud, the UI added Plaatsing alarm; live has both.
    edit_file(repo, "woonstede-noord", "    - Onderhoud\n", "")
    ui_edit(
        sandbox,
        "woonstede-noord",
        work_types=["Storing", "Inspectie", "Onderhoud", "Plaatsing alarm"],
    )
    # the same value on both sides: the branch and the UI both added Inspectie.
    edit_file(repo, "acme-facilities", "    - Onderhoud\n", "    - Onderhoud\n    - Inspectie\n")
    ui_edit(sandbox, "acme-facilities", work_types=["Storing", "Onderhoud", "Inspectie"])
    commit_all(repo, "the branch's changes")
    return repo


def test_every_change_is_classified_by_its_origin(
    every_origin: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    result = invoke("diff", "--base", "main", "--format", "json")
    assert result.exit_code == 3, result.output
    plan = json.loads(result.output)
    assert plan["base"] == {"ref": "main", "commit": git(every_origin, "rev-parse", "main")}
    assert plan["commit"] == git(every_origin, "rev-parse", "HEAD")
    changes = {p["portal"]: p["changes"] for p in plan["portals"]}
    assert changes["klimaat-techniek"] == [
        {
            "field": "work_types",
            "added": ["Onderhoud"],
            "removed": [],
            "widens": True,
            "origin": "change",
            "source": {"file": "portals/klimaat-techniek.yaml", "line": 7},
        }
    ]
    assert changes["secura-alarm"] == [
        {
            "field": "allow_address_change",
            "old": False,
            "new": True,
            "widens": True,
            "origin": "drift",
            "source": {"file": "portals/secura-alarm.yaml", "line": 6},
        }
    ]
    assert changes["woonstede-noord"] == [
        {
            "field": "work_types",
            "added": [],
            "removed": ["Onderhoud", "Plaatsing alarm"],
            "widens": False,
            "origin": "both",
            "source": {"file": "portals/woonstede-noord.yaml", "line": 10},
        }
    ]
    assert changes["acme-facilities"] == []  # both sides made the same edit: nothing to do
    assert changes["gemeente-intern"] == []
    assert plan["summary"]["update"] == 3 and plan["summary"]["drift"] == 2


def test_text_shows_this_branch_and_drift_in_separate_sections(
    every_origin: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    result = invoke("diff", "--base", "main")
    assert result.exit_code == 3
    head = git(every_origin, "rev-parse", "HEAD")[:12]
    base = git(every_origin, "rev-parse", "main")[:12]
    output = re.sub(r"read \S+\n", "read <time>\n", result.output)
    assert output == (
        f"Target: test {sandbox.url}\n"
        f"Files at {head}; base main at {base}; live state read <time>\n"
        "\n"
        "Changes in this pull request:\n"
        "\n"
        "~ klimaat-techniek  (portals/klimaat-techniek.yaml, revision 2)\n"
        "    ~ work_types:  (portals/klimaat-techniek.yaml:7)\n"
        "        + Onderhoud  ! widens guest access\n"
        "\n"
        "~ woonstede-noord  (portals/woonstede-noord.yaml, revision 2)\n"
        "    ~ work_types:  (overwrites a live edit)  (portals/woonstede-noord.yaml:10)\n"
        "        - Onderhoud\n"
        "        - Plaatsing alarm  (added by a live edit, widening access)\n"
        "\n"
        "Drift: merging reverts these live edits:\n"
        "\n"
        "~ secura-alarm  (portals/secura-alarm.yaml, revision 2)\n"
        "    ~ allow_address_change: false -> true  ! widens guest access  (reverts a live edit)"
        "  (portals/secura-alarm.yaml:6)\n"
        "\n"
        "~ woonstede-noord  (portals/woonstede-noord.yaml, revision 2)\n"
        "    ~ work_types:  (overwrites a live edit)  (portals/woonstede-noord.yaml:10)\n"
        "        - Onderhoud\n"
        "        - Plaatsing alarm  (added by a live edit, widening access)\n"
        "\n"
        "? oud-portaal  unmanaged: exists in OutSmart, no file; never touched\n"
        "\n"
        "! apply will refuse this without --allow-large-change: plan changes 3/5 portals, "
        "more than safety.max_share (50%)\n"
        "\n"
        "Plan: 3 to update (2 revert live edits), 2 unchanged, 1 unmanaged; 2 widen guest access.\n"
    )


def test_markdown_sections_name_the_commit_and_open_widening_portals(
    every_origin: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    output = invoke("diff", "--base", "main", "--format", "markdown").output
    head = git(every_origin, "rev-parse", "HEAD")[:12]
    assert re.search(
        rf"^Files at `{head}`; base `main` at `[0-9a-f]{{12}}`; live state read ", output, re.M
    )
    changes, drift = output.split("### Changes in this pull request\n")[1].split(
        "### Drift: merging reverts these live edits\n"
    )
    assert "<code>klimaat-techniek</code>" in changes and "<code>secura-alarm</code>" not in changes
    assert "<code>secura-alarm</code>" in drift and "<code>klimaat-techniek</code>" not in drift
    assert "+ allow_address_change: true  # widens guest access, reverts a live edit" in drift
    assert "- work_types: Plaatsing alarm  # added by a live edit, widening access" in drift
    assert (
        "- work_types: Onderhoud  # portals/woonstede-noord.yaml:10\n" in drift
    )  # the branch's own removal: no live edit
    # Widening portals are open; the rest folded.
    assert "<details open>\n<summary><code>secura-alarm</code>" in drift
    assert "<details>\n<summary><code>woonstede-noord</code>" in drift


def test_a_new_file_on_the_branch_counts_as_this_branchs_change(
    repo: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    # oud-portaal exists live without a file; the branch starts managing it.
    (repo / "portals" / "oud-portaal.yaml").write_text(
        "portal: oud-portaal\nguest_workorder:\n  enabled: true\n  work_types: [Storing]\n",
        encoding="utf-8",
    )
    plan = json.loads(invoke("diff", "--base", "main", "--format", "json").output)
    entry = next(p for p in plan["portals"] if p["portal"] == "oud-portaal")
    assert entry["base"] is None
    assert {change["origin"] for change in entry["changes"]} == {"change"}


def test_without_base_changes_carry_no_origin_and_one_section(
    every_origin: Path, invoke: Invoke
) -> None:
    result = invoke("diff")
    assert "Drift:" not in result.output and "Changes in this pull request" not in result.output
    plan = json.loads(invoke("diff", "--format", "json").output)
    assert plan["base"] is None
    assert {c["origin"] for p in plan["portals"] for c in p["changes"]} == {None}


def test_base_defaults_to_github_base_ref(
    every_origin: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_BASE_REF", "main")
    plan = json.loads(invoke("diff", "--format", "json").output)
    assert plan["base"]["ref"] == "main"


@pytest.mark.parametrize(
    "ref, message",
    [
        (
            "no-such-branch",
            "git: --base no-such-branch: no such branch, tag or commit in "
            "this repository (nor origin/no-such-branch); in CI, fetch it first (actions/checkout "
            "with fetch-depth: 0)\n",
        ),
        (
            "--output=/tmp/x",
            'git: --base "--output=/tmp/x": not a branch, tag or commit name\n',
        ),
    ],
)
def test_an_unknown_base_is_one_clear_line_before_any_request(
    repo: Path, sandbox: Sandbox, invoke: Invoke, ref: str, message: str
) -> None:
    seen = sandbox.requests_seen
    result = invoke("diff", f"--base={ref}")
    assert result.exit_code == 2
    assert result.output == message
    assert sandbox.requests_seen == seen


def test_base_outside_a_git_repository_is_refused(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    result = invoke("diff", "--base", "main")
    assert result.exit_code == 2
    assert result.output == (
        f"git: --base: {live_project.resolve()} is not in a git repository; run it in a checkout\n"
    )
    assert sandbox.requests_seen == 0


def test_a_renamed_file_finds_its_base_by_portal_id(
    repo: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    git(repo, "mv", "portals/secura-alarm.yaml", "portals/secura.yaml")
    (repo / "portal-config.yaml").write_text(
        (repo / "portal-config.yaml").read_text(encoding="utf-8")
        + "rules:\n  portal-id-matches-filename: disable\n",
        encoding="utf-8",
    )
    ui_edit(sandbox, "secura-alarm", allow_address_change=False)
    plan = json.loads(invoke("diff", "--base", "main", "--format", "json").output)
    entry = next(p for p in plan["portals"] if p["portal"] == "secura-alarm")
    assert [c["origin"] for c in entry["changes"]] == ["drift"]


# -- drift ---------------------------------------------------------------------------------
def test_drift_exits_3_until_the_edit_is_pulled_or_reverted(
    repo: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    git(repo, "checkout", "-q", "main")
    clean = invoke("drift")
    assert clean.exit_code == 0
    assert clean.output.endswith("No drift. 5 portals as the files say, 1 unmanaged.\n")

    ui_edit(sandbox, "secura-alarm", allow_address_change=False)
    drifted = invoke("drift")
    assert drifted.exit_code == 3
    output = re.sub(r"read \S+\n", "read <time>\n", drifted.output)
    head = git(repo, "rev-parse", "HEAD")[:12]
    assert output == (
        f"Target: test {sandbox.url}\n"
        f"Files at {head}; live state read <time>\n"
        "\n"
        "~ secura-alarm  (portals/secura-alarm.yaml, revision 2)\n"
        "    ~ allow_address_change: false -> true  ! widens guest access  (reverts a live edit)"
        "  (portals/secura-alarm.yaml:6)\n"
        "    accept: portal-config pull --target test --portal secura-alarm  "
        "(on a branch, then a pull request)\n"
        "    revert: portal-config apply --target test  (the files win)\n"
        "\n"
        "? oud-portaal  unmanaged: exists in OutSmart, no file; never touched\n"
        "\n"
        "Drift: 1 of 5 portals differ from the files, 1 unmanaged.\n"
    )
    # Accept: pull the edit into the files; drift is gone.
    assert invoke("pull", "--portal", "secura-alarm").exit_code == 0
    assert invoke("drift").exit_code == 0
    # A new edit, reverted by apply: drift is gone again.
    git(repo, "checkout", "-q", "--", ".")
    ui_edit(sandbox, "gemeente-intern", enabled=True, work_types=["Storing"])
    opened = invoke("drift")
    assert opened.exit_code == 3
    # The edit's own direction is what a reader of a drift report needs: it opened access.
    assert (
        "    ~ enabled: true -> false  (reverts a live edit that widened guest access)"
        "  (portals/gemeente-intern.yaml:5)\n"
    ) in opened.output
    assert "        - Storing  (added by a live edit, widening access)\n" in opened.output
    assert opened.output.endswith("; 1 live edit widened guest access.\n")
    git(repo, "checkout", "-q", "main", "--", "portals")
    assert invoke("apply", "--yes", "--allow-large-change").exit_code == 0
    assert invoke("drift").exit_code == 0


def test_drift_json_and_markdown(repo: Path, sandbox: Sandbox, invoke: Invoke) -> None:
    ui_edit(sandbox, "secura-alarm", allow_address_change=False)
    plan = json.loads(invoke("drift", "--format", "json").output)
    assert plan["kind"] == "drift" and plan["has_changes"] is True
    assert plan["base"] == {"ref": "HEAD", "commit": git(repo, "rev-parse", "HEAD")}
    assert [c["origin"] for p in plan["portals"] for c in p["changes"]] == ["drift"]
    markdown = invoke("drift", "--format", "markdown").output
    assert markdown.startswith("**Drift: 1 of 5 portals differ from the files")
    # The command names a portal id, a value: a code span, which also copies cleanly.
    assert (
        "- accept: `portal-config pull --target test --portal secura-alarm`"
        "  (on a branch, then a pull request)\n"
        "- revert: `portal-config apply --target test`  (the files win)\n"
    ) in markdown


def test_drift_api_error_exits_4(repo: Path, sandbox: Sandbox, invoke: Invoke) -> None:
    sandbox.stop()
    result = invoke("drift")
    assert result.exit_code == 4
    assert result.output.splitlines()[-1].startswith("api error: GET portals/: cannot reach ")


# -- what apply would refuse, visible in the PR ------------------------------------------------
def test_a_work_type_unknown_live_fails_the_diff_at_its_line(
    repo: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    edit_file_at(repo / "worktypes.yaml", "  - Storing\n", "  - Storing\n  - Schoorsteenvegen\n")
    edit_file(
        repo, "klimaat-techniek", "    - Storing\n", "    - Storing\n    - Schoorsteenvegen\n"
    )
    assert invoke("lint").exit_code == 0  # the catalog in git has it; the account does not
    result = invoke("diff", "--base", "main")
    assert result.exit_code == 1
    assert result.output == (
        "portals/klimaat-techniek.yaml:8:7: error [unknown-work-type] work type "
        "'Schoorsteenvegen' is not in the live account of target test\n"
        "1 file checked: 1 error, 0 warnings (failed)\n"
        "refused: 1 work type(s) the live account of target test would refuse\n"
    )


def test_an_inactive_work_type_live_fails_the_diff(
    repo: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    sandbox.state.data["work_types"].remove("Inspectie")
    sandbox.state.data["inactive_work_types"].append("Inspectie")
    result = invoke("diff")
    assert result.exit_code == 1
    assert (
        "portals/secura-alarm.yaml:11:7: error [inactive-work-type] work type 'Inspectie' is "
        "inactive in the OutSmart account (live, target test)"
    ) in result.output


def test_the_threshold_preview_says_apply_would_refuse(every_origin: Path, invoke: Invoke) -> None:
    with (every_origin / "portal-config.yaml").open("a") as config:
        config.write("safety:\n  max_portals: 2\n")
    reason = (
        "apply will refuse this without --allow-large-change: plan changes 3 portals, more "
        "than safety.max_portals (2)"
    )
    text = invoke("diff", "--base", "main")
    assert text.exit_code == 3 and f"! {reason}\n" in text.output
    assert f"> [!WARNING]\n> {reason}\n" in invoke("diff", "--format", "markdown").output
    plan = json.loads(invoke("diff", "--format", "json").output)
    assert plan["apply_refusal"] == reason.split(": ", 1)[1]
    assert invoke("apply", "--yes").exit_code == 5  # what the preview said


# -- the comment size cap ---------------------------------------------------------------------
def test_markdown_is_cut_at_a_portal_boundary(every_origin: Path, invoke: Invoke) -> None:
    full = invoke("diff", "--base", "main", "--format", "markdown", "--out", "plan.json").output
    shown = invoke("show", "plan.json", "--format", "markdown").output
    assert re.sub(r"read \S+", "", shown) == re.sub(r"read \S+", "", full)
    limit = full.index("### Drift") + 10  # room for the changes section only
    limit = max(limit, 1000)
    cut = invoke("show", "plan.json", "--format", "markdown", "--max-chars", str(limit)).output
    assert len(cut) <= limit
    assert cut.count("<details") == cut.count("</details>")  # no portal cut in half
    assert re.search(r"^\d+ more portals?: see the job summary$", cut, re.M)
    assert "### Changes in this pull request" in cut


def test_a_200_portal_plan_is_cut_under_githubs_comment_limit() -> None:
    from portal_config.plan.inputs import PlanInputs, PortalInputs
    from portal_config.plan.value import build_plan
    from portal_config.render.plan import render_markdown
    from portal_config.settings.model import LivePortal

    portals = []
    for index in range(200):
        name = f"portal-{index:03d}"
        live = guest_settings(name, enabled=False)
        desired = guest_settings(
            name, enabled=True, allow_new_relation=True, work_types=("Storing", "Onderhoud")
        )
        portals.append(PortalInputs(f"portals/{name}.yaml", desired, LivePortal(live, 1)))
    inputs = PlanInputs("production", "https://example.invalid/", tuple(portals), "now", None)
    plan = build_plan(inputs)
    full = render_markdown(plan, "Target: production")
    assert len(full) > 65_536  # the premise: a whole plan of this size does not fit
    cut = render_markdown(plan, "Target: production", max_chars=60_000)
    assert len(cut) <= 60_000
    shown = cut.count("<summary>")
    more = re.search(r"^(\d+) more portals: see the job summary$", cut, re.M)
    assert more and shown + int(more.group(1)) == 200
    assert cut.count("<details") == cut.count("</details>") == shown
    assert cut.startswith(full[: full.index("<details")])  # the summary line is kept


# -- an apply that cannot go back in time -----------------------------------------------------
def test_require_tip_refuses_an_old_commit(repo: Path, sandbox: Sandbox, invoke: Invoke) -> None:
    git(repo, "checkout", "-q", "main")
    old = git(repo, "rev-parse", "HEAD")
    edit_file(repo, "klimaat-techniek", "    - Storing\n", "    - Storing\n    - Onderhoud\n")
    new = commit_all(repo, "offer Onderhoud")
    assert invoke("apply", "--yes", "--require-tip", "main").exit_code == 0
    # A re-run of the old commit's apply job: HEAD is the old commit, main moved on.
    git(repo, "checkout", "-q", "--detach", old)
    before = {n: p["revision"] for n, p in sandbox.state.data["portals"].items()}
    seen = sandbox.requests_seen
    result = invoke("apply", "--yes", "--require-tip", "main")
    assert result.exit_code == 5
    assert result.output == (
        f"refused: HEAD is {old[:12]}, but main is at {new[:12]}: applying would put another "
        "commit's state over main's; apply main's newest commit instead\n"
    )
    assert sandbox.requests_seen == seen
    assert {n: p["revision"] for n, p in sandbox.state.data["portals"].items()} == before


def test_require_tip_checks_a_saved_plans_commit(
    repo: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    git(repo, "checkout", "-q", "main")
    old = git(repo, "rev-parse", "HEAD")
    assert invoke("diff", "--out", "plan.json").exit_code == 0
    edit_file(repo, "klimaat-techniek", "    - Storing\n", "    - Storing\n    - Onderhoud\n")
    new = commit_all(repo, "offer Onderhoud")
    result = invoke("apply", "plan.json", "--yes", "--require-tip", "main")
    assert result.exit_code == 5
    assert result.output.startswith(
        f"refused: the plan was made at {old[:12]}, but main is at {new[:12]}"
    )
    report = invoke("apply", "plan.json", "--yes", "--require-tip", "main", "--report", "r.json")
    assert json.loads((repo / "r.json").read_text())["exit_code"] == 5 and report.exit_code == 5


# -- the recipes' steps with the real tool ------------------------------------------------------
def _rename_target(config: Path) -> None:
    """The recipes name their target production; here it is the test sandbox."""
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("default_target: test\n", "default_target: production\n").replace(
            "  test:\n", "  production:\n"
        ),
        encoding="utf-8",
    )


def _recipe_step(recipe: str, name: str) -> str:
    import yaml

    from conftest import REPO

    document = yaml.safe_load((REPO / ".github" / "workflows" / recipe).read_text())
    (run,) = [
        s["run"] for j in document["jobs"].values() for s in j["steps"] if s.get("name") == name
    ]
    return str(run)


def _run_recipe_step(
    script: str, root: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """A recipe's shell step as the runner runs it (bash -e -o pipefail), with this
    checkout's real portal-config on PATH."""
    import os
    import sys

    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=root,
        env={**os.environ, **env, "PATH": path},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _base_tree(root: Path) -> dict[str, str]:
    """The diff recipe's base branch tree (main's) unpacked in $RUNNER_TEMP, beside the
    checkout, its target renamed; the environment naming it."""
    temp = root.with_name(f"{root.name}-temp")
    temp.mkdir()
    env = {"RUNNER_TEMP": str(temp), "BASE_SHA": git(root, "rev-parse", "main")}
    step = "The base branch's tree, for portal-config.yaml and the files it names"
    done = _run_recipe_step(_recipe_step("portal-config-diff.yml", step), root, env)
    assert done.returncode == 0, done.stderr
    _rename_target(temp / "base" / "portal-config.yaml")
    return env


@pytest.mark.slow  # bash and real portal-config processes
def test_the_diff_recipe_gives_a_three_way_comment_from_one_live_read(
    every_origin: Path, sandbox: Sandbox
) -> None:
    env = {
        **_base_tree(every_origin),
        "GITHUB_BASE_REF": "main",
        "GITHUB_STEP_SUMMARY": str(every_origin / "summary.md"),
        "OUTSMART_TOKEN": TOKEN,
        "OUTSMART_SOFTWARE_TOKEN": SOFTWARE_TOKEN,
    }
    diff = _run_recipe_step(
        _recipe_step("portal-config-diff.yml", "portal-config diff"), every_origin, env
    )
    assert diff.returncode == 0, diff.stderr
    reads = sandbox.requests_seen
    render = _run_recipe_step(
        _recipe_step("portal-config-diff.yml", "Render the plan"),
        every_origin,
        {"GITHUB_STEP_SUMMARY": env["GITHUB_STEP_SUMMARY"], "RUNNER_TEMP": env["RUNNER_TEMP"]},
    )
    assert render.returncode == 0, render.stderr
    assert sandbox.requests_seen == reads  # show renders the saved plan; no second read
    comment = (Path(env["RUNNER_TEMP"]) / "comment.md").read_text()
    summary = (every_origin / "summary.md").read_text()
    assert comment == summary  # a small plan is not cut
    assert "### Changes in this pull request" in comment
    assert "### Drift: merging reverts these live edits" in comment
    head = git(every_origin, "rev-parse", "HEAD")[:12]
    assert f"Files at `{head}`; base `main` at " in comment
    assert "> [!WARNING]\n> apply will refuse this without --allow-large-change" in comment


@pytest.mark.slow  # bash and a real portal-config process
def test_the_diff_recipe_fails_on_a_work_type_the_live_account_lacks(
    repo: Path, sandbox: Sandbox
) -> None:
    base = _base_tree(repo)
    edit_file_at(repo / "worktypes.yaml", "  - Storing\n", "  - Storing\n  - Schoorsteenvegen\n")
    edit_file(
        repo, "klimaat-techniek", "    - Storing\n", "    - Storing\n    - Schoorsteenvegen\n"
    )
    env = {
        **base,
        "GITHUB_BASE_REF": "main",
        "OUTSMART_TOKEN": TOKEN,
        "OUTSMART_SOFTWARE_TOKEN": SOFTWARE_TOKEN,
    }
    diff = _run_recipe_step(_recipe_step("portal-config-diff.yml", "portal-config diff"), repo, env)
    assert diff.returncode == 1
    assert (
        "work type 'Schoorsteenvegen' is not in the live account of target production"
        in diff.stderr
    )


def test_a_cut_keeps_the_drift_section_and_counts_each_sections_leftovers(
    every_origin: Path, invoke: Invoke
) -> None:
    invoke("diff", "--base", "main", "--format", "json", "--out", "plan.json")
    full = invoke("show", "plan.json", "--format", "markdown").output
    limit = len(full) - 400  # room for some portals, not all
    cut = invoke("show", "plan.json", "--format", "markdown", "--max-chars", str(limit)).output
    assert len(cut) <= limit
    # The drift is what the reviewer must not miss: its section keeps its portals first.
    drift = cut.split("### Drift: merging reverts these live edits\n")[1]
    assert "<code>secura-alarm</code>" in drift
    assert re.search(r"^\d+ more portals?: see the job summary$", cut, re.M)
    assert cut.count("<details") == cut.count("</details>")


def test_max_chars_refuses_json(every_origin: Path, invoke: Invoke) -> None:
    result = invoke("diff", "--max-chars", "5000", "--format", "json")
    assert result.exit_code == 2
    assert "Invalid value for --max-chars: cuts text and markdown; json is never cut" in (
        result.output
    )


def test_uncommitted_files_reflect_no_commit(repo: Path, sandbox: Sandbox, invoke: Invoke) -> None:
    edit_file(repo, "klimaat-techniek", "    - Storing\n", "    - Storing\n    - Onderhoud\n")
    plan = json.loads(invoke("diff", "--base", "main", "--format", "json").output)
    assert plan["commit"] is None  # HEAD is not what was planned
    text = invoke("diff", "--base", "main").output
    assert "Files at" not in text.splitlines()[1]
    refused = invoke("apply", "--yes", "--require-tip", "feature")
    assert refused.exit_code == 5
    assert refused.output.startswith(
        "refused: the portal files have uncommitted changes, but feature is at "
    )


def test_a_branch_behind_its_base_is_told_to_merge_first(
    repo: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    git(repo, "checkout", "-q", "main")
    edit_file(repo, "gemeente-intern", "enabled: false", "enabled: false\n  work_types: []")
    tip = commit_all(repo, "main moves on")
    git(repo, "checkout", "-q", "feature")
    fork = git(repo, "merge-base", "HEAD", "main")
    result = invoke("diff", "--base", "main")
    assert (
        f"note: main has moved on since this branch forked ({fork[:12]} -> {tip[:12]}); "
        "merge main into the branch for the plan a merge would give\n"
    ) in result.stderr


def test_a_staged_rename_out_of_the_portals_counts_as_uncommitted(
    repo: Path, invoke: Invoke
) -> None:
    git(repo, "mv", "portals/gemeente-intern.yaml", "gemeente-intern.yaml.bak")
    plan = json.loads(invoke("diff", "--format", "json").output)
    assert plan["commit"] is None  # the portals directory lost a file since HEAD
