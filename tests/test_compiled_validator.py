"""The compiled portal validator answers exactly as jsonschema: every error, every field,
in jsonschema's order (issue 21, point 3). jsonschema stays the oracle."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from conftest import REPO, SHARED
from portal_config.lint import schema
from portal_config.lint.compiled_validator import CompiledValidator, compile_validator
from portal_config.lint.loader import load_file

PORTAL = schema.portal_schema()
ORACLE = Draft202012Validator(PORTAL)


def _compiled() -> CompiledValidator:
    compiled = compile_validator(PORTAL)
    assert compiled is not None, "the portal schema uses a keyword the compiled validator lacks"
    return compiled


def _fields(error: Any) -> tuple[Any, ...]:
    return (
        error.validator,
        error.validator_value,
        json.dumps(error.instance, sort_keys=True, default=repr),
        json.dumps(error.schema, sort_keys=True),
        tuple(error.absolute_path),
        error.message,
        list(error.context),
    )


def assert_same_errors(data: Any) -> None:
    expected = [_fields(e) for e in ORACLE.iter_errors(data)]
    assert [_fields(e) for e in _compiled().iter_errors(data)] == expected


BASE: dict[str, Any] = {
    "portal": "acme-facilities",
    "description": "Service portal",
    "guest_workorder": {
        "enabled": True,
        "allow_address_change": False,
        "allow_new_relation": True,
        "allow_requests_for_others": False,
        "work_types": ["Storing", "Onderhoud"],
    },
    "acknowledged": {"allow_new_relation": "New tenants register through the guest form."},
}

ODD_VALUES = [
    None,
    True,
    False,
    0,
    1,
    1.0,
    2.5,
    -3,
    "",
    " x",
    "x ",
    "Storing",
    "ACME",
    "a--b",
    "a" * 64,
    "w" * 101,
    [],
    ["Storing", "Storing"],
    [1, True],
    [1, 1.0],
    {},
    {"k": 1},
]
PATHS: list[tuple[str, ...]] = [
    (),
    ("portal",),
    ("description",),
    ("guest_workorder",),
    ("guest_workorder", "enabled"),
    ("guest_workorder", "allow_new_relation"),
    ("guest_workorder", "work_types"),
    ("acknowledged",),
    ("acknowledged", "allow_new_relation"),
]


def _with(path: tuple[str, ...], value: Any) -> Any:
    data = copy.deepcopy(BASE)
    if not path:
        return value
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return data


@pytest.mark.parametrize("path", PATHS, ids=lambda p: ".".join(p) or "root")
def test_every_odd_value_in_every_place(path: tuple[str, ...]) -> None:
    for value in ODD_VALUES:
        assert_same_errors(_with(path, value))


def test_unknown_and_missing_keys_and_list_items() -> None:
    assert_same_errors({})
    assert_same_errors({"portal": "a", "guest_workorder": {}, "enabeld": 1, "zz": 2, "aa": 3})
    assert_same_errors({**BASE, "guest_workorder": {"enabeld": "yes", "work_types": [" a", "", 3]}})
    assert_same_errors({**BASE, "acknowledged": {"allow_everything": "", "allow_new_relation": ""}})


@pytest.mark.parametrize(
    "work_types",
    [
        [[True], [1], [True]],  # jsonschema sorts, and [true] == [1] to the sort: unique
        [[1], [True], [1]],
        [[0], [False], [0]],
        [[[True]], [[1]], [[True]]],
        [True, 1, True],  # do not sort (a sentinel for true): every pair, so not unique
        ["a", "b", "a"],
        [{"a": 1}, {"a": True}, {"a": 1}],
    ],
    ids=repr,
)
def test_unique_items_answers_as_jsonschema_does(work_types: list[Any]) -> None:
    assert_same_errors(
        {"portal": "acme", "guest_workorder": {"enabled": True, "work_types": work_types}}
    )


def test_the_shipped_and_shared_files() -> None:
    """The repository's portals and every case of the shared corpus that loads."""
    files = sorted((REPO / "portals").glob("*.yaml"))
    corpus = SHARED / "corpus" / "yaml-test-suite-errors"
    files += sorted(corpus.glob("*.yaml")) if corpus.is_dir() else []
    loaded = 0
    for path in files:
        document = load_file(path).document
        if document is not None:
            loaded += 1
            assert_same_errors(document.data)
    assert loaded >= len(list((REPO / "portals").glob("*.yaml")))


JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-2, 2)
    | st.floats(allow_nan=False, width=16)
    | st.sampled_from(["", " ", "a", "Storing", "a-b", "A", "x ", "enabled", "portal"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["enabled", "work_types", "portal", "x"]), inner, max_size=3
        )
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PATHS), JSONISH)
def test_random_values_in_every_place(path: tuple[str, ...], value: Any) -> None:
    assert_same_errors(_with(path, value))


def test_a_schema_with_other_keywords_is_left_to_jsonschema() -> None:
    assert compile_validator({"type": "object", "oneOf": [{"required": ["a"]}]}) is None
    assert compile_validator({"additionalProperties": {"type": "string"}}) is None
    assert compile_validator({"properties": {"a": True}}) is None


def test_lint_of_broken_files_imports_no_jsonschema(tmp_path: Path) -> None:
    (tmp_path / "portals").mkdir()
    (tmp_path / "portals" / "a.yaml").write_text(
        "portal: a\nguest_workorder:\n  enabeld: yes\n  work_types: [' x', '']\n"
    )
    probe = (
        "import sys\nfrom portal_config.cli import cli\n"
        "try:\n    cli(['lint'])\nexcept SystemExit as exit:\n"
        "    print('exit', exit.code)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'jsonschema'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert "unknown key 'enabeld' in guest_workorder; did you mean 'enabled'?" in done.stdout
    assert done.stdout.splitlines()[-2:] == ["exit 1", "[]"]
