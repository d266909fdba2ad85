"""How a value from a file, a path or a server is shown: as data, never as markup or control.

One function per medium, and every renderer calls them for every value it did not write
itself (portal ids, work type names, paths, YAML keys, server messages):

- `escape_text` for terminals and logs: a control character, a line break inside the
  value or a bidi override becomes a visible escape (``\\x1b``, ``\\n``, ``\\u202e``), and a
  backslash is doubled, so a value can neither start a line (a forged ``::error::`` or
  ``::add-mask::`` workflow command) nor send a terminal sequence (an OSC title or
  clipboard write, a CSI), and a value that holds the text ``\\x1b`` reads differently
  from one that holds an ESC;
- `quote` for a value inside a sentence, where its ends must show (an id or a pattern
  with a space at an end, an empty one): `escape_text` in double quotes, a quote in the
  value escaped. Printable text, accented or not (``Café``, ``Ĳsselmeer``), stays as it is;
- `escape_line` for a whole line the tool composed (an error, a refusal) that may hold
  values already escaped by `quote` or `escape_text`, or raw ones (a server's message, a
  path): controls made visible as `escape_text` does, backslashes left alone so no value
  is escaped twice;
- `escape_markdown` for markdown: the value as an inline code span whose fence is longer
  than any backtick run in it, so it cannot close the span and open markup, a link, an
  image, an ``@mention`` or an HTML comment (`code_span` for a value already quoted);
- `escape_html` for markdown's raw HTML blocks (``<summary>``), where markdown is not
  parsed and a code span would show its backticks.

Pure and stdlib-only: lint imports it on every commit.
"""

from __future__ import annotations

import re

# A value is shown as written unless it holds one of these: the C0 controls but tab
# (newline and CR included: inside a value they would start a new line), DEL, the C1
# controls (0x9b is a CSI on some terminals), the bidi embeddings, overrides and isolates
# and marks (they make text read differently than it is), and the line and paragraph
# separators some viewers break lines at.
_BEYOND_C0 = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x08\x0a-\x1f{_BEYOND_C0}]")
# A value's own backslash is doubled, so its text "\x1b" does not read as an ESC.
_UNSAFE_OR_BACKSLASH = re.compile(f"[\\\\\x00-\x08\x0a-\x1f{_BEYOND_C0}]")
# json.dumps escapes C0 in strings itself; outside them it writes newlines of its own.
_JSON_RAW = re.compile(f"[{_BEYOND_C0}]")
_BACKTICKS = re.compile("`+")
# What a file the tool writes must not hold raw either (a reviewer reads it in a diff),
# with YAML's own line break (NEL) and the byte-order mark: `file_escapes` finds them.
_FILE_RAW = re.compile(f"[\x00-\x08\x0a-\x1f{_BEYOND_C0}\ufeff]")
_FILE_UNSAFE = re.compile(f'[\\\\"\x00-\x1f{_BEYOND_C0}\ufeff]')


def escape_text(value: str) -> str:
    """``value`` with every control character, line break and bidi control made visible
    and every backslash doubled.

    Reversible, so unambiguous: distinct values are shown distinctly (a real ESC as
    ``\\x1b``, the four characters ``\\x1b`` as ``\\\\x1b``). For the same reason it is not
    idempotent: escaping text twice doubles its backslashes again, so each value is
    escaped exactly once, where it is put into text, and a composed line that may hold
    escaped values goes through `escape_line` instead.
    """
    return _UNSAFE_OR_BACKSLASH.sub(_visible, value)


def quote(value: str) -> str:
    """``value`` as `escape_text` shows it, in double quotes, a double quote in it as ``\\"``:
    the one way a sentence shows a value whose ends or emptiness matter."""
    return '"' + escape_text(value).replace('"', '\\"') + '"'


def escape_line(text: str) -> str:
    """A line the tool composed, with every control character, line break and bidi control
    in it made visible; backslashes stay, as the values it quotes were escaped already.

    Idempotent, and not reversible for a raw value in the line (a server's message): a
    value that must read back exactly is put in with `quote` or `escape_text`.
    """
    return _UNSAFE.sub(_visible, text)


def _visible(match: re.Match[str]) -> str:
    # The Python escape a reader can search for: \\, \n, \r, \x1b, \x9b, \u202e.
    return match.group().encode("unicode_escape").decode("ascii")


def escape_markdown(value: str) -> str:
    """``value`` as a CommonMark inline code span that shows it exactly, on one line."""
    return code_span(escape_text(value))


def code_span(shown: str) -> str:
    """Text already escaped (by `escape_text` or `quote`) as a CommonMark inline code span:
    markdown shows a value as a line of text does, and escapes it only once."""
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(shown)), default=0) + 1)
    # A span strips one space from each end when both ends have one; a value that starts
    # or ends with a backtick needs a space there so it does not join the fence. Padding
    # both ends in either case keeps the value's own spaces.
    if not shown.strip(" "):
        # All spaces are shown as they are; an empty value as one space, never as "``".
        shown = shown or " "
    elif shown.startswith(("`", " ")) or shown.endswith(("`", " ")):
        shown = f" {shown} "
    return f"{fence}{shown}{fence}"


def escape_json(text: str) -> str:
    """JSON text (json.dumps with ensure_ascii off) with the characters it leaves raw
    (DEL, C1, bidi controls, line separators) as ``\\uXXXX``: the same JSON value, and a
    file a terminal can show. Outside strings JSON is ASCII, so every one is in a string."""
    return _JSON_RAW.sub(_json_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def escape_html(value: str) -> str:
    """``value`` as text inside raw HTML: tags, entities and quotes shown, not parsed."""
    import html  # start-up: for markup only; lint's text output is spared its entity table

    return html.escape(escape_text(value), quote=True)


def holds_raw_controls(value: str) -> bool:
    """Whether a file would hold something of ``value`` a reviewer cannot see: a control
    character (tab aside), a line break, a bidi control or a byte-order mark. A backslash
    or a quote is visible, and needs no escape for this."""
    return _FILE_RAW.search(value) is not None


def double_quoted(value: str) -> str:
    """``value`` as a YAML (1.1 and 1.2) double-quoted scalar that reads back exactly and
    holds no raw control, line break, bidi control or byte-order mark: each is a ``\\uXXXX``
    escape, so the file shows it to a reviewer as `escape_text` would in a log."""
    return '"' + _FILE_UNSAFE.sub(_yaml_escape, value) + '"'


def _yaml_escape(match: re.Match[str]) -> str:
    char = match.group()
    return "\\" + char if char in '\\"' else f"\\u{ord(char):04x}"
