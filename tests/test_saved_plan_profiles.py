"""A saved plan records the profiles its portals extend; a profile edit made after it is
stale only if it changes a field the plan covers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from conftest import REPO, Invoke
from portal_config.sandbox import Sandbox

GUESTS = (
    "profile: guests\n"
    "guest_workorder:\n"
    "  enabled: true\n"
    "  allow_address_change: false\n"
    "  allow_new_relation: false\n"
    "  allow_requests_for_others: false\n"
    "  work_types: [Storing, Onderhoud]\n"
)
# The portal overrides this one field of the profile itself.
OWN = "extends: [guests]\nguest_workorder:\n  allow_address_change: false\n"


def move_guests_to_profile(portal: Path, profile: Path, own: str) -> None:
    """The portal file's guest section moved into ``profile``, as it was; ``own`` (its
    `extends:` and overrides) in its place."""
    profile.parent.mkdir(parents=True, exist_ok=True)
    profile.write_text(GUESTS, encoding="utf-8")
    text = portal.read_text(encoding="utf-8")
    guest = text[text.index("guest_workorder:") : text.index("user_settings:")]
    portal.write_text(text.replace(guest, own), encoding="utf-8")


@pytest.fixture
def extended(live_project: Path, invoke: Invoke) -> Path:
    """acme-facilities' guest section in profiles/guests.yaml (one field its own), and the
    plan of the files saved to plan.json."""
    move_guests_to_profile(
        live_project / "portals" / "acme-facilities.yaml",
        live_project / "profiles" / "guests.yaml",
        OWN,
    )
    assert invoke("lint").exit_code == 0
    assert invoke("diff", "--out", "plan.json").exit_code == 3
    return live_project


def _edit_profile(root: Path, old: str, new: str) -> None:
    profile = root / "profiles" / "guests.yaml"
    text = profile.read_text(encoding="utf-8")
    assert old in text
    profile.write_text(text.replace(old, new), encoding="utf-8")


def _refused_as_stale(invoke: Invoke) -> str:
    """What `apply plan.json` says when it refuses the plan (exit 5)."""
    result = invoke("apply", "plan.json", "--yes", "--allow-large-change")
    assert result.exit_code == 5, result.output
    return result.output


def test_a_saved_plan_records_each_profile_file_with_its_digest(extended: Path) -> None:
    plan = json.loads((extended / "plan.json").read_text(encoding="utf-8"))
    assert plan["version"] == 6
    digest = hashlib.sha256((extended / "profiles" / "guests.yaml").read_bytes()).hexdigest()
    assert plan["profiles"] == [
        {"file": "profiles/guests.yaml", "sha256": digest, "portals": ["acme-facilities"]}
    ]
    schema = json.loads((REPO / "schema" / "plan.schema.json").read_text(encoding="utf-8"))
    saved = {"$ref": "#/$defs/saved_plan", "$defs": schema["$defs"]}
    Draft202012Validator(saved).validate(plan)


def test_a_profile_edit_that_changes_a_planned_field_makes_the_plan_stale(
    extended: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    _edit_profile(extended, "work_types: [Storing, Onderhoud]", "work_types: [Storing]")
    _edit_profile(extended, "  enabled: true\n", "  enabled: false\n")
    seen = sandbox.requests_seen
    assert _refused_as_stale(invoke) == (
        "refused: plan is stale: profiles/guests.yaml changed since the plan was made, and "
        "the portals extending it now differ from the plan: acme-facilities "
        "guest_workorder.enabled, acme-facilities guest_workorder.work_types; run diff again "
        "and review the new plan\n"
    )
    assert sandbox.requests_seen == seen  # refused from the files alone, before any request


def test_a_profile_edit_the_plan_does_not_cover_leaves_it_valid(
    extended: Path, invoke: Invoke
) -> None:
    # The portal sets this field itself: the profile's value reaches nothing planned.
    _edit_profile(extended, "allow_address_change: false", "allow_address_change: true")
    _edit_profile(extended, "profile: guests\n", "profile: guests  # reviewed in December\n")
    result = invoke("apply", "plan.json", "--yes", "--allow-large-change")
    assert result.exit_code == 0, result.output
    assert invoke("diff").exit_code == 0


def test_a_deleted_profile_makes_the_plan_stale(
    extended: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    (extended / "profiles" / "guests.yaml").unlink()
    seen = sandbox.requests_seen
    output = _refused_as_stale(invoke)
    assert output.startswith(
        "refused: plan is stale: profiles/guests.yaml was deleted since the plan was made, "
        "and the portals extending it now differ from the plan: acme-facilities "
        "guest_workorder.enabled, "
    )
    assert "guest_workorder.allow_address_change" not in output  # the portal's own
    assert sandbox.requests_seen == seen


def test_a_plan_that_records_a_profile_for_a_portal_it_does_not_plan_is_refused(
    extended: Path, invoke: Invoke
) -> None:
    plan = json.loads((extended / "plan.json").read_text(encoding="utf-8"))
    plan["profiles"][0]["portals"].append("nobody")
    plan["profiles"].append(dict(plan["profiles"][0], portals=["acme-facilities"]))
    (extended / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    result = invoke("show", "plan.json")
    assert result.exit_code == 2
    assert result.output == (
        "invalid plan: plan.json: profiles[0].portals: 'nobody' is not a portal of the plan\n"
        "invalid plan: plan.json: profiles[1].file: recorded twice (also profiles[0])\n"
    )


def test_a_recorded_profile_outside_the_profile_directories_is_refused(
    extended: Path, invoke: Invoke
) -> None:
    plan = json.loads((extended / "plan.json").read_text(encoding="utf-8"))
    plan["profiles"][0]["file"] = "../secrets/profiles/x.yaml"
    (extended / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    result = invoke("apply", "plan.json", "--yes")
    assert result.exit_code == 2
    assert "profiles[0].file" in result.output


def test_a_portal_file_no_longer_valid_after_a_profile_edit_is_stale_not_a_crash(
    extended: Path, invoke: Invoke
) -> None:
    _edit_profile(extended, "profile: guests\n", "profile: guests  # edited\n")
    portal = extended / "portals" / "acme-facilities.yaml"
    text = portal.read_text(encoding="utf-8")
    portal.write_text(
        text.replace("allow_address_change: false", "allow_address_change: 5"), encoding="utf-8"
    )
    # The value the schema would refuse differs from the plan's; the rest resolves as planned.
    assert _refused_as_stale(invoke) == (
        "refused: plan is stale: profiles/guests.yaml changed since the plan was made, and "
        "the portals extending it now differ from the plan: acme-facilities "
        "guest_workorder.allow_address_change; run diff again and review the new plan\n"
    )
    # Names no longer a list: the file cannot be read as settings, so no field it plans is
    # known to resolve as planned.
    portal.write_text(
        text.replace("allow_address_change: false", "work_types: 5"), encoding="utf-8"
    )
    output = _refused_as_stale(invoke)
    assert output.startswith(
        "refused: plan is stale: profiles/guests.yaml changed since the plan was made, and "
        "the portals extending it now differ from the plan: acme-facilities "
        "guest_workorder.enabled, acme-facilities guest_workorder.allow_address_change, "
    )
    assert "acme-facilities display.documents; run diff again" in output
