"""The composer-based reader gives exactly the event builder's Document, or leaves the file
to the builder (issue 21, point 2): same data, value and key positions, plain scalars."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, SHARED
from portal_config.lint.loader import load_bytes
from portal_config.lint.reader import read
from portal_config.lint.reader.composer import compose

sys.path.insert(0, str(REPO / "benchmarks"))
from measure import portal_text  # noqa: E402  (the benchmark's generated files)

ORDINARY = [
    portal_text(7),
    portal_text(10),
    portal_text(3, broken=True),
    "portal: a\nguest_workorder: {enabled: false, work_types: []}\n",
    "\ufeffportal: a\nguest_workorder:\n  enabled: yes\n",  # a BOM, a YAML 1.1 boolean
    "portal: 'quoted'\ndescription: \"Tom & Jerry é\"\nguest_workorder:\n  enabled: true\n",
    "portal: 010\nn: 1:30\nf: 1.5e3\nnull_value:\nt: ~\nlist:\n  - - 1\n    - x\n  - {a: b}\n",
    "block: |\n  two\n  lines\nfolded: >\n  a\n  b\nkey with spaces: v\n'quoted key': 1\n",
    "---\nportal: a\n...\n",
    "a: " + "x" * 5000 + "\n",  # longer than a line may be: the builder reports it
    "a: [1, 2]\nb: {c: {d: {e: [x, y]}}}\n",
]

UNUSUAL = [
    "a: &x [1, 2]\nb: *x\n",  # an alias
    "a: !!str 5\n",  # a tag
    "a: !custom 5\n",
    "a: 1\na: 2\n",  # a duplicate key
    "1: a\n",  # a non-string key
    "? [a]\n: b\n",
    "a: 2001-12-14\n",  # a timestamp
    "<<: {a: 1}\n",  # a merge key
    "a: .inf\n",
    "a: .nan\n",
    "a: " + "9" * 5000 + "\n",
    "a: " + "[" * 40 + "]" * 40 + "\n",  # deeper than MAX_DEPTH
    "a: 1\n---\nb: 2\n",
    "",
    "# only a comment\n",
    "- a\n- b\n",
    "just text\n",
    "a: [1, 2\n",  # a syntax error
    "a:\n\t- b\n",
]


def assert_same(text: str) -> None:
    """read() (the composer where it may) gives what the builder alone gives: the same
    LoadResult, Document fields included (data, positions, plain scalars, problems)."""
    data = text.encode("utf-8")
    built = load_bytes(data, "p.yaml")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "p.yaml"
        path.write_bytes(data)
        assert read(path, "p.yaml", None) == built, text
    composed = compose(data.decode("utf-8-sig"), "p.yaml")
    if composed is not None and len(text) < 4096:
        assert built.document is not None and not built.problems, text
        # Each position asked alone first (found down the tree), then the whole tables.
        for path, where in built.document.values.items():
            assert compose(text.lstrip("\ufeff"), "p.yaml").values[path] == where  # type: ignore[union-attr]
            assert composed.locate(path) == built.document.locate(path)
        for path, where in built.document.keys.items():
            assert compose(text.lstrip("\ufeff"), "p.yaml").keys[path] == where  # type: ignore[union-attr]
            assert composed.locate(path, key=True) == built.document.locate(path, key=True)
        for missing in [("nope",), ("portal", 0), (0,), ("guest_workorder", "nope", 1)]:
            assert (missing in composed.values) == (missing in built.document.values)
            assert composed.locate(missing) == built.document.locate(missing)
        assert composed == built.document
        assert type(composed.data) is type(built.document.data)


@pytest.mark.parametrize("text", ORDINARY)
def test_an_ordinary_file_is_composed_as_the_builder_reads_it(text: str) -> None:
    assert_same(text)
    if len(text) < 4096:
        assert compose(text.lstrip("\ufeff"), "p.yaml") is not None


@pytest.mark.parametrize("text", UNUSUAL)
def test_anything_unusual_is_left_to_the_builder(text: str) -> None:
    assert compose(text, "p.yaml") is None
    assert_same(text)


def test_the_shipped_portals_and_the_shared_corpus(tmp_path: Path) -> None:
    files = sorted((REPO / "portals").glob("*.yaml"))
    corpus = SHARED / "corpus" / "yaml-test-suite-errors"
    files += sorted(corpus.glob("*.yaml")) if corpus.is_dir() else []
    for path in files:
        data = path.read_bytes()
        assert read(path, "p.yaml", None) == load_bytes(data, "p.yaml"), path.name
        try:
            assert_same(data.decode("utf-8"))
        except UnicodeDecodeError:
            pass


def test_values_that_repeat_in_every_file_are_shared() -> None:
    """As the builder does: keys and list items are interned, other values are not."""
    one = compose("portal: some-portal-id\nwork_types: [Storing]\n", "a.yaml")
    two = compose("portal: some-portal-id\nwork_types: [Storing]\n", "b.yaml")
    assert one is not None and two is not None
    assert one.data["work_types"][0] is two.data["work_types"][0]
    assert [k for k in one.data] == [k for k in two.data]
    assert all(a is b for a, b in zip(one.data, two.data, strict=True))


YAMLISH = st.text(
    alphabet=st.sampled_from(list("ab:-_ \n[]{},#'\"yYnNoO0123456789.~é|>?")), max_size=80
)


def _mutated() -> st.SearchStrategy[str]:
    base = portal_text(4)
    return st.tuples(st.integers(0, len(base)), st.integers(0, 12), YAMLISH).map(
        lambda t: base[: t[0]] + t[2] + base[t[0] + t[1] :]
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(YAMLISH, _mutated()))
def test_random_text_reads_the_same_both_ways(text: str) -> None:
    assert_same(text)
