"""escaping: each medium's one function shows a value exactly, as data."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from hostile_strings import HOSTILE, assert_inert_markdown, assert_plain_text
from portal_config.errors import ConfigError
from portal_config.escaping import (
    code_span,
    escape_html,
    escape_json,
    escape_line,
    escape_markdown,
    escape_text,
    quote,
)
from portal_config.live.api import ApiError
from portal_config.live.wire import WireError, work_type_from_wire
from portal_config.plan.value import PlanFileError
from portal_config.project.config import Ignore


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("Storing", "Storing"),
        ("tab\tkept é 🎉 Ĳsselmeer", "tab\tkept é 🎉 Ĳsselmeer"),  # printable text is left alone
        ("text \\x1b, real \x1b", "text \\\\x1b, real \\x1b"),  # a backslash is doubled
        ("C:\\dir\\", "C:\\\\dir\\\\"),
        ("a\nb\rc", "a\\nb\\rc"),
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("\x1b]52;c;ZXZpbA==\x07", "\\x1b]52;c;ZXZpbA==\\x07"),
        ("\x1b[2J", "\\x1b[2J"),
        ("\x9b2J\x85\x7f\x00", "\\x9b2J\\x85\\x7f\\x00"),
        ("abc\u202eevil\u2066x\u2069\u200f", "abc\\u202eevil\\u2066x\\u2069\\u200f"),
        ("line\u2028sep", "line\\u2028sep"),
        ("x\n::error::pwned", "x\\n::error::pwned"),
    ],
)
def test_escape_text_shows_controls_as_escapes(value: str, shown: str) -> None:
    assert escape_text(value) == shown


def test_escape_text_is_fast_on_long_values() -> None:
    assert escape_text("evil\x1b\\" * 20_000) == "evil\\x1b\\\\" * 20_000


def _unescape(shown: str) -> str:
    # Python's own reading of its escapes, independent of the module: the shown text's
    # non-Latin-1 characters become escapes too, so the codec sees bytes it can read.
    return shown.encode("latin-1", "backslashreplace").decode("unicode_escape")


@given(st.text())
def test_escape_text_and_quote_are_reversible(value: str) -> None:
    # Reversible, so distinct values are always shown distinctly: escape_text is not
    # idempotent, and must not be (escaping the text "\\x1b" keeps it apart from an ESC).
    assert _unescape(escape_text(value)) == value
    shown = quote(value)
    assert shown.startswith('"') and shown.endswith('"')
    assert _unescape(shown[1:-1]) == value


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_a_value_and_the_text_of_its_escapes_are_shown_apart(value: str) -> None:
    # The collision a reader could be fooled by: a value holding an ESC and one holding
    # the four characters of its escape, "\\x1b". Distinct values, distinct output.
    spelled = escape_line(value)
    if spelled != value:
        assert escape_text(spelled) != escape_text(value)
        assert quote(spelled) != quote(value)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("Acme_Legacy", '"Acme_Legacy"'),
        ("Café Noord", '"Café Noord"'),
        ("", '""'),
        (" x ", '" x "'),
        ('say "hi"', '"say \\"hi\\""'),
        ("x\n::error::pwned", '"x\\n::error::pwned"'),
        ("\x1b]0;t\x07\u202e", '"\\x1b]0;t\\x07\\u202e"'),
        ("text \\x1b", '"text \\\\x1b"'),
    ],
)
def test_quote_shows_a_value_in_double_quotes_escaped(value: str, shown: str) -> None:
    assert quote(value) == shown


def test_escape_line_shows_controls_and_leaves_quoted_values_as_they_are() -> None:
    line = "ignored by ignore: " + quote("a\x1b") + " from \x1b]0;t\x07\n::error::x"
    assert escape_line(line) == 'ignored by ignore: "a\\x1b" from \\x1b]0;t\\x07\\n::error::x'
    assert escape_line(escape_line(line)) == escape_line(line)


def test_a_quoted_value_in_an_error_is_escaped_once() -> None:
    why = Ignore(("legacy\\*\x1b",)).why("legacy\\1\x1b")
    assert ConfigError(f"x.yaml:1:1: {why}").render() == (
        'invalid config: x.yaml:1:1: ignored by ignore: "legacy\\\\*\\x1b" in portal-config.yaml'
    )


@pytest.mark.parametrize(
    ("value", "span", "html"),
    [
        ("acme", "`acme`", "<code>acme</code>"),
        ("a`b", "``a`b``", "<code>a`b</code>"),
        ("a``b```c", "````a``b```c````", "<code>a``b```c</code>"),
        ("`edge`", "`` `edge` ``", "<code>`edge`</code>"),
        (" spaced ", "`  spaced  `", "<code> spaced </code>"),
        ("lead", "`lead`", "<code>lead</code>"),
        ("  ", "`  `", "<code>  </code>"),
        ("", "` `", "<code> </code>"),
        ("a\nb", "`a\\nb`", "<code>a\\nb</code>"),
        ("<img src=x>", "`<img src=x>`", "<code>&lt;img src=x&gt;</code>"),
        ("@org/team", "`@org/team`", "<code>@org/team</code>"),
    ],
)
def test_escape_markdown_is_a_code_span_showing_the_value(value: str, span: str, html: str) -> None:
    assert escape_markdown(value) == span
    assert MarkdownIt("commonmark").render(f"x {span} y") == f"<p>x {html} y</p>\n"


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_every_hostile_value_stays_inert_in_markdown_and_text(name: str) -> None:
    value = HOSTILE[name]
    assert_inert_markdown(f"**Plan**\n\nPortal {escape_markdown(value)} changes.\n")
    assert_inert_markdown(
        f"<details>\n<summary><code>{escape_html(value)}</code>: 1 change</summary>\n\n"
        f"```diff\n- work_types: {escape_text(value)}\n```\n</details>\n"
    )
    assert_plain_text(f"~ {escape_text(value)}\n")


def test_code_span_fences_text_already_escaped_without_escaping_it_again() -> None:
    assert code_span(quote("a`\x1b")) == '``"a`\\x1b"``'
    assert code_span(escape_text("a`\x1b")) == escape_markdown("a`\x1b")


def test_escape_html_escapes_tags_quotes_and_controls() -> None:
    assert escape_html("</details><!-- \"x\" & 'y'\n") == (
        "&lt;/details&gt;&lt;!-- &quot;x&quot; &amp; &#x27;y&#x27;\\n"
    )


def test_escape_json_keeps_the_value_and_leaves_no_raw_control() -> None:
    data = {"name": "é\x7f\x9b\u202e\n\x1b", "ok": True}
    text = escape_json(json.dumps(data, indent=2, ensure_ascii=False))
    assert json.loads(text) == data
    assert "é" in text and "\\u009b" in text and "\\u202e" in text
    assert_plain_text(text)


def test_escaping_imports_only_the_standard_library() -> None:
    # lint and the low-level modules (errors, storage) import it: it must stay a cheap leaf.
    # Every module it loads is the standard library's, but for the package itself and its
    # _version (one generated assignment, which comes with any import of portal_config).
    code = (
        "import sys; before = set(sys.modules); import portal_config.escaping; "
        "print(sorted(m for m in set(sys.modules) - before "
        "if m.partition('.')[0] not in sys.stdlib_module_names and m != 'portal_config._version'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['portal_config', 'portal_config.escaping']"


def test_an_error_line_quotes_a_server_message_escaped() -> None:
    error = ApiError(
        "GET portals/: OutSmart code 1101 (required field missing): \x1b]0;t\x07\n::error::x"
    )
    assert error.render() == (
        "api error: GET portals/: OutSmart code 1101 (required field missing): "
        "\\x1b]0;t\\x07\\n::error::x"
    )


def test_each_reason_of_a_many_reason_error_is_one_escaped_line() -> None:
    error = PlanFileError("plan.json: a\n::add-mask::x", "plan.json: \u202eb")
    assert error.render() == (
        "invalid plan: plan.json: a\\n::add-mask::x\ninvalid plan: plan.json: \\u202eb"
    )


def test_a_server_work_type_in_a_wire_error_is_quoted() -> None:
    with pytest.raises(WireError) as caught:
        work_type_from_wire({"wrt_name": 'Storing "\x1b', "wrt_active": "2"})
    assert str(caught.value) == (
        'GET worktypes/: work type "Storing \\"\\x1b" has wrt_active \'2\', not 1 or 0'
    )
    assert ApiError(str(caught.value)).render() == f"api error: {caught.value}"
