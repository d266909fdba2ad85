"""Property-based tests: lint never crashes on any input; plans are exact and idempotent."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SOFTWARE_TOKEN, TOKEN
from guest import GUEST, guest, guest_settings
from portal_config.files.canonical import render_portal
from portal_config.lint.check import lint
from portal_config.lint.loader import Document, load_bytes
from portal_config.lint.scope import Scope
from portal_config.live.api import ClientSettings, OutSmartClient
from portal_config.live.apply import apply_plan
from portal_config.plan.inputs import PlanInputs, gather
from portal_config.plan.results import Outcome
from portal_config.plan.value import Plan, build_plan, compute_changes
from portal_config.problems import Problem
from portal_config.sandbox import Sandbox, SandboxState, start_sandbox
from portal_config.settings.model import PortalSettings

# -- lint never crashes ----------------------------------------------------------------------
YAMLISH = st.text(
    alphabet=st.sampled_from(list("ab:-_ \n\t[]{},&*!|>'\"#%@`?~.0123456789yYnNoO\\\x00é")),
    max_size=300,
)


def _mutated_portal() -> st.SearchStrategy[str]:
    base = "portal: acme\nguest_workorder:\n  enabled: true\n  work_types:\n    - Storing\n"
    return st.tuples(st.integers(0, len(base)), st.integers(0, 20), YAMLISH).map(
        lambda t: base[: t[0]] + t[2] + base[t[0] + t[1] :]
    )


@pytest.fixture(scope="module")
def lint_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("fuzz")
    (directory / "portals").mkdir()
    return directory


def _lint_bytes(directory: Path, data: bytes) -> None:
    path = directory / "portals" / "acme.yaml"
    path.write_bytes(data)
    started = time.perf_counter()
    run = lint(
        [path],
        Scope(root=directory, portals_dir=directory / "portals", catalog=directory / "none.yaml"),
    )
    assert time.perf_counter() - started < 3
    assert len(run.report.files) == 1
    for problem in run.report.problems:
        assert problem.message and problem.rule
        assert problem.position is None or (
            problem.position.line >= 1 and problem.position.column >= 1
        )


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=600))
def test_lint_survives_random_bytes(lint_dir: Path, data: bytes) -> None:
    _lint_bytes(lint_dir, data)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.one_of(YAMLISH, _mutated_portal()))
def test_lint_survives_yamlish_text(lint_dir: Path, text: str) -> None:
    _lint_bytes(lint_dir, text.encode("utf-8"))


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
        ),
        max_leaves=15,
    )
)
def test_loader_reads_back_what_yaml_dumps(value: object) -> None:
    text = yaml.safe_dump({"v": value}, allow_unicode=True)
    result = load_bytes(text.encode(), "p.yaml")
    assert result.problems == [] and result.document is not None
    assert result.document.data == yaml.safe_load(text)


# -- plans are exact and idempotent -------------------------------------------------------------
WORK_TYPES = ["Storing", "Onderhoud", "Inspectie", "NO", "010", "a: b"]
settings_strategy = st.builds(
    guest_settings,
    portal=st.just("p"),
    enabled=st.booleans(),
    allow_address_change=st.booleans(),
    allow_new_relation=st.booleans(),
    allow_requests_for_others=st.booleans(),
    work_types=st.lists(st.sampled_from(WORK_TYPES), unique=True, max_size=4).map(tuple),
)


@given(settings_strategy, settings_strategy)
def test_diff_is_empty_exactly_when_states_are_equal(
    live: PortalSettings, desired: PortalSettings
) -> None:
    changes = compute_changes(live, desired)
    equal = (
        guest(live, "enabled") == guest(desired, "enabled")
        and all(
            guest(live, f) == guest(desired, f)
            for f in ("allow_address_change", "allow_new_relation", "allow_requests_for_others")
        )
        and set(guest(live, "work_types")) == set(guest(desired, "work_types"))
    )
    assert (changes == ()) == equal


@settings(deadline=None)  # the first example imports deepdiff; time is not what is tested
@given(settings_strategy, settings_strategy)
def test_the_changes_are_the_fields_a_generic_differ_finds(
    live: PortalSettings, desired: PortalSettings
) -> None:
    # deepdiff as the oracle: the hand-written comparison must agree with it on every field.
    from deepdiff import DeepDiff

    old, new = live.comparable()[GUEST], desired.comparable()[GUEST]
    expected = set(DeepDiff(old, new, ignore_order=True).affected_root_keys)
    assert {change.field for change in compute_changes(live, desired)} == expected


@pytest.fixture(scope="module")
def property_sandbox() -> Iterator[Sandbox]:
    state = SandboxState.open(None, {"version": 1, "work_types": WORK_TYPES, "portals": {}})
    with start_sandbox(state, token=TOKEN, software_token=SOFTWARE_TOKEN) as sandbox:
        yield sandbox


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(settings_strategy, settings_strategy)
def test_apply_then_diff_is_empty_and_a_second_apply_does_nothing(
    property_sandbox: Sandbox, live: PortalSettings, desired: PortalSettings
) -> None:
    sections = {k: v for k, v in live.to_json().items() if k != "portal"}
    property_sandbox.state.data["portals"]["p"] = {
        "portal_id": "p",
        "name": "p",
        "revision": 1,
        **sections,
    }
    document = load_bytes(render_portal(desired, {}, "# p").encode(), "portals/p.yaml").document
    assert document is not None
    with OutSmartClient(property_sandbox.url, TOKEN, SOFTWARE_TOKEN, ClientSettings()) as client:
        plan, problems = _planned(document, client)
        assert problems == [] and plan.has_changes == (not live.same_as(desired))
        first = apply_plan(plan, client)
        assert [r.outcome for r in first.results] == [
            Outcome.APPLIED if plan.has_changes else Outcome.UNCHANGED
        ]
        again, _ = _planned(document, client)
        assert not again.has_changes
        second = apply_plan(again, client)
        assert [r.outcome for r in second.results] == [Outcome.UNCHANGED]
        assert client.get_portal("p").revision == (2 if plan.has_changes else 1)


def _planned(document: Document, client: OutSmartClient) -> tuple[Plan, list[Problem]]:
    """The plan diff makes of ``document`` against the live portals, and its problems."""
    portals, unmanaged, problems = gather([document], client.list_portals(), "t")
    inputs = PlanInputs("t", client.display_url, portals, "now", "now", unmanaged)
    return build_plan(inputs), problems
