"""The whole portal: user settings, general settings and display beside the guest section."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import REPO, Invoke, Write
from portal_config.sandbox import Sandbox

MISSPELT = """\
portal: acme
guest_workorder: {enabled: false}
user_setings:
  view_only: true
general:
  enabeld: true
  language: fr
display:
  invoices: 1
"""


def test_misspelt_sections_and_fields_get_positions_and_suggestions(
    write: Write, invoke: Invoke
) -> None:
    write("portals/acme.yaml", MISSPELT)
    result = invoke("lint", "--format", "json")
    problems = [
        f"{p['line']}:{p['column']}: {p['message']}" for p in json.loads(result.stdout)["problems"]
    ]
    assert problems == [
        "3:1: unknown key 'user_setings'; did you mean 'user_settings'?",
        "6:3: unknown key 'enabeld' in general; did you mean 'enabled'?",
        "7:13: general.language must be one of nl, en, de, got the string 'fr'",
        "9:13: display.invoices must be true or false, got 1",
    ]
    assert result.exit_code == 1


def test_a_file_using_all_four_sections_lints_clean(write: Write, invoke: Invoke) -> None:
    write("worktypes.yaml", "work_types: [Storing, Onderhoud]\n")
    write(
        "portals/acme.yaml",
        """\
        portal: acme
        guest_workorder:
          enabled: true
          work_types: [Storing]
        user_settings:
          work_types: [Storing, Onderhoud]
          allow_customer_details_change: true
          allow_contact_details_change: true
          view_only: false
        general:
          enabled: true
          url_name: acme
          name: Acme
          request_email: planning@acme.nl
          language: nl
          date_format: dd-mm-yyyy
          required_to_accept: true
          welcome_text: |-
            Welkom.
            Meld hier uw storing.
          default_description: ""
        display:
          invoices: false
          workorder_details: true
          photos: true
          objects: false
          documents: false
        """,
    )
    result = invoke("lint", "--strict")
    assert (result.exit_code, result.output) == (0, "1 file checked: no problems\n")


def test_the_sandbox_refuses_malformed_section_values_with_code_422(
    sandbox: Sandbox,
) -> None:
    state = sandbox.state
    cases = [
        ({"general": {"language": "fr"}}, "general.language must be one of nl, en, de"),
        ({"display": {"invoices": "yes"}}, "display.invoices must be a boolean"),
        ({"user_settings": {"work_types": ["Nope"]}}, "unknown work type: Nope"),
        ({"user_settings": {"view_only": False, "extra": 1}}, "unknown field: extra"),
        (
            {"general": {"url_name": "x" * 64}},
            "general.url_name must be text of at most 63 characters in the documented form",
        ),
        ({"display": []}, "display must be an object"),
    ]
    for sections, why in cases:
        code, stored, reason = state.replace("acme-facilities", 1, sections)
        assert (code, stored, reason) == (422, None, why)


def test_a_guest_only_repository_never_sees_the_other_sections(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    # The demo's Acme has every section live; a file with the guest section only leaves
    # them alone: not in diff, not written by apply.
    path = live_project / "portals" / "acme-facilities.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("user_settings:")], encoding="utf-8")
    before = {k: v for k, v in sandbox.state.data["portals"]["acme-facilities"].items()}
    diff = invoke("diff")
    for name in ("user_settings", "general", "display", "view_only", "invoices"):
        assert name not in diff.output
    assert invoke("apply", "--yes").exit_code == 0
    after = sandbox.state.data["portals"]["acme-facilities"]
    for section in ("user_settings", "general", "display"):
        assert after[section] == before[section]


# -- the whole loop over a portal using all four sections -----------------------------------
def test_all_four_sections_lint_diff_apply_and_pull_with_widening_marked(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    # Someone ends view-only, shows invoices and stops requiring acceptance in OutSmart.
    state = sandbox.state
    state.edit_section("acme-facilities", "user_settings", {"view_only": True})
    state.edit_section("acme-facilities", "display", {"invoices": True})
    state.edit_section("acme-facilities", "general", {"required_to_accept": False})
    assert invoke("lint", "--strict").exit_code == 0
    diff = invoke("diff")
    assert diff.exit_code == 3
    # Ending view-only widens what portal users may do.
    assert (
        "    ~ user_settings.view_only: true -> false  ! widens portal users' access"
        "  (portals/acme-facilities.yaml:19)\n"
    ) in diff.output
    assert (
        "    ~ display.invoices: true -> false  (portals/acme-facilities.yaml:28)\n" in diff.output
    )
    assert (
        "    ~ general.required_to_accept: false -> true  (portals/acme-facilities.yaml:26)\n"
        in diff.output
    )
    payload = json.loads(invoke("diff", "--format", "json").stdout)
    acme = next(p for p in payload["portals"] if p["portal"] == "acme-facilities")
    fields = {c["field"]: c for c in acme["changes"]}
    assert fields["display.invoices"] == {
        "field": "display.invoices",
        "old": True,
        "new": False,
        "widens": False,
        "origin": None,
        "source": {"file": "portals/acme-facilities.yaml", "line": 28},
    }
    assert invoke("apply", "--yes").exit_code == 0
    record = state.data["portals"]["acme-facilities"]
    assert record["user_settings"]["view_only"] is False
    assert record["display"]["invoices"] is False
    assert record["general"]["required_to_accept"] is True
    # What the file leaves out kept its live value, written back as it was.
    assert record["general"]["welcome_text"].startswith("Welkom")
    assert invoke("diff").exit_code == 0
    before = (live_project / "portals" / "acme-facilities.yaml").read_text(encoding="utf-8")
    assert invoke("pull", "--portal", "acme-facilities", "--no-catalog").exit_code == 0
    after = (live_project / "portals" / "acme-facilities.yaml").read_text(encoding="utf-8")
    assert after == before  # pull gives the file no opinion it did not have


def test_widening_in_another_section_is_marked_with_whose_access_it_widens(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    path = live_project / "portals" / "acme-facilities.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("  invoices: false\n", "  invoices: true\n").replace(
            "  view_only: false\n", "  view_only: true\n"
        ),
        encoding="utf-8",
    )
    output = invoke("diff").output
    assert "~ display.invoices: false -> true  ! widens what customers see" in output
    assert (
        "~ user_settings.view_only: false -> true  (portals/acme-facilities.yaml:19)\n" in output
    )  # narrows: no mark
    markdown = invoke("diff", "--format", "markdown").stdout
    assert "⚠️ widens guest access, what customers see" in markdown


def test_users_work_types_are_checked_against_the_catalog(write: Write, invoke: Invoke) -> None:
    write("worktypes.yaml", "work_types: [Storing, Onderhoud]\ninactive_work_types: [Oud]\n")
    write(
        "portals/acme.yaml",
        "portal: acme\nguest_workorder: {enabled: false}\n"
        "user_settings:\n  work_types: [Storing, Stroing, Oud, storing]\n",
    )
    payload = json.loads(invoke("lint", "--format", "json").stdout)
    assert [(p["line"], p["column"], p["rule"], p["message"]) for p in payload["problems"]] == [
        (
            4,
            25,
            "unknown-work-type",
            "work type 'Stroing' is not in the catalog worktypes.yaml; did you mean 'Storing'?",
        ),
        (
            4,
            34,
            "inactive-work-type",
            "work type 'Oud' is inactive in the OutSmart account (worktypes.yaml)",
        ),
        (4, 39, "duplicate-work-type", "work type 'storing' is listed twice (first at 4:16)"),
        (
            4,
            39,
            "unknown-work-type",
            "work type 'storing' is not in the catalog worktypes.yaml; did you mean 'Storing'?",
        ),
    ]


def test_three_way_origins_know_the_other_sections(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    from test_three_way import commit_all, edit_file, git

    git(live_project, "init", "-q", "-b", "main")
    (live_project / ".gitignore").write_text("state/\n*.json\n", encoding="utf-8")
    commit_all(live_project, "portals")
    assert invoke("apply", "--yes").exit_code == 0
    git(live_project, "checkout", "-q", "-b", "feature")
    # The branch shows photos no more; in OutSmart someone showed invoices meanwhile.
    edit_file(live_project, "acme-facilities", "  photos: true\n", "  photos: false\n")
    commit_all(live_project, "no photos")
    sandbox.state.edit_section("acme-facilities", "display", {"invoices": True})
    payload = json.loads(invoke("diff", "--base", "main", "--format", "json").stdout)
    acme = next(p for p in payload["portals"] if p["portal"] == "acme-facilities")
    origins = {c["field"]: c["origin"] for c in acme["changes"]}
    assert origins == {"display.photos": "change", "display.invoices": "drift"}
    text = invoke("diff", "--base", "main").output
    assert "~ display.invoices: true -> false  (reverts a live edit that widened what " in text


def test_a_portal_changing_every_field_makes_a_plan_its_schema_accepts(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    # Every field the acme file manages differs live: more changes than the guest section has.
    flipped = {
        "user_settings": {
            "work_types": ["Storing"],
            "allow_customer_details_change": True,
            "allow_contact_details_change": False,
            "view_only": True,
        },
        "general": {
            "enabled": False,
            "url_name": "acme-old",
            "name": "Acme (oud)",
            "request_email": "oud@acme.example",
            "language": "en",
            "required_to_accept": False,
        },
        "display": {
            "invoices": True,
            "workorder_details": False,
            "photos": False,
            "documents": True,
        },
    }
    for section, fields in flipped.items():
        sandbox.state.edit_section("acme-facilities", section, fields)
    assert invoke("diff", "--out", "plan.json").exit_code == 3
    assert invoke("show", "plan.json", "--format", "json").exit_code == 0
    payload = json.loads(invoke("diff", "--format", "json").stdout)
    acme = next(p for p in payload["portals"] if p["portal"] == "acme-facilities")
    assert len(acme["changes"]) == 2 + 14
    schema = json.loads((REPO / "schema" / "plan.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(payload, schema)
    assert invoke("apply", "plan.json", "--yes").exit_code == 0
    assert invoke("diff").exit_code == 0


# -- what a write holds: the fields a file manages, nothing else ------------------------------
def test_apply_writes_only_the_fields_a_file_manages(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    # Live holds what this version does not know (theme CSS inside general), a welcome text
    # no file could hold, and users' work types as null: none of it is the file's.
    state = sandbox.state
    state.edit_section("acme-facilities", "general", {"custom_css": "body{color:red}"})
    state.edit_section("acme-facilities", "general", {"welcome_text": "W" * 6000})
    state.edit_section("acme-facilities", "user_settings", {"view_only": True})
    path = live_project / "portals" / "acme-facilities.yaml"
    text = path.read_text(encoding="utf-8")
    users = text.index("user_settings:")
    path.write_text(
        text[:users] + "user_settings:\n  view_only: false\n" + text[text.index("general:") :],
        encoding="utf-8",
    )
    state.data["portals"]["acme-facilities"]["user_settings"]["work_types"] = None
    assert invoke("apply", "--yes").exit_code == 0
    record = state.data["portals"]["acme-facilities"]
    assert record["general"]["custom_css"] == "body{color:red}"
    assert record["general"]["welcome_text"] == "W" * 6000
    assert record["user_settings"]["work_types"] is None
    assert record["user_settings"]["view_only"] is False


def test_an_unknown_choice_live_blocks_only_a_file_that_manages_it(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    sandbox.state.edit_section("gemeente-intern", "general", {"language": "fr"})
    assert invoke("diff").exit_code == 3  # gemeente's file has no general section
    sandbox.state.edit_section("acme-facilities", "general", {"language": "fr"})
    result = invoke("diff")
    assert result.exit_code == 1
    assert (
        "live portal 'acme-facilities' holds what no portal file can: general.language must be "
        "one of nl, en, de, got the string 'fr'; change it in OutSmart"
    ) in result.output


def test_a_malformed_live_section_is_one_api_error_naming_portal_and_section(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    sandbox.state.data["portals"]["oud-portaal"]["display"] = "all of it"
    result = invoke("diff")
    assert result.exit_code == 4
    assert result.output.endswith(
        "api error: unexpected portal record from the API (ValueError: portal "
        '"oud-portaal": display: is str, not an object)\n'
    )


def test_a_saved_plan_must_spell_out_every_defaulted_guest_field(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    assert invoke("diff", "--out", "plan.json").exit_code == 3
    plan = json.loads((live_project / "plan.json").read_text(encoding="utf-8"))
    # Left out, allow_new_relation would turn from false into "not managed".
    del plan["portals"][0]["desired"]["guest_workorder"]["allow_new_relation"]
    (live_project / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    for command in ("show", "apply"):
        result = invoke(command, "plan.json", *(("--yes",) if command == "apply" else ()))
        assert result.exit_code == 2
        assert "missing required key 'allow_new_relation' in portals[0].desired" in result.output


def test_pull_always_writes_the_guest_section(
    project: Path, sandbox: Sandbox, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import SOFTWARE_TOKEN, TOKEN

    (project / "portal-config.yaml").write_text(
        f"sections: [display]\ntargets:\n  test:\n    base_url: {sandbox.url}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("OUTSMART_TOKEN", TOKEN)
    monkeypatch.setenv("OUTSMART_SOFTWARE_TOKEN", SOFTWARE_TOKEN)
    assert invoke("pull", "--no-catalog").exit_code == 0
    data = yaml.safe_load((project / "portals" / "acme-facilities.yaml").read_text("utf-8"))
    assert set(data) == {"portal", "guest_workorder", "display", "acknowledged"}
    assert invoke("lint").exit_code == 0


def test_bidi_controls_are_no_text_of_a_portal(write: Write, invoke: Invoke) -> None:
    write(
        "portals/acme.yaml",
        'portal: acme\nguest_workorder: {enabled: false}\ngeneral:\n  name: "abc\\u202eevil"\n',
    )
    result = invoke("lint", "--format", "json")
    [problem] = json.loads(result.stdout)["problems"]
    assert (problem["line"], problem["column"], problem["rule"]) == (4, 9, "schema")


def test_fmt_writes_a_text_of_several_lines_as_a_literal_block(
    write: Write, invoke: Invoke
) -> None:
    path = write(
        "portals/acme.yaml",
        "portal: acme\nguest_workorder: {enabled: false}\ngeneral:\n"
        '  welcome_text: "Welkom.\\n\\nMeld hier uw storing."\n',
    )
    assert invoke("fmt").exit_code == 0
    assert path.read_text(encoding="utf-8") == (
        "portal: acme\nguest_workorder:\n  enabled: false\ngeneral:\n"
        "  welcome_text: |-\n    Welkom.\n\n    Meld hier uw storing.\n"
    )
    assert invoke("fmt", "--check").exit_code == 0
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["general"]["welcome_text"] == "Welkom.\n\nMeld hier uw storing."
