"""The schema file itself, and how schema errors are condensed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from conftest import REPO, Invoke, Write
from portal_config.lint import schema
from portal_config.lint.loader import load_bytes

SCHEMA_FILE = REPO / "schema" / "portal.schema.json"


def test_every_property_has_title_and_description() -> None:
    def walk(node: dict, where: str) -> None:
        for name, sub in node.get("properties", {}).items():
            assert sub.get("title") and sub.get("description"), f"{where}.{name}"
            walk(sub, f"{where}.{name}")
        if "items" in node:
            walk(node["items"], f"{where}[]")

    document = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert document["$id"] and document["additionalProperties"] is False
    walk(document, "$")


def test_shipped_examples_are_valid_against_the_schema() -> None:
    document = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = Draft202012Validator(document)
    for example in document["examples"]:
        assert list(validator.iter_errors(example)) == []


@pytest.mark.slow
def test_schema_passes_the_metaschema_check() -> None:
    pytest.importorskip("check_jsonschema")
    command = [sys.executable, "-m", "check_jsonschema", "--check-metaschema", str(SCHEMA_FILE)]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_any_of_failure_gives_one_best_match() -> None:
    validator = Draft202012Validator(
        {
            "type": "object",
            "properties": {
                "when": {
                    "anyOf": [{"type": "boolean"}, {"type": "string", "enum": ["always", "never"]}]
                }
            },
        }
    )
    document = load_bytes(b"when: sometimes\n", "p.yaml").document
    assert document is not None
    problems = list(schema.check(document, validator))
    assert [(str(p.position), p.message) for p in problems] == [
        ("1:7", "when must be one of always, never, got the string 'sometimes'"),
    ]


def test_schema_is_read_from_the_installed_package() -> None:
    assert json.loads(schema.schema_text()) == json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert sys.modules["portal_config.lint.schema"] is schema


@pytest.mark.parametrize("kind", ["portal", "config", "plan", "lint", "report"])
def test_schema_prints_or_writes_each_published_schema(
    kind: str, tmp_path: Path, invoke: Invoke
) -> None:
    published = (REPO / "schema" / f"{kind}.schema.json").read_text(encoding="utf-8")
    assert invoke("schema", kind).stdout == published
    out = tmp_path / "editor" / f"{kind}.json"
    written = invoke("schema", kind, "--out", str(out))
    assert written.exit_code == 0 and written.output == ""
    assert out.read_text(encoding="utf-8") == published


def test_schema_out_refuses_a_directory(tmp_path: Path, invoke: Invoke) -> None:
    result = invoke("schema", "config", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert result.output.endswith(
        f"Error: Invalid value for '--out': File '{tmp_path}' is a directory.\n"
    )


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node for ECMA-262 regexes")
def test_the_work_type_pattern_means_the_same_in_ecma_262_and_python() -> None:
    """Editors check files with ECMA-262 regexes, lint with Python's: every character at
    either end or inside a name gets the same verdict from both (and a trailing newline,
    which Python's `$` lets through on its own)."""
    pattern = schema.plan_schema()["$defs"]["work_type"]["pattern"]
    characters = [chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF]
    values = [v for c in characters for v in (f"{c}A", f"A{c}", f"A{c}B")] + ["Storing\n"]
    python = [re.search(pattern, value) is not None for value in values]
    script = (
        "const [p, vs] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const r = new RegExp(p); process.stdout.write(JSON.stringify(vs.map(v => r.test(v))));"
    )
    done = subprocess.run(
        ["node", "-e", script],
        input=json.dumps([pattern, values]),
        capture_output=True,
        text=True,
        check=True,
    )
    ecma = json.loads(done.stdout)
    differ = [repr(v) for v, a, b in zip(values, python, ecma, strict=True) if a != b]
    assert differ == []
    assert python[-1] is False


def test_schema_offers_every_schema_the_package_ships(invoke: Invoke) -> None:
    from portal_config.cli import SCHEMAS

    # tomllib is 3.11+; the package-data section names each file on a line of its own.
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    package_data = pyproject.split("[tool.setuptools.package-data]", 1)[1].split("\n[", 1)[0]
    shipped = sorted(re.findall(r'"([a-z]+)\.schema\.json"', package_data))
    assert list(SCHEMAS) == shipped
    # Published in schema/ but not package data: a kind only once it ships.
    assert "fleet" not in SCHEMAS
    assert invoke("schema", "fleet").exit_code == 2


@pytest.mark.parametrize("kind", ["config", "portal", "plan"])
def test_schema_refuses_a_kind_with_plan(kind: str, invoke: Invoke) -> None:
    result = invoke("schema", kind, "--plan")
    assert result.exit_code == 2
    assert result.output == f"error: give KIND ({kind}) or --plan, not both: --plan is KIND plan\n"


def test_schema_plan_flag_alone_prints_the_plan_schema(invoke: Invoke) -> None:
    published = (REPO / "schema" / "plan.schema.json").read_text(encoding="utf-8")
    assert invoke("schema", "--plan").stdout == published
    assert invoke("schema").stdout == SCHEMA_FILE.read_text(encoding="utf-8")


def _anchored_patterns(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return found + [p for value in node.values() for p in _anchored_patterns(value)]
    if isinstance(node, list):
        return [p for item in node for p in _anchored_patterns(item)]
    return []


@pytest.mark.parametrize("path", sorted((REPO / "schema").glob("*.schema.json")), ids=str)
def test_no_anchored_pattern_lets_a_final_newline_through(path: Path) -> None:
    # jsonschema matches with Python's re.search, whose $ also matches before a final
    # newline: "acme\n" would pass ^[a-z0-9]+$ and name a file, an account or a token.
    patterns = [p for p in _anchored_patterns(json.loads(path.read_text())) if p.endswith("$")]
    assert patterns
    for pattern in patterns:
        assert pattern.endswith(r"(?!\n)$"), pattern
        assert re.search(pattern, "x\n") is None


def test_a_portal_id_with_a_final_newline_is_refused_at_its_value(
    invoke: Invoke, write: Write
) -> None:
    path = write("portals/acme.yaml", 'portal: "acme\\n"\nguest_workorder:\n  enabled: false\n')
    result = invoke("lint", str(path))
    assert result.exit_code == 1
    assert (
        "portals/acme.yaml:1:9: error [schema] portal: 'acme\\n' is not a valid portal id; "
        "use lowercase letters, digits and single hyphens, e.g. acme-facilities"
    ) in result.output
