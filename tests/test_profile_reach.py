"""Everything beyond lint and diff knows profiles: drift, a plan's commit, `--account` with
an account's own profiles, the fleet JSON, and lint's SARIF, GitHub and JSON outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from conftest import Invoke, Write
from portal_config.sandbox import Sandbox
from test_fleet import FLEET_SCHEMA, PLAN_SCHEMA, fleet, fleet_sandbox  # noqa: F401
from test_sarif import assert_valid_sarif, lint_sarif
from test_saved_plan_profiles import GUESTS, move_guests_to_profile
from test_three_way import commit_all, git, ui_edit


def _committed_over_a_profile(root: Path) -> str:
    """The project with acme-facilities' guests from profiles/guests.yaml, committed; its
    commit."""
    move_guests_to_profile(
        root / "portals" / "acme-facilities.yaml",
        root / "profiles" / "guests.yaml",
        "extends: [guests]\n",
    )
    git(root, "init", "-q", "-b", "main")
    (root / ".gitignore").write_text("state/\n*.json\n", encoding="utf-8")
    return commit_all(root, "acme's guests from a profile")


# -- drift ----------------------------------------------------------------------------------


def test_drift_compares_the_effective_settings(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    _committed_over_a_profile(live_project)
    assert invoke("apply", "--yes", "--allow-large-change").exit_code == 0
    clean = invoke("drift")
    assert clean.exit_code == 0, clean.output  # live equals what the profile sets
    assert "No drift. 5 portals as the files say" in clean.output

    ui_edit(sandbox, "acme-facilities", allow_new_relation=True)
    drifted = invoke("drift")
    assert drifted.exit_code == 3
    assert "~ acme-facilities  (portals/acme-facilities.yaml, revision " in drifted.output
    assert (
        "    ~ allow_new_relation: true -> false  (reverts a live edit that widened guest access)"
        "  (profiles/guests.yaml:5)\n"  # drift names the profile's line that sets the field
    ) in drifted.output
    payload = json.loads(invoke("drift", "--format", "json").output)
    (acme,) = [p for p in payload["portals"] if p["changes"]]
    assert [(c["field"], c["old"], c["new"], c["origin"]) for c in acme["changes"]] == [
        ("allow_new_relation", True, False, "drift")
    ]


def test_an_uncommitted_profile_edit_leaves_the_plan_without_a_commit(
    live_project: Path, invoke: Invoke
) -> None:
    head = _committed_over_a_profile(live_project)
    invoke("diff", "--out", "plan.json")
    assert json.loads((live_project / "plan.json").read_text(encoding="utf-8"))["commit"] == head
    profile = live_project / "profiles" / "guests.yaml"
    profile.write_text(GUESTS.replace("Onderhoud]", "Onderhoud, Inspectie]"), encoding="utf-8")
    invoke("diff", "--out", "plan.json")
    # The plan is of files no commit holds: --require-tip must not take it for HEAD's.
    assert json.loads((live_project / "plan.json").read_text(encoding="utf-8"))["commit"] is None


# -- many accounts ---------------------------------------------------------------------------


def _acme_extends_its_own_profile(root: Path) -> None:
    """acme's acme-facilities over accounts/acme/profiles/guests.yaml, and every acme portal
    over accounts/acme/profiles/house.yaml, which the config's `accounts.acme.extends`
    names (it sets nothing yet)."""
    config = root / "portal-config.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("  acme:\n", "  acme:\n    extends: [house]\n"), "utf-8")
    move_guests_to_profile(
        root / "accounts" / "acme" / "portals" / "acme-facilities.yaml",
        root / "accounts" / "acme" / "profiles" / "guests.yaml",
        "extends: [guests]\n",
    )
    (root / "accounts" / "acme" / "profiles" / "house.yaml").write_text(
        "profile: house\ndescription: What every acme portal shares.\n", encoding="utf-8"
    )


def _account_plans(invoke: Invoke, *args: str) -> dict[str, Any]:
    result = invoke("diff", "--format", "json", *args)
    assert result.exit_code == 3, result.output
    payload = json.loads(result.output)
    Draft202012Validator(FLEET_SCHEMA).validate(payload)
    plans = {}
    for entry in payload["accounts"]:
        Draft202012Validator(PLAN_SCHEMA).validate(entry["result"])
        plans[entry["account"]] = entry["result"]["portals"]
    return plans


def _without_sources(plans: dict[str, Any]) -> dict[str, Any]:
    """Each account's portals without the file and line each value came from."""
    return {
        account: [
            {k: v for k, v in portal.items() if k != "sources"}
            | {
                "changes": [
                    {k: v for k, v in c.items() if k != "source"} for c in portal["changes"]
                ]
            }
            for portal in portals
        ]
        for account, portals in plans.items()
    }


def test_an_account_extends_its_own_profiles_in_the_fleet_json(
    fleet: Path,  # noqa: F811
    invoke: Invoke,
) -> None:
    flat = _account_plans(invoke)
    _acme_extends_its_own_profile(fleet)
    assert invoke("lint").exit_code == 0
    # The same settings, spelt as a profile plus overrides, plan the same in every account.
    spelt = _account_plans(invoke)
    assert _without_sources(spelt) == _without_sources(flat)
    only = _account_plans(invoke, "--account", "acme")
    assert list(only) == ["acme"] and only["acme"] == spelt["acme"]
    # Only where they come from differs: acme's guest fields now name its own profile.
    acme = next(p for p in spelt["acme"] if p["portal"] == "acme-facilities")
    sources = {(s["section"], s["field"]): s["file"] for s in acme["sources"]}
    assert sources[("guest_workorder", "enabled")] == "accounts/acme/profiles/guests.yaml"
    assert spelt["beta"] == flat["beta"]


def test_an_account_profile_edit_reaches_only_that_accounts_plan(
    fleet: Path,  # noqa: F811
    invoke: Invoke,
) -> None:
    _acme_extends_its_own_profile(fleet)
    flat = _account_plans(invoke)
    profile = fleet / "accounts" / "acme" / "profiles" / "guests.yaml"
    profile.write_text(GUESTS.replace("enabled: true", "enabled: false"), encoding="utf-8")
    now = _account_plans(invoke)
    assert now["beta"] == flat["beta"] and now["gamma"] == flat["gamma"]
    acme = next(p for p in now["acme"] if p["portal"] == "acme-facilities")
    assert acme["desired"]["guest_workorder"]["enabled"] is False
    lint = invoke("lint", "--account", "beta", "--format", "json")
    files = [f["path"] for f in json.loads(lint.stdout)["files"]]
    assert len(files) == 5 and not any("profiles" in f for f in files)  # no acme profile
    lint = invoke("lint", "--account", "acme", "--format", "json")
    files = [f["path"] for f in json.loads(lint.stdout)["files"]]
    assert "accounts/acme/profiles/guests.yaml" in files


def test_a_saved_fleet_plan_is_stale_when_its_accounts_profile_changes(
    fleet: Path,  # noqa: F811
    invoke: Invoke,
) -> None:
    _acme_extends_its_own_profile(fleet)
    assert invoke("diff", "--out", "plans/{account}.json").exit_code == 3
    saved = json.loads((fleet / "plans" / "acme.json").read_text(encoding="utf-8"))
    assert [(r["file"], len(r["portals"])) for r in saved["profiles"]] == [
        ("accounts/acme/profiles/guests.yaml", 1),
        ("accounts/acme/profiles/house.yaml", 5),  # every acme portal extends it
    ]
    profile = fleet / "accounts" / "acme" / "profiles" / "guests.yaml"
    profile.write_text(GUESTS.replace("[Storing, Onderhoud]", "[Storing]"), encoding="utf-8")
    result = invoke("apply", "plans/acme.json", "plans/beta.json", "--yes")
    assert result.exit_code == 5, result.output
    assert (
        "plan is stale: accounts/acme/profiles/guests.yaml changed since the plan was made, "
        "and the portals extending it now differ from the plan: acme-facilities "
        "guest_workorder.work_types; run diff again"
    ) in result.output


# -- lint's machine outputs ------------------------------------------------------------------


def _broken_profiles(write: Write) -> None:
    write(
        "profiles/strict.yaml",
        "profile: strict\nguest_workorder:\n  enabeld: true\n",
    )
    write(
        "profiles/open.yaml",
        "profile: open\nguest_workorder:\n  enabled: true\n  work_types: []\n"
        "  allow_new_relation: false\nlocked: [guest_workorder.allow_new_relation]\n",
    )
    write(
        "portals/acme.yaml",
        "portal: acme\nextends: [open]\nguest_workorder:\n  allow_new_relation: true\n"
        "acknowledged:\n  allow_new_relation: intake\n",
    )


EXPECTED = [
    ("profiles/open.yaml", 4, 15, "guests-without-work-types"),
    ("profiles/strict.yaml", 3, 3, "schema"),
    ("portals/acme.yaml", 4, 23, "locked-field-widened"),
]


def _sarif_locations(log: dict[str, Any]) -> list[tuple[str, int, int, str]]:
    """Each result's file, line, column and rule, sorted."""
    found = []
    for result in log["runs"][0]["results"]:
        physical = result["locations"][0]["physicalLocation"]
        region = physical["region"]
        uri = physical["artifactLocation"]["uri"]
        found.append((uri, region["startLine"], region["startColumn"], result["ruleId"]))
    return sorted(found)


def test_sarif_locates_problems_in_profiles_and_of_effective_values(
    write: Write, invoke: Invoke, project: Path
) -> None:
    git(project, "init", "-q")  # SARIF's paths are from the repository's top
    _broken_profiles(write)
    log = lint_sarif(invoke)
    assert_valid_sarif(log)
    assert _sarif_locations(log) == sorted(EXPECTED)
    effective = next(
        r for r in log["runs"][0]["results"] if r["ruleId"] == "guests-without-work-types"
    )
    assert effective["message"]["text"].endswith("(effective in portals/acme.yaml)")


def test_github_and_json_locate_problems_in_profiles(write: Write, invoke: Invoke) -> None:
    _broken_profiles(write)
    payload = json.loads(invoke("lint", "--format", "json").stdout)
    assert sorted((p["path"], p["line"], p["column"], p["rule"]) for p in payload["problems"]) == (
        sorted(EXPECTED)
    )
    assert {f["path"] for f in payload["files"]} == {
        "portals/acme.yaml",
        "profiles/open.yaml",
        "profiles/strict.yaml",
    }
    github = invoke("lint", "--format", "github").stdout
    assert (
        "::error file=profiles/open.yaml,line=4,col=15,title=portal-config "
        "guests-without-work-types::guests are enabled but no work types are listed, so "
        "guests cannot submit anything (effective in portals/acme.yaml)\n"
    ) in github
    assert "::error file=profiles/strict.yaml,line=3,col=3,title=portal-config schema::" in github
    assert (
        "::error file=portals/acme.yaml,line=4,col=23,title=portal-config locked-field-widened::"
        "guest_workorder.allow_new_relation is true, wider than profile 'open' locks it "
        "(false, locked at profiles/open.yaml:6)"
    ) in github


def test_a_saved_fleet_plan_is_stale_when_an_account_profile_shadows_a_shared_one(
    fleet: Path,  # noqa: F811
    invoke: Invoke,
) -> None:
    move_guests_to_profile(
        fleet / "accounts" / "acme" / "portals" / "acme-facilities.yaml",
        fleet / "profiles" / "guests.yaml",
        "extends: [guests]\n",
    )
    assert invoke("diff", "--out", "plans/{account}.json").exit_code == 3
    # acme's own profile of the same name now wins over the shared one, unchanged.
    own = fleet / "accounts" / "acme" / "profiles" / "guests.yaml"
    own.parent.mkdir(parents=True)
    own.write_text(GUESTS.replace("enabled: true", "enabled: false"), encoding="utf-8")
    result = invoke("apply", "plans/acme.json", "--yes")
    assert result.exit_code == 5, result.output
    assert (
        "refused: plan is stale: profiles/guests.yaml was shadowed by "
        "accounts/acme/profiles/guests.yaml since the plan was made, and the portals "
        "extending it now differ from the plan: acme-facilities guest_workorder.enabled; "
        "run diff again and review the new plan\n"
    ) in result.output


def test_sarif_locates_problems_in_an_accounts_own_profile(
    write: Write, invoke: Invoke, project: Path
) -> None:
    git(project, "init", "-q")
    write("portal-config.yaml", "accounts:\n  acme:\n    extends: [house]\n  beta:\n")
    write(
        "profiles/house.yaml",
        "profile: house\nguest_workorder:\n  enabled: false\n  allow_new_relation: false\n"
        "locked: [guest_workorder.allow_new_relation]\n",
    )
    write(
        "accounts/acme/profiles/house.yaml",
        "profile: house\nguest_workorder:\n  enabled: true\n  work_types: []\n",
    )
    write("accounts/acme/portals/a.yaml", "portal: a\n")
    write(
        "accounts/beta/portals/b.yaml",
        "portal: b\nextends: [house]\nguest_workorder:\n  allow_new_relation: true\n",
    )
    for args in ((), ("--account", "acme")):
        log = lint_sarif(invoke, *args)
        assert_valid_sarif(log)
        found = _sarif_locations(log)
        acme = ("accounts/acme/profiles/house.yaml", 4, 15, "guests-without-work-types")
        beta = ("accounts/beta/portals/b.yaml", 4, 23, "locked-field-widened")
        assert found == ([acme] if args else [acme, beta])
