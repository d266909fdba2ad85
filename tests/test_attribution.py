"""Every change of a plan names the file and line that set its new value, and a three-way
plan headlines what each profile edit of the branch reaches (its fan-out)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from conftest import REPO, Invoke
from portal_config.plan.reach import Reach
from portal_config.render.reach import reach_line
from portal_config.sandbox import Sandbox
from test_fleet import ACCOUNTS, fleet, fleet_sandbox  # noqa: F401 (fixtures)
from test_three_way import _recipe_step, _run_recipe_step, commit_all, git

PLAN_SCHEMA = json.loads((REPO / "schema" / "plan.schema.json").read_text(encoding="utf-8"))
FLEET_SCHEMA = json.loads((REPO / "schema" / "fleet.schema.json").read_text(encoding="utf-8"))
ACME = "portals/acme-facilities.yaml"
GUESTS = (
    "profile: guests\n"
    "guest_workorder:\n"
    "  enabled: true\n"
    "  allow_address_change: false\n"
    "  allow_new_relation: false\n"
    "  allow_requests_for_others: false\n"
)


def _acme_over_guests(root: Path, profile: str = "guests") -> None:
    """acme-facilities' guest switches from a profile; its work types its own."""
    (root / "profiles").mkdir(exist_ok=True)
    (root / "profiles" / f"{profile}.yaml").write_text(
        GUESTS.replace("profile: guests", f"profile: {profile}"), encoding="utf-8"
    )
    path = root / ACME
    text = path.read_text(encoding="utf-8")
    guest = text[text.index("guest_workorder:") : text.index("user_settings:")]
    own = f"extends: [{profile}]\nguest_workorder:\n  work_types:\n    - Storing\n    - Onderhoud\n"
    path.write_text(text.replace(guest, own), encoding="utf-8")


def test_text_names_the_profile_line_and_the_portal_line(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    _acme_over_guests(live_project)
    result = invoke("diff", ACME)
    assert result.exit_code == 3
    assert result.output == (
        f"Target: test {sandbox.url}\n"
        "\n"
        "~ acme-facilities  (portals/acme-facilities.yaml, revision 1)\n"
        "    ~ allow_new_relation: true -> false  (profiles/guests.yaml:5)\n"
        "    ~ work_types:  (portals/acme-facilities.yaml:7)\n"
        "        + Onderhoud  ! widens guest access\n"
        "\n"
        "Plan: 1 to update, 0 unchanged; 1 widens guest access.\n"
    )


def test_markdown_names_the_profile_line_and_the_portal_line(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    _acme_over_guests(live_project)
    output = invoke("diff", ACME, "--format", "markdown").output
    output = re.sub(r"read \S+\n", "read <time>\n", output)
    assert output == (
        "**Plan: 1 to update, 0 unchanged; 1 widens guest access.**\n"
        "\n"
        f"`Target: test {sandbox.url}`\n"
        "\n"
        "live state read <time>\n"
        "\n"
        "<details open>\n"
        "<summary><code>acme-facilities</code>: 2 changes ⚠️ widens guest access</summary>\n"
        "\n"
        "File `portals/acme-facilities.yaml`, live revision 1.\n"
        "\n"
        "```diff\n"
        "- allow_new_relation: true\n"
        "+ allow_new_relation: false  # profiles/guests.yaml:5\n"
        "+ work_types: Onderhoud  # widens guest access, portals/acme-facilities.yaml:7\n"
        "```\n"
        "</details>\n"
    )


def test_json_names_every_source_and_validates(live_project: Path, invoke: Invoke) -> None:
    _acme_over_guests(live_project)
    plan = json.loads(invoke("diff", "--format", "json").output)
    Draft202012Validator(PLAN_SCHEMA).validate(plan)
    assert plan["version"] == 6 and plan["fan_out"] == []  # two-way: no fan-out
    acme = next(p for p in plan["portals"] if p["portal"] == "acme-facilities")
    assert [change["source"] for change in acme["changes"]] == [
        {"file": "profiles/guests.yaml", "line": 5},
        {"file": ACME, "line": 7},
    ]
    sources = {(s["section"], s["field"]): (s["file"], s["line"]) for s in acme["sources"]}
    assert sources[("guest_workorder", "enabled")] == ("profiles/guests.yaml", 3)
    assert sources[("display", "invoices")][0] == ACME


def test_a_saved_plan_keeps_its_sources_for_show(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    _acme_over_guests(live_project)
    shown = invoke("diff", ACME, "--out", "plan.json")
    saved = json.loads((live_project / "plan.json").read_text(encoding="utf-8"))
    Draft202012Validator(PLAN_SCHEMA).validate(saved)
    assert saved["version"] == 6
    # The same lines, rebuilt from the saved inputs with no request.
    seen = sandbox.requests_seen
    again = invoke("show", "plan.json")
    assert again.exit_code == 0 and sandbox.requests_seen == seen
    assert again.output == shown.output
    assert "(profiles/guests.yaml:5)" in again.output
    markdown = invoke("show", "plan.json", "--format", "markdown").output
    assert "+ allow_new_relation: false  # profiles/guests.yaml:5\n" in markdown


def test_a_hostile_profile_path_is_shown_as_data(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    _acme_over_guests(live_project)
    invoke("diff", ACME, "--out", "plan.json")
    plan_file = live_project / "plan.json"
    saved = json.loads(plan_file.read_text(encoding="utf-8"))
    hostile = "profiles/`x`<b>@org/\u202eevil\\n::error::x.yaml"
    for source in saved["portals"][0]["sources"]:
        if source["file"] == "profiles/guests.yaml":
            source["file"] = hostile
    plan_file.write_text(json.dumps(saved), encoding="utf-8")
    text = invoke("show", "plan.json")
    assert text.exit_code == 0, text.output
    assert (
        "    ~ allow_new_relation: true -> false  "
        "(profiles/`x`<b>@org/\\u202eevil\\\\n::error::x.yaml:5)\n"
    ) in text.output
    assert "\u202e" not in text.output
    markdown = invoke("show", "plan.json", "--format", "markdown").output
    # Inside the diff block: the value escaped, and a fence cannot start mid-line.
    assert (
        "+ allow_new_relation: false  # profiles/`x`<b>@org/\\u202eevil\\\\n::error::x.yaml:5\n"
    ) in markdown
    assert "\u202e" not in markdown


def _git_repo(root: Path) -> None:
    git(root, "init", "-q", "-b", "main")
    (root / ".gitignore").write_text("state/\n*.json\n", encoding="utf-8")
    commit_all(root, "the base")


def test_a_profile_edit_is_the_profiles_one_change_not_many_portal_edits(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    _acme_over_guests(live_project)
    # woonstede-noord extends the profile too, but overrides the field the branch changes.
    path = live_project / "portals" / "woonstede-noord.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "guest_workorder:\n", "extends: [guests]\nguest_workorder:\n"
        ),
        encoding="utf-8",
    )
    _git_repo(live_project)
    assert invoke("apply", "--yes").exit_code == 0
    git(live_project, "checkout", "-q", "-b", "feature")
    profile = live_project / "profiles" / "guests.yaml"
    profile.write_text(GUESTS.replace("allow_address_change: false", "allow_address_change: true"))
    commit_all(live_project, "guests may change the address")
    result = invoke("diff", "--base", "main")
    assert result.exit_code == 3
    lines = result.output.splitlines()
    assert lines[0] == (
        "profiles/guests.yaml: 1 field changed (allow_address_change) → 1 portal in 1 account; "
        "1 widens access"
    )
    assert lines[1:3] == ["", f"Target: test {sandbox.url}"]
    assert (
        "    ~ allow_address_change: false -> true  ! widens guest access"
        "  (profiles/guests.yaml:4)\n"
    ) in result.output
    assert "woonstede-noord" not in result.output  # it overrides the field
    plan = json.loads(invoke("diff", "--base", "main", "--format", "json").output)
    Draft202012Validator(PLAN_SCHEMA).validate(plan)
    assert plan["fan_out"] == [
        {"profile": "profiles/guests.yaml", "fields": 1, "portals": 1, "accounts": 1, "widen": 1}
    ]
    markdown = invoke("diff", "--base", "main", "--format", "markdown").output
    assert markdown.startswith(
        "- `profiles/guests.yaml`: 1 field changed (allow_address_change) → 1 portal in 1 "
        "account; 1 widens access\n"
        "\n**Plan: 1 to update, 4 unchanged, 1 unmanaged; 1 widens guest access.**\n"
    )


def _fleet_over_policy(root: Path) -> None:
    """Every account's portals take allow_address_change from the repository's policy
    profile, except beta's acme-facilities and gamma's secura-alarm, which set their own."""
    (root / "profiles").mkdir()
    (root / "profiles" / "policy.yaml").write_text(
        "profile: policy\nguest_workorder:\n  allow_address_change: false\n", encoding="utf-8"
    )
    config = root / "portal-config.yaml"
    config.write_text("extends: [policy]\n" + config.read_text(encoding="utf-8"), encoding="utf-8")
    keep = {("beta", "acme-facilities"), ("gamma", "secura-alarm")}
    for account in ACCOUNTS:
        for path in sorted((root / "accounts" / account / "portals").glob("*.yaml")):
            if (account, path.stem) in keep:
                continue
            text = path.read_text(encoding="utf-8")
            path.write_text(re.sub(r"  allow_address_change: \w+\n", "", text), encoding="utf-8")


def _policy_edited_on_a_branch(root: Path, invoke: Invoke) -> None:
    """The fleet over the policy profile, applied on main; a branch `feature` whose one
    commit lets guests change the address in that profile."""
    _fleet_over_policy(root)
    _git_repo(root)
    assert invoke("apply", "--yes", "--allow-large-change").exit_code == 0
    git(root, "checkout", "-q", "-b", "feature")
    policy = root / "profiles" / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("false", "true"))
    commit_all(root, "guests may change the address")


def test_fan_out_counts_the_portals_and_accounts_a_profile_edit_reaches(
    fleet: Path,  # noqa: F811 (the fixture)
    invoke: Invoke,
) -> None:
    _policy_edited_on_a_branch(fleet, invoke)

    payload = json.loads(invoke("diff", "--base", "main", "--format", "json").output)
    Draft202012Validator(FLEET_SCHEMA).validate(payload)
    assert payload["version"] == 2
    # 3 accounts x 5 portals, less the two that set the field themselves.
    assert payload["fan_out"] == [
        {"profile": "profiles/policy.yaml", "fields": 1, "portals": 13, "accounts": 3, "widen": 13}
    ]
    for entry in payload["accounts"]:
        Draft202012Validator(PLAN_SCHEMA).validate(entry["result"])
    beta = next(e["result"] for e in payload["accounts"] if e["account"] == "beta")
    assert beta["fan_out"] == [
        {"profile": "profiles/policy.yaml", "fields": 1, "portals": 4, "accounts": 1, "widen": 4}
    ]

    headline = (
        "profiles/policy.yaml: 1 field changed (allow_address_change) → 13 portals in 3 "
        "accounts; 13 widen access"
    )
    text = invoke("diff", "--base", "main").output
    assert text.startswith(f"{headline}\n\n=== account acme ===\n")
    markdown = invoke("diff", "--base", "main", "--format", "markdown").output
    assert markdown.startswith(f"- `{headline.replace(':', '`:', 1)}\n\n<details>\n")
    # Each account's detail folded under the headline, in config order.
    summaries = re.findall(r"<summary>Account <code>(\w+)</code></summary>", markdown)
    assert summaries == list(ACCOUNTS)
    assert markdown.endswith("**Accounts: 3 run, 3 with changes, 0 failed.**\n")

    # The fleet recipes post `show` of each account's saved plan: the same headline first.
    saved = invoke("diff", "--base", "main", "--out", "plans/{account}.json", "--format", "json")
    assert saved.exit_code == 3
    plans = [f"plans/{account}.json" for account in ACCOUNTS]
    shown = invoke("show", *plans, "--format", "markdown", "--max-chars", "60000").output
    assert shown.startswith(f"- `{headline.replace(':', '`:', 1)}\n\n<details>\n")
    assert re.findall(r"<summary>Account <code>(\w+)</code></summary>", shown) == list(ACCOUNTS)
    assert len(shown) <= 60000
    assert invoke("show", *plans).output.startswith(f"{headline}\n\n=== account acme ===\n")
    # As JSON, the saved plans are the fleet's JSON, with the same fan-out as diff's.
    shown_json = json.loads(invoke("show", *plans, "--format", "json").output)
    Draft202012Validator(FLEET_SCHEMA).validate(shown_json)
    assert shown_json["command"] == "show" and shown_json["fan_out"] == payload["fan_out"]
    assert [entry["account"] for entry in shown_json["accounts"]] == list(ACCOUNTS)
    for entry in shown_json["accounts"]:
        Draft202012Validator(PLAN_SCHEMA).validate(entry["result"])


def test_the_headline_shows_a_hostile_profile_path_as_data() -> None:
    hostile = "profiles/`x`\n::error::<b>@org\u202e.yaml"
    reach = Reach(hostile, frozenset({"guest_workorder.enabled"}), frozenset({(None, "a")}), 0)
    assert reach_line(reach, markdown=False) == (
        "profiles/`x`\\n::error::<b>@org\\u202e.yaml: 1 field changed (guest_workorder.enabled) "
        "→ 1 portal in 1 account; 0 widen access"
    )
    assert reach_line(reach, markdown=True) == (
        "- ``profiles/`x`\\n::error::<b>@org\\u202e.yaml``: 1 field changed "
        "(guest_workorder.enabled) → 1 portal in 1 account; 0 widen access"
    )


@pytest.mark.slow  # bash and real portal-config processes
def test_the_fleet_recipe_comments_what_each_profile_edit_reaches(
    fleet: Path,  # noqa: F811 (the fixture)
    invoke: Invoke,
) -> None:
    _policy_edited_on_a_branch(fleet, invoke)
    # What the diff jobs keep, one artifact per account, downloaded side by side.
    temp = fleet.with_name(f"{fleet.name}-temp")
    for account in ACCOUNTS:
        out = temp / "kept" / f"portal-config-plan-{account}" / "plans" / "{account}.json"
        saved = invoke("diff", "--base", "main", "--account", account, "--out", str(out))
        assert saved.exit_code == 3
    (temp / "base").mkdir()
    shutil.copy(fleet / "portal-config.yaml", temp / "base" / "portal-config.yaml")
    env = {
        "RUNNER_TEMP": str(temp),
        "GITHUB_OUTPUT": str(temp / "output"),
        "GITHUB_STEP_SUMMARY": str(temp / "summary.md"),
    }
    step = _recipe_step("portal-config-fleet-diff.yml", "Render what each profile edit reaches")
    done = _run_recipe_step(step, fleet, env)
    assert done.returncode == 0, done.stderr
    assert (temp / "output").read_text() == "reach=true\n"
    comment = (temp / "reach.md").read_text(encoding="utf-8")
    headline = (
        "profiles/policy.yaml: 1 field changed (allow_address_change) → 13 portals in 3 "
        "accounts; 13 widen access"
    )
    assert comment.startswith(f"- `{headline.replace(':', '`:', 1)}\n\n<details>\n")
    assert re.findall(r"<summary>Account <code>(\w+)</code></summary>", comment) == list(ACCOUNTS)

    # A branch that changes no profile: the step says there is nothing to reach.
    git(fleet, "checkout", "-q", "main")
    shutil.rmtree(temp / "kept")
    for account in ACCOUNTS:
        out = temp / "kept" / f"portal-config-plan-{account}" / "plans" / "{account}.json"
        assert (
            invoke("diff", "--base", "main", "--account", account, "--out", str(out)).exit_code == 0
        )
    (temp / "output").unlink()
    done = _run_recipe_step(step, fleet, env)
    assert done.returncode == 0, done.stderr
    assert (temp / "output").read_text() == "reach=false\n"


def test_a_change_through_an_edit_is_credited_to_the_profile_the_branch_edited(
    live_project: Path, invoke: Invoke
) -> None:
    # acme's guest work types: policy's list, edited by extras ({add}); the branch edits
    # only policy, so policy, not extras (untouched), is what the change reaches through.
    profiles = live_project / "profiles"
    profiles.mkdir()
    (profiles / "policy.yaml").write_text(
        "profile: policy\nguest_workorder:\n  work_types: [Storing]\n", encoding="utf-8"
    )
    (profiles / "extras.yaml").write_text(
        "profile: extras\nguest_workorder:\n  work_types: {add: [Onderhoud]}\n", encoding="utf-8"
    )
    path = live_project / ACME
    text = path.read_text(encoding="utf-8")
    own = "  work_types:\n    - Storing\n    - Onderhoud\nuser_settings:"
    text = text.replace(own, "user_settings:", 1).replace(
        "guest_workorder:\n", "extends: [policy, extras]\nguest_workorder:\n", 1
    )
    path.write_text(text, encoding="utf-8")
    _git_repo(live_project)
    assert invoke("apply", "--yes").exit_code == 0
    git(live_project, "checkout", "-q", "-b", "feature")
    (profiles / "policy.yaml").write_text(
        "profile: policy\nguest_workorder:\n  work_types: [Storing, Inspectie]\n", encoding="utf-8"
    )
    commit_all(live_project, "guests may ask for an inspection")

    plan = json.loads(invoke("diff", "--base", "main", "--format", "json").output)
    Draft202012Validator(PLAN_SCHEMA).validate(plan)
    assert plan["fan_out"] == [
        {"profile": "profiles/policy.yaml", "fields": 1, "portals": 1, "accounts": 1, "widen": 1}
    ]
    (acme,) = [p for p in plan["portals"] if p["changes"]]
    (change,) = acme["changes"]
    assert change["source"] == {"file": "profiles/extras.yaml", "line": 3}
    (source,) = [s for s in acme["sources"] if s["field"] == "work_types" and "over" in s]
    assert source["section"] == "guest_workorder"
    assert source["over"] == [{"file": "profiles/policy.yaml", "line": 3}]
    text_out = invoke("diff", "--base", "main").output
    assert text_out.startswith(
        "profiles/policy.yaml: 1 field changed (work_types) → 1 portal in 1 account; "
        "1 widens access\n\n"
    )
    assert "extras.yaml: " not in text_out.splitlines()[0]
    # A saved plan keeps what the branch edited: show credits the same file.
    assert invoke("diff", "--base", "main", "--out", "plan.json").exit_code == 3
    saved = json.loads((live_project / "plan.json").read_text(encoding="utf-8"))
    assert saved["edited_profiles"] == ["profiles/policy.yaml"]
    assert invoke("show", "plan.json").output.startswith("profiles/policy.yaml: 1 field")


def test_widen_counts_the_portals_a_profile_edit_widens_access_in(
    live_project: Path, invoke: Invoke
) -> None:
    # Two fields of one profile widen the same portal: one portal widens, not two changes.
    _acme_over_guests(live_project)
    _git_repo(live_project)
    assert invoke("apply", "--yes").exit_code == 0
    git(live_project, "checkout", "-q", "-b", "feature")
    profile = live_project / "profiles" / "guests.yaml"
    profile.write_text(
        GUESTS.replace("allow_address_change: false", "allow_address_change: true").replace(
            "allow_requests_for_others: false", "allow_requests_for_others: true"
        ),
        encoding="utf-8",
    )
    commit_all(live_project, "guests may do more")
    plan = json.loads(invoke("diff", "--base", "main", "--format", "json").output)
    assert plan["fan_out"] == [
        {"profile": "profiles/guests.yaml", "fields": 2, "portals": 1, "accounts": 1, "widen": 1}
    ]
    headline = invoke("diff", "--base", "main").output.splitlines()[0]
    assert headline == (
        "profiles/guests.yaml: 2 fields changed (allow_address_change, "
        "allow_requests_for_others) → 1 portal in 1 account; 1 widens access"
    )
