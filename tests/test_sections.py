"""The whole portal: user settings, general settings and display beside the guest section."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Invoke, Write
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
