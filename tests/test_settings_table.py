"""The settings table is the one place a section or field is declared.

The committed schema files are what the table generates, and a section declared in a table
of this test's own goes through lint, fmt, diff, apply, pull and the sandbox with no other
code knowing of it.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conftest import REPO, Invoke
from portal_config.sandbox import Sandbox
from portal_config.settings.schemas import (
    openapi_components,
    openapi_text,
    plan_definitions,
    portal_schema,
    schema_text,
    section_names,
)
from portal_config.settings.table import (
    GUEST_WORKORDER,
    TABLE,
    Field,
    Kind,
    Section,
    Table,
    Widening,
    active,
    use,
)


def test_the_committed_portal_schema_is_the_tables() -> None:
    committed = (REPO / "schema" / "portal.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(portal_schema(TABLE)), (
        "schema/portal.schema.json differs from the settings table: "
        "run python -m portal_config.settings.schemas"
    )


def test_the_openapi_section_components_are_the_tables() -> None:
    text = (REPO / "openapi" / "portal-settings.yaml").read_text("utf-8")
    assert text == openapi_text(text, TABLE), (
        "openapi/portal-settings.yaml's section components differ from the settings table: "
        "run python -m portal_config.settings.schemas"
    )
    components = yaml.safe_load(text)["components"]["schemas"]
    for name, schema in openapi_components(TABLE).items():
        assert components[name] == schema


def test_widening_is_the_tables_to_say() -> None:
    enabled, flag = GUEST_WORKORDER.field("enabled"), GUEST_WORKORDER.field("allow_new_relation")
    names = GUEST_WORKORDER.field("work_types")
    assert enabled.widened(False, True) and not enabled.widened(True, False)
    assert flag.narrowed(True, False) and not flag.narrowed(False, True)
    assert names.widened((), ("Storing",)) and not names.widened(("Storing",), ())
    ended = Field("view_only", Kind.BOOLEAN, "View only", "", widens=Widening.OFF)
    assert ended.widened(True, False) and not ended.widened(False, True)


# -- a section nobody else knows of -----------------------------------------------------------
SURVEY = Section(
    name="survey",
    title="Survey",
    description="A customer survey after each visit.",
    fields=(
        Field("enabled", Kind.SWITCH, "Survey on", "Send the survey.", widens=Widening.ON),
        Field("anonymous", Kind.BOOLEAN, "Anonymous", "No name asked.", widens=Widening.ON),
        Field(
            "question",
            Kind.TEXT,
            "Question",
            "What is asked.",
            constraints={"minLength": 1, "maxLength": 200},
        ),
        Field("channel", Kind.CHOICE, "Channel", "How it is sent.", choices=("mail", "sms")),
        Field(
            "topics",
            Kind.NAMES,
            "Topics",
            "What may be rated.",
            widens=Widening.ADD,
            constraints={"minLength": 1, "maxLength": 50},
        ),
    ),
)
EXTRA = Table((*TABLE.sections, SURVEY))

LIVE_SURVEY = {
    "enabled": True,
    "anonymous": False,
    "question": "How did we do?",
    "channel": "mail",
    "topics": ["Speed", "Friendliness"],
}


@pytest.fixture
def extra(live_project: Path, sandbox: Sandbox) -> Iterator[Path]:
    """The shipped project and demo account under EXTRA; acme-facilities has a survey live
    and its file manages part of it."""
    with use(EXTRA):
        record = sandbox.state.data["portals"]["acme-facilities"]
        record["survey"] = dict(LIVE_SURVEY)
        path = live_project / "portals" / "acme-facilities.yaml"
        path.write_text(
            path.read_text(encoding="utf-8")
            + "survey:\n  topics: [Speed, Price]\n  anonymous: true\n  question: How did we do?\n",
            encoding="utf-8",
        )
        yield live_project


def test_the_extra_section_lints_with_positions_and_suggestions(
    extra: Path, invoke: Invoke
) -> None:
    assert invoke("lint").exit_code == 0
    path = extra / "portals" / "acme-facilities.yaml"
    text = path.read_text(encoding="utf-8")
    misspelt = text.replace("anonymous: true", "anonymus: true")
    line = misspelt.splitlines().index("  anonymus: true") + 1
    path.write_text(misspelt, encoding="utf-8")
    result = invoke("lint", "portals/acme-facilities.yaml")
    assert result.exit_code == 1
    assert result.output.startswith(
        f"portals/acme-facilities.yaml:{line}:3: error [schema] unknown key 'anonymus' in "
        "survey; did you mean 'anonymous'?\n"
    )
    path.write_text(text + "  channel: fax\n", encoding="utf-8")
    result = invoke("lint", "portals/acme-facilities.yaml")
    assert result.output.startswith(
        f"portals/acme-facilities.yaml:{line + 2}:12: error [schema] survey.channel "
    )


def test_fmt_puts_the_extra_sections_fields_in_table_order(extra: Path, invoke: Invoke) -> None:
    assert invoke("fmt").exit_code == 0
    text = (extra / "portals" / "acme-facilities.yaml").read_text(encoding="utf-8")
    assert text.endswith(
        "survey:\n  anonymous: true\n  question: How did we do?\n  topics: [Speed, Price]\n"
    ) or text.endswith(
        "survey:\n  anonymous: true\n  question: How did we do?\n  topics:\n    - Speed\n"
        "    - Price\n"
    )


def test_diff_and_apply_change_only_what_the_file_manages(
    extra: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    result = invoke("diff")
    assert result.exit_code == 3
    assert "~ survey.anonymous: false -> true  ! widens access" in result.output
    assert "+ Price" in result.output and "- Friendliness" in result.output
    assert "question" not in result.output and "channel" not in result.output
    payload = json.loads(invoke("diff", "--format", "json").output)
    acme = next(p for p in payload["portals"] if p["portal"] == "acme-facilities")
    assert acme["desired"]["survey"] == {
        "anonymous": True,
        "question": "How did we do?",
        "topics": ["Speed", "Price"],
    }
    assert invoke("apply", "--yes").exit_code == 0
    survey = sandbox.state.data["portals"]["acme-facilities"]["survey"]
    # What the file does not name keeps its live value: no opinion.
    assert survey == {**LIVE_SURVEY, "anonymous": True, "topics": ["Speed", "Price"]}
    assert invoke("diff").exit_code == 0


def test_pull_writes_the_extra_section_as_live_holds_it(
    extra: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    assert invoke("pull", "--force").exit_code == 0
    data = yaml.safe_load((extra / "portals" / "acme-facilities.yaml").read_text("utf-8"))
    # The fields the file names take their live values; it gets no opinion on the others.
    assert data["survey"] == {key: LIVE_SURVEY[key] for key in ("anonymous", "question", "topics")}
    assert invoke("lint").exit_code == 0
    assert invoke("diff").exit_code == 0


def test_the_sandbox_refuses_a_malformed_extra_field_with_an_envelope_code(
    extra: Path, sandbox: Sandbox
) -> None:
    state = sandbox.state
    code, _, why = state.replace(
        "acme-facilities", 1, {"survey": {**LIVE_SURVEY, "channel": "fax"}}
    )
    assert (code, why) == (422, "survey.channel must be one of mail, sms")
    code, _, why = state.replace("acme-facilities", 1, {"survey": {"enabled": "yes"}})
    assert (code, why) == (422, "survey.enabled must be a boolean")
    code, _, why = state.replace("acme-facilities", 1, {"survey": {"colour": "red"}})
    assert (code, why) == (422, "unknown field: colour")


def test_use_restores_the_declared_table() -> None:
    with use(EXTRA):
        assert active() is EXTRA
    assert active() is TABLE


def test_the_plan_schemas_settings_are_the_tables() -> None:
    plan = json.loads((REPO / "schema" / "plan.schema.json").read_text(encoding="utf-8"))
    assert plan["$defs"] == plan_definitions(plan["$defs"], TABLE), (
        "schema/plan.schema.json's settings and changes differ from the settings table: "
        "run python -m portal_config.settings.schemas"
    )


def test_the_config_schema_names_the_tables_sections() -> None:
    config = json.loads((REPO / "schema" / "config.schema.json").read_text(encoding="utf-8"))
    assert config["properties"]["sections"]["items"]["enum"] == section_names(TABLE)


# Strings that are also field names but mean something else where they appear: a record's
# or a rule's `name`, and the account's own list of work types (the catalog file's key and
# the sandbox's account state), which are not a portal's settings.
OTHER_MEANINGS = {
    "name": None,  # anywhere: a display name, a SARIF rule's name, a token's name...
    "work_types": {
        "lint/catalog.py",
        "files/canonical.py",
        "files/pull.py",
        "sandbox/account.py",
        "sandbox/state.py",
        "run/seed.py",
    },
}


def test_only_the_settings_core_names_a_section_or_field() -> None:
    """No code outside settings/ spells a section or field (its rules, the sandbox's demo
    data and docstrings aside): a section is added in the table, nowhere else."""
    names = {s.name for s in TABLE.sections} | {f.name for _, f in TABLE.fields()}
    root = REPO / "src" / "portal_config"
    found = []
    for path in sorted(root.rglob("*.py")):
        where = path.relative_to(root).as_posix()
        if where.startswith(("settings/", "lint/rules/")) or where == "sandbox/demo.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            if id(node) in docstrings or node.value not in names:
                continue
            allowed = OTHER_MEANINGS.get(node.value, set())
            if allowed is None or where in allowed:
                continue
            found.append(f"{where}:{node.lineno}: {node.value!r}")
    assert found == []
