"""Adopting a live account into a baseline: `pull --extends`, fmt taking out redundant
overrides, and init's starter profile."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import ADOPTED_ON, Invoke, Write
from portal_config.settings.overrides import inherited, overrides
from portal_config.settings.table import active

GUESTS = (
    "profile: guests\n"
    "guest_workorder:\n"
    "  enabled: true\n"
    "  allow_new_relation: false\n"
    "  work_types: [Storing, Onderhoud]\n"
)
FOUND = f"as found in OutSmart on {ADOPTED_ON} (adopted by pull)"


@pytest.fixture
def adopting(live_project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The live project with profiles/guests.yaml, in git (pull may replace its files)."""
    monkeypatch.setattr(
        "portal_config.files.pull.adoption_day", lambda: dt.date.fromisoformat(ADOPTED_ON)
    )
    (live_project / "profiles").mkdir()
    (live_project / "profiles" / "guests.yaml").write_text(GUESTS, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=live_project, check=True)
    (live_project / ".gitignore").write_text("state/\n.portal-config/\n", encoding="utf-8")
    _commit(live_project)
    return live_project


def _commit(root: Path) -> None:
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c"],
        cwd=root,
        check=True,
    )


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] not in (".git", "state")
    }


def _changes(invoke: Invoke) -> dict[str, list[object]]:
    result = invoke("diff", "--format", "json")
    assert result.exit_code == 0, result.output  # no changes
    return {p["portal"]: p["changes"] for p in json.loads(result.output)["portals"]}


def test_new_files_are_the_smallest_override_over_the_profile_and_diff_shows_no_changes(
    adopting: Path, invoke: Invoke
) -> None:
    for path in (adopting / "portals").glob("*.yaml"):
        path.unlink()
    result = invoke("pull", "--extends", "guests", "--no-catalog")
    assert result.exit_code == 0, result.output
    assert result.output.endswith("Pull: 6 written, 0 unchanged, 0 refused.\n")
    portals = adopting / "portals"
    # enabled is true as the profile has it; allow_new_relation and work_types differ.
    assert (portals / "acme-facilities.yaml").read_text(encoding="utf-8") == (
        "# yaml-language-server: $schema=../schema/portal.schema.json\n"
        "portal: acme-facilities\n"
        "extends:\n"
        "  - guests\n"
        "guest_workorder:\n"
        "  allow_new_relation: true\n"
        "  work_types:\n"
        "    - Storing\n"
        "acknowledged:\n"
        f"  allow_new_relation: {FOUND}\n"
    )
    # No work types live: an empty list replaces the profile's, never left out.
    assert (portals / "gemeente-intern.yaml").read_text(encoding="utf-8") == (
        "# yaml-language-server: $schema=../schema/portal.schema.json\n"
        "portal: gemeente-intern\n"
        "extends:\n"
        "  - guests\n"
        "guest_workorder:\n"
        "  enabled: false\n"
        "  work_types: []\n"
    )
    assert all(changes == [] for changes in _changes(invoke).values())
    linted = invoke("lint")
    assert linted.exit_code == 0, linted.output
    assert "redundant-override" not in linted.output
    assert invoke("fmt", "--check", "portals").exit_code == 0
    _commit(adopting)
    again = invoke("pull", "--extends", "guests", "--no-catalog")
    assert again.output.endswith("Pull: 0 written, 6 unchanged, 0 refused.\n"), again.output


def test_flat_files_are_brought_under_the_profile_keeping_their_comments(
    adopting: Path, invoke: Invoke
) -> None:
    acme = adopting / "portals" / "acme-facilities.yaml"
    text = acme.read_text(encoding="utf-8")
    acme.write_text(
        text.replace("guest_workorder:\n", "# Reviewed with Acme.\nguest_workorder:\n")
        .replace("  enabled: true\n", "  enabled: true  # as the profile\n", 1)
        .replace("  view_only: false\n", "  view_only: false  # tenants may edit\n"),
        encoding="utf-8",
    )
    _commit(adopting)
    result = invoke("pull", "--extends", "guests")
    assert result.exit_code == 0, result.output
    pulled = acme.read_text(encoding="utf-8")
    assert pulled.startswith(
        "# yaml-language-server: $schema=../schema/portal.schema.json\n"
        "portal: acme-facilities\n"
        "description: Tenants of Acme Facilities' office buildings report faults without an "
        "account.\n"
        "extends:\n"
        "  - guests\n"
        "# Reviewed with Acme.\n"
        "guest_workorder:\n"
        "  allow_new_relation: true\n"
        "  work_types:\n"
        "    - Storing\n"
        "user_settings:\n"
    )
    assert "# as the profile" not in pulled  # left with the line it was on
    assert "  view_only: false  # tenants may edit\n" in pulled  # a section of its own
    assert all(changes == [] for changes in _changes(invoke).values())
    linted = invoke("lint")
    assert "redundant-override" not in linted.output, linted.output


def test_a_file_keeps_its_own_extends_unless_extends_is_given(
    adopting: Path, invoke: Invoke
) -> None:
    (adopting / "profiles" / "open.yaml").write_text(
        "profile: open\nguest_workorder:\n  allow_requests_for_others: false\n", encoding="utf-8"
    )
    acme = adopting / "portals" / "acme-facilities.yaml"
    acme.write_text(
        acme.read_text(encoding="utf-8").replace(
            "guest_workorder:", "extends: [open]\nguest_workorder:"
        ),
        encoding="utf-8",
    )
    _commit(adopting)
    assert invoke("pull", "--portal", "acme-facilities").exit_code == 0
    assert yaml.safe_load(acme.read_text(encoding="utf-8"))["extends"] == ["open"]
    _commit(adopting)
    assert invoke("pull", "--portal", "acme-facilities", "--extends", "guests").exit_code == 0
    assert yaml.safe_load(acme.read_text(encoding="utf-8"))["extends"] == ["guests"]


def test_a_live_value_wider_than_a_locked_field_is_written_and_lint_reports_it(
    adopting: Path, invoke: Invoke
) -> None:
    (adopting / "profiles" / "guests.yaml").write_text(
        GUESTS + "locked: [guest_workorder.allow_new_relation]\n", encoding="utf-8"
    )
    for path in (adopting / "portals").glob("*.yaml"):
        path.unlink()
    assert invoke("pull", "--extends", "guests", "--no-catalog").exit_code == 0
    linted = invoke("lint")
    assert linted.exit_code == 1
    widened = [line for line in linted.output.splitlines() if "[locked-field-widened]" in line]
    assert [line.split(" error ")[0] for line in widened] == [
        "portals/acme-facilities.yaml:6:23:",
        "portals/secura-alarm.yaml:7:23:",
    ]
    assert "locked at profiles/guests.yaml:6" in widened[0]


def test_an_unknown_profile_is_refused_before_anything_is_written(
    adopting: Path, invoke: Invoke
) -> None:
    (adopting / "worktypes.yaml").unlink()  # pull would write it first
    _commit(adopting)
    before = _tree(adopting)
    result = invoke("pull", "--extends", "guest", "--extends", "guests")
    assert result.exit_code == 2
    assert result.output == "error: --extends: unknown profile 'guest'; did you mean 'guests'?\n"
    assert _tree(adopting) == before


def test_a_profile_with_problems_is_refused(adopting: Path, invoke: Invoke) -> None:
    (adopting / "profiles" / "broken.yaml").write_text(
        "profile: broken\nguest_workorder:\n  enabeld: true\n", encoding="utf-8"
    )
    result = invoke("pull", "--extends", "broken")
    assert (result.exit_code, result.output) == (
        2,
        "error: --extends: profile 'broken' (profiles/broken.yaml) has problems; "
        "portal-config lint shows them\n",
    )


def test_fmt_removes_a_redundant_override_keeping_the_other_lines_comments(
    write: Write, invoke: Invoke
) -> None:
    write("profiles/guests.yaml", GUESTS)
    portal = write(
        "portals/acme.yaml",
        "portal: acme\n"
        "extends: [guests]\n"
        "# Acme's exceptions\n"
        "guest_workorder:\n"
        "  enabled: true  # copied from the profile\n"
        "  # New tenants register through the form.\n"
        "  allow_address_change: true  # deliberate\n"
        "  work_types: [Storing, Onderhoud]\n"
        "acknowledged:\n"
        "  allow_address_change: Tenants move often.\n",
    )
    assert invoke("lint").output.count("[redundant-override]") == 2
    checked = invoke("fmt", "--check")
    assert checked.exit_code == 1
    assert checked.output.startswith("would reformat portals/acme.yaml\n")
    assert invoke("fmt").exit_code == 0
    assert portal.read_text(encoding="utf-8") == (
        "portal: acme\n"
        "extends:\n"
        "  - guests\n"
        "# Acme's exceptions\n"
        "guest_workorder:\n"
        "  # New tenants register through the form.\n"
        "  allow_address_change: true  # deliberate\n"
        "acknowledged:\n"
        "  allow_address_change: Tenants move often.\n"
    )
    linted = invoke("lint")
    assert linted.exit_code == 0 and "redundant-override" not in linted.output, linted.output
    assert invoke("fmt", "--check").exit_code == 0


def test_fmt_takes_out_an_emptied_section_and_leaves_a_file_with_an_unknown_profile(
    write: Write, invoke: Invoke
) -> None:
    write("profiles/guests.yaml", GUESTS)
    same = write(
        "portals/same.yaml", "portal: same\nextends: [guests]\nguest_workorder:\n  enabled: true\n"
    )
    unknown = write(
        "portals/unknown.yaml",
        "portal: unknown\nextends: [guests, gone]\nguest_workorder:\n  enabled: true\n",
    )
    invoke("fmt")
    assert same.read_text(encoding="utf-8") == "portal: same\nextends:\n  - guests\n"
    # What it inherits is not known until the profile is there: nothing is taken out.
    assert yaml.safe_load(unknown.read_text(encoding="utf-8"))["guest_workorder"] == {
        "enabled": True
    }


def test_init_writes_a_starter_profile_and_an_example_portal_that_lint_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, invoke: Invoke
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    result = invoke("init")
    assert result.exit_code == 0, result.output
    assert "profiles/baseline.yaml: created\nexamples/example-portal.yaml: created\n" in (
        result.output
    )
    profile = yaml.safe_load((tmp_path / "profiles" / "baseline.yaml").read_text())
    assert profile["description"] and profile["locked"] == ["guest_workorder.allow_new_relation"]
    example = tmp_path / "examples" / "example-portal.yaml"
    assert yaml.safe_load(example.read_text())["extends"] == ["baseline"]
    assert "extends: [baseline]" in (tmp_path / "portal-config.yaml").read_text()
    for args in (("lint", "--strict"), ("lint", "--strict", str(example))):
        linted = invoke(*args)
        assert linted.exit_code == 0, linted.output
    assert invoke("lint", "--strict", str(example)).stdout == "2 files checked: no problems\n"
    assert invoke("fmt", "--check", "profiles", "examples").exit_code == 0
    explained = invoke("explain", str(example)).output
    assert "guest_workorder.allow_new_relation: false  (profiles/baseline.yaml:9)" in explained
    # The lock holds: the example widening it fails lint at its own line.
    example.write_text(example.read_text() + "  allow_new_relation: true\n")
    widened = invoke("lint", str(example))
    assert widened.exit_code == 1 and "[locked-field-widened]" in widened.output


def test_the_smallest_override_leaves_out_what_is_inherited_or_a_default() -> None:
    guest = active().section("guest_workorder")
    wanted = [
        (guest, guest.field("enabled"), True),
        (guest, guest.field("allow_address_change"), False),  # the default
        (guest, guest.field("allow_new_relation"), True),
        (guest, guest.field("work_types"), ("Onderhoud", "Storing")),  # the same set
    ]
    over = {"guest_workorder": {"enabled": True, "work_types": ["Storing", "Onderhoud"]}}
    assert overrides(over, wanted) == [wanted[2]]
    assert inherited(over, wanted) == {
        ("guest_workorder", "enabled"),
        ("guest_workorder", "allow_address_change"),
        ("guest_workorder", "work_types"),
    }
    # A section no profile sets is the portal's own: all of it is written.
    assert overrides({}, wanted) == wanted


def test_fmt_reads_a_fleet_files_inheritance_from_its_own_account(
    write: Write, invoke: Invoke
) -> None:
    write("portal-config.yaml", "accounts:\n  one:\n    extends: [house]\n  two:\n")
    write("profiles/house.yaml", "profile: house\nguest_workorder:\n  enabled: false\n")
    write("accounts/one/profiles/house.yaml", "profile: house\nguest_workorder:\n  enabled: true\n")
    text = "portal: {}\nguest_workorder:\n  enabled: true\n  work_types:\n    - Storing\n"
    one = write("accounts/one/portals/a.yaml", text.format("a"))
    two = write("accounts/two/portals/b.yaml", text.format("b"))
    assert invoke("fmt").exit_code == 0
    # one's own house (enabled: true) is extended by default: the copy goes.
    assert one.read_text(encoding="utf-8") == (
        "portal: a\nguest_workorder:\n  work_types:\n    - Storing\n"
    )
    assert two.read_text(encoding="utf-8") == text.format("b")  # two extends nothing
