"""Guard rails over profiles: locks, waivers and their expiry, beyond the one example per
rule in test_rules.py; and the hooks and CI recipes that run them when a profile changes."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import REPO, Invoke, Write
from portal_config.render.recipes import RECIPES, generate

BASE = (
    "profile: base\nguest_workorder:\n  enabled: true\n  allow_new_relation: false\n"
    "  work_types: [Storing]\nlocked: [guest_workorder.allow_new_relation]\n"
)
NAMES = (
    "profile: names\nguest_workorder:\n  enabled: true\n  work_types: [Storing, Onderhoud]\n"
    "locked: [guest_workorder.work_types]\n"
)
FEWER = (
    "profile: fewer\nguest_workorder:\n  work_types: [Onderhoud, Inspectie]\n"
    "locked: [guest_workorder.work_types]\n"
)
WIDENED = (
    "portal: acme\nextends: [base]\nguest_workorder:\n  allow_new_relation: true\n"
    "acknowledged:\n  allow_new_relation: intake form\n"
)


def _waiver(days: int, field: str = "guest_workorder.allow_new_relation") -> str:
    expires = (datetime.date.today() + datetime.timedelta(days=days)).isoformat()
    return (
        f"waivers:\n  - field: {field}\n    owner: jan\n    reason: intake form\n"
        f'    expires: "{expires}"\n'
    )


def _problems(invoke: Invoke) -> list[str]:
    payload = json.loads(invoke("lint", "--format", "json").stdout)
    return [
        f"{p['path']}:{p['line']}:{p['column']}: {p['level']} [{p['rule']}] {p['message']}"
        for p in payload["problems"]
    ]


def test_an_expired_waiver_is_an_error_and_lint_fails(write: Write, invoke: Invoke) -> None:
    write("profiles/base.yaml", BASE)
    write("portals/acme.yaml", WIDENED + _waiver(-1))
    yesterday = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
    assert _problems(invoke) == [
        "portals/acme.yaml:11:14: error [waiver-expired] the waiver for "
        f"guest_workorder.allow_new_relation expired on {yesterday}; renew or end it"
    ]
    assert invoke("lint").exit_code == 1


@pytest.mark.parametrize(
    "days, said", [(0, "today"), (1, "in 1 day"), (14, "in 14 days"), (15, None)]
)
def test_a_waiver_expiring_within_14_days_is_a_warning(
    write: Write, invoke: Invoke, days: int, said: str | None
) -> None:
    write("profiles/base.yaml", BASE)
    write("portals/acme.yaml", WIDENED + _waiver(days))
    expires = (datetime.date.today() + datetime.timedelta(days=days)).isoformat()
    expected = (
        [
            "portals/acme.yaml:11:14: warning [waiver-expiring] the waiver for "
            f"guest_workorder.allow_new_relation expires {said} ({expires})"
        ]
        if said
        else []
    )
    assert _problems(invoke) == expected
    assert invoke("lint").exit_code == 0  # a warning: lint passes, unless --strict


def test_a_waiver_with_a_date_that_does_not_exist_is_an_error(write: Write, invoke: Invoke) -> None:
    # The schema's pattern takes it; a waiver that can never expire must not pass.
    write("profiles/base.yaml", BASE)
    write("portals/acme.yaml", WIDENED + _waiver(400).replace(_expiry(400), "2027-02-30"))
    assert _problems(invoke) == [
        "portals/acme.yaml:11:14: error [waiver-expired] the waiver for "
        "guest_workorder.allow_new_relation expires on 2027-02-30, which is no date; "
        "give the last day it holds as YYYY-MM-DD"
    ]


def _expiry(days: int) -> str:
    return (datetime.date.today() + datetime.timedelta(days=days)).isoformat()


def test_an_unused_waiver_is_a_warning(write: Write, invoke: Invoke) -> None:
    write("profiles/base.yaml", BASE)
    write("portals/acme.yaml", "portal: acme\nextends: [base]\n" + _waiver(100))
    assert _problems(invoke) == [
        "portals/acme.yaml:4:12: warning [unused-waiver] the waiver for "
        "guest_workorder.allow_new_relation waives nothing (no profile's lock on it is "
        "widened); remove it"
    ]


def test_a_waiver_on_a_field_no_profile_locks_says_so(write: Write, invoke: Invoke) -> None:
    write("profiles/base.yaml", BASE)
    write(
        "portals/acme.yaml",
        "portal: acme\nextends: [base]\nguest_workorder:\n  allow_address_change: true\n"
        "acknowledged:\n  allow_address_change: tenants move\n"
        + _waiver(100, "guest_workorder.allow_address_change"),
    )
    assert _problems(invoke) == [
        "portals/acme.yaml:8:12: warning [unused-waiver] the waiver for "
        "guest_workorder.allow_address_change waives nothing: no profile this portal extends "
        "locks it; remove it"
    ]


def test_a_waiver_in_a_portal_that_extends_nothing_waives_nothing(
    write: Write, invoke: Invoke
) -> None:
    write(
        "portals/acme.yaml",
        "portal: acme\nguest_workorder: {enabled: false}\n" + _waiver(100),
    )
    assert _problems(invoke) == [
        "portals/acme.yaml:4:12: warning [unused-waiver] the waiver for "
        "guest_workorder.allow_new_relation waives nothing: no profile this portal extends "
        "locks it; remove it"
    ]


@pytest.mark.parametrize("order", ["base, loose", "loose, base"])
def test_two_profiles_locking_one_field_differently_keep_the_more_restrictive(
    write: Write, invoke: Invoke, order: str
) -> None:
    write("profiles/base.yaml", BASE)
    write(
        "profiles/loose.yaml",
        "profile: loose\nguest_workorder:\n  allow_new_relation: true\n"
        "locked: [guest_workorder.allow_new_relation]\n",
    )
    write("portals/acme.yaml", f"portal: acme\nextends: [{order}]\n")
    first, second = order.split(", ")
    lines = {"base": "profiles/base.yaml:6", "loose": "profiles/loose.yaml:4"}
    values = {"base": "false", "loose": "true"}
    assert _problems(invoke) == [
        f"{lines[second]}:10: warning [locked-fields-disagree] guest_workorder.allow_new_relation: "
        f"profile '{second}' locks {values[second]}, profile '{first}' locks "
        f"{values[first]} ({lines[first]}); the more restrictive false applies "
        "(effective in portals/acme.yaml)"
    ]
    explained = invoke("explain", "portals/acme.yaml").output
    assert "guest_workorder.allow_new_relation: false  " in explained


def test_disagreeing_locks_on_names_keep_the_names_both_allow(write: Write, invoke: Invoke) -> None:
    write("profiles/names.yaml", NAMES)
    write("profiles/fewer.yaml", FEWER)
    write("portals/acme.yaml", "portal: acme\nextends: [names, fewer]\n")
    assert _problems(invoke) == [
        "profiles/fewer.yaml:4:10: warning [locked-fields-disagree] guest_workorder.work_types: "
        "profile 'fewer' locks [\"Onderhoud\", \"Inspectie\"], profile 'names' locks "
        '["Storing", "Onderhoud"] (profiles/names.yaml:5); the more restrictive ["Onderhoud"] '
        "applies (effective in portals/acme.yaml)"
    ]
    explained = json.loads(invoke("explain", "portals/acme.yaml", "--format", "json").output)
    fields = {f["field"]: f["value"] for f in explained["portals"][0]["fields"]}
    assert fields["guest_workorder.work_types"] == ["Onderhoud"]


def test_a_widened_lock_is_an_error_at_the_portals_line_naming_the_profiles_line(
    write: Write, invoke: Invoke
) -> None:
    write("profiles/base.yaml", BASE)
    write("portals/acme.yaml", WIDENED)
    result = invoke("lint")
    assert result.exit_code == 1
    assert (
        "portals/acme.yaml:4:23: error [locked-field-widened] guest_workorder.allow_new_relation "
        "is true, wider than profile 'base' locks it (false, locked at profiles/base.yaml:6); "
        "add a waiver with owner, reason and expires to the portal file if intended\n"
    ) in result.output


def test_a_name_added_to_locked_names_is_a_widening(write: Write, invoke: Invoke) -> None:
    write("profiles/names.yaml", NAMES)
    write(
        "portals/acme.yaml",
        "portal: acme\nextends: [names]\nguest_workorder:\n"
        "  work_types: [Storing, Onderhoud, Inspectie]\n",
    )
    assert _problems(invoke) == [
        "portals/acme.yaml:4:15: error [locked-field-widened] guest_workorder.work_types is "
        '["Storing", "Onderhoud", "Inspectie"], wider than profile \'names\' locks it '
        '(["Storing", "Onderhoud"], locked at profiles/names.yaml:5); add a waiver with '
        "owner, reason and expires to the portal file if intended"
    ]


def test_a_later_profile_that_widens_a_lock_is_an_error_at_its_line(
    write: Write, invoke: Invoke
) -> None:
    write("profiles/base.yaml", BASE)
    write("profiles/open.yaml", "profile: open\nguest_workorder:\n  allow_new_relation: true\n")
    write(
        "portals/acme.yaml",
        "portal: acme\nextends: [base, open]\nacknowledged:\n  allow_new_relation: intake\n",
    )
    assert _problems(invoke) == [
        "profiles/open.yaml:3:23: error [locked-field-widened] guest_workorder.allow_new_relation "
        "is true, wider than profile 'base' locks it (false, locked at profiles/base.yaml:6); "
        "add a waiver with owner, reason and expires to the portal file if intended "
        "(effective in portals/acme.yaml)"
    ]


def test_a_narrowing_override_of_a_lock_needs_no_waiver(write: Write, invoke: Invoke) -> None:
    write("profiles/names.yaml", NAMES)
    write(
        "portals/acme.yaml",
        "portal: acme\nextends: [names]\nguest_workorder:\n  work_types: [Storing]\n",
    )
    assert _problems(invoke) == []


# -- the hooks and recipes run on a profile change ---------------------------------------

PROFILE_PATHS = ["profiles/restrictive.yaml", "accounts/acme/profiles/alarm-installer.yml"]


@pytest.mark.parametrize("hook", ["portal-config-lint", "portal-config-fmt"])
def test_the_published_hooks_run_on_a_profile_change(hook: str) -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    files = re.compile(next(h for h in hooks if h["id"] == hook)["files"])
    for path in PROFILE_PATHS + ["portals/acme.yaml", "accounts/acme/portals/acme.yaml"]:
        assert files.search(path), (hook, path)
    for path in ["README.md", "profiles.md", "docs/profiles/x.yaml"]:
        assert not files.search(path), (hook, path)


@pytest.mark.parametrize("hook", ["portal-config-lint", "portal-config-fmt"])
def test_this_repositorys_own_hooks_run_on_a_profile_change(hook: str) -> None:
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    found = [h for repo in config["repos"] for h in repo["hooks"] if h["id"] == hook]
    assert re.compile(found[0]["files"]).search("profiles/restrictive.yaml")


def _glob(pattern: str) -> re.Pattern[str]:
    """A GitHub `paths:` filter pattern (`**` any path, `*` within one directory)."""
    parts = re.split(r"(\*\*|\*)", pattern)
    regex = "".join(
        ".*" if part == "**" else "[^/]*" if part == "*" else re.escape(part) for part in parts
    )
    return re.compile(regex + r"\Z")


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_recipe_that_filters_paths_runs_on_a_profile_change(name: str) -> None:
    recipe = yaml.safe_load(generate()[name])
    triggers = recipe[True]  # YAML 1.1 reads the key `on` as true
    filtered = [t["paths"] for t in triggers.values() if isinstance(t, dict) and "paths" in t]
    if not filtered:
        return  # the drift recipes run on a schedule, whatever changed
    fleet = "fleet" in name
    wanted = ["profiles/restrictive.yaml"]
    if fleet:
        wanted.append("accounts/acme/profiles/alarm-installer.yaml")
    for paths in filtered:
        for path in wanted:
            assert any(_glob(p).match(path) for p in paths), (name, path, paths)


def test_fmt_formats_a_profile_the_hook_passes_it(write: Write, invoke: Invoke) -> None:
    write("profiles/alarm.yaml", "guest_workorder:\n  enabled: true\nprofile: alarm\n")
    write(
        "portals/acme.yaml", "portal: acme\nextends: [alarm]\nguest_workorder:\n  work_types: [A]\n"
    )
    assert invoke("fmt", "profiles/alarm.yaml").exit_code == 0
    assert Path("profiles/alarm.yaml").read_text(encoding="utf-8") == (
        "profile: alarm\nguest_workorder:\n  enabled: true\n"
    )
