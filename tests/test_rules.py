"""Every rule with a passing and a failing example, exact positions and messages."""

from __future__ import annotations

import datetime
import json

import pytest

from conftest import Invoke, Write
from portal_config.lint.rules import RULES

# A profile that locks one guest permission, and portal files over it (the guard rails).
BASE = (
    "profile: base\nguest_workorder:\n  enabled: true\n  allow_new_relation: false\n"
    "  work_types: [Storing]\nlocked: [guest_workorder.allow_new_relation]\n"
)
LOOSE = (
    "profile: loose\nguest_workorder:\n  allow_new_relation: true\n"
    "locked: [guest_workorder.allow_new_relation]\n"
)
EXTENDS = "portal: acme\nextends: [base]\n"
EXTRA = "profile: extra\nguest_workorder:\n  work_types: {add: [Onderhoud]}\n"
WIDENED = (
    EXTENDS + "guest_workorder:\n  allow_new_relation: true\nacknowledged:\n"
    "  allow_new_relation: intake form\n"
)
WAIVER = (
    "waivers:\n  - field: guest_workorder.allow_new_relation\n    owner: jan\n"
    '    reason: intake form\n    expires: "{}"\n'
)
SOON = (datetime.date.today() + datetime.timedelta(days=5)).isoformat()


def _waived(date: str) -> dict[str, str]:
    return {"profiles/base.yaml": BASE, "portals/acme.yaml": WIDENED + WAIVER.format(date)}


# rule id -> (files that pass, files that fail, expected problems of the failing set)
CASES: dict[str, tuple[dict[str, str], dict[str, str], list[str]]] = {
    "portal-id-matches-filename": (
        {"portals/acme.yaml": "portal: acme\nguest_workorder: {enabled: false}\n"},
        {"portals/acme.yaml": "portal: acme-old\nguest_workorder: {enabled: false}\n"},
        [
            "portals/acme.yaml:1:9: error: portal id 'acme-old' does not match the file name 'acme'; rename one of them"
        ],
    ),
    "duplicate-portal-id": (
        {
            "portals/a/acme.yaml": "portal: acme\nguest_workorder: {enabled: false}\n",
            "portals/b/beta.yaml": "portal: beta\nguest_workorder: {enabled: false}\n",
        },
        {
            "portals/a/acme.yaml": "portal: acme\nguest_workorder: {enabled: false}\n",
            "portals/b/acme.yaml": "# copy\nportal: acme\nguest_workorder: {enabled: false}\n",
        },
        [
            "portals/a/acme.yaml:1:9: error: portal id 'acme' is also used in portals/b/acme.yaml:2:9",
            "portals/b/acme.yaml:2:9: error: portal id 'acme' is also used in portals/a/acme.yaml:1:9",
        ],
    ),
    "guests-without-work-types": (
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: true\n  work_types: [Storing]\n"
        },
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: true\n  work_types: []\n"
        },
        [
            "portals/acme.yaml:4:3: error: guests are enabled but no work types are listed, so guests cannot submit anything"
        ],
    ),
    "work-types-while-disabled": (
        {"portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: false\n"},
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: false\n  work_types: [Storing]\n"
        },
        [
            "portals/acme.yaml:4:3: warning: work types are listed but guests are disabled, so the list has no effect"
        ],
    ),
    "permissive-guest-access": (
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: true\n  allow_new_relation: true\n"
            "  work_types: [Storing]\nacknowledged:\n  allow_new_relation: intake form\n"
        },
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: true\n  allow_new_relation: true\n"
            "  allow_address_change: true\n  allow_requests_for_others: false\n  work_types: [Storing]\n"
            "acknowledged:\n  allow_address_change: tenants move\n"
        },
        [
            "portals/acme.yaml:4:23: warning: allow_new_relation is true while guests are enabled; guest access is "
            "usually kept restricted (acknowledge it under 'acknowledged: allow_new_relation: <reason>' if intended)"
        ],
    ),
    "unknown-work-type": (
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: true\n  work_types: [Storing, Plaatsing alarm]\n",
            "worktypes.yaml": "work_types: [Storing, Plaatsing alarm]\n",
        },
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: true\n  work_types: [Stroing, storing, Schilderen]\n",
            "worktypes.yaml": "work_types: [Storing, Plaatsing alarm]\n",
        },
        [
            "portals/acme.yaml:4:16: error: work type 'Stroing' is not in the catalog worktypes.yaml; did you mean 'Storing'?",
            "portals/acme.yaml:4:25: error: work type 'storing' is not in the catalog worktypes.yaml; did you mean 'Storing'?",
            "portals/acme.yaml:4:34: error: work type 'Schilderen' is not in the catalog worktypes.yaml",
        ],
    ),
    "inactive-work-type": (
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: true\n  work_types: [Storing]\n",
            "worktypes.yaml": "work_types: [Storing, Onderhoud]\ninactive_work_types: [Onderhoud oud, Legionellacontrole]\n",
        },
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: true\n  work_types: [Storing, Onderhoud oud, Legionellacontrole]\n",
            "worktypes.yaml": "work_types: [Storing, Onderhoud]\ninactive_work_types: [Onderhoud oud, Legionellacontrole]\n",
        },
        [
            "portals/acme.yaml:4:25: error: work type 'Onderhoud oud' is inactive in the OutSmart account (worktypes.yaml); did you mean 'Onderhoud'?",
            "portals/acme.yaml:4:40: error: work type 'Legionellacontrole' is inactive in the OutSmart account (worktypes.yaml)",
        ],
    ),
    "unused-acknowledgement": (
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: true\n"
            "  allow_new_relation: true\n  work_types: [Storing]\n"
            "acknowledged:\n  allow_new_relation: Tenants register here.\n"
        },
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: true\n"
            "  work_types: [Storing]\nacknowledged:\n  allow_new_relation: Tenants register here.\n",
            "portals/beta.yaml": "portal: beta\nguest_workorder:\n  enabled: false\n"
            "acknowledged:\n  allow_address_change: Tenants move.\n",
        },
        [
            "portals/acme.yaml:6:3: warning: acknowledged.allow_new_relation has nothing to "
            "acknowledge: allow_new_relation is false; remove it",
            "portals/beta.yaml:5:3: warning: acknowledged.allow_address_change has nothing to "
            "acknowledge: guests are disabled; remove it",
        ],
    ),
    "truthy": (
        {"portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: false\n"},
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: on\n"
            "  allow_new_relation: No\n  allow_address_change: FALSE\n"
        },
        [
            "portals/acme.yaml:3:12: warning: `on` is read as true only by YAML 1.1 readers; write true",
            "portals/acme.yaml:4:23: warning: `No` is read as false only by YAML 1.1 readers; write false",
            "portals/acme.yaml:5:25: warning: `FALSE` is read as false only by YAML 1.1 readers; write false",
        ],
    ),
    "duplicate-work-type": (
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: true\n  work_types: [Storing, Onderhoud]\n"
        },
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: true\n  work_types:\n    - Storing\n"
            "    - Onderhoud\n    - storing\n"
        },
        ["portals/acme.yaml:7:7: error: work type 'storing' is listed twice (first at 5:7)"],
    ),
    "url-name-one-word": (
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder: {enabled: false}\ngeneral:\n  url_name: acme_fm-2\n"
        },
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder: {enabled: false}\ngeneral:\n  url_name: Acme FM\n"
        },
        [
            'portals/acme.yaml:4:13: error: the URL name "Acme FM" is not one word; OutSmart puts it in the portal\'s address: use letters, digits, hyphens or underscores, without spaces'
        ],
    ),
    "request-email-address": (
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder: {enabled: false}\ngeneral:\n  request_email: planning@acme.nl\n"
        },
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder: {enabled: false}\ngeneral:\n  request_email: planning at acme\n"
        },
        [
            'portals/acme.yaml:4:18: error: "planning at acme" is not an e-mail address (name@domain.tld); new requests would be announced to nobody'
        ],
    ),
    "guest-wider-than-users": (
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: true\n  allow_address_change: true\n"
            "  work_types: [Storing]\nacknowledged:\n  allow_address_change: moves\n"
            "user_settings:\n  work_types: [Storing, Onderhoud]\n  allow_customer_details_change: true\n"
        },
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: true\n  allow_address_change: true\n"
            "  work_types: [Storing, Onderhoud]\nacknowledged:\n  allow_address_change: moves\n"
            "user_settings:\n  work_types: [Storing]\n  allow_customer_details_change: false\n"
        },
        [
            "portals/acme.yaml:4:25: warning: guests may change addresses while the portal's users may not change customer details (Moet gasttoegang beperkter zijn? Meestal wel)",
            'portals/acme.yaml:5:25: warning: work type "Onderhoud" is offered to guests but not to the portal\'s users (Moet gasttoegang beperkter zijn? Meestal wel)',
        ],
    ),
    "guests-without-acceptance": (
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: true\n  work_types: [Storing]\n"
            "general:\n  required_to_accept: true\n"
        },
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: true\n  work_types: [Storing]\n"
            "general:\n  required_to_accept: false\n"
        },
        [
            "portals/acme.yaml:6:23: warning: guest requests are on but the portal does not require acceptance, so anonymous requests would go straight into planning"
        ],
    ),
    "settings-while-portal-disabled": (
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: false\n"
            "general:\n  enabled: false\n"
        },
        {
            "portals/acme.yaml": "portal: acme\nguest_workorder:\n  enabled: false\n"
            "general:\n  enabled: false\ndisplay:\n  invoices: true\n"
        },
        [
            "portals/acme.yaml:6:1: warning: display is set but the portal is switched off, so it has no effect"
        ],
    ),
    "unknown-profile": (
        {"profiles/base.yaml": BASE, "portals/acme.yaml": EXTENDS},
        {
            "profiles/base.yaml": BASE,
            "portals/acme.yaml": "portal: acme\nextends: [bse]\nguest_workorder: {enabled: false}\n",
        },
        ["portals/acme.yaml:2:11: error: unknown profile 'bse'; did you mean 'base'?"],
    ),
    "profile-name-matches-filename": (
        {"profiles/base.yaml": BASE, "portals/acme.yaml": EXTENDS},
        {
            "profiles/base.yaml": BASE.replace("profile: base", "profile: basis"),
            "portals/acme.yaml": "portal: acme\nguest_workorder: {enabled: false}\n",
        },
        [
            "profiles/base.yaml:1:10: error: profile name 'basis' does not match the file name "
            "'base'; rename one"
        ],
    ),
    "locked-field-widened": (
        {"profiles/base.yaml": BASE, "portals/acme.yaml": EXTENDS},
        {"profiles/base.yaml": BASE, "portals/acme.yaml": WIDENED},
        [
            "portals/acme.yaml:4:23: error: guest_workorder.allow_new_relation is true, wider "
            "than profile 'base' locks it (false, locked at profiles/base.yaml:6); add a waiver "
            "with owner, reason and expires to the portal file if intended"
        ],
    ),
    "waiver-expired": (
        _waived("2099-12-31"),
        _waived("2020-01-01"),
        [
            "portals/acme.yaml:11:14: error: the waiver for guest_workorder.allow_new_relation "
            "expired on 2020-01-01; renew or end it"
        ],
    ),
    "waiver-expiring": (
        _waived("2099-12-31"),
        _waived(SOON),
        [
            "portals/acme.yaml:11:14: warning: the waiver for guest_workorder.allow_new_relation "
            f"expires in 5 days ({SOON})"
        ],
    ),
    "unused-waiver": (
        _waived("2099-12-31"),
        {"profiles/base.yaml": BASE, "portals/acme.yaml": EXTENDS + WAIVER.format("2099-12-31")},
        [
            "portals/acme.yaml:4:12: warning: the waiver for guest_workorder.allow_new_relation "
            "waives nothing (no profile's lock on it is widened); remove it"
        ],
    ),
    "locked-fields-disagree": (
        {"profiles/base.yaml": BASE, "profiles/loose.yaml": LOOSE, "portals/acme.yaml": EXTENDS},
        {
            "profiles/base.yaml": BASE,
            "profiles/loose.yaml": LOOSE,
            "portals/acme.yaml": "portal: acme\nextends: [base, loose]\n",
        },
        [
            "profiles/loose.yaml:4:10: warning: guest_workorder.allow_new_relation: profile "
            "'loose' locks true, profile 'base' locks false (profiles/base.yaml:6); the more "
            "restrictive false applies (effective in portals/acme.yaml)"
        ],
    ),
    "redundant-override": (
        {"profiles/base.yaml": BASE, "portals/acme.yaml": EXTENDS},
        {
            "profiles/base.yaml": BASE,
            "portals/acme.yaml": EXTENDS + "guest_workorder:\n  enabled: true\n",
        },
        [
            "portals/acme.yaml:4:12: warning: guest_workorder.enabled is true, as it already is "
            "from profiles/base.yaml:3; remove the override"
        ],
    ),
    "discarded-edit": (
        {
            "profiles/base.yaml": BASE,
            "profiles/extra.yaml": EXTRA,
            "portals/acme.yaml": "portal: acme\nextends: [base, extra]\n",
        },
        {
            "profiles/base.yaml": BASE,
            "profiles/extra.yaml": EXTRA,
            "portals/acme.yaml": "portal: acme\nextends: [extra, base]\n",
        },
        [
            "profiles/extra.yaml:3:15: warning: guest_workorder.work_types: this edit changes "
            "nothing: profiles/base.yaml:5, extended after it, replaces the whole list; extend "
            "that profile first, or make it an edit too (effective in portals/acme.yaml)"
        ],
    ),
}


def test_every_rule_has_examples() -> None:
    assert set(CASES) == set(RULES)


def _lint_rule(invoke: Invoke, rule_id: str) -> list[str]:
    payload = json.loads(invoke("lint", "--format", "json").stdout)
    return [
        f"{p['path']}:{p['line']}:{p['column']}: {p['level']}: {p['message']}"
        for p in payload["problems"]
        if p["rule"] == rule_id
    ]


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_passes_good_example(rule_id: str, write: Write, invoke: Invoke) -> None:
    for path, text in CASES[rule_id][0].items():
        write(path, text)
    result = invoke("lint", "--format", "json")
    assert json.loads(result.stdout)["problems"] == []
    assert result.exit_code == 0


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_reports_bad_example(rule_id: str, write: Write, invoke: Invoke) -> None:
    for path, text in CASES[rule_id][1].items():
        write(path, text)
    assert _lint_rule(invoke, rule_id) == CASES[rule_id][2]


def test_duplicate_portal_id_is_found_when_only_one_file_is_linted(
    write: Write, invoke: Invoke
) -> None:
    write("portals/acme.yaml", "portal: acme\nguest_workorder: {enabled: false}\n")
    write("portals/sub/acme.yaml", "portal: acme\nguest_workorder: {enabled: false}\n")
    result = invoke("lint", "portals/sub/acme.yaml", "--format", "json")
    problems = json.loads(result.stdout)["problems"]
    assert [(p["path"], p["message"]) for p in problems] == [
        ("portals/sub/acme.yaml", "portal id 'acme' is also used in portals/acme.yaml:1:9"),
    ]


def test_guests_enabled_without_work_types_key_points_at_the_section(
    write: Write, invoke: Invoke
) -> None:
    write("portals/acme.yaml", "portal: acme\nguest_workorder:\n  enabled: true\n")
    assert _lint_rule(invoke, "guests-without-work-types") == [
        "portals/acme.yaml:2:1: error: guests are enabled but no work types are listed, so guests cannot submit anything"
    ]


def test_config_changes_rule_levels(write: Write, invoke: Invoke) -> None:
    write(
        "portal-config.yaml",
        "rules:\n  work-types-while-disabled: error\n  permissive-guest-access: disable\n",
    )
    write(
        "portals/acme.yaml",
        "portal: acme\nguest_workorder:\n  enabled: false\n  work_types: [Storing]\n",
    )
    write(
        "portals/beta.yaml",
        "portal: beta\nguest_workorder: {enabled: true, allow_new_relation: true, work_types: [x]}\n",
    )
    assert _lint_rule(invoke, "work-types-while-disabled") == [
        "portals/acme.yaml:4:3: error: work types are listed but guests are disabled, so the list has no effect"
    ]
    assert _lint_rule(invoke, "permissive-guest-access") == []
    assert invoke("lint").exit_code == 1


def test_disable_comment_switches_a_rule_off_for_one_file(write: Write, invoke: Invoke) -> None:
    write(
        "portals/acme.yaml",
        "# portal-config: disable work-types-while-disabled\n"
        "portal: acme\nguest_workorder: {enabled: false, work_types: [Storing]}\n",
    )
    write(
        "portals/beta.yaml",
        "portal: beta\nguest_workorder: {enabled: false, work_types: [Storing]}\n",
    )
    assert _lint_rule(invoke, "work-types-while-disabled") == [
        "portals/beta.yaml:2:35: warning: work types are listed but guests are disabled, so the list has no effect"
    ]


def test_disable_comment_with_unknown_rule_is_an_error(write: Write, invoke: Invoke) -> None:
    write(
        "portals/acme.yaml",
        "portal: acme  # portal-config: disable duplicate-work-types, portal-id-matches-filename\n"
        "guest_workorder: {enabled: false}\n",
    )
    result = invoke("lint")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        "portals/acme.yaml:1:40: error [directive] disable comment: unknown rule 'duplicate-work-types'; did you mean 'duplicate-work-type'?"
    )


def test_a_disable_comment_that_silences_nothing_is_a_warning(write: Write, invoke: Invoke) -> None:
    write(
        "portals/acme.yaml",
        "# portal-config: disable work-types-while-disabled, duplicate-work-type\n"
        "portal: acme\nguest_workorder: {enabled: false, work_types: [Storing]}\n",
    )
    result = invoke("lint", "--format", "json")
    problems = [
        (p["line"], p["column"], p["level"], p["rule"], p["message"])
        for p in json.loads(result.stdout)["problems"]
    ]
    assert problems == [  # work-types-while-disabled silences a hit here; the other does not
        (
            1,
            53,
            "warning",
            "directive",
            "disable comment: rule 'duplicate-work-type' reports nothing here; remove it",
        )
    ]
    assert result.exit_code == 0  # a warning: fails only with --strict


def test_broken_catalog_is_reported(write: Write, invoke: Invoke) -> None:
    write("worktypes.yaml", "work_types:\n  - Storing\n  - no\nextra: 1\n")
    write("portals/acme.yaml", "portal: acme\nguest_workorder: {enabled: false}\n")
    result = invoke("lint", "--format", "json")
    problems = json.loads(result.stdout)["problems"]
    assert [(p["path"], p["line"], p["column"], p["message"]) for p in problems] == [
        (
            "worktypes.yaml",
            3,
            5,
            "work type names must be non-empty strings: `no` was read as a boolean false "
            '(YAML 1.1 reads yes/no/on/off as booleans); quote it: "no"',
        ),
        (
            "worktypes.yaml",
            4,
            1,
            "unknown key 'extra'; a catalog holds only work_types and inactive_work_types",
        ),
    ]


def test_catalog_lists_must_not_overlap(write: Write, invoke: Invoke) -> None:
    write("worktypes.yaml", "work_types: [Storing, Oud]\ninactive_work_types:\n  - Oud\n")
    write("portals/acme.yaml", "portal: acme\nguest_workorder: {enabled: false}\n")
    result = invoke("lint")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        "worktypes.yaml:3:5: error [catalog] work type 'Oud' is listed as both active and inactive"
    )


def test_catalog_must_be_a_mapping(write: Write, invoke: Invoke) -> None:
    write("worktypes.yaml", "- Storing\n")
    write("portals/acme.yaml", "portal: acme\nguest_workorder: {enabled: false}\n")
    result = invoke("lint")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        "worktypes.yaml:1:1: error [yaml] top level must be a mapping of settings, found a list"
    )


def test_every_rules_needs_names_keys_a_portal_file_or_a_profile_can_hold() -> None:
    # A misspelt NEEDS would switch its rule off silently: lint skips files without the key.
    from portal_config.lint.rules import NEEDS, ON_PROFILES, PROJECT_WIDE
    from portal_config.settings.schemas import portal_schema, profile_schema

    keys = set(portal_schema()["properties"]) | set(profile_schema()["properties"])
    for rule_id, rule in RULES.items():
        assert NEEDS[rule] <= keys, rule_id
        assert not (rule in ON_PROFILES and rule in PROJECT_WIDE), rule_id
    assert NEEDS[RULES["unknown-profile"]] == {"extends"}
    assert NEEDS[RULES["profile-name-matches-filename"]] == {"profile"}
