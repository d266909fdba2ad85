"""The loader: positions, duplicate keys, YAML 1.1 surprises and every hostile input."""

from __future__ import annotations

import time

import pytest
import yaml

from portal_config.lint import loader as loader_module
from portal_config.lint.loader import MAX_BYTES, load_bytes
from portal_config.problems import Position

LOADERS = [yaml.SafeLoader] + ([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else [])


def problems_of(source: bytes | str, loader: type = yaml.SafeLoader) -> list[str]:
    data = source.encode() if isinstance(source, str) else source
    result = load_bytes(data, "p.yaml", loader)
    assert (result.document is None) == bool(result.problems)
    return [f"{p.position}: {p.message}" if p.position else p.message for p in result.problems]


@pytest.mark.parametrize("loader", LOADERS, ids=lambda c: c.__name__)
def test_records_one_based_positions_of_keys_and_values(loader: type) -> None:
    text = "portal: acme\nguest_workorder:\n  enabled: true\n  work_types:\n    - Storing\n    - 'Onderhoud'\n"
    document = load_bytes(text.encode(), "p.yaml", loader).document
    assert document is not None
    assert document.data == {
        "portal": "acme",
        "guest_workorder": {"enabled": True, "work_types": ["Storing", "Onderhoud"]},
    }
    assert document.locate(("portal",)) == Position(1, 9)
    assert document.locate(("portal",), key=True) == Position(1, 1)
    assert document.locate(("guest_workorder", "enabled"), key=True) == Position(3, 3)
    assert document.locate(("guest_workorder", "work_types", 1)) == Position(6, 7)
    # A path below a scalar falls back to the nearest recorded ancestor.
    assert document.locate(("guest_workorder", "work_types", 1, "x")) == Position(6, 7)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a: 1\nb: 2\na: 3\n", ["3:1: duplicate key 'a' (first defined at 1:1)"]),
        ("g:\n  x: 1\n  x: 2\n", ["3:3: duplicate key 'x' (first defined at 2:3)"]),
        (
            "a: 1\n---\n",
            [
                "2:1: file holds more than one YAML document; keep one portal per file and remove the extra '---'"
            ],
        ),
        (
            "a: 1\n---\nb: 2\n",
            [
                "2:1: file holds more than one YAML document; keep one portal per file and remove the extra '---'"
            ],
        ),
        ("", ["1:1: file is empty (or only comments); expected a portal mapping"]),
        (
            "# only a comment\n\n",
            ["1:1: file is empty (or only comments); expected a portal mapping"],
        ),
        ("- a\n- b\n", ["1:1: top level must be a mapping of settings, found a list"]),
        ("just text\n", ["1:1: top level must be a mapping of settings, found a single value"]),
        ("~\n", ["1:1: top level must be a mapping of settings, found nothing (null)"]),
        (
            "1: a\n",
            ['1:1: mapping keys must be strings: `1` was read as an integer 1; quote it: "1"'],
        ),
        (
            "on: a\n",
            [
                '1:1: mapping keys must be strings: `on` was read as a boolean true (YAML 1.1 reads yes/no/on/off as booleans); quote it: "on"'
            ],
        ),
        (
            "? [a, b]\n: c\n",
            ["1:3: mapping keys must be strings: a mapping or list cannot be a key"],
        ),
        (
            "a: !!python/object/apply:os.system ['true']\n",
            [
                "1:4: tag !!python/object/apply:os.system is not allowed; portal files use only strings, numbers, booleans, null, lists and mappings"
            ],
        ),
        (
            "a: !!python/name:os.system\n",
            [
                "1:4: tag !!python/name:os.system is not allowed; portal files use only strings, numbers, booleans, null, lists and mappings"
            ],
        ),
        (
            "a: !custom x\n",
            [
                "1:4: tag !custom is not allowed; portal files use only strings, numbers, booleans, null, lists and mappings"
            ],
        ),
        (
            "a: !!binary aGVsbG8=\n",
            [
                "1:4: tag !!binary is not allowed; portal files use only strings, numbers, booleans, null, lists and mappings"
            ],
        ),
        (
            "a: !!set {x, y}\n",
            [
                "1:4: tag !!set is not allowed; portal files use only strings, numbers, booleans, null, lists and mappings"
            ],
        ),
        (
            "a: !!omap [x: 1]\n",
            [
                "1:4: tag !!omap is not allowed; portal files use only strings, numbers, booleans, null, lists and mappings"
            ],
        ),
        (
            "a: 2024-01-31\n",
            ['1:4: `2024-01-31` was read as a timestamp; quote it if you meant text: "2024-01-31"'],
        ),
        ("a: .nan\n", ["1:4: `.nan` is not a finite number (NaN and infinity are not allowed)"]),
        ("a: -.inf\n", ["1:4: `-.inf` is not a finite number (NaN and infinity are not allowed)"]),
        (
            "x: &x {a: 1}\ny:\n  <<: *x\n",
            [
                "3:3: tag !!merge is not allowed; portal files use only strings, numbers, booleans, null, lists and mappings"
            ],
        ),
        ("a: *nowhere\n", ["1:4: undefined alias *nowhere"]),
        ("a: &x [1, *x]\n", ["1:11: recursive alias *x refers to a node that contains it"]),
        ("a: &x {b: *x}\n", ["1:11: recursive alias *x refers to a node that contains it"]),
        (
            "a:\n\tb: 1\n",
            [
                "2:1: syntax error: tab character where YAML expects spaces (indent with spaces only)"
            ],
        ),
        (
            "a: [1, 2\n",
            [
                "2:1: syntax error: expected ',' or ']', but got '<stream end>' (while parsing a flow sequence at 1:4)"
            ],
        ),
        (b"a: b\nc: \xff\xfe\n", ["2:4: file is not valid UTF-8 (byte 0xff); save it as UTF-8"]),
        (b"a: caf\xc3\xa9 \xe9\n", ["1:9: file is not valid UTF-8 (byte 0xe9); save it as UTF-8"]),
        ("a: " + "1" * 4400 + "\n", ["1:4097: line is longer than 4096 characters"]),
    ],
)
def test_hostile_input_gives_one_clear_problem(source: str | bytes, expected: list[str]) -> None:
    assert problems_of(source) == expected


def test_integer_beyond_pythons_digit_limit_is_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader_module, "MAX_LINE", 10_000)
    assert problems_of("a: " + "1" * 4301 + "\n") == [
        "1:4: cannot read `1111111111111111111111111111111111111...` as an integer: too many digits"
    ]


def test_utf8_bom_is_accepted() -> None:
    result = load_bytes(b"\xef\xbb\xbfa: 1\n", "p.yaml")
    assert result.document is not None and result.document.data == {"a": 1}


def test_oversized_file_is_refused_without_reading_on() -> None:
    assert problems_of(b"a: b\n" * (MAX_BYTES // 5 + 1)) == [
        f"file is larger than {MAX_BYTES} bytes; a portal file is a few hundred bytes"
    ]


def test_deep_nesting_is_refused_below_the_recursion_limit() -> None:
    block = "".join("  " * i + f"k{i}:\n" for i in range(60)) + "  " * 60 + "x: 1\n"
    assert problems_of(block) == ["33:65: nesting is deeper than 32 levels"]
    assert problems_of("a: " + "[" * 2000 + "]" * 2000 + "\n") == [
        "1:35: nesting is deeper than 32 levels"
    ]


@pytest.mark.parametrize("loader", LOADERS, ids=lambda c: c.__name__)
def test_alias_bomb_is_refused_quickly(loader: type) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for name, previous in zip("bcdefghi", "abcdefgh", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    started = time.perf_counter()
    problems = problems_of("\n".join(lines) + "\n", loader)
    assert time.perf_counter() - started < 2
    assert problems == ["5:8: document expands to more than 10000 values (alias bomb?)"]


def test_many_aliases_are_refused() -> None:
    text = "a: &a x\nb: [" + ", ".join(["*a"] * 101) + "]\n"
    assert problems_of(text) == ["2:405: more than 100 aliases in one file"]


def test_small_aliases_are_fine() -> None:
    result = load_bytes(b"a: &w [Storing]\nb: *w\n", "p.yaml")
    assert result.document is not None
    assert result.document.data == {"a": ["Storing"], "b": ["Storing"]}


@pytest.mark.skipif(len(LOADERS) < 2, reason="PyYAML built without libyaml")
@pytest.mark.parametrize(
    "source",
    [
        "portal: acme\nguest_workorder:\n  enabled: yes\n  work_types: [Storing, NO, 010, 1:30, 'x']\n",
        "a: &w [Storing]\nb: *w\nc: {d: [1, 2.5, ~, true]}\n",
        "a: 1\na: 2\n1: x\nb: !!binary aGk=\nc: 2020-01-01\nd: .nan\n",
        "a: 1\n---\n",
        "# comment\n",
        "a: *x\n",
        "a: &x [*x]\n",
        "a: 'multi\n  line'\nb: |\n  block\n  text\nc: >-\n  folded\n",
    ],
)
def test_c_and_pure_loaders_agree(source: str) -> None:
    results = [load_bytes(source.encode(), "p.yaml", loader) for loader in LOADERS]
    pure, fast = results
    assert pure.problems == fast.problems
    if pure.document is not None:
        assert fast.document is not None
        assert pure.document.data == fast.document.data
        assert pure.document.values == fast.document.values
        assert pure.document.keys == fast.document.keys
        assert pure.document.plain_scalars == fast.document.plain_scalars
