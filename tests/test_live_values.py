"""Live data the files cannot name: odd unmanaged ids, `ignore:`, and live values no file can hold.

Every case runs against the real sandbox server, whose state holds what a hostile or merely
untidy OutSmart account could: ids outside the portal id pattern, work types with a trailing
space, the same work type twice.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from conftest import REPO, Invoke, revisions
from guest import guest, guest_settings
from portal_config.live import wire
from portal_config.plan.live_values import is_file_id, shown_id, unrepresentable
from portal_config.project.config_reader import load_config
from portal_config.sandbox import Sandbox
from portal_config.sandbox.demo import demo_account
from portal_config.settings.model import PortalSettings

PLAN_SCHEMA = json.loads((REPO / "schema" / "plan.schema.json").read_text(encoding="utf-8"))

# Ids OutSmart may hold that no portal file can use, each with how a line of text shows it.
ODD_IDS = {
    "Acme_Legacy": '"Acme_Legacy"',
    "Oud portaal (2019)": '"Oud portaal (2019)"',
    "café-noord": '"café-noord"',  # printable text is shown as it is
    "<img src=x>`@team": '"<img src=x>`@team"',
    "x\n::error::forged": '"x\\n::error::forged"',
    "\x1b]0;owned\x07\u202etxt": '"\\x1b]0;owned\\x07\\u202etxt"',
    # The text "\x1b" and a quote: escaped, so they read apart from an ESC and the end.
    'say "\\x1b"': '"say \\"\\\\x1b\\""',
    "a" * 64: '"' + "a" * 64 + '"',  # the pattern's characters, but longer than a file id
}


def add_portal(sandbox: Sandbox, portal_id: str, **guest: Any) -> None:
    record = copy.deepcopy(sandbox.state.data["portals"]["oud-portaal"])
    record["portal_id"] = portal_id
    record["guest_workorder"].update(guest)
    sandbox.state.data["portals"][portal_id] = record


def write_config(project: Path, extra: str) -> None:
    config = project / "portal-config.yaml"
    config.write_text(config.read_text(encoding="utf-8") + extra, encoding="utf-8")


# -- unmanaged portals whose ids no file can use ------------------------------------------
def test_a_saved_plan_lists_odd_unmanaged_ids_apart_and_show_and_apply_read_it(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    for portal_id in ODD_IDS:
        add_portal(sandbox, portal_id)
    diff = invoke("diff", "--out", "plan.json")
    assert diff.exit_code == 3, diff.output
    plan = json.loads((live_project / "plan.json").read_text(encoding="utf-8"))
    assert list(Draft202012Validator(PLAN_SCHEMA).iter_errors(plan)) == []
    assert plan["unmanaged"] == ["oud-portaal"]
    assert plan["unmanaged_other_ids"] == sorted(ODD_IDS)
    shown = json.loads(invoke("show", "plan.json", "--format", "json").stdout)
    assert shown["summary"]["unmanaged"] == 1 + len(ODD_IDS)

    show = invoke("show", "plan.json")
    assert show.exit_code == 0, show.output
    lines = show.output.splitlines()
    for portal_id in sorted(ODD_IDS):
        shown = ODD_IDS[portal_id]
        assert f"? {shown}  unmanaged: exists in OutSmart, no file; never touched" in lines
    assert "\x1b" not in show.output and "\x07" not in show.output and "\u202e" not in show.output
    assert not any(line.startswith("::") for line in lines)
    assert lines[-1] == "Plan: 2 to update, 3 unchanged, 9 unmanaged; 2 widen guest access."
    assert show.output == diff.output

    before = copy.deepcopy({p: sandbox.state.data["portals"][p] for p in ODD_IDS})
    applied = invoke("apply", "plan.json", "--yes")
    assert applied.exit_code == 0, applied.output
    assert {p: sandbox.state.data["portals"][p] for p in ODD_IDS} == before
    assert all(revisions(sandbox)[p] == 1 for p in ODD_IDS)


@pytest.mark.parametrize(
    ("unmanaged", "other", "line"),
    [
        (
            ["Acme_Legacy"],
            ["oud-portaal"],
            "unmanaged[0]: 'Acme_Legacy' is not a valid portal id; "
            "use lowercase letters, digits and single hyphens, e.g. acme-facilities",
        ),
        (
            [],
            ["Acme_Legacy", "oud-portaal"],
            "unmanaged_other_ids[1]: 'oud-portaal' is a portal id a file can use; "
            "list it in unmanaged",
        ),
    ],
    ids=["an odd id in the strict list", "a file id in the other list"],
)
def test_each_unmanaged_id_must_be_in_its_own_list(
    live_project: Path,
    sandbox: Sandbox,
    invoke: Invoke,
    unmanaged: list[str],
    other: list[str],
    line: str,
) -> None:
    add_portal(sandbox, "Acme_Legacy")
    assert invoke("diff", "--out", "plan.json").exit_code == 3
    plan = json.loads((live_project / "plan.json").read_text(encoding="utf-8"))
    moved = dict(plan, unmanaged=unmanaged, unmanaged_other_ids=other)
    (live_project / "plan.json").write_text(json.dumps(moved), encoding="utf-8")
    result = invoke("show", "plan.json")
    assert result.exit_code == 2
    assert result.output == f"invalid plan: plan.json: {line}\n"


@pytest.mark.parametrize(
    ("portal_id", "reason"),
    [
        ("", "portal_id '' is not text of 1 to 1000 characters"),
        ("x" * 1001, "portal_id 'xxxxxxxxxx"),
        (None, "portal_id None is not text of 1 to 1000 characters"),
        (7, "portal_id 7 is not text of 1 to 1000 characters"),
    ],
    ids=["empty", "too long", "null", "a number"],
)
def test_a_portal_id_no_plan_can_hold_is_an_api_error(
    live_project: Path, sandbox: Sandbox, invoke: Invoke, portal_id: object, reason: str
) -> None:
    add_portal(sandbox, "placeholder")
    sandbox.state.data["portals"]["placeholder"]["portal_id"] = portal_id
    result = invoke("diff")
    assert result.exit_code == 4
    assert reason in result.output
    assert result.output.count("\n") <= 2  # the target line and one error line


def test_the_plan_schema_bounds_other_ids_as_the_wire_does() -> None:
    assert PLAN_SCHEMA["$defs"]["other_id"]["maxLength"] == wire.MAX_PORTAL_ID


@pytest.mark.parametrize("command", ["show", "apply"])
def test_a_saved_plan_holding_a_live_value_no_file_can_is_refused_in_one_line(
    live_project: Path, sandbox: Sandbox, invoke: Invoke, command: str
) -> None:
    assert invoke("diff", "--out", "plan.json").exit_code == 3
    plan = json.loads((live_project / "plan.json").read_text(encoding="utf-8"))
    secura = plan["portals"][3]
    # Nothing but the duplicate: the fingerprint and the changes are derived from it.
    doubled = PortalSettings.from_json(secura["live"])
    names = guest(doubled, "work_types")
    secura["live"]["guest_workorder"]["work_types"] = [*names, names[0]]
    doubled = PortalSettings.from_json(secura["live"])
    secura["live"] = doubled.to_json()
    (live_project / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    seen = sandbox.requests_seen
    result = (
        invoke(command, "plan.json", "--yes")
        if command == "apply"
        else invoke(command, "plan.json")
    )
    assert result.exit_code == 2
    assert result.output == (
        "invalid plan: plan.json: secura-alarm: portals[3].live.work_types: "
        '"Plaatsing alarm" is listed twice\n'
    )
    assert sandbox.requests_seen == seen


# -- ignore: ------------------------------------------------------------------------------
def test_ignore_leaves_live_portals_out_of_diff_plans_apply_drift_and_pull(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    add_portal(sandbox, "Acme_Legacy")
    add_portal(sandbox, "test portal 1")
    write_config(live_project, "ignore:\n  - Acme_Legacy\n  - test portal ?\n  - oud-*\n")

    diff = invoke("diff", "--out", "plan.json")
    assert diff.exit_code == 3, diff.output
    assert "unmanaged" not in diff.output
    assert diff.output.endswith("Plan: 2 to update, 3 unchanged; 2 widen guest access.\n")
    plan = json.loads((live_project / "plan.json").read_text(encoding="utf-8"))
    assert (plan["unmanaged"], plan["unmanaged_other_ids"]) == ([], [])
    shown = json.loads(invoke("show", "plan.json", "--format", "json").stdout)
    assert shown["summary"]["unmanaged"] == 0

    assert invoke("show", "plan.json").output == diff.output
    applied = invoke("apply", "plan.json", "--yes")
    assert applied.exit_code == 0, applied.output
    assert "unmanaged" not in applied.output
    drift = invoke("drift")
    assert drift.output.endswith("No drift. 5 portals as the files say.\n"), drift.output

    pulled = invoke("pull", "--dir", "pulled", "--no-catalog")
    assert pulled.exit_code == 0, pulled.output
    assert sorted(p.name for p in (live_project / "pulled").iterdir()) == [
        "acme-facilities.yaml",
        "gemeente-intern.yaml",
        "klimaat-techniek.yaml",
        "secura-alarm.yaml",
        "woonstede-noord.yaml",
    ]
    named = invoke("pull", "--portal", "oud-portaal", "--no-catalog")
    assert named.exit_code == 1
    assert (
        'refused: oud-portaal: ignored by ignore: "oud-*" in portal-config.yaml\n' in named.output
    )
    assert not (live_project / "portals" / "oud-portaal.yaml").exists()


def test_a_file_for_an_ignored_portal_is_an_error_not_silently_skipped(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    write_config(live_project, "ignore: [acme-*]\n")
    result = invoke("diff")
    assert result.exit_code == 1
    assert (
        "portals/acme-facilities.yaml:2:9: error [ignored-portal] portal 'acme-facilities' is "
        'ignored by ignore: "acme-*" in portal-config.yaml, but has a file; remove one'
    ) in result.output.splitlines()
    assert result.output.endswith("refused: 1 portal file(s) name portals the config ignores\n")
    applied = invoke("apply", "--yes")
    assert applied.exit_code == 1
    assert sandbox.requests_seen > 0 and revisions(sandbox)["acme-facilities"] == 1


def test_a_saved_plan_that_plans_an_ignored_portal_is_refused(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    assert invoke("diff", "--out", "plan.json").exit_code == 3
    write_config(live_project, "ignore: [klimaat-*]\n")
    seen = sandbox.requests_seen
    result = invoke("apply", "plan.json", "--yes")
    assert result.exit_code == 2
    assert result.output == (
        "invalid plan: plan.json: klimaat-techniek: portals[2].portal is ignored by ignore: "
        '"klimaat-*" in portal-config.yaml\n'
    )
    assert sandbox.requests_seen == seen


@pytest.mark.parametrize(
    ("config", "line"),
    [
        (
            "ignore: Acme_Legacy\n",
            "portal-config.yaml:1:9: ignore must be a list or null, got the string 'Acme_Legacy'",
        ),
        ("ignore: ['']\n", "portal-config.yaml:1:10: ignore[0] must not be empty"),
        (
            "ignore: [a, 7]\n",
            "portal-config.yaml:1:13: ignore[1] must be a string: `7` was read as an integer 7; "
            'quote it: "7"',
        ),
        (
            "accounts:\n  acme:\n    ignore: {x: 1}\n",
            "portal-config.yaml:3:13: accounts.acme.ignore must be a list or null, got a mapping",
        ),
    ],
    ids=["not a list", "empty pattern", "not a string", "account's not a list"],
)
def test_ignore_config_errors_are_positioned(
    project: Path, invoke: Invoke, config: str, line: str
) -> None:
    (project / "portal-config.yaml").write_text(config, encoding="utf-8")
    result = invoke("lint")
    assert result.exit_code == 2
    assert result.output.startswith(f"invalid config: {line}")
    assert result.output.count("\n") == 1


def test_an_accounts_ignore_adds_to_the_top_level_one(project: Path) -> None:
    (project / "portal-config.yaml").write_text(
        "ignore: [Acme_Legacy]\naccounts:\n  acme:\n    ignore: ['test-*']\n  beta:\n",
        encoding="utf-8",
    )
    config = load_config()
    assert config.ignore.patterns == ("Acme_Legacy",)
    assert config.for_account("acme").ignore.patterns == ("Acme_Legacy", "test-*")
    assert config.for_account("beta").ignore.patterns == ("Acme_Legacy",)
    assert config.for_account("acme").ignore.pattern_for("test-7") == "test-*"
    assert config.for_account("acme").ignore.pattern_for("Test-7") is None  # case-sensitive


# -- live values no file can hold ---------------------------------------------------------
TRAILING = (
    "work_types[0]: 'Storing ' is not a valid work type; remove the leading or trailing spaces"
)
CHANGE_IT = "change it in OutSmart (portal-config never rewrites a live value silently)"


def test_diff_refuses_a_managed_portals_live_value_no_file_can_hold(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    sandbox.state.edit("acme-facilities", work_types=["Storing "])
    result = invoke("diff", "--out", "plan.json")
    assert result.exit_code == 1
    assert (
        "portals/acme-facilities.yaml:2:9: error [live-value] live portal 'acme-facilities' "
        f"holds what no portal file can: {TRAILING}; {CHANGE_IT}"
    ) in result.output.splitlines()
    assert result.output.endswith(
        "refused: 1 live portal(s) in target test hold what no portal file can\n"
    )
    assert not (live_project / "plan.json").exists()
    assert invoke("drift").exit_code == 1
    before = revisions(sandbox)
    assert invoke("apply", "--yes").exit_code == 1
    assert revisions(sandbox) == before


# What each kind of live value a file cannot hold makes pull and a plan say.
UNREPRESENTABLE = {
    "a trailing space": (["Storing "], "work_types[0]: 'Storing ' is not a valid work type"),
    "a leading tab": (["\tStoring"], "work_types[0]: '\\tStoring' is not a valid work type"),
    "a newline inside": (["Sto\nring"], "work_types[0]: 'Sto\\nring' is not a valid work type"),
    "too long": (["x" * 101], "work_types[0] is 101 characters long; at most 100 are allowed"),
    "listed twice": (["Storing", "Storing"], 'work_types: "Storing" is listed twice'),
    "too many": ([f"t{i}" for i in range(1001)], "work_types has 1001 items; at most 1000"),
}


@pytest.mark.parametrize(
    ("work_types", "reason"), UNREPRESENTABLE.values(), ids=UNREPRESENTABLE.keys()
)
def test_each_kind_of_unrepresentable_live_value_is_named(
    work_types: list[str], reason: str
) -> None:
    reasons = unrepresentable(guest_settings("acme", True, work_types=tuple(work_types)))
    assert len(reasons) == 1 and reasons[0].startswith(reason)


def test_representable_settings_pass_without_importing_jsonschema() -> None:
    settings = guest_settings("acme", True, work_types=("Storing", "Plaatsing alarm", "a: b"))
    assert unrepresentable(settings) == []


def test_is_file_id_and_shown_id() -> None:
    assert is_file_id("acme-facilities") and not is_file_id("Acme_Legacy")
    assert not is_file_id("a" * 64) and is_file_id("a" * 63)
    for portal_id, shown in ODD_IDS.items():
        assert not is_file_id(portal_id)
        assert shown_id(portal_id) == shown
    assert shown_id("oud-portaal") == "oud-portaal"


def test_pull_refuses_a_live_value_lint_would_reject_and_writes_the_rest(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    acme = live_project / "portals" / "acme-facilities.yaml"
    before = acme.read_text(encoding="utf-8")
    sandbox.state.edit("acme-facilities", work_types=["Storing "])
    result = invoke("pull", "--force", "--no-catalog")
    assert result.exit_code == 1
    assert (
        "refused: portals/acme-facilities.yaml: not written: live portal 'acme-facilities' "
        f"holds what no portal file can: {TRAILING}; {CHANGE_IT}\n"
    ) in result.output
    assert result.output.endswith("Pull: 2 written, 3 unchanged, 1 refused.\n")
    assert acme.read_text(encoding="utf-8") == before
    lint = invoke("lint")
    assert lint.exit_code == 0, lint.output


# -- pull never writes a file lint rejects --------------------------------------------------
# Kinds of live work type: clean ones, ones YAML must quote, and ones no file can hold.
LIVE_WORK_TYPES = [
    "Storing",
    "Storing ",
    " Storing",
    "Sto\nring",
    "Storing\n",
    "Sto\rring",
    "a\tb",
    "\x1b]52;c;owned\x07",
    "\u202eenilno",
    "x" * 100,
    "x" * 101,
    "'quoted'",
    '"double"',
    "- dash",
    "a: b",
    "#hash",
    "NO",
    "010",
    "~",
    "null",
    "\\",
    "a\x00b",
    "a\x85b",
    "a\u2028b",
    "\ufeffBOM",
    "é",
    "0\x85\x850",  # PyYAML folds a raw NEL it wrote itself into a line break
    "x\u202ey",
]
RAW_IN_FILE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)


def pull_one(project: Path, sandbox: Sandbox, invoke: Invoke, work_types: list[str]) -> None:
    """Pull acme-facilities holding ``work_types``: it is written lint-clean, or refused."""
    acme = project / "portals" / "acme-facilities.yaml"
    acme.write_bytes((REPO / "portals" / "acme-facilities.yaml").read_bytes())
    (project / "worktypes.yaml").write_bytes((REPO / "worktypes.yaml").read_bytes())
    before = acme.read_bytes()
    # The account's catalog is the demo's plus this example's names, never an earlier
    # example's: pull refuses a catalog name no file could hold, so one left behind would
    # make the next example's outcome depend on the one before it.
    demo = demo_account()["work_types"]
    sandbox.state.data["work_types"] = [*demo, *(name for name in work_types if name not in demo)]
    sandbox.state.edit("acme-facilities", work_types=work_types)
    pulled = invoke("pull", "--portal", "acme-facilities", "--force")
    if pulled.exit_code == 0:
        lint = invoke("lint")
        assert lint.exit_code == 0, (work_types, lint.output)
        # What pull wrote shows every control, NEL, bidi control or BOM as an escape.
        for written in (acme, project / "worktypes.yaml"):
            assert RAW_IN_FILE.search(written.read_text(encoding="utf-8")) is None, written
    elif pulled.exit_code == 4:  # a blank name is no work type: the API answer is refused
        assert "api error: " in pulled.output
        assert acme.read_bytes() == before
    else:
        assert pulled.exit_code == 1, pulled.output
        assert "refused: portals/acme-facilities.yaml: not written: " in pulled.output
        assert acme.read_bytes() == before
    assert not any(c in pulled.output for c in "\x00\x07\x1b\x85\u2028\u202e")
    # No value starts a line of its own: each line is one of pull's.
    starts = ("Target: ", "wrote ", "refused: ", "Pull: ", "api error: ")
    assert all(line.startswith(starts) for line in pulled.output.splitlines()), pulled.output


@pytest.mark.parametrize("work_type", LIVE_WORK_TYPES, ids=[repr(w)[:24] for w in LIVE_WORK_TYPES])
def test_pull_writes_a_live_work_type_lint_accepts_or_refuses_it(
    live_project: Path, sandbox: Sandbox, invoke: Invoke, work_type: str
) -> None:
    pull_one(live_project, sandbox, invoke, ["Onderhoud", work_type])


TRICKY = st.text(
    alphabet=st.sampled_from(
        list(" \t\n\r\x00\x07\x1b\x85\u2028\u202e\ufeff:-#'\"`@<>&*!|{}[]aZ0é")
    ),
    min_size=1,
    max_size=12,
)


@pytest.mark.slow  # 150 pulls and lints through the real sandbox
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(TRICKY, min_size=1, max_size=3))
def test_pull_never_writes_a_file_lint_rejects(
    live_project: Path, sandbox: Sandbox, invoke: Invoke, work_types: list[str]
) -> None:
    pull_one(live_project, sandbox, invoke, work_types)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["Storing", "Storing ", " x", "", "a\nb", "x" * 100, "x" * 101, "é"]),
        max_size=4,
    ),
    st.sampled_from(["acme", "Acme_Legacy", "a" * 64, ""]),
)
def test_the_quick_check_agrees_with_the_plan_schema(work_types: list[str], portal: str) -> None:
    from portal_config.plan.live_values import _precheck, _settings_schema

    data = guest_settings(portal, True, work_types=tuple(work_types)).to_json()
    quick = _precheck()
    assert quick is not None
    assert quick(data) == Draft202012Validator(_settings_schema()).is_valid(data)
