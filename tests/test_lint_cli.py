"""`portal-config lint` as users run it: formats, exit codes, snippets, colour, config."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import pytest

from conftest import VALID, Invoke, Write
from portal_config import TOOL, __version__


def test_clean_project_exits_zero(write: Write, invoke: Invoke) -> None:
    write("portals/acme.yaml", VALID.format(portal="acme"))
    write("portals/beta.yml", VALID.format(portal="beta"))
    result = invoke("lint")
    assert result.exit_code == 0
    assert result.stdout == "2 files checked: no problems\n"


def test_schema_error_is_rendered_with_snippet_and_caret(write: Write, invoke: Invoke) -> None:
    write(
        "portals/acme.yaml",
        """\
        portal: acme
        guest_workorder:
          enabeld: true
          enabled: true
          work_types: [Storing, NO, 010]
        """,
    )
    result = invoke("lint")
    assert result.exit_code == 1
    assert result.stdout == (
        "portals/acme.yaml:3:3: error [schema] unknown key 'enabeld' in guest_workorder; did you mean 'enabled'?\n"
        " 3 |   enabeld: true\n"
        "   |   ^\n"
        "portals/acme.yaml:5:25: error [schema] guest_workorder.work_types[1] must be a string: "
        '`NO` was read as a boolean false (YAML 1.1 reads yes/no/on/off as booleans); quote it: "NO"\n'
        " 5 |   work_types: [Storing, NO, 010]\n"
        "   |                         ^\n"
        "portals/acme.yaml:5:29: error [schema] guest_workorder.work_types[2] must be a string: "
        '`010` was read as an integer 8 (YAML 1.1 reads a leading 0 as octal); quote it: "010"\n'
        " 5 |   work_types: [Storing, NO, 010]\n"
        "   |                             ^\n"
        "\n"
        "  3  error    schema\n"
        "1 file checked: 3 errors, 0 warnings (failed)\n"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("portal: acme\n", "1:1: error [schema] missing required key 'guest_workorder'"),
        (
            "description: x\n",
            "1:1: error [schema] missing required key 'guest_workorder'\n"
            "1:1: error [schema] missing required key 'portal'",
        ),
        (
            "portal: acme\nguest_workorder: {}\n",
            "2:1: error [schema] missing required key 'enabled' in guest_workorder",
        ),
        (
            "portal: Acme_1\nguest_workorder: {enabled: false}\n",
            "1:9: error [schema] portal: 'Acme_1' is not a valid portal id; use lowercase letters, digits and single hyphens, e.g. acme-facilities",
        ),
        (
            "portal: acme\nguest_workorder: {enabled: 'yes'}\n",
            "2:28: error [schema] guest_workorder.enabled must be true or false, got the string 'yes'",
        ),
        (
            "portal: acme\nguest_workorder:\n  enabled: true\n  work_types: Storing\n",
            "4:15: error [schema] guest_workorder.work_types must be a list, got the string 'Storing'",
        ),
        (
            "portal: acme\nguest_workorder:\n  enabled: true\n  work_types: [' Storing']\n",
            "4:16: error [schema] guest_workorder.work_types[0]: ' Storing' is not a valid work type; remove the leading or trailing spaces",
        ),
        (
            'portal: acme\nguest_workorder:\n  enabled: true\n  work_types: ["Storing\\n"]\n',
            "4:16: error [schema] guest_workorder.work_types[0]: 'Storing\\n' is not a valid work type; remove the line break",
        ),
        (
            'portal: acme\nguest_workorder:\n  enabled: true\n  work_types: [" Sto\\nring"]\n',
            "4:16: error [schema] guest_workorder.work_types[0]: ' Sto\\nring' is not a valid work type; remove the leading or trailing spaces and remove the line break",
        ),
        (
            "portal: acme\nguest_workorder:\n  enabled: true\n  work_types: ['']\n",
            "4:16: error [schema] guest_workorder.work_types[0] must not be empty",
        ),
        (
            "portal: acme\nguest_workorder: {enabled: false}\nnotes: x\n",
            "3:1: error [schema] unknown key 'notes'; allowed: acknowledged, description, display, extends, general, guest_workorder, portal, user_settings, waivers",
        ),
        (
            "portal: acme\nguest_workorder: {enabled: false}\ndescriptoin: x\n",
            "3:1: error [schema] unknown key 'descriptoin'; did you mean 'description'?",
        ),
        (
            "portal: acme\nguest_workorder: {enabled: false}\nacknowledged: {allow_new_relations: x}\n",
            "3:16: error [schema] unknown key 'allow_new_relations' in acknowledged; did you mean 'allow_new_relation'?",
        ),
    ],
)
def test_schema_errors_point_at_the_offending_key_or_value(
    write: Write, invoke: Invoke, text: str, expected: str
) -> None:
    write("portals/acme.yaml", text)
    result = invoke("lint", "--format", "json")
    problems = json.loads(result.stdout)["problems"]
    rendered = [
        f"{p['line']}:{p['column']}: {p['level']} [{p['rule']}] {p['message']}" for p in problems
    ]
    assert rendered == expected.split("\n")
    assert result.exit_code == 1


def test_json_output_has_the_documented_shape(write: Write, invoke: Invoke) -> None:
    write("portals/acme.yaml", VALID.format(portal="acme"))
    write(
        "portals/beta.yaml",
        "portal: beta\nguest_workorder: {enabled: false, work_types: [Storing]}\n",
    )
    result = invoke("lint", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "format": "portal-config-lint",
        "version": 2,
        "tool": TOOL,
        "summary": {"files": 2, "errors": 0, "warnings": 1, "strict": False, "ok": True},
        "files": [
            {"path": "portals/acme.yaml", "errors": 0, "warnings": 0},
            {"path": "portals/beta.yaml", "errors": 0, "warnings": 1},
        ],
        "problems": [
            {
                "path": "portals/beta.yaml",
                "line": 2,
                "column": 35,
                "level": "warning",
                "rule": "work-types-while-disabled",
                "message": "work types are listed but guests are disabled, so the list has no effect",
            }
        ],
    }


def test_strict_makes_warnings_fail(write: Write, invoke: Invoke) -> None:
    write(
        "portals/beta.yaml",
        "portal: beta\nguest_workorder: {enabled: false, work_types: [Storing]}\n",
    )
    assert invoke("lint").exit_code == 0
    result = invoke("lint", "--strict")
    assert result.exit_code == 1
    assert result.stdout.endswith("1 file checked: 0 errors, 1 warning (failed)\n")


def test_github_format_writes_escaped_annotations(write: Write, invoke: Invoke) -> None:
    write("portals/a,b.yaml", "portal: acme\nguest_workorder: {enabled: true}\n")
    result = invoke("lint", "--format", "github")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "::error file=portals/a%2Cb.yaml,line=1,col=9,title=portal-config portal-id-matches-filename::"
        "portal id 'acme' does not match the file name 'a,b'; rename one of them",
        "::error file=portals/a%2Cb.yaml,line=2,col=1,title=portal-config guests-without-work-types::"
        "guests are enabled but no work types are listed, so guests cannot submit anything",
        "1 file checked: 2 errors, 0 warnings (failed)",
    ]


def test_github_format_is_automatic_in_github_actions(
    write: Write, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    write("portals/acme.yaml", "portal: acme\nguest_workorder: {enabled: true}\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert invoke("lint").stdout.startswith("::error file=portals/acme.yaml,line=2,col=1,")
    assert invoke("lint", "--format", "text").stdout.startswith("portals/acme.yaml:2:1: error")


def test_every_file_is_reported_after_a_broken_one(write: Write, invoke: Invoke) -> None:
    write("portals/a.yaml", "portal: [unclosed\n")
    write("portals/b.yaml", "\xff")
    write("portals/c.yaml", VALID.format(portal="c"))
    write("portals/nested/d.yaml", "portal: d\nguest_workorder: {enabled: 'no'}\n")
    write("portals/notes.txt", "not yaml, not linted")
    result = invoke("lint", "--format", "json")
    payload = json.loads(result.stdout)
    assert [f["path"] for f in payload["files"]] == [
        "portals/a.yaml",
        "portals/b.yaml",
        "portals/c.yaml",
        "portals/nested/d.yaml",
    ]
    assert [(p["path"], p["rule"]) for p in payload["problems"]] == [
        ("portals/a.yaml", "yaml"),
        ("portals/b.yaml", "yaml"),
        ("portals/nested/d.yaml", "schema"),
    ]
    assert result.exit_code == 1


def test_problem_without_position_names_the_file(project: Path, invoke: Invoke) -> None:
    (project / "portals" / "big.yaml").write_bytes(b"a: b\n" * 60_000)
    result = invoke("lint")
    assert result.stdout.splitlines()[0] == (
        "portals/big.yaml: error [yaml] file is larger than 262144 bytes; a portal file is a few hundred bytes"
    )


def test_missing_path_is_a_usage_error(project: Path, invoke: Invoke) -> None:
    result = invoke("lint", "nope.yaml")
    assert result.exit_code == 2
    assert "Path 'nope.yaml' does not exist" in result.output


def test_missing_default_portals_dir_is_a_usage_error(
    tmp_path: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    expected = (
        "error: portals directory portals not found; pass PATHS or set portals_dir "
        "(`portal-config pull` writes the live portals there, `portal-config init` sets up "
        "a new repository)\n"
    )
    for command in ("lint", "diff", "apply"):  # the same line and exit code from each
        result = invoke(command)
        assert (result.exit_code, result.output) == (2, expected), command


def test_colour_only_when_asked_or_on_a_tty(
    write: Write, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    write("portals/acme.yaml", "portal: acme\nguest_workorder: {enabled: true}\n")
    assert "\x1b[" not in invoke("lint").stdout  # CliRunner is not a tty
    assert "\x1b[31m" in invoke("lint", "--color").stdout
    monkeypatch.setenv("NO_COLOR", "1")
    from portal_config.cli import use_color

    class Tty:
        def isatty(self) -> bool:
            return True

    assert use_color(None, Tty()) is False
    monkeypatch.delenv("NO_COLOR")
    assert use_color(None, Tty()) is True


def test_config_and_catalog_files_are_not_linted_as_portals(write: Write, invoke: Invoke) -> None:
    write("portal-config.yaml", "portals_dir: .\n")
    write("worktypes.yaml", "work_types: [Storing]\n")
    write("acme.yaml", VALID.format(portal="acme"))
    result = invoke("lint")
    assert result.stdout == "1 file checked: no problems\n"


def test_version_and_help(invoke: Invoke) -> None:
    assert invoke("--version").stdout == f"portal-config, version {__version__}\n"
    # the version of the installed package, which setuptools-scm took from the git tags
    assert __version__ == importlib.metadata.version("portal-config")
    help_text = invoke("lint", "--help").stdout
    assert "Examples:" in help_text and "portal-config lint --format github" in help_text


def test_schema_command_prints_the_shipped_schema(invoke: Invoke) -> None:
    from conftest import REPO

    printed = invoke("schema").stdout
    assert printed == (REPO / "schema" / "portal.schema.json").read_text(encoding="utf-8")
    assert json.loads(printed)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_rules_command_documents_every_rule(project: Path, invoke: Invoke) -> None:
    from portal_config.lint.rules import RULES

    output = invoke("rules").stdout
    for rule_id, rule in RULES.items():
        assert f"{rule_id} ({rule.LEVEL.value}; default)\n" in output
        assert (rule.__doc__ or "").strip().splitlines()[0] in output


def test_rules_command_shows_the_level_in_effect(write: Write, invoke: Invoke) -> None:
    write(
        "portal-config.yaml",
        "rules:\n  permissive-guest-access: error\n  truthy: disable\n",
    )
    shown = invoke("rules", "permissive-guest-access", "truthy").output
    headings = [line for line in shown.splitlines() if line and not line.startswith(" ")]
    assert headings == [
        "permissive-guest-access (error; set in the config; default warning)",
        "truthy (disabled; set in the config; default warning)",
    ]
    unknown = invoke("rules", "permisive-guest-access")
    assert unknown.exit_code == 2
    assert unknown.output == (
        "error: unknown rule 'permisive-guest-access'; did you mean 'permissive-guest-access'?\n"
    )


def test_format_choices_come_from_the_renderers() -> None:
    from portal_config.cli import PLAN_FORMAT_NAMES
    from portal_config.render.plan import PLAN_FORMATS

    assert PLAN_FORMAT_NAMES == tuple(PLAN_FORMATS)


def test_null_and_overlong_work_types_are_explained(write: Write, invoke: Invoke) -> None:
    long_name = "x" * 120
    write(
        "portals/a.yaml",
        f"portal: a\nguest_workorder:\n  enabled: true\n  work_types: [~, '{long_name}']\n",
    )
    problems = json.loads(invoke("lint", "--format", "json").stdout)["problems"]
    assert [(p["column"], p["message"]) for p in problems] == [
        (
            16,
            'guest_workorder.work_types[0] must be a string: `~` was read as null (no value); quote it: "~"',
        ),
        (19, "guest_workorder.work_types[1] is 120 characters long; at most 100 are allowed"),
    ]


def test_one_typo_is_one_error_but_a_missing_key_is_still_missing(
    write: Write, invoke: Invoke
) -> None:
    write("portals/a.yaml", "portal: a\nguest_workorder:\n  enabeld: true\n")
    write("portals/b.yaml", "portal: b\nguest_workorder:\n  colour: red\n")
    lines = [line for line in invoke("lint").output.splitlines() if ": error [" in line]
    assert lines == [
        "portals/a.yaml:3:3: error [schema] unknown key 'enabeld' in guest_workorder; "
        "did you mean 'enabled'?",
        "portals/b.yaml:2:1: error [schema] missing required key 'enabled' in guest_workorder",
        "portals/b.yaml:3:3: error [schema] unknown key 'colour' in guest_workorder; allowed: "
        "allow_address_change, allow_new_relation, allow_requests_for_others, enabled, work_types",
    ]


def test_every_command_documents_its_exit_codes_and_an_example() -> None:
    from click.testing import CliRunner

    from portal_config.cli import cli

    listing = CliRunner().invoke(cli, ["--help"]).output
    commands = [line.split()[0] for line in listing.split("Commands:\n")[1].splitlines()]
    assert "plan" not in commands  # an alias, shown on diff's line
    assert "diff      Show what applying would change in OutSmart (alias: plan)." in listing
    for command in commands:
        shown = CliRunner().invoke(cli, [command, "--help"]).output
        assert "Exit codes:" in shown and "Example" in shown, command


@pytest.mark.parametrize(
    "text",
    [
        "portal: acme\nguest_workorder: {enabled: false}\n",
        "portal: 'acme'  # quoted\nguest_workorder: {enabled: false}\n",
        'portal: "ac\\x6de"\nguest_workorder: {enabled: false}\n',  # an escape: read as acme
        "{portal: acme, guest_workorder: {enabled: false}}\n",
        "portal: &id acme\nguest_workorder: {enabled: false}\n",
        "# portal: other\nportal: !!str acme\nguest_workorder: {enabled: false}\n",
    ],
)
def test_a_duplicate_id_is_found_however_the_other_file_spells_it(
    write: Write, invoke: Invoke, text: str
) -> None:
    # Only new.yaml is linted (as pre-commit does): the other file is found by its id.
    write("portals/other.yaml", text)
    new = write("portals/acme.yaml", "portal: acme\nguest_workorder: {enabled: false}\n")
    problems = json.loads(invoke("lint", str(new), "--format", "json").stdout)["problems"]
    assert [
        (p["rule"], p["message"].split(" is also used in ")[0])
        for p in problems
        if p["rule"] == "duplicate-portal-id"
    ] == [("duplicate-portal-id", "portal id 'acme'")]


def test_a_schema_error_hides_no_other_check_of_the_file(write: Write, invoke: Invoke) -> None:
    # One pass shows all three: under pre-commit each hidden one was another failed commit.
    write("worktypes.yaml", "work_types: [Storing, Onderhoud]\n")
    write(
        "portals/acme.yaml",
        """\
        portal: acme
        guest_workorder:
          enabled: yes
          alow_new_relation: false
          work_types: [Storing, Onderhoudd]
        """,
    )
    result = invoke("lint")
    assert result.exit_code == 1
    assert result.stdout == (
        "portals/acme.yaml:3:12: warning [truthy] `yes` is read as true only by YAML 1.1"
        " readers; write true\n"
        " 3 |   enabled: yes\n"
        "   |            ^\n"
        "portals/acme.yaml:4:3: error [schema] unknown key 'alow_new_relation' in"
        " guest_workorder; did you mean 'allow_new_relation'?\n"
        " 4 |   alow_new_relation: false\n"
        "   |   ^\n"
        "portals/acme.yaml:5:25: error [unknown-work-type] work type 'Onderhoudd' is not in"
        " the catalog worktypes.yaml; did you mean 'Onderhoud'?\n"
        " 5 |   work_types: [Storing, Onderhoudd]\n"
        "   |                         ^\n"
        "\n"
        "  1  error    schema\n"
        "  1  error    unknown-work-type\n"
        "  1  warning  truthy\n"
        "1 file checked: 2 errors, 1 warning (failed)\n"
    )


def test_rules_skip_only_what_depends_on_a_refused_part(write: Write, invoke: Invoke) -> None:
    # `enabled` is refused (a string): no rule judges guests enabled or disabled, so the
    # permissive flag and the empty list pass unremarked; the work types are still checked,
    # except the refused name, which the schema explains instead of "write false".
    write("worktypes.yaml", "work_types: [Storing]\n")
    write(
        "portals/acme.yaml",
        """\
        portal: acme
        guest_workorder:
          enabled: "sometimes"
          allow_new_relation: true
          work_types: [Storing, NO, Storingen]
        """,
    )
    result = invoke("lint", "--format", "json")
    found = [(p["line"], p["column"], p["rule"]) for p in json.loads(result.stdout)["problems"]]
    assert found == [(3, 12, "schema"), (5, 25, "schema"), (5, 29, "unknown-work-type")]


# --- --errors-only and the per-rule table -------------------------------------------------
MIXED = """\
portal: acme
guest_workorder:
  enabled: true
  allow_new_relation: true
  allow_address_change: true
  work_types: [Storing, NO]
"""
ALLOWED = VALID.format(portal="acme").replace(
    "  work_types", "  allow_new_relation: true\n  work_types"
)
PERMISSIVE = "portal: beta\nguest_workorder:\n  enabled: true\n  allow_new_relation: true\n"
SCHEMA_ERROR = (
    "portals/acme.yaml:6:25: error [schema] guest_workorder.work_types[1] must be a string: "
    "`NO` was read as a boolean false (YAML 1.1 reads yes/no/on/off as booleans); "
    'quote it: "NO"\n'
    " 6 |   work_types: [Storing, NO]\n"
    "   |                         ^\n"
)
NO_WORK_TYPES = (
    "portals/beta.yaml:2:1: error [guests-without-work-types] guests are enabled but no work "
    "types are listed, so guests cannot submit anything\n"
    " 2 | guest_workorder:\n"
    "   | ^\n"
)
TABLE = (
    "\n"
    "  3  warning  permissive-guest-access\n"
    "  1  error    guests-without-work-types\n"
    "  1  error    schema\n"
)


@pytest.mark.parametrize("option", ["--errors-only", "-q", "--quiet", "--no-warnings"])
def test_errors_only_hides_warnings_and_still_counts_them(
    write: Write, invoke: Invoke, option: str
) -> None:
    write("portals/acme.yaml", MIXED)
    write("portals/beta.yaml", PERMISSIVE)
    result = invoke("lint", option)
    assert result.exit_code == 1
    assert result.stdout == (
        SCHEMA_ERROR
        + NO_WORK_TYPES
        + TABLE
        + "2 files checked: 2 errors, 3 warnings not shown (failed)\n"
    )


def test_the_table_counts_every_rule_most_frequent_first(write: Write, invoke: Invoke) -> None:
    write("portals/acme.yaml", MIXED)
    write("portals/beta.yaml", PERMISSIVE)
    result = invoke("lint")
    assert result.exit_code == 1
    assert "\n" + result.stdout.split("\n\n", 1)[1] == (
        TABLE + "2 files checked: 2 errors, 3 warnings (failed)\n"
    )
    assert result.stdout.count("warning [permissive-guest-access]") == 3


def test_the_table_right_aligns_counts_and_colours_only_the_level(
    write: Write, invoke: Invoke
) -> None:
    write("portals/acme.yaml", MIXED)
    yellow, red, reset = "\x1b[33m", "\x1b[31m", "\x1b[0m"
    assert invoke("lint", "--errors-only", "--color").stdout.endswith(
        f"  2  {yellow}warning{reset}  permissive-guest-access\n"
        f"  1  {red}error{reset}    schema\n"
        "1 file checked: 1 error, 2 warnings not shown (failed)\n"
    )
    for n in range(12):
        write(f"portals/p{n}.yaml", ALLOWED.replace("acme", f"p{n}"))
    result = invoke("lint", "-q")
    assert result.stdout == (
        SCHEMA_ERROR + "\n"
        "  14  warning  permissive-guest-access\n"
        "   1  error    schema\n"
        "13 files checked: 1 error, 14 warnings not shown (failed)\n"
    )


def test_errors_only_never_changes_the_exit_code(write: Write, invoke: Invoke) -> None:
    # As yamllint's --no-warnings: what is printed changes, never the verdict.
    write(
        "portals/acme.yaml",
        VALID.format(portal="acme").replace(
            "  work_types", "  allow_new_relation: true\n  work_types"
        ),
    )
    table = "  1  warning  permissive-guest-access\n"
    quiet = invoke("lint", "-q")
    assert (quiet.exit_code, quiet.stdout) == (
        0,
        table + "1 file checked: 0 errors, 1 warning not shown (passed)\n",
    )
    strict = invoke("lint", "-q", "--strict")
    assert (strict.exit_code, strict.stdout) == (
        1,
        table + "1 file checked: 0 errors, 1 warning not shown (failed)\n",
    )
    assert invoke("lint", "--strict").exit_code == 1


def test_errors_only_hides_warning_annotations(write: Write, invoke: Invoke) -> None:
    write("portals/acme.yaml", MIXED)
    result = invoke("lint", "-q", "--format", "github")
    assert result.exit_code == 1
    assert result.stdout == (
        "::error file=portals/acme.yaml,line=6,col=25,title=portal-config schema::"
        "guest_workorder.work_types[1] must be a string: `NO` was read as a boolean false "
        '(YAML 1.1 reads yes/no/on/off as booleans); quote it: "NO"\n'
        "1 file checked: 1 error, 2 warnings not shown (failed)\n"
    )


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_machine_formats_keep_every_problem_with_errors_only(
    write: Write, invoke: Invoke, fmt: str
) -> None:
    write("portals/acme.yaml", MIXED)
    full = invoke("lint", "--format", fmt)
    quiet = invoke("lint", "--format", fmt, "--errors-only", "--strict")
    assert quiet.exit_code == full.exit_code == 1
    if fmt == "json":
        assert json.loads(quiet.stdout) == {
            **json.loads(full.stdout),
            "summary": {"files": 1, "errors": 1, "warnings": 2, "strict": True, "ok": False},
        }
    else:
        assert quiet.stdout == full.stdout
        assert len(json.loads(quiet.stdout)["runs"][0]["results"]) == 3


def test_a_clean_run_has_no_table(write: Write, invoke: Invoke) -> None:
    write("portals/acme.yaml", VALID.format(portal="acme"))
    assert invoke("lint", "-q").stdout == "1 file checked: no problems\n"
