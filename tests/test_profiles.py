"""Profiles: portal files extend shared partial settings; lint, diff and explain see the
effective settings, and every effective field says which line set it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from conftest import REPO, Invoke, Write
from portal_config.problems import Position
from portal_config.settings.effective import Layer, resolve
from portal_config.settings.schemas import profile_schema, schema_text
from portal_config.settings.table import TABLE

RESTRICTIVE = (
    "profile: restrictive\n"
    "guest_workorder:\n"
    "  enabled: true\n"
    "  allow_new_relation: false\n"
    "  work_types: [Storing, Onderhoud]\n"
    "locked: [guest_workorder.allow_new_relation]\n"
)
ALARM = "profile: alarm\nguest_workorder:\n  work_types: {add: [Plaatsing alarm], remove: [Onderhoud]}\n"


def test_the_committed_profile_schema_is_the_tables() -> None:
    committed = (REPO / "schema" / "profile.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(profile_schema(TABLE)), (
        "schema/profile.schema.json differs from the settings table: "
        "run python -m portal_config.settings.schemas"
    )


def test_later_layers_win_and_names_can_be_edited_without_copying() -> None:
    first = Layer(
        "p/a.yaml", {"guest_workorder": {"enabled": True, "work_types": ["A", "B"]}}, profile="a"
    )
    second = Layer(
        "p/b.yaml",
        {"guest_workorder": {"work_types": {"add": ["C"], "remove": ["A"]}}},
        profile="b",
    )
    portal = Layer("portals/x.yaml", {"portal": "x", "guest_workorder": {"enabled": False}})
    resolution = resolve([first, second, portal], TABLE)
    assert resolution.data == {
        "portal": "x",
        "guest_workorder": {"enabled": False, "work_types": ["B", "C"]},
    }
    enabled = resolution.settings[("guest_workorder", "enabled")]
    assert enabled.origin.file == "portals/x.yaml"
    assert enabled.overrode is not None and enabled.overrode.value is True
    assert enabled.overrode.origin.file == "p/a.yaml"


def test_a_portal_file_cannot_edit_names_it_replaces_them() -> None:
    profile = Layer("p/a.yaml", {"guest_workorder": {"work_types": ["A"]}}, profile="a")
    portal = Layer(
        "portals/x.yaml", {"portal": "x", "guest_workorder": {"work_types": {"add": ["B"]}}}
    )
    # The portal schema refuses the mapping; resolution leaves it for the schema to report.
    assert resolve([profile, portal], TABLE).data["guest_workorder"]["work_types"] == {"add": ["B"]}


def test_disagreeing_locks_keep_the_more_restrictive_names() -> None:
    wide = Layer(
        "p/w.yaml",
        {"guest_workorder": {"work_types": ["A", "B"]}},
        locked={("guest_workorder", "work_types"): Position(1, 1)},
        profile="w",
    )
    narrow = Layer(
        "p/n.yaml",
        {"guest_workorder": {"work_types": ["B", "C"]}},
        locked={("guest_workorder", "work_types"): Position(1, 1)},
        profile="n",
    )
    resolution = resolve([wide, narrow, Layer("portals/x.yaml", {"portal": "x"})], TABLE)
    assert resolution.data["guest_workorder"]["work_types"] == ["B"]
    assert [d.kept for d in resolution.disagreements] == [["B"]]


def test_lint_reports_an_unknown_profile_at_its_line_with_a_suggestion(
    write: Write, invoke: Invoke
) -> None:
    write("profiles/restrictive.yaml", RESTRICTIVE)
    write(
        "portals/acme.yaml",
        "portal: acme\nextends: [restrictiv]\nguest_workorder: {enabled: false}\n",
    )
    result = invoke("lint")
    assert result.exit_code == 1
    assert (
        "portals/acme.yaml:2:11: error [unknown-profile] unknown profile 'restrictiv'; "
        "did you mean 'restrictive'?" in result.output
    )


def test_a_profiles_own_problems_are_at_its_lines(write: Write, invoke: Invoke) -> None:
    write("profiles/strict.yaml", "profile: strikt\nguest_workorder:\n  enabeld: true\n")
    write("portals/acme.yaml", "portal: acme\nguest_workorder: {enabled: false}\n")
    output = invoke("lint").output
    assert (
        "profiles/strict.yaml:1:10: error [profile-name-matches-filename] profile name 'strikt' does not match"
        in output
    )
    assert (
        "profiles/strict.yaml:3:3: error [schema] unknown key 'enabeld' in guest_workorder"
        in output
    )


def test_a_problem_of_an_effective_value_points_at_the_profile_and_names_the_portal(
    write: Write, invoke: Invoke
) -> None:
    write(
        "profiles/open.yaml", "profile: open\nguest_workorder:\n  enabled: true\n  work_types: []\n"
    )
    write("portals/acme.yaml", "portal: acme\nextends: [open]\n")
    output = invoke("lint").output
    assert (
        "profiles/open.yaml:4:15: error [guests-without-work-types] guests are enabled but no "
        "work types are listed, so guests cannot submit anything (effective in portals/acme.yaml)"
    ) in output


def test_the_config_names_defaults_for_the_repository(write: Write, invoke: Invoke) -> None:
    write("portal-config.yaml", "extends: [restrictive]\n")
    write("profiles/restrictive.yaml", RESTRICTIVE)
    write("portals/acme.yaml", "portal: acme\n")
    assert invoke("lint").exit_code == 0
    result = invoke("explain", "portals/acme.yaml")
    assert result.output.startswith("acme (portals/acme.yaml): extends restrictive\n")


def test_explain_names_the_line_that_set_each_field_and_what_it_overrode(
    write: Write, invoke: Invoke
) -> None:
    write("profiles/restrictive.yaml", RESTRICTIVE)
    write("profiles/alarm.yaml", ALARM)
    write(
        "portals/acme.yaml",
        "portal: acme\nextends: [restrictive, alarm]\nguest_workorder:\n  enabled: false\n",
    )
    result = invoke("explain", "portals/acme.yaml")
    assert result.exit_code == 0
    assert result.output == (
        "acme (portals/acme.yaml): extends restrictive, alarm\n"
        "  guest_workorder.enabled: false  (portals/acme.yaml:4), over true "
        "(profiles/restrictive.yaml:3)\n"
        "  guest_workorder.allow_new_relation: false  (profiles/restrictive.yaml:4); locked by "
        "restrictive (profiles/restrictive.yaml:6)\n"
        '  guest_workorder.work_types: ["Storing", "Plaatsing alarm"]  (profiles/alarm.yaml:3), '
        'over ["Storing", "Onderhoud"] (profiles/restrictive.yaml:5)\n'
    )
    payload = json.loads(invoke("explain", "portals/acme.yaml", "--format", "json").output)
    schema = json.loads((REPO / "schema" / "explain.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(payload)
    names = payload["portals"][0]["fields"][2]
    assert names["value"] == ["Storing", "Plaatsing alarm"]
    assert names["set_in"] == {"file": "profiles/alarm.yaml", "line": 3, "column": 15}
    assert names["overrode"]["value"] == ["Storing", "Onderhoud"]
    assert names["locked"] is None and names["waiver"] is None
    locked = payload["portals"][0]["fields"][1]
    assert locked["locked"] == {
        "profile": "restrictive",
        "value": False,
        "file": "profiles/restrictive.yaml",
        "line": 6,
        "column": 10,  # the entry in `locked: [...]`
    }


def test_explain_shows_a_waiver_beside_the_locked_field_it_waives(
    write: Write, invoke: Invoke
) -> None:
    write("profiles/restrictive.yaml", RESTRICTIVE)
    write(
        "portals/acme.yaml",
        "portal: acme\nextends: [restrictive]\nguest_workorder:\n  allow_new_relation: true\n"
        "waivers:\n  - field: guest_workorder.allow_new_relation\n    owner: jan@acme.example\n"
        '    reason: intake form\n    expires: "2099-03-31"\n'
        "acknowledged:\n  allow_new_relation: intake form\n",
    )
    assert invoke("lint").exit_code == 0
    text = invoke("explain", "portals/acme.yaml").output
    assert (
        "  guest_workorder.allow_new_relation: true  (portals/acme.yaml:4), over false "
        "(profiles/restrictive.yaml:4); locked by restrictive (profiles/restrictive.yaml:6); "
        "waived until 2099-03-31 (jan@acme.example)\n"
    ) in text
    payload = json.loads(invoke("explain", "portals/acme.yaml", "--format", "json").output)
    schema = json.loads((REPO / "schema" / "explain.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator(schema).validate(payload)
    (waived,) = [f for f in payload["portals"][0]["fields"] if f["waiver"] is not None]
    assert waived["field"] == "guest_workorder.allow_new_relation"
    assert waived["waiver"] == {
        "expires": "2099-03-31",
        "owner": "jan@acme.example",
        "reason": "intake form",
        "expired": False,
    }
    # Once its day has passed, explain says so, as lint's waiver-expired does.
    portal = (Path.cwd() / "portals" / "acme.yaml").read_text(encoding="utf-8")
    write("portals/acme.yaml", portal.replace("2099-03-31", "2020-03-31"))
    assert "; waiver expired 2020-03-31 (jan@acme.example)\n" in (
        invoke("explain", "portals/acme.yaml").output
    )
    payload = json.loads(invoke("explain", "portals/acme.yaml", "--format", "json").output)
    (waived,) = [f for f in payload["portals"][0]["fields"] if f["waiver"] is not None]
    assert waived["waiver"]["expired"] is True


def test_explain_json_escapes_the_controls_json_leaves_raw(write: Write, invoke: Invoke) -> None:
    write("portals/acme.yaml", 'portal: acme\ngeneral:\n  name: "Acme\\u202eevil\\x85"\n')
    output = invoke("explain", "portals/acme.yaml", "--format", "json").output
    assert "\u202e" not in output and "\x85" not in output
    assert '"value": "Acme\\u202eevil\\u0085"' in output
    assert output.endswith("}\n") and not output.endswith("\n\n")
    assert json.loads(output)["portals"][0]["fields"][0]["value"] == "Acme\u202eevil\x85"


def test_explain_shows_a_profile_file_name_as_data(write: Write, invoke: Invoke) -> None:
    write("profiles/evil\x1b[2J.yaml", "profile: evil\nguest_workorder:\n  enabled: false\n")
    write("portals/acme.yaml", 'portal: acme\nextends: ["evil\\e[2J"]\n')
    assert invoke("explain", "portals/acme.yaml").output == (
        "acme (portals/acme.yaml): extends evil\\x1b[2J\n"
        "  guest_workorder.enabled: false  (profiles/evil\\x1b[2J.yaml:3)\n"
    )


def test_explain_lists_fields_in_the_table_order_in_text_and_json(
    write: Write, invoke: Invoke
) -> None:
    # The profile sets work_types before the portal sets enabled: merged in that order.
    write("profiles/names.yaml", "profile: names\nguest_workorder:\n  work_types: [Storing]\n")
    write(
        "portals/acme.yaml", "portal: acme\nextends: [names]\nguest_workorder:\n  enabled: false\n"
    )
    assert invoke("explain", "portals/acme.yaml").output == (
        "acme (portals/acme.yaml): extends names\n"
        "  guest_workorder.enabled: false  (portals/acme.yaml:4)\n"
        '  guest_workorder.work_types: ["Storing"]  (profiles/names.yaml:3)\n'
    )
    payload = json.loads(invoke("explain", "portals/acme.yaml", "--format", "json").output)
    fields = [entry["field"] for entry in payload["portals"][0]["fields"]]
    assert fields == ["guest_workorder.enabled", "guest_workorder.work_types"]


def test_diff_plans_the_effective_settings(live_project: Path, invoke: Invoke) -> None:
    def acme_plan() -> dict[str, Any]:
        payload = json.loads(invoke("diff", "--format", "json").output)
        found: dict[str, Any] = next(
            p for p in payload["portals"] if p["portal"] == "acme-facilities"
        )
        return found

    def unattributed(plan: dict[str, Any]) -> dict[str, Any]:
        """The plan without the lines that set its values: those moved to the profile."""
        changes = [{k: v for k, v in c.items() if k != "source"} for c in plan["changes"]]
        return {k: v for k, v in plan.items() if k != "sources"} | {"changes": changes}

    flat = acme_plan()
    _extend_acme(live_project)
    assert invoke("lint").exit_code == 0
    # The same portal, spelt as a profile plus its own values, plans the same.
    extended = acme_plan()
    assert unattributed(extended) == unattributed(flat)
    assert {c["source"]["file"] for c in extended["changes"]} == {"profiles/guests.yaml"}


def _extend_acme(root: Path) -> None:
    """acme-facilities' guest section moved into profiles/guests.yaml, as it was."""
    (root / "profiles").mkdir()
    (root / "profiles" / "guests.yaml").write_text(
        "profile: guests\nguest_workorder:\n  enabled: true\n  allow_address_change: false\n"
        "  allow_new_relation: false\n  allow_requests_for_others: false\n"
        "  work_types: [Storing, Onderhoud]\n",
        encoding="utf-8",
    )
    path = root / "portals" / "acme-facilities.yaml"
    text = path.read_text(encoding="utf-8")
    guest = text[text.index("guest_workorder:") : text.index("user_settings:")]
    path.write_text(text.replace(guest, "extends: [guests]\n"), encoding="utf-8")


def test_a_profile_edit_on_a_branch_is_the_branchs_change(
    live_project: Path, invoke: Invoke
) -> None:
    from test_three_way import commit_all, git

    _extend_acme(live_project)
    git(live_project, "init", "-q", "-b", "main")
    (live_project / ".gitignore").write_text("state/\n*.json\n", encoding="utf-8")
    commit_all(live_project, "portals over a profile")
    assert invoke("apply", "--yes").exit_code == 0
    git(live_project, "checkout", "-q", "-b", "feature")
    profile = live_project / "profiles" / "guests.yaml"
    profile.write_text(
        profile.read_text(encoding="utf-8").replace("Onderhoud]", "Onderhoud, Inspectie]"),
        encoding="utf-8",
    )
    commit_all(live_project, "guests may ask for an inspection")
    plan = json.loads(invoke("diff", "--base", "main", "--format", "json").output)
    changes = {p["portal"]: p["changes"] for p in plan["portals"]}
    assert changes["acme-facilities"] == [
        {
            "field": "work_types",
            "added": ["Inspectie"],
            "removed": [],
            "widens": True,
            "origin": "change",
            "source": {"file": "profiles/guests.yaml", "line": 7},
        }
    ]


def test_pull_keeps_extends_and_writes_only_what_differs_from_the_profiles(
    live_project: Path, invoke: Invoke
) -> None:
    _extend_acme(live_project)
    before = json.loads(invoke("diff", "--format", "json").output)
    acme = next(p for p in before["portals"] if p["portal"] == "acme-facilities")
    differing = {change["field"] for change in acme["changes"]}
    assert differing  # the demo account's acme differs from the file
    assert invoke("pull", "--force").exit_code == 0
    text = (live_project / "portals" / "acme-facilities.yaml").read_text(encoding="utf-8")
    pulled = yaml.safe_load(text)
    assert pulled["extends"] == ["guests"]
    assert set(pulled["guest_workorder"]) == differing  # overrides, not a copy
    after = json.loads(invoke("diff", "--format", "json").output)
    acme = next(p for p in after["portals"] if p["portal"] == "acme-facilities")
    assert acme["changes"] == []


def test_fmt_formats_profiles_too_keeping_their_comments(write: Write, invoke: Invoke) -> None:
    write(
        "profiles/alarm.yaml",
        "# for alarm installers\nguest_workorder:\n  work_types:  # edit, do not copy\n"
        "    add: [Plaatsing alarm]\nprofile: alarm\n",
    )
    write(
        "portals/acme.yaml", "portal: acme\nguest_workorder: {enabled: false}\nextends: [alarm]\n"
    )
    assert invoke("fmt").exit_code == 0
    assert (Path("profiles") / "alarm.yaml").read_text(encoding="utf-8") == (
        "# for alarm installers\nprofile: alarm\nguest_workorder:\n"
        "  work_types:  # edit, do not copy\n    add:\n      - Plaatsing alarm\n"
    )
    assert (Path("portals") / "acme.yaml").read_text(encoding="utf-8") == (
        "portal: acme\nextends:\n  - alarm\nguest_workorder:\n  enabled: false\n"
    )


def test_accounts_extend_their_own_profiles_and_shared_ones_are_reported_once(
    write: Write, invoke: Invoke
) -> None:
    write("portal-config.yaml", "accounts:\n  one:\n    extends: [house]\n  two:\n")
    write("profiles/house.yaml", "profile: house\nguest_workorder:\n  enabled: false\n")
    write("profiles/broken.yaml", "profile: broken\nguest_workorder:\n  enabeld: true\n")
    # account one's own `house` wins over the repository's
    write(
        "accounts/one/profiles/house.yaml",
        "profile: house\nguest_workorder:\n  enabled: true\n  work_types: [Storing]\n",
    )
    write("accounts/one/portals/a.yaml", "portal: a\n")
    write("accounts/two/portals/b.yaml", "portal: b\nguest_workorder: {enabled: false}\n")
    result = invoke("lint")
    errors = [line for line in result.output.splitlines() if ": error [" in line]
    assert errors == [
        "profiles/broken.yaml:3:3: error [schema] unknown key 'enabeld' in guest_workorder; "
        "did you mean 'enabled'?"
    ]
    explained = invoke("explain", "accounts/one/portals/a.yaml").output
    assert explained.startswith("a (accounts/one/portals/a.yaml): extends house\n")
    assert "guest_workorder.enabled: true  (accounts/one/profiles/house.yaml:3)" in explained


def test_a_profile_given_to_lint_is_linted_as_a_profile_with_the_portals_it_reaches(
    write: Write, invoke: Invoke
) -> None:
    write(
        "profiles/open.yaml", "profile: open\nguest_workorder:\n  enabled: true\n  work_types: []\n"
    )
    write("portals/acme.yaml", "portal: acme\nextends: [open]\n")
    result = invoke("lint", "profiles/open.yaml")
    assert result.exit_code == 1
    assert "[schema]" not in result.output  # not read as a portal file
    assert "(effective in portals/acme.yaml)" in result.output
    assert "2 files checked" in result.output
