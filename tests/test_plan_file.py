"""`apply plan.json` never trusts the plan: every tampered plan is refused before any request.

Each case edits the plan `diff --out` really wrote, applies it against the real sandbox,
and checks the exact refusal, exit code 2, and that the sandbox saw no request at all.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from conftest import REPO, Invoke, revisions
from portal_config.cli import cli
from portal_config.plan import saved as plan_file
from portal_config.plan.value import PlanFileError
from portal_config.project.config_reader import load_config
from portal_config.sandbox import Sandbox
from portal_config.settings.model import PortalSettings

SCHEMA_FILE = REPO / "schema" / "plan.schema.json"
PORTAL_SCHEMA_FILE = REPO / "schema" / "portal.schema.json"

Plan = dict[str, Any]


@pytest.fixture
def saved(live_project: Path, invoke: Invoke) -> Plan:
    """The plan diff wrote: acme-facilities and klimaat-techniek change, the rest do not.

    The file holds the plan's inputs; the actions are what diff derived from them."""
    diffed = invoke("diff", "--format", "json", "--out", "plan.json")
    assert diffed.exit_code == 3
    plan: Plan = json.loads((live_project / "plan.json").read_text(encoding="utf-8"))
    assert [(p["portal"], p["action"]) for p in json.loads(diffed.stdout)["portals"]] == [
        ("acme-facilities", "update"),
        ("gemeente-intern", "none"),
        ("klimaat-techniek", "update"),
        ("secura-alarm", "none"),
        ("woonstede-noord", "none"),
    ]
    return plan


def apply_refused(project: Path, sandbox: Sandbox, invoke: Invoke, plan: bytes | Plan) -> str:
    """Apply ``plan``; it must be refused with exit 2 before the sandbox sees any request."""
    raw = plan if isinstance(plan, bytes) else json.dumps(plan).encode()
    (project / "plan.json").write_bytes(raw)
    state, seen = copy.deepcopy(sandbox.state.data), sandbox.requests_seen
    result = invoke("apply", "plan.json", "--yes", "--allow-large-change")
    assert result.exit_code == 2, result.output
    assert sandbox.requests_seen == seen
    assert sandbox.state.data == state
    return result.output


def edit(change: Callable[[Plan], object]) -> Callable[[Plan], Plan]:
    def edited(plan: Plan) -> Plan:
        change(plan)
        return plan

    return edited


def entry(plan: Plan, index: int) -> dict[str, Any]:
    portal: dict[str, Any] = plan["portals"][index]
    return portal


TAMPERED = {
    "a string for a boolean": (
        edit(lambda p: entry(p, 0)["desired"]["guest_workorder"].update(enabled="yes")),
        "portals[0].desired.guest_workorder.enabled must be true or false, got the string 'yes'",
    ),
    "null for a boolean": (
        edit(lambda p: entry(p, 1)["live"]["guest_workorder"].update(allow_new_relation=None)),
        "portals[1].live.guest_workorder.allow_new_relation must be true or false, got null (an empty value)",
    ),
    "a string for work types": (
        edit(lambda p: entry(p, 0)["desired"]["guest_workorder"].update(work_types="Storing")),
        "portals[0].desired.guest_workorder.work_types must be a list, got the string 'Storing'",
    ),
    "an empty work type": (
        edit(
            lambda p: entry(p, 0)["desired"]["guest_workorder"].update(work_types=["Storing", ""])
        ),
        "portals[0].desired.guest_workorder.work_types[1] must not be empty",
    ),
    "a fractional revision": (
        edit(lambda p: entry(p, 2).update(live_revision=1.9)),
        "portals[2].live_revision must be an integer, got 1.9",
    ),
    "a whole float as revision": (
        edit(lambda p: entry(p, 2).update(live_revision=1.0)),
        "portals[2].live_revision must be an integer, got 1.0",
    ),
    "a string revision": (
        edit(lambda p: entry(p, 2).update(live_revision="3")),
        "portals[2].live_revision must be an integer, got the string '3'",
    ),
    "a negative revision": (
        edit(lambda p: entry(p, 2).update(live_revision=-1)),
        "portals[2].live_revision must be at least 0, got -1",
    ),
    "an unknown key": (
        edit(lambda p: entry(p, 3)["desired"]["guest_workorder"].update(allow_everything=True)),
        "unknown key 'allow_everything' in portals[3].desired.guest_workorder; "
        "allowed: allow_address_change, allow_new_relation, allow_requests_for_others, "
        "enabled, work_types",
    ),
    "a missing key": (
        edit(lambda p: entry(p, 4).pop("live_revision")),
        "missing required key 'live_revision' in portals[4]",
    ),
    "a bad portal id": (
        edit(lambda p: entry(p, 4).update(portal="Woonstede Noord")),
        "portals[4].portal: 'Woonstede Noord' is not a valid portal id; "
        "use lowercase letters, digits and single hyphens, e.g. acme-facilities",
    ),
    "a live work type no file can hold": (
        edit(lambda p: entry(p, 3)["live"]["guest_workorder"].update(work_types=["Storing "])),
        "portals[3].live.guest_workorder.work_types[0]: 'Storing ' is not a valid work type; "
        "remove the leading or trailing spaces",
    ),
    # A saved plan has no changes (they are derived): the desired work types are the input.
    "a desired work type no file can hold": (
        edit(
            lambda p: entry(p, 0)["desired"]["guest_workorder"].update(
                work_types=["Storing", "x" * 101]
            )
        ),
        "portals[0].desired.guest_workorder.work_types[1] is 101 characters long; at most 100 are allowed",
    ),
    "an unmanaged id longer than any live id": (
        edit(lambda p: p.update(unmanaged_other_ids=["X" * 1001])),
        "unmanaged_other_ids[0] is 1001 characters long; at most 1000 are allowed",
    ),
    "another format version": (
        edit(lambda p: p.update(version=1)),
        "a plan of format version 1; this portal-config reads version 6: "
        "make the plan again with `portal-config diff --out`",
    ),
    "a version as a string": (
        edit(lambda p: p.update(version="2")),
        "version must be an integer, got the string '2'",
    ),
    # The summary, the actions and the apply refusal are derived, so a saved plan cannot
    # tell another story in them: it has no such keys, and its thresholds are checked.
    "a summary that tells another story": (
        edit(lambda p: p.update(summary={"update": 0, "ok": True})),
        "unknown key 'summary'; allowed: account, base, commit, created_at, edited_profiles, "
        "format, kind, live_read_at, portals, profiles, safety, target, tool, unmanaged, "
        "unmanaged_other_ids, version",
    ),
    "thresholds that are not the repository's": (
        edit(lambda p: p["safety"].update(max_portals=100)),
        "safety.max_portals is 100, but this repository's safety thresholds give 10",
    ),
    "a threshold as a boolean": (
        edit(lambda p: p["safety"].update(max_portals=True)),
        "safety.max_portals must be an integer, got true",
    ),
    "an unknown kind": (
        edit(lambda p: p.update(kind="delete")),
        "kind must be one of diff, drift, got the string 'delete'",
    ),
    "too many work types": (
        edit(
            lambda p: entry(p, 0)["desired"]["guest_workorder"].update(
                work_types=[f"t{i}" for i in range(1001)]
            )
        ),
        "portals[0].desired.guest_workorder.work_types has 1001 items; at most 1000 are allowed",
    ),
    "a control character in the file name": (
        edit(lambda p: entry(p, 0).update(file="portals/\x1b[2Jacme.yaml")),
        "portals[0].file: 'portals/\\x1b[2Jacme.yaml' is not a valid line of text; "
        "it must match ^[^\\u0000-\\u001f\\u007f]+$",
    ),
    "a newline in a key": (
        edit(lambda p: p.update({"note\ninvalid plan: forged": 1})),
        "unknown key 'note\\ninvalid plan: forged'; allowed: account, base, commit, created_at, "
        "edited_profiles, format, kind, live_read_at, portals, profiles, safety, target, tool, "
        "unmanaged, unmanaged_other_ids, version",
    ),
    "nesting inside the plan": (
        edit(lambda p: entry(p, 0)["desired"]["guest_workorder"].update(enabled=[[[[[True]]]]])),
        # One level below the deepest a plan holds (portals[i].sources[j].over[k]).
        "portals[0].desired.guest_workorder.enabled[0][0]: nested deeper than a plan can be",
    ),
}


@pytest.mark.parametrize("change, reason", TAMPERED.values(), ids=TAMPERED.keys())
def test_a_structurally_tampered_plan_is_refused_with_the_json_path(
    saved: Plan,
    live_project: Path,
    sandbox: Sandbox,
    invoke: Invoke,
    change: Callable[[Plan], Plan],
    reason: str,
) -> None:
    output = apply_refused(live_project, sandbox, invoke, change(saved))
    assert output == f"invalid plan: plan.json: {reason}\n"


NOT_A_PLAN = 'not a portal-config plan (no "format": "portal-config-plan"; `diff --out` writes one)'
UNREADABLE = {
    "not JSON": (
        b'{"format": "portal-config-plan",',
        "not JSON (line 1, column 33): Expecting property name enclosed in double quotes",
    ),
    "not UTF-8": (b'{"format": "\xff"}', "not UTF-8 (byte 0xff at offset 12)"),
    "10,000 nested lists": (b"[" * 10_000 + b"]" * 10_000, "nested too deeply to be a plan"),
    "NaN": (b'{"version": NaN}', "not JSON: NaN is not a JSON value"),
    "a duplicate key": (
        b'{"version": 1, "version": 1}',
        'duplicate key "version" in one object',
    ),
    "a number of 5,000 digits": (
        b'{"version": ' + b"9" * 5000 + b"}",
        "not JSON a plan can hold: a number is too long",
    ),
    # Not a plan at all: one line, not one per key a plan has.
    "a list": (b"[]", NOT_A_PLAN),
    "an empty object": (b"{}", NOT_A_PLAN),
    "another tool's JSON": (b'{"format": "sarif", "version": 3}', NOT_A_PLAN),
}


@pytest.mark.parametrize("raw, reason", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_a_plan_that_cannot_be_read_is_refused_in_one_line(
    live_project: Path, sandbox: Sandbox, invoke: Invoke, raw: bytes, reason: str
) -> None:
    output = apply_refused(live_project, sandbox, invoke, raw)
    assert output == f"invalid plan: plan.json: {reason}\n"


def test_a_huge_plan_is_refused_unread(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    huge = b"{" + b" " * plan_file.MAX_BYTES + b"}"
    output = apply_refused(live_project, sandbox, invoke, huge)
    assert output == "invalid plan: plan.json: larger than 16 MiB, the limit for a plan\n"


def test_a_plan_that_cannot_be_opened_is_refused(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    (live_project / "plan.json").mkdir()
    result = invoke("apply", "plan.json", "--yes")
    assert result.exit_code == 2
    assert result.output == "invalid plan: plan.json: cannot read it (IsADirectoryError)\n"
    assert sandbox.requests_seen == 0


def _gemeente_wants(plan: Plan, work_types: list[str]) -> Plan:
    """gemeente-intern (live: guests off, no work types) switched on: its desired state is
    the only input to edit, its action, changes and the summary follow from it."""
    entry(plan, 1)["desired"]["guest_workorder"].update(enabled=True, work_types=work_types)
    return plan


def test_a_consistent_plan_that_would_fail_lint_is_refused(
    saved: Plan, live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    # Well-formed and self-consistent: only the work-type catalog can tell it is wrong.
    output = apply_refused(
        live_project, sandbox, invoke, _gemeente_wants(saved, ["Storing", "Stroing"])
    )
    assert output == (
        "invalid plan: plan.json: gemeente-intern: work type 'Stroing' is not in the catalog "
        "worktypes.yaml; did you mean 'Storing'?\n"
    )


def test_every_reason_is_reported_each_on_its_own_line(
    saved: Plan, live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    plan = _gemeente_wants(saved, ["Storing", "Stroing"])
    entry(plan, 0)["desired"]["portal"] = "gemeente-intern"
    plan["portals"].append(copy.deepcopy(entry(plan, 4)))
    plan["safety"]["max_share"] = 0.9
    output = apply_refused(live_project, sandbox, invoke, plan)
    assert output.splitlines() == [
        "invalid plan: plan.json: acme-facilities: portals[0].desired.portal is "
        "'gemeente-intern', not the entry's portal",
        "invalid plan: plan.json: acme-facilities: portal id 'gemeente-intern' does not match "
        "the file name 'acme-facilities'; rename one of them",
        "invalid plan: plan.json: gemeente-intern: work type 'Stroing' is not in the catalog "
        "worktypes.yaml; did you mean 'Storing'?",
        "invalid plan: plan.json: woonstede-noord: portals[5].portal: planned twice "
        "(also portals[4])",
        "invalid plan: plan.json: safety.max_share is 0.9, but this repository's safety "
        "thresholds give 0.5",
    ]


def test_what_a_saved_plan_shows_is_derived_from_its_inputs(
    saved: Plan, live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    # A saved plan holds no action, changes or fingerprint that could disagree with its
    # desired and live states ("action: none" beside a desired state that differs): they
    # are derived again, so the reviewer sees what apply would do.
    entry(saved, 1)["desired"]["guest_workorder"].update(enabled=True, work_types=["Storing"])
    entry(saved, 3)["live"]["guest_workorder"]["enabled"] = not entry(saved, 3)["live"][
        "guest_workorder"
    ]["enabled"]
    (live_project / "plan.json").write_text(json.dumps(saved), encoding="utf-8")
    shown = json.loads(invoke("show", "plan.json", "--format", "json").stdout)
    gemeente, secura = shown["portals"][1], shown["portals"][3]
    assert (gemeente["action"], gemeente["widens_guest_access"]) == ("update", True)
    assert [change["field"] for change in gemeente["changes"]] == ["enabled", "work_types"]
    assert secura["live_fingerprint"] == (
        PortalSettings.from_json(entry(saved, 3)["live"]).fingerprint()
    )
    assert secura["action"] == "update"
    assert shown["summary"]["update"] == 4 and shown["has_changes"] is True
    assert shown["apply_refusal"] == "plan changes 4/5 portals, more than safety.max_share (50%)"
    # The edited live state is not what OutSmart holds, which already holds secura-alarm's
    # desired state: apply writes nothing there, and writes what the desired states say.
    result = invoke("apply", "plan.json", "--yes", "--allow-large-change")
    assert result.exit_code == 0, result.output
    assert "already applied: live equals the plan for secura-alarm\n" in result.output
    assert revisions(sandbox) == {
        "acme-facilities": 2,
        "gemeente-intern": 2,
        "klimaat-techniek": 2,
        "oud-portaal": 1,
        "secura-alarm": 1,
        "woonstede-noord": 1,
    }


@pytest.mark.parametrize("command", ["show", "apply"])
def test_a_plan_of_the_previous_format_is_refused_in_one_line(
    live_project: Path, sandbox: Sandbox, invoke: Invoke, command: str
) -> None:
    # Version 4 saved the plan as diff shows it: the same keys as `diff --format json`.
    diffed = invoke("diff", "--format", "json")
    old = dict(json.loads(diffed.stdout), version=4)
    (live_project / "plan.json").write_text(json.dumps(old), encoding="utf-8")
    seen = sandbox.requests_seen
    result = invoke(command, "plan.json", *(["--yes"] if command == "apply" else []))
    assert result.exit_code == 2
    assert result.output == (
        "invalid plan: plan.json: a plan of format version 4; this portal-config reads "
        "version 6: make the plan again with `portal-config diff --out`\n"
    )
    assert sandbox.requests_seen == seen


def test_a_plan_as_diff_shows_it_is_not_a_saved_plan(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    # Its derived keys (summary, actions, changes) are refused: only inputs are read.
    shown = json.loads(invoke("diff", "--format", "json").stdout)
    output = apply_refused(live_project, sandbox, invoke, shown)
    assert "invalid plan: plan.json: unknown key 'summary'; allowed: account, base" in output
    assert "invalid plan: plan.json: missing required key 'safety'\n" in output


def test_a_consistent_edit_of_a_valid_plan_is_applied_and_nothing_else(
    saved: Plan, live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    # Dropping an entry from the plan makes that portal unmanaged: never written.
    plan = _gemeente_wants(saved, ["Storing"])
    del plan["portals"][0]  # acme-facilities would change; now it is not in the plan
    (live_project / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    result = invoke("apply", "plan.json", "--yes", "--allow-large-change")
    assert result.exit_code == 0, result.output
    assert "? acme-facilities  unmanaged: exists in OutSmart, no file; never touched" in (
        result.output
    )
    assert revisions(sandbox) == {
        "acme-facilities": 1,
        "gemeente-intern": 2,
        "klimaat-techniek": 2,
        "oud-portaal": 1,
        "secura-alarm": 1,
        "woonstede-noord": 1,
    }


# -- the schema ------------------------------------------------------------------------
def test_the_plan_diff_writes_is_valid_against_the_published_schema(saved: Plan) -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert list(Draft202012Validator(schema).iter_errors(saved)) == []
    assert saved["version"] == schema["properties"]["version"]["const"]


def test_schema_command_prints_the_plan_schema(invoke: Invoke) -> None:
    assert invoke("schema", "--plan").output == SCHEMA_FILE.read_text(encoding="utf-8")


def test_portal_ids_and_work_types_follow_the_portal_schema() -> None:
    plan = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))["$defs"]
    portal = json.loads(PORTAL_SCHEMA_FILE.read_text(encoding="utf-8"))["properties"]
    keys = ("type", "pattern", "minLength", "maxLength")
    assert {k: plan["portal_id"][k] for k in keys} == {k: portal["portal"][k] for k in keys}
    item = portal["guest_workorder"]["properties"]["work_types"]["items"]
    assert {k: plan["work_type"][k] for k in keys} == {k: item[k] for k in keys}


def test_the_schema_is_strict_everywhere() -> None:
    """Every object closes its keys and every value has a type: no room for nesting."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))

    def walk(node: dict[str, Any], where: str) -> None:
        if node.get("type") == "object" and "properties" in node:
            assert node.get("additionalProperties") is False, where
        if node.get("type") == "array":
            assert "maxItems" in node, where
        if node.get("type") == "string":
            assert "maxLength" in node or "pattern" in node, where
        for key, sub in node.get("properties", {}).items():
            # A nullable value is a oneOf of typed branches.
            for index, branch in enumerate(sub.get("oneOf", [sub])):
                assert {"type", "$ref", "const", "enum"} & set(branch), f"{where}.{key}[{index}]"
                walk(branch, f"{where}.{key}")
        for key in ("items", "then", "else"):
            if key in node:
                walk(node[key], f"{where}.{key}")
        for key, sub in node.get("$defs", {}).items():
            walk(sub, f"$defs.{key}")

    walk(schema, "$")


# -- random tampering ----------------------------------------------------------------
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)


def _paths(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, path + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, path + (index,))
    return found


@st.composite
def tampered(draw: st.DrawFn, plan: Plan) -> bytes:
    """A valid plan with one value replaced, one key dropped or added, or its bytes cut."""
    plan = copy.deepcopy(plan)
    kind = draw(st.sampled_from(["replace", "drop", "add", "cut"]))
    if kind == "cut":
        raw = json.dumps(plan).encode()
        return raw[: draw(st.integers(0, len(raw) - 1))]
    path = draw(st.sampled_from(_paths(plan)[1:]))
    parent: Any = plan
    for part in path[:-1]:
        parent = parent[part]
    if kind == "replace":
        parent[path[-1]] = draw(JSON_VALUES)
    elif kind == "drop":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[draw(st.text(max_size=6))] = draw(JSON_VALUES)
    return json.dumps(plan).encode()


@pytest.fixture
def planned_state(saved: Plan, sandbox: Sandbox) -> dict[str, Any]:
    """The sandbox's portals as the plan saw them (hypothesis shares it across examples)."""
    return copy.deepcopy(sandbox.state.data["portals"])


@pytest.mark.slow  # 150 tampered plans, each applied against the sandbox
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_tampering_never_crashes_and_never_writes_an_invalid_plan(
    saved: Plan,
    planned_state: dict[str, Any],
    live_project: Path,
    sandbox: Sandbox,
    data: st.DataObject,
) -> None:
    raw = data.draw(tampered(saved))
    with sandbox.state.lock:  # each example starts from the state the plan was made on
        sandbox.state.data["portals"] = copy.deepcopy(planned_state)
    (live_project / "plan.json").write_bytes(raw)
    before = revisions(sandbox)
    result = CliRunner().invoke(cli, ["apply", "plan.json", "--yes", "--allow-large-change"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 2, 5), result.output
    event(f"exit {result.exit_code}")  # --hypothesis-show-statistics: how many still apply
    written = {p for p, r in revisions(sandbox).items() if r != before[p]}
    try:
        checked = plan_file.check_plan(json.loads(raw), "plan.json", load_config())
    except (PlanFileError, ValueError):
        assert result.exit_code == 2 and written == set(), result.output
        assert all(line.startswith("invalid plan: ") for line in result.output.splitlines())
        return
    assert written <= {p.portal for p in checked.portals}


def test_a_plan_is_checked_as_its_file_was_disable_comments_and_acknowledgements_included(
    live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    # permissive-guest-access as an error, acknowledged in one file; guests-without-work-types
    # switched off in another by a disable comment. Lint passes, so the plan must apply.
    with (live_project / "portal-config.yaml").open("a") as config:
        config.write("rules:\n  permissive-guest-access: error\n")
    (live_project / "portals" / "acme-facilities.yaml").write_text(
        "portal: acme-facilities\nguest_workorder:\n  enabled: true\n  allow_new_relation: true\n"
        "  work_types: [Storing]\nacknowledged:\n  allow_new_relation: New tenants sign up here.\n"
    )
    (live_project / "portals" / "klimaat-techniek.yaml").write_text(
        "# portal-config: disable guests-without-work-types\n"
        "portal: klimaat-techniek\nguest_workorder:\n  enabled: true\n"
    )
    assert invoke("lint").exit_code == 0
    assert invoke("diff", "--out", "plan.json").exit_code == 3
    plan: Plan = json.loads((live_project / "plan.json").read_text(encoding="utf-8"))
    acme, klimaat = entry(plan, 0), entry(plan, 2)
    assert acme["acknowledged"] == {"allow_new_relation": "New tenants sign up here."}
    assert klimaat["disabled_rules"] == ["guests-without-work-types"]

    stripped = copy.deepcopy(plan)
    entry(stripped, 0)["acknowledged"] = {}
    entry(stripped, 2)["disabled_rules"] = ["guests-without-work-type"]
    assert apply_refused(live_project, sandbox, invoke, stripped).splitlines() == [
        "invalid plan: plan.json: acme-facilities: allow_new_relation is true while guests are "
        "enabled; guest access is usually kept restricted (acknowledge it under "
        "'acknowledged: allow_new_relation: <reason>' if intended)",
        "invalid plan: plan.json: klimaat-techniek: portals[2].disabled_rules: unknown rule "
        "'guests-without-work-type'",
        "invalid plan: plan.json: klimaat-techniek: guests are enabled but no work types are "
        "listed, so guests cannot submit anything",
    ]

    (live_project / "plan.json").write_text(json.dumps(plan))
    applied = invoke("apply", "plan.json", "--yes")
    assert applied.exit_code == 0, applied.output
    assert sandbox.state.data["portals"]["klimaat-techniek"]["guest_workorder"]["enabled"] is True


def test_a_plan_made_at_a_commit_this_repository_lacks_is_refused_before_any_request(
    saved: Plan, live_project: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    saved["commit"] = "c0ffee" + "0" * 34  # another repository's, or a branch never fetched
    (live_project / "plan.json").write_text(json.dumps(saved))
    seen = sandbox.requests_seen
    result = invoke("apply", "plan.json", "--yes")
    assert result.exit_code == 5
    assert result.output == (
        "refused: the plan was made at commit c0ffee000000, which this repository does not"
        " have; make the plan here (`portal-config diff --out`) or fetch that commit\n"
    )
    assert sandbox.requests_seen == seen


@pytest.mark.parametrize("command", ["show", "apply"])
def test_a_json_file_that_is_no_plan_is_refused_in_one_line(
    live_project: Path, invoke: Invoke, command: str
) -> None:
    (live_project / "empty.json").write_text("{}")
    result = invoke(command, "empty.json", *(["--yes"] if command == "apply" else []))
    assert result.exit_code == 2
    assert result.output == f"invalid plan: empty.json: {NOT_A_PLAN}\n"


def test_show_says_a_missing_plan_file_does_not_exist(live_project: Path, invoke: Invoke) -> None:
    result = invoke("show", "plan.json")
    assert result.exit_code == 2
    assert result.output == "invalid plan: plan.json: no such file\n"


def test_show_prints_the_plan_exactly_as_diff_did_header_included(
    project: Path, invoke: Invoke
) -> None:
    shutil.copytree(REPO / "portals", project / "portals", dirs_exist_ok=True)
    shutil.copy(REPO / "worktypes.yaml", project / "worktypes.yaml")
    (project / "portal-config.yaml").write_text(
        "targets:\n  sandbox:\n    sandbox: state/sandbox.json\n"
    )
    diffed = invoke("diff", "--out", "plan.json")
    assert diffed.exit_code == 3, diffed.output
    assert diffed.stdout.startswith("Target: sandbox (in-process sandbox) http://127.0.0.1:")
    shown = invoke("show", "plan.json")
    assert shown.exit_code == 0
    assert shown.stdout == diffed.stdout


@pytest.mark.parametrize("command", ["diff", "drift"])
def test_show_derives_exactly_the_plan_diff_printed(
    live_project: Path, invoke: Invoke, command: str
) -> None:
    # The saved inputs, built again by the one builder, give the plan byte for byte.
    made = invoke(command, "--format", "json", "--out", "plan.json")
    assert made.exit_code == 3, made.output
    saved = json.loads((live_project / "plan.json").read_text(encoding="utf-8"))
    assert "summary" not in saved and "changes" not in saved["portals"][0]
    shown = invoke("show", "plan.json", "--format", "json")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == made.stdout
