"""Profiles under attack: hostile or careless profile files, `extends:` lists, waivers,
saved plans and pulls. Each outcome is a message at a file's line and column with a
documented exit code: never a traceback, a silent wrong answer, or a half-written file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Invoke, Write
from portal_config.sandbox import Sandbox
from test_saved_plan_profiles import OWN, move_guests_to_profile

BASELINE = (
    "profile: baseline\n"
    "guest_workorder:\n"
    "  allow_new_relation: false\n"
    "locked: [guest_workorder.allow_new_relation]\n"
)


def _portal(extends: str) -> str:
    return (
        "portal: acme\n"
        f"extends: {extends}\n"
        "guest_workorder:\n"
        "  enabled: true\n"
        "  work_types: [Storing]\n"
    )


@pytest.mark.parametrize("extends", ["[{a: 1}]", "[[baseline]]", "[baseline, {a: 1}]"])
def test_an_extends_entry_that_is_a_mapping_or_a_list_is_a_schema_error(
    write: Write, invoke: Invoke, extends: str
) -> None:
    write("profiles/baseline.yaml", BASELINE)
    write("portals/acme.yaml", _portal(extends))
    result = invoke("lint")
    assert result.exit_code == 1
    assert "portals/acme.yaml:2:" in result.output
    assert "must be a string" in result.output
    explained = invoke("explain", "portals/acme.yaml")
    assert explained.exit_code == 2
    assert "portals/acme.yaml:2:" in explained.output


BROKEN = {
    "yaml": ("profile: baseline\nguest_workorder: {enabled: [\n", "profiles/baseline.yaml:3:1: "),
    "list": ("- a\n- b\n", "profiles/baseline.yaml:1:1: top level must be a mapping"),
    "empty": ("", "profiles/baseline.yaml:1:1: file is empty"),
    "duplicate": (
        "profile: baseline\nguest_workorder:\n  enabled: true\n  enabled: false\n",
        "profiles/baseline.yaml:4:3: duplicate key 'enabled'",
    ),
    "merge key": (
        "base: &b\n  enabled: true\nprofile: baseline\nguest_workorder:\n  <<: *b\n",
        "profiles/baseline.yaml:5:3: tag !!merge is not allowed",
    ),
    "schema": (
        "profile: baseline\nguest_workorder:\n  enabled: {add: [x]}\n",
        "profiles/baseline.yaml:3:12: guest_workorder.enabled must be true or false",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_profile_that_does_not_load_is_not_called_unknown_and_explain_refuses(
    write: Write, invoke: Invoke, case: str
) -> None:
    text, expected = BROKEN[case]
    write("profiles/baseline.yaml", text)
    write("portals/acme.yaml", _portal("[baseline]"))
    result = invoke("lint")
    assert result.exit_code == 1
    assert "unknown-profile" not in result.output, result.output
    assert "profiles/baseline.yaml:" in result.output
    # Explaining without the profile would show settings lint, diff and apply never use.
    explained = invoke("explain", "portals/acme.yaml")
    assert explained.exit_code == 2, explained.output
    assert f"error: explain: {expected}" in explained.output
    assert "(profile 'baseline')" in explained.output


REFUSED_EXTENDS = {
    "[baseline, basline2]": "portals/acme.yaml:2:21: unknown profile 'basline2'; "
    "did you mean 'baseline'?",
    "baseline": "portals/acme.yaml:2:10: extends must be a list of profile names",
}


@pytest.mark.parametrize("extends", sorted(REFUSED_EXTENDS))
def test_explain_refuses_what_it_cannot_resolve_at_its_line(
    write: Write, invoke: Invoke, extends: str
) -> None:
    write("profiles/baseline.yaml", BASELINE)
    write("portals/acme.yaml", _portal(extends))
    explained = invoke("explain", "portals/acme.yaml")
    assert explained.exit_code == 2
    assert explained.output == f"error: explain: {REFUSED_EXTENDS[extends]}\n"


def test_an_accounts_broken_profile_does_not_fall_back_to_the_shared_one(
    write: Write, invoke: Invoke
) -> None:
    write("portal-config.yaml", "accounts:\n  acme:\n    token_env: ACME_TOKEN\n")
    write("profiles/baseline.yaml", "profile: baseline\nguest_workorder:\n  enabled: false\n")
    write("accounts/acme/profiles/baseline.yaml", "profile: baseline\nguest_workorder: [\n")
    write("accounts/acme/portals/acme.yaml", _portal("[baseline]"))
    explained = invoke("explain", "accounts/acme/portals/acme.yaml")
    assert explained.exit_code == 2, explained.output
    assert "error: explain: accounts/acme/profiles/baseline.yaml:3:1: " in explained.output


@pytest.mark.parametrize("tamper", ["profiles removed", "portal unlisted"])
def test_a_plan_whose_profile_records_were_removed_is_refused_not_applied_stale(
    live_project: Path, sandbox: Sandbox, invoke: Invoke, tamper: str
) -> None:
    root = live_project
    move_guests_to_profile(
        root / "portals" / "acme-facilities.yaml", root / "profiles" / "guests.yaml", OWN
    )
    assert invoke("diff", "--out", "plan.json").exit_code == 3
    plan = json.loads((root / "plan.json").read_text(encoding="utf-8"))
    if tamper == "profiles removed":
        plan["profiles"] = []
    else:  # the one portal it records taken out, and a portal that extends nothing put in
        plan["profiles"][0]["portals"] = ["gemeente-intern"]
    (root / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    # The profile edited since: without its record, apply would write what it no longer says.
    profile = root / "profiles" / "guests.yaml"
    profile.write_text(profile.read_text().replace("enabled: true", "enabled: false"))
    seen = sandbox.requests_seen
    result = invoke("apply", "plan.json", "--yes", "--allow-large-change")
    assert result.exit_code == 2, result.output
    index = [entry["portal"] for entry in plan["portals"]].index("acme-facilities")
    assert (
        f"invalid plan: plan.json: acme-facilities: portals[{index}].sources name "
        "profiles/guests.yaml, but profiles records 0 profile file(s) for it\n"
    ) in result.output
    assert sandbox.requests_seen == seen


def test_pull_extends_a_profile_that_does_not_load_names_its_file_and_writes_nothing(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    root = live_project
    (root / "profiles").mkdir()
    (root / "profiles" / "baseline.yaml").write_text("profile: baseline\nguest_workorder: [\n")
    before = {p: p.read_bytes() for p in (root / "portals").iterdir()}
    seen = sandbox.requests_seen
    result = invoke("pull", "--extends", "baseline")
    assert result.exit_code == 2, result.output
    assert result.output == (
        "error: --extends: profile 'baseline' (profiles/baseline.yaml) has problems; "
        "portal-config lint shows them\n"
    )
    assert {p: p.read_bytes() for p in (root / "portals").iterdir()} == before
    assert sandbox.requests_seen == seen


@pytest.mark.parametrize("profile", ["profile: baseline\nguest_workorder: [\n", None])
def test_pull_does_not_write_files_whose_profiles_cannot_be_resolved(
    live_project: Path, invoke: Invoke, profile: str | None
) -> None:
    """What a file inherits from a missing or broken profile is not known: a pull over it
    would write overrides (and leave out values) against settings no command uses."""
    root = live_project
    with (root / "portal-config.yaml").open("a", encoding="utf-8") as config:
        config.write("extends: [baseline]\n")
    if profile is not None:
        (root / "profiles").mkdir()
        (root / "profiles" / "baseline.yaml").write_text(profile, encoding="utf-8")
    (root / "portals" / "secura-alarm.yaml").unlink()  # a new file inherits as well
    before = {p.name: p.read_bytes() for p in (root / "portals").iterdir()}
    result = invoke("pull")
    assert result.exit_code == 1, result.output
    why = (
        "it extends profile 'baseline' (profiles/baseline.yaml), which has problems"
        if profile is not None
        else "it extends profile 'baseline', which does not exist"
    )
    assert f"refused: portals/secura-alarm.yaml: not written: {why}" in result.output
    assert f"refused: portals/acme-facilities.yaml: not written: {why}" in result.output
    assert {p.name: p.read_bytes() for p in (root / "portals").iterdir()} == before


def test_a_profile_edit_of_work_types_is_checked_against_the_catalog(
    write: Write, invoke: Invoke
) -> None:
    write("worktypes.yaml", "work_types: [Storing, Onderhoud]\n")
    write(
        "profiles/baseline.yaml",
        "profile: baseline\nguest_workorder:\n  work_types: {add: [Nope], remove: [Onderhod]}\n",
    )
    write(
        "portals/acme.yaml",
        "portal: acme\nextends: [baseline]\nguest_workorder:\n  enabled: true\n",
    )
    result = invoke("lint", "--format", "github")
    assert result.exit_code == 1, result.output
    assert (
        "::error file=profiles/baseline.yaml,line=3,col=22,title=portal-config unknown-work-type::"
        "work type 'Nope' is not in the catalog worktypes.yaml\n"
    ) in result.output
    assert (
        "::error file=profiles/baseline.yaml,line=3,col=38,title=portal-config unknown-work-type::"
        "work type 'Onderhod' is not in the catalog worktypes.yaml; did you mean 'Onderhoud'?\n"
    ) in result.output


def test_a_catalog_listing_mappings_is_one_message_per_entry_not_a_traceback(
    write: Write, invoke: Invoke
) -> None:
    write("worktypes.yaml", "work_types:\n  - name: Storing\n  - [Onderhoud]\n")
    write("portals/acme.yaml", "portal: acme\nguest_workorder:\n  enabled: false\n")
    result = invoke("lint")
    assert result.exit_code == 1, result.output
    assert "worktypes.yaml:2:5: error [catalog] work type names must be non-empty strings" in (
        result.output
    )
    assert "worktypes.yaml:3:5: error [catalog]" in result.output


def test_a_default_profile_the_config_names_is_reported_at_its_line(
    write: Write, invoke: Invoke
) -> None:
    write(
        "portal-config.yaml",
        "extends: [baseline]\n"
        "accounts:\n"
        "  acme:\n"
        "    token_env: ACME_TOKEN\n"
        "    extends: [broken, nosuch]\n",
    )
    write("profiles/baseline.yaml", BASELINE)
    write("profiles/broken.yaml", "profile: broken\nguest_workorder: [\n")
    write("accounts/acme/portals/acme.yaml", _portal("[]"))
    result = invoke("lint", "--format", "github")
    assert result.exit_code == 1
    # A profile that exists but does not load is its own file's problem, not "unknown".
    assert "unknown profile 'broken'" not in result.output
    assert (
        "::error file=portal-config.yaml,line=5,col=23,title=portal-config unknown-profile::"
        "unknown profile 'nosuch'\n"
    ) in result.output
    explained = invoke("explain", "accounts/acme/portals/acme.yaml")
    assert explained.exit_code == 2
    assert explained.output.startswith("error: explain: profiles/broken.yaml:3:1: ")
    write("profiles/broken.yaml", BASELINE.replace("baseline", "broken"))
    explained = invoke("explain", "accounts/acme/portals/acme.yaml")
    assert explained.output == (
        "error: explain: portal-config.yaml:5:23: unknown profile 'nosuch'\n"
    )


def test_a_second_file_for_one_profile_in_one_directory_is_an_error_not_ignored(
    write: Write, invoke: Invoke
) -> None:
    write("profiles/baseline.yaml", BASELINE)
    write("profiles/baseline.yml", "profile: baseline\nguest_workorder:\n  enabled: false\n")
    write("portals/acme.yaml", _portal("[baseline]"))
    result = invoke("lint")
    assert result.exit_code == 1
    assert (
        "profiles/baseline.yml:1:10: error [profile-name-matches-filename] profile 'baseline' "
        "is also in profiles/baseline.yaml, the file used; remove or rename this one\n"
    ) in result.output


TWICE = {
    # `extends: [a, b, a]` does not make a win again over b: said at the repetition.
    "in one list": (
        None,
        "[a, b, a]",
        "portals/acme.yaml:2:17: error [schema] extends[2]: 'a' is listed twice "
        "(first at extends[0]); it counts once, at its first place\n",
    ),
    # Named by the config for every portal, it comes first: naming it again is no later.
    "after a default": (
        "extends: [a]\n",
        "[b, a]",
        "portals/acme.yaml:2:14: error [unknown-profile] profile 'a' is extended by every "
        "portal already, first (the config's extends:); named here it does not come later: "
        "remove it\n",
    ),
    "a default alone": ("extends: [a]\n", "[a]", ""),  # redundant, but no order misleads
    "in the config": (
        "extends: [a, a]\n",
        "[b]",
        "invalid config: portal-config.yaml:1:14: extends[1]: 'a' is listed twice "
        "(first at extends[0]); it counts once, at its first place\n",
    ),
}


@pytest.mark.parametrize("case", sorted(TWICE))
def test_a_profile_extended_twice_is_an_error_at_the_repetition(
    write: Write, invoke: Invoke, case: str
) -> None:
    """A profile applies once, at its first place: naming it again is said, not dropped."""
    config, extends, expected = TWICE[case]
    if config is not None:
        write("portal-config.yaml", config)
    write("profiles/a.yaml", "profile: a\nguest_workorder:\n  enabled: false\n")
    write("profiles/b.yaml", "profile: b\nguest_workorder:\n  enabled: true\n")
    write("portals/acme.yaml", f"portal: acme\nextends: {extends}\n")
    result = invoke("lint")
    if not expected:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == (2 if case == "in the config" else 1)
    assert expected in result.output


def test_a_waiver_whose_owner_or_reason_is_blank_is_an_error(write: Write, invoke: Invoke) -> None:
    write("profiles/baseline.yaml", BASELINE)
    write(
        "portals/acme.yaml",
        _portal("[baseline]") + "  allow_new_relation: true\n"
        "waivers:\n"
        "  - field: guest_workorder.allow_new_relation\n"
        '    owner: " "\n'
        '    reason: "\\t"\n'
        '    expires: "2099-01-01"\n',
    )
    result = invoke("lint")
    assert result.exit_code == 1
    assert (
        "portals/acme.yaml:9:12: error [schema] waivers[0].owner: ' ' is not a valid owner; "
        "name who answers for the exception (a person or a team)\n"
    ) in result.output
    assert (
        "portals/acme.yaml:10:13: error [schema] waivers[0].reason: '\\t' is not a valid "
        "reason; say why this portal needs it\n"
    ) in result.output


def test_a_work_type_a_profile_sets_that_the_live_account_lacks_is_at_the_profiles_line(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    root = live_project
    move_guests_to_profile(
        root / "portals" / "acme-facilities.yaml", root / "profiles" / "guests.yaml", OWN
    )
    sandbox.state.data["work_types"].remove("Onderhoud")  # the account dropped a work type
    result = invoke("diff")
    assert result.exit_code == 1
    assert (
        "profiles/guests.yaml:7:15: error [unknown-work-type] work type 'Onderhoud' is not in "
        "the live account of target test (effective in portals/acme-facilities.yaml)\n"
    ) in result.output


def test_a_base_portal_over_a_profile_that_failed_its_schema_is_compared_as_new(
    live_project: Path, invoke: Invoke
) -> None:
    """At the base, the profile did not pass its schema: what its portals were is not
    known, so they are new to the branch, not portals that never had the profile's values."""
    from test_three_way import commit_all, git

    root = live_project
    own = "extends: [guests]\nguest_workorder:\n  enabled: true\n  work_types: [Storing]\n"
    move_guests_to_profile(
        root / "portals" / "acme-facilities.yaml", root / "profiles" / "guests.yaml", own
    )
    profile = root / "profiles" / "guests.yaml"
    good = profile.read_text(encoding="utf-8")
    profile.write_text(good + "  bogus: 1\n", encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    (root / ".gitignore").write_text("state/\n*.json\n", encoding="utf-8")
    commit_all(root, "a profile that fails its schema")
    git(root, "checkout", "-q", "-b", "feature")
    profile.write_text(good, encoding="utf-8")
    commit_all(root, "the profile fixed")
    result = invoke("diff", "--base", "main")
    assert (
        "base: portals/acme-facilities.yaml at main is not a valid portal file; compared as new"
        in result.output
    ), result.output


def test_explain_shows_a_text_value_as_diff_does_escaped_once(write: Write, invoke: Invoke) -> None:
    write(
        "profiles/baseline.yaml",
        'profile: baseline\ngeneral:\n  welcome_text: "a\\n- b \\\\ c"\n',
    )
    write("portals/acme.yaml", _portal("[baseline]"))
    result = invoke("explain", "portals/acme.yaml")
    assert result.exit_code == 0, result.output
    # The value's line break as \n and its backslash as \\ (JSON's spelling, as diff
    # shows it); not escaped a second time into \\n and \\\\.
    assert '  general.welcome_text: "a\\n- b \\\\ c"  (profiles/baseline.yaml:3)\n' in (
        result.output
    )


def test_a_lock_on_a_field_nothing_sets_is_an_error_not_a_guard_that_lets_all_through(
    write: Write, invoke: Invoke
) -> None:
    write(
        "profiles/baseline.yaml",
        "profile: baseline\nguest_workorder:\n  enabled: true\n"
        "locked: [guest_workorder.allow_new_relation]\n",
    )
    write("portals/acme.yaml", _portal("[baseline]") + "  allow_new_relation: true\n")
    result = invoke("lint")
    assert result.exit_code == 1
    assert (
        "profiles/baseline.yaml:4:10: error [locked-field-widened] "
        "guest_workorder.allow_new_relation is locked by profile 'baseline', but neither it "
        "nor a profile before it sets the field: the lock holds nothing; set the value it "
        "locks in the profile (effective in portals/acme.yaml)\n"
    ) in result.output
    # Set before it, by an earlier profile, the lock holds that value.
    write("profiles/first.yaml", "profile: first\nguest_workorder:\n  allow_new_relation: false\n")
    write("portals/acme.yaml", _portal("[first, baseline]") + "  allow_new_relation: true\n")
    result = invoke("lint")
    assert "the lock holds nothing" not in result.output
    assert "wider than profile 'baseline' locks it (false" in result.output


def test_a_work_type_both_added_and_removed_is_listed_twice(write: Write, invoke: Invoke) -> None:
    write(
        "profiles/baseline.yaml",
        "profile: baseline\nguest_workorder:\n  work_types: {add: [Storing], remove: [storing]}\n",
    )
    write(
        "portals/acme.yaml",
        "portal: acme\nextends: [baseline]\nguest_workorder:\n  enabled: true\n",
    )
    result = invoke("lint")
    assert result.exit_code == 1
    assert (
        "profiles/baseline.yaml:3:41: error [duplicate-work-type] work type 'storing' is "
        "listed twice (first at 3:22)\n"
    ) in result.output


@pytest.mark.parametrize("kind", ["directory", "dangling link"])
def test_a_profile_path_that_is_no_file_says_so_instead_of_unknown(
    write: Write, invoke: Invoke, project: Path, kind: str
) -> None:
    write("portals/acme.yaml", _portal("[baseline]"))
    (project / "profiles").mkdir()
    if kind == "directory":
        (project / "profiles" / "baseline.yaml").mkdir()
    else:
        (project / "profiles" / "baseline.yaml").symlink_to(project / "profiles" / "gone.yaml")
    result = invoke("lint")
    assert result.exit_code == 1
    assert "unknown profile" not in result.output
    assert "profiles/baseline.yaml:1:1: error [yaml] " in result.output
    explained = invoke("explain", "portals/acme.yaml")
    assert explained.exit_code == 2
    assert explained.output.startswith("error: explain: profiles/baseline.yaml:1:1: ")
