"""The schema-compiled precheck must never call an invalid document valid."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from portal_config.lint.precheck import compile_precheck
from portal_config.lint.schema import config_schema, portal_schema

SCHEMA = portal_schema()
PRECHECK = compile_precheck(SCHEMA)
VALIDATOR = Draft202012Validator(SCHEMA)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.sampled_from(["", " x", "Storing", "storing", "acme", "Acme", "a--b", "a-b", "x" * 101]),
    st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
flags = st.sampled_from(
    [
        "enabled",
        "allow_address_change",
        "allow_new_relation",
        "allow_requests_for_others",
        "work_types",
        "enabeld",
    ]
)
guest = st.dictionaries(
    flags,
    st.one_of(
        st.booleans(),
        st.lists(st.sampled_from(["Storing", "Onderhoud", "", " x", 1]), max_size=3),
        values,
    ),
    max_size=6,
)
acknowledged = st.dictionaries(
    st.sampled_from(["allow_new_relation", "allow_address_change", "other"]),
    st.one_of(st.text(max_size=3), values),
    max_size=2,
)
portals = st.fixed_dictionaries(
    {},
    optional={
        "portal": st.one_of(
            st.sampled_from(["acme", "acme-facilities", "Acme", "-x", "a--b", ""]), values
        ),
        "guest_workorder": st.one_of(guest, values),
        "description": st.one_of(st.text(max_size=5), values),
        "acknowledged": st.one_of(acknowledged, values),
        "extra": values,
    },
)


def test_portal_schema_is_fully_modelled() -> None:
    assert PRECHECK is not None


def test_unmodelled_keywords_defer_to_jsonschema() -> None:
    assert compile_precheck({"anyOf": [{"type": "string"}]}) is None
    assert compile_precheck({"properties": {"a": {"format": "email"}}}) is None
    assert compile_precheck({"not": {"type": "string"}}) is None
    assert compile_precheck({"enum": [1, True]}) is None


@pytest.mark.slow  # 1,500 generated documents, each through jsonschema too
@settings(max_examples=1500, deadline=None)
@given(st.one_of(portals, values))
def test_precheck_agrees_with_jsonschema(instance: Any) -> None:
    assert PRECHECK is not None
    assert PRECHECK(instance) == VALIDATOR.is_valid(instance)


def test_shipped_portals_pass_the_precheck() -> None:
    from conftest import REPO
    from portal_config.lint.loader import load_file

    for path in sorted((REPO / "portals").glob("*.yaml")):
        document = load_file(path).document
        assert document is not None and PRECHECK is not None
        assert PRECHECK(document.data) is True, path.name


CONFIG_SCHEMA = config_schema()
CONFIG_PRECHECK = compile_precheck(CONFIG_SCHEMA)
CONFIG_VALIDATOR = Draft202012Validator(CONFIG_SCHEMA)
numbers = st.one_of(st.integers(-2, 700), st.floats(-1, 700, allow_nan=False), st.booleans())
target = st.fixed_dictionaries(
    {},
    optional={
        "sandbox": st.sampled_from(["s.json", "", " "]),
        "base_url": st.sampled_from(["https://x/", ""]),
        "token_env": st.sampled_from(["OUTSMART_TOKEN", "my-token", ""]),
        "concurrency": numbers,
        "deadline": numbers,
        "retries": numbers,
        "backoff": numbers,
        "timeout": numbers,
        "timout": numbers,
    },
)
configs = st.fixed_dictionaries(
    {},
    optional={
        "portals_dir": st.one_of(st.sampled_from(["portals", "", "  "]), values),
        "rules": st.one_of(
            st.dictionaries(
                st.sampled_from(["duplicate-work-type", "duplicate-work-types"]),
                st.sampled_from(["error", "warning", "disable", "fatal", 1]),
            ),
            values,
        ),
        "targets": st.one_of(st.dictionaries(st.sampled_from(["a", "b"]), target), values),
        "safety": st.one_of(
            st.dictionaries(st.sampled_from(["max_portals", "max_share", "max_portalz"]), numbers),
            values,
        ),
        "default_target": values,
        "ignore": st.one_of(st.lists(st.sampled_from(["Acme_Legacy", "t-*", "", 1])), values),
    },
)


@pytest.mark.slow  # 1,500 generated configs, each through jsonschema too
@settings(max_examples=1500, deadline=None)
@given(configs)
def test_config_precheck_never_calls_an_invalid_config_valid(instance: Any) -> None:
    # Not equality: 2.0 is an integer to JSON Schema, and the precheck leaves that to it.
    assert CONFIG_PRECHECK is not None
    if CONFIG_PRECHECK(instance):
        assert CONFIG_VALIDATOR.is_valid(instance)


def test_shipped_config_passes_the_precheck() -> None:
    from conftest import REPO
    from portal_config.lint.loader import load_file

    document = load_file(REPO / "portal-config.yaml").document
    assert document is not None and CONFIG_PRECHECK is not None
    assert CONFIG_PRECHECK(document.data) is True
